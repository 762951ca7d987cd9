//! What the backfill tests share: a sink that writes checkpoints to a real store the way
//! the CLI does, a progress recorder, and a client with short backoff.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use flowmap_backfill::{
    Checkpoint, Client, ClientOptions, Progress, SavedState, Service, Sink, SinkError,
    StatsSnapshot, Token,
};
use flowmap_core::events::Build;
use flowmap_store::{Batch, Store, StoredEtag, WriteMode};

/// Writes every checkpoint in one store transaction; keeps builds aside (they are checked
/// by the tests until the store holds them).
pub struct StoreSink {
    pub store: Store,
    pub source: String,
    pub builds: Vec<Build>,
    pub checkpoints: usize,
}

impl StoreSink {
    pub fn new(store: &Store, source: &str) -> StoreSink {
        StoreSink {
            store: store.clone(),
            source: source.to_owned(),
            builds: Vec::new(),
            checkpoints: 0,
        }
    }
}

fn sink_error(err: flowmap_store::StoreError) -> SinkError {
    SinkError(Box::new(err))
}

impl Sink for StoreSink {
    async fn save(&mut self, checkpoint: Checkpoint) -> Result<(), SinkError> {
        let mut writer = self.store.begin(&self.source).await.map_err(sink_error)?;
        let records = checkpoint.records;
        writer
            .write(&Batch {
                mode: WriteMode::Replace,
                deployments: records.deployments,
                changes: records.changes,
                incidents: records.incidents,
                ..Batch::default()
            })
            .await
            .map_err(sink_error)?;
        for (resource, value) in &checkpoint.cursors {
            writer
                .save_cursor(resource, value.as_deref())
                .await
                .map_err(sink_error)?;
        }
        let etags: Vec<StoredEtag> = checkpoint
            .etags
            .into_iter()
            .map(|etag| StoredEtag {
                url: etag.url,
                etag: etag.etag,
                extract: etag.extract,
            })
            .collect();
        writer.save_etags(&etags).await.map_err(sink_error)?;
        writer.commit().await.map_err(sink_error)?;
        self.builds.extend(records.builds);
        self.checkpoints += 1;
        Ok(())
    }
}

/// What an earlier run of `source` saved in `store`.
pub async fn saved_state(store: &Store, source: &str) -> SavedState {
    let snapshot = store.load_sync(source).await.expect("load sync state");
    SavedState {
        cursors: snapshot.cursors.into_iter().collect(),
        etags: snapshot
            .etags
            .into_iter()
            .map(|etag| (etag.url, (etag.etag, etag.extract)))
            .collect(),
    }
}

/// Keeps every notice and the last counters.
#[derive(Default)]
pub struct Recorder {
    pub notices: Mutex<Vec<String>>,
    pub last: Mutex<StatsSnapshot>,
}

impl Progress for Recorder {
    fn update(&self, stats: &StatsSnapshot) {
        *self.last.lock().unwrap() = *stats;
    }
    fn notice(&self, message: &str) {
        self.notices.lock().unwrap().push(message.to_owned());
    }
}

/// A client with a 20 ms first backoff, so retry tests stay fast.
pub fn client(service: Service, token: &str) -> (Client, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let options = ClientOptions {
        backoff: Duration::from_millis(20),
        ..ClientOptions::default()
    };
    let client = Client::new(service, Token::new(token), options, recorder.clone())
        .expect("build the client");
    (client, recorder)
}

pub fn at(text: &str) -> jiff::Timestamp {
    text.parse().expect("a test time")
}
