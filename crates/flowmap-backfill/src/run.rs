//! What every backfill run shares: the saved state it resumes from, the window of time it
//! reads (since the last sync, or `--since`), and checkpoints handed to the sink.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::client::{Client, bump};
use crate::pages::PageCache;
use crate::{BackfillError, Checkpoint, Outcome, PageEtag, Records, SavedState, Sink};

/// The cursor resource that records completed runs and the run under way.
const SYNC: &str = "sync";

/// The run-level memory of a source: what completed runs covered, and the run under way.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct SyncMeta {
    /// When the last complete run started: the next run reads what changed after it.
    last_sync: Option<Timestamp>,
    /// The earliest time complete runs have read back to; `None` with a `last_sync`: all
    /// of history.
    covered_from: Option<Timestamp>,
    /// The run under way (a killed run leaves it; the next run resumes it).
    current: Option<Window>,
}

/// The time a run reads: everything updated at or after `threshold` (everything when
/// `None`), as of `started`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Window {
    pub started: Timestamp,
    pub threshold: Option<Timestamp>,
    /// Whether this run reads further back than earlier runs did (`since` before what
    /// they covered): then an unchanged first page does not mean "nothing to read", and
    /// high-water marks of earlier runs do not bound it.
    #[serde(default)]
    pub extends: bool,
}

impl Window {
    /// Whether a time lies before the window (so paging by that time can stop).
    pub fn before(&self, time: Timestamp) -> bool {
        self.threshold.is_some_and(|threshold| time < threshold)
    }

    /// A per-resource cursor belongs to this run when it carries this run's start.
    pub fn key(&self) -> i64 {
        self.started.as_millisecond()
    }
}

/// Where paging of a list stopped in the run under way.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct ListCursor {
    /// The run (its [`Window::key`]) this cursor belongs to.
    pub run: i64,
    /// The next page to read; `None` once the list is read.
    pub next: Option<String>,
}

impl ListCursor {
    /// The cursor of the run reading `window`, at page `next`.
    pub fn at(window: &Window, next: Option<String>) -> ListCursor {
        ListCursor {
            run: window.key(),
            next,
        }
    }
}

/// One backfill run: the client, the sink, and the state both sides of a checkpoint see.
pub(crate) struct Run<'a, S: Sink> {
    pub client: &'a Client,
    sink: &'a mut S,
    /// URL → (ETag, extract), as saved and as updated by this run.
    pub etags: PageCache,
    cursors: HashMap<String, String>,
    meta: SyncMeta,
    pub window: Window,
    pub source: String,
}

impl<'a, S: Sink> Run<'a, S> {
    /// Starts (or resumes) a run over `saved`: a killed run's window is taken up again;
    /// otherwise the window opens at `since` or at the last sync, whichever reads what is
    /// new — and further back than before only when `since` asks for it.
    pub async fn begin(
        client: &'a Client,
        sink: &'a mut S,
        saved: SavedState,
        source: String,
        since: Option<Timestamp>,
    ) -> Result<Run<'a, S>, BackfillError> {
        let mut run = Run {
            client,
            sink,
            etags: saved.etags,
            cursors: saved.cursors,
            meta: SyncMeta::default(),
            window: Window {
                started: Timestamp::now(),
                threshold: since,
                extends: false,
            },
            source,
        };
        run.meta = run.cursor(SYNC).unwrap_or_default();
        if let Some(current) = run.meta.current {
            client.notice(&format!(
                "resuming the run of {} that started at {}",
                run.source, current.started
            ));
            run.window = current;
            return Ok(run);
        }
        run.window.threshold = match (since, run.meta.last_sync) {
            (since, None) => since,
            (Some(since), Some(_))
                if run.meta.covered_from.is_some_and(|covered| since < covered) =>
            {
                run.window.extends = true;
                Some(since)
            }
            (_, Some(last)) => Some(last),
        };
        run.meta.current = Some(run.window);
        let meta = run.meta.clone();
        run.save(
            Records::default(),
            vec![(SYNC.into(), Some(encode(&meta)))],
            Vec::new(),
        )
        .await?;
        Ok(run)
    }

    /// The saved cursor of `resource`, if any and readable. An unreadable cursor (from an
    /// older version) is said and dropped: it costs only a re-read.
    pub fn cursor<T: DeserializeOwned>(&self, resource: &str) -> Option<T> {
        let text = self.cursors.get(resource)?;
        match serde_json::from_str(text) {
            Ok(value) => Some(value),
            Err(err) => {
                self.client.notice(&format!(
                    "saved progress of {resource} is unreadable ({err}); reading it again"
                ));
                None
            }
        }
    }

    /// The page of list `resource` to read next: where this run stopped, or `first` for
    /// a new run; `None` when this run has read the whole list.
    pub fn resume_list(&self, resource: &str, first: &str) -> Option<String> {
        match self.cursor::<ListCursor>(resource) {
            Some(cursor) if cursor.run == self.window.key() => cursor.next,
            _ => Some(first.to_owned()),
        }
    }

    /// Saves one page of list `resource` as a checkpoint: its records and ETags, and
    /// `next`, the page to read after it (`None`: this run has read the whole list).
    pub async fn save_list_page(
        &mut self,
        resource: &str,
        records: Records,
        etags: Vec<PageEtag>,
        next: Option<String>,
    ) -> Result<(), BackfillError> {
        let cursor = ListCursor::at(&self.window, next);
        self.save(
            records,
            vec![(resource.to_owned(), Some(encode(&cursor)))],
            etags,
        )
        .await
    }

    /// Hands records, cursors and ETags to the sink as one checkpoint, and remembers them.
    pub async fn save(
        &mut self,
        records: Records,
        cursors: Vec<(String, Option<String>)>,
        etags: Vec<PageEtag>,
    ) -> Result<(), BackfillError> {
        let stats = self.client.stats();
        bump(&stats.changes, records.changes.len() as u64);
        bump(&stats.deployments, records.deployments.len() as u64);
        bump(&stats.builds, records.builds.len() as u64);
        bump(&stats.incidents, records.incidents.len() as u64);
        for (resource, value) in &cursors {
            match value {
                Some(value) => self.cursors.insert(resource.clone(), value.clone()),
                None => self.cursors.remove(resource),
            };
        }
        for etag in &etags {
            self.etags
                .insert(etag.url.clone(), (etag.etag.clone(), etag.extract.clone()));
        }
        self.sink
            .save(Checkpoint {
                records,
                cursors,
                etags,
            })
            .await?;
        bump(&stats.checkpoints, 1);
        self.client.report();
        Ok(())
    }

    /// Closes the run: the next one reads what changed after this one started.
    pub async fn finish(mut self) -> Result<Outcome, BackfillError> {
        let full = self.window.threshold.is_none();
        self.meta.covered_from = match (self.meta.last_sync, self.meta.covered_from) {
            // All of history was read before, or is now.
            (Some(_), None) => None,
            _ if full => None,
            (_, covered) => match (covered, self.window.threshold) {
                (Some(covered), Some(threshold)) => Some(covered.min(threshold)),
                (covered, threshold) => covered.or(threshold),
            },
        };
        self.meta.last_sync = Some(self.window.started);
        self.meta.current = None;
        let meta = encode(&self.meta);
        self.save(
            Records::default(),
            vec![(SYNC.into(), Some(meta))],
            Vec::new(),
        )
        .await?;
        Ok(Outcome {
            source: self.source.clone(),
            stats: self.client.stats().snapshot(),
            full,
            synced_at: self.window.started,
        })
    }
}

/// A cursor as saved text.
pub(crate) fn encode<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| String::from("null"))
}
