//! Ingesting a git repository's history into the store.
//!
//! The git reader runs on the blocking pool and streams its batches into one store
//! transaction, so reading and writing overlap. The run's incremental state is written in
//! the same transaction as its records: a run that fails leaves neither, and the next run
//! starts from the last one that succeeded.

use std::path::PathBuf;
use std::sync::Arc;

use flowmap_ingest::git::{self, GitOptions, GitState};
use flowmap_store::{Batch, WriteMode};

use crate::{Actor, App, AppError, Role};

/// What an ingest run did.
#[derive(Debug)]
pub struct Ingested {
    pub outcome: git::Outcome,
    /// Problems that cost time but not correctness (an unreadable earlier state, so the
    /// whole history was read).
    pub warnings: Vec<String>,
}

impl App {
    /// Reads the repository at `path` (only what is new since the last run with the same
    /// options) and stores its changes and deployments under `git:<service>`.
    pub async fn ingest_git(
        &self,
        actor: &Actor,
        path: PathBuf,
        options: GitOptions,
        progress: Arc<dyn git::Progress + Send>,
    ) -> Result<Ingested, AppError> {
        actor.require(Role::Editor, "ingest data")?;
        let source = format!("git:{}", git::service_name(&path, &options));
        let state_key = format!("{source}:state");
        let mut warnings = Vec::new();
        let previous = match self.store.get_meta(&state_key).await? {
            // An unreadable state only costs time: the run then reads the whole history.
            Some(json) => GitState::from_json(&json)
                .inspect_err(|err| warnings.push(format!("{err}; reading the whole history")))
                .ok(),
            None => None,
        };
        let mut writer = self.store.begin(&source).await?;

        let (sender, mut receiver) = tokio::sync::mpsc::channel::<git::Batch>(2);
        let reader = tokio::task::spawn_blocking(move || {
            git::ingest(
                &path,
                &options,
                previous.as_ref(),
                &*progress,
                &mut |batch| {
                    sender
                        .blocking_send(batch)
                        .map_err(|_| "the store stopped accepting records".into())
                },
            )
        });
        let mut written = Ok(());
        while let Some(batch) = receiver.recv().await {
            let batch = Batch {
                mode: WriteMode::Replace,
                deployments: batch.deployments,
                changes: batch.changes,
                ..Batch::default()
            };
            if let Err(err) = writer.write_bulk(&batch).await {
                written = Err(err);
                break;
            }
        }
        // Closing the channel stops a reader whose batches are no longer wanted.
        drop(receiver);
        let read = reader
            .await
            .map_err(|_| AppError::Background("the git reader"))?;
        // A store failure makes the reader fail too; the store's error is the cause.
        let outcome = match (written, read) {
            (Ok(()), Ok(outcome)) => outcome,
            (written, read) => {
                // Nothing of a failed run is kept.
                writer.rollback().await?;
                written?;
                return Err(read
                    .err()
                    .map_or(AppError::Background("the git reader"), AppError::from));
            }
        };
        writer
            .set_meta(&state_key, &outcome.state.to_json())
            .await?;
        writer.commit().await?;
        Ok(Ingested { outcome, warnings })
    }
}
