//! Backfilling delivery history from the GitHub, GitLab and PagerDuty APIs.
//!
//! The backfill (`flowmap-backfill`) reads page by page and hands each page's records,
//! with the progress that page represents (cursors, ETags), to [`StoreSink`], which
//! writes both in one store transaction under the run's source (`github:OWNER/REPO`, …).
//! Records are whole, so they are written in replace mode: the same path as imports, and
//! re-running changes nothing. A run killed at any point resumes after its last saved page.

use flowmap_backfill::github::{self, GitHubOptions};
use flowmap_backfill::gitlab::{self, GitLabOptions};
use flowmap_backfill::pagerduty::{self, PagerDutyOptions};
use flowmap_backfill::{BackfillError, Checkpoint, Client, Outcome, SavedState, Sink, SinkError};
use flowmap_store::{Batch, Store, StoreError, StoredEtag, WriteMode, WriteSummary};

use crate::{Actor, App, AppError, Role};

/// What to backfill.
#[derive(Clone, Debug)]
pub enum BackfillRequest {
    GitHub(GitHubOptions),
    GitLab(GitLabOptions),
    PagerDuty(PagerDutyOptions),
}

impl BackfillRequest {
    /// The source the records are stored under.
    pub fn source(&self) -> String {
        match self {
            BackfillRequest::GitHub(options) => github::source(&options.repo),
            BackfillRequest::GitLab(options) => gitlab::source(&options.project),
            BackfillRequest::PagerDuty(options) => pagerduty::source(&options.service_id),
        }
    }
}

/// What a backfill run did.
#[derive(Debug)]
pub struct Backfilled {
    pub outcome: Outcome,
    /// What the writes did to the stored records, over all pages.
    pub written: WriteSummary,
    /// Builds read but not kept: this store has no build records yet.
    pub builds_not_stored: u64,
}

impl App {
    /// Reads what changed at the service since the last run (everything, or from
    /// `since`, on the first) through `client`, and stores it page by page.
    pub async fn backfill(
        &self,
        actor: &Actor,
        request: BackfillRequest,
        client: &Client,
    ) -> Result<Backfilled, AppError> {
        actor.require(Role::Editor, "ingest data")?;
        let source = request.source();
        let saved = saved_state(&self.store, &source).await?;
        let mut sink = StoreSink {
            store: self.store.clone(),
            source,
            written: WriteSummary::default(),
            builds_not_stored: 0,
        };
        let outcome = match &request {
            BackfillRequest::GitHub(options) => {
                github::backfill(client, options, saved, &mut sink).await
            }
            BackfillRequest::GitLab(options) => {
                gitlab::backfill(client, options, saved, &mut sink).await
            }
            BackfillRequest::PagerDuty(options) => {
                pagerduty::backfill(client, options, saved, &mut sink).await
            }
        }
        .map_err(backfill_error)?;
        Ok(Backfilled {
            outcome,
            written: sink.written,
            builds_not_stored: sink.builds_not_stored,
        })
    }
}

/// A store failure inside the backfill is the store's error; the rest are the backfill's.
fn backfill_error(err: BackfillError) -> AppError {
    match err {
        BackfillError::Sink(SinkError(inner)) => match inner.downcast::<StoreError>() {
            Ok(store) => AppError::from(*store),
            Err(other) => AppError::Backfill(BackfillError::Sink(SinkError(other))),
        },
        other => AppError::Backfill(other),
    }
}

/// What earlier runs of `source` saved.
async fn saved_state(store: &Store, source: &str) -> Result<SavedState, StoreError> {
    let snapshot = store.load_sync(source).await?;
    Ok(SavedState {
        cursors: snapshot.cursors.into_iter().collect(),
        etags: snapshot
            .etags
            .into_iter()
            .map(|etag| (etag.url, (etag.etag, etag.extract)))
            .collect(),
    })
}

/// Writes each checkpoint (records, cursors, ETags) in one store transaction.
pub struct StoreSink {
    store: Store,
    source: String,
    written: WriteSummary,
    builds_not_stored: u64,
}

impl StoreSink {
    async fn write(&mut self, checkpoint: Checkpoint) -> Result<(), StoreError> {
        let mut writer = self.store.begin(&self.source).await?;
        let records = checkpoint.records;
        self.builds_not_stored += records.builds.len() as u64;
        self.written += writer
            .write(&Batch {
                mode: WriteMode::Replace,
                deployments: records.deployments,
                changes: records.changes,
                incidents: records.incidents,
                ..Batch::default()
            })
            .await?;
        for (resource, value) in &checkpoint.cursors {
            writer.save_cursor(resource, value.as_deref()).await?;
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
        writer.save_etags(&etags).await?;
        writer.commit().await?;
        Ok(())
    }
}

impl Sink for StoreSink {
    async fn save(&mut self, checkpoint: Checkpoint) -> Result<(), SinkError> {
        self.write(checkpoint)
            .await
            .map_err(|err| SinkError(Box::new(err)))
    }
}
