//! Ingesting a git repository's history into the store.
//!
//! The git reader runs on the blocking pool and streams its batches into one store
//! transaction, so reading and writing overlap. The run's incremental state is written in
//! the same transaction as its records: a run that fails leaves neither, and the next run
//! starts from the last one that succeeded.
//!
//! A source's first ingest (no state, and no record of the source stored) goes through the
//! store's first load, which inserts instead of merging; every later one through the
//! upserts, which meet the stored records exactly once.

use std::path::PathBuf;
use std::sync::Arc;

use flowmap_ingest::git::{self, GitOptions, GitState};
use flowmap_store::{Batch, FirstLoad, StoreError, WriteMode, Writer};

use crate::{Actor, App, AppError, Role};

/// What an ingest run did.
#[derive(Debug)]
pub struct Ingested {
    pub outcome: git::Outcome,
    /// Problems that cost time but not correctness (an unreadable earlier state, so the
    /// whole history was read).
    pub warnings: Vec<String>,
    /// When the source was last ingested with another deployment rule (or `--path`):
    /// that rule, and how many of its deployments this run removed. A source's inferred
    /// deployments always come from one rule, the latest run's.
    pub replaced: Option<Replaced>,
    /// When the run recorded no deployment: the repository's tags, to suggest a rule.
    pub tags: Option<TagSummary>,
}

/// Deployments of an earlier rule that a run replaced.
#[derive(Debug)]
pub struct Replaced {
    /// How many deployments the earlier rule had produced.
    pub deployments: u64,
}

/// The tags of a repository in which a run found no deployment.
#[derive(Debug)]
pub struct TagSummary {
    /// How many tags the repository has.
    pub count: usize,
    /// Their most common shapes as globs (`14.*`, `v*`) with how many tags each covers,
    /// most common first; at most five.
    pub patterns: Vec<(String, usize)>,
}

impl TagSummary {
    fn of(names: &[String]) -> TagSummary {
        let mut patterns = git::tag_patterns(names);
        patterns.truncate(5);
        TagSummary {
            count: names.len(),
            patterns,
        }
    }

    /// A glob to try: the most common pattern, or `*` when the patterns are many and
    /// alike (every tag starts with a number, like `14.1.0` and `13.0.0`).
    pub fn suggestion(&self) -> Option<String> {
        let (first, covered) = self.patterns.first()?;
        let numeric = self
            .patterns
            .iter()
            .all(|(p, _)| p.starts_with(|c: char| c.is_ascii_digit()));
        if numeric && *covered < self.count {
            Some("[0-9]*".to_owned())
        } else {
            Some(first.clone())
        }
    }
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
        let rule_changed = previous
            .as_ref()
            .is_some_and(|state| state.made_with_other_options(&options));
        // A source that holds nothing yet is loaded with plain inserts; everything else
        // goes through the upserts, which meet the stored records exactly once.
        let first_load = if previous.is_none() {
            self.store.begin_first_load(&source).await?
        } else {
            None
        };
        let (mut sink, replaced) = match first_load {
            Some(load) => (Sink::First(load), None),
            None => {
                let mut writer = self.store.begin(&source).await?;
                // The whole history is read again under the new rule (the state no longer
                // matches), so the old rule's deployments go in the same transaction: the
                // source never holds deployments of two rules at once.
                let replaced = if rule_changed {
                    Some(Replaced {
                        deployments: writer.delete_deployments().await?,
                    })
                } else {
                    None
                };
                (Sink::Upsert(writer), replaced)
            }
        };
        let repository = path.clone();

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
            if let Err(err) = sink.write(batch).await {
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
                sink.rollback().await?;
                written?;
                return Err(read
                    .err()
                    .map_or(AppError::Background("the git reader"), AppError::from));
            }
        };
        sink.commit(&state_key, &outcome.state.to_json()).await?;
        let tags = if outcome.deployments == 0 && outcome.full {
            let names = tokio::task::spawn_blocking(move || git::tag_names(&repository))
                .await
                .map_err(|_| AppError::Background("the tag reader"))??;
            Some(TagSummary::of(&names))
        } else {
            None
        };
        Ok(Ingested {
            outcome,
            warnings,
            replaced,
            tags,
        })
    }
}

/// Where a run's records go: a first load's plain inserts, or the upserts of a source that
/// holds records already.
enum Sink {
    First(FirstLoad),
    Upsert(Writer),
}

impl Sink {
    async fn write(&mut self, batch: git::Batch) -> Result<(), StoreError> {
        match self {
            Sink::First(load) => {
                load.insert(batch.changes, batch.deployments).await?;
            }
            Sink::Upsert(writer) => {
                let batch = Batch {
                    mode: WriteMode::Replace,
                    deployments: batch.deployments,
                    changes: batch.changes,
                    ..Batch::default()
                };
                writer.write_bulk(&batch).await?;
            }
        }
        Ok(())
    }

    /// Commits the records with the run's state, `state` under `key`.
    async fn commit(self, key: &str, state: &str) -> Result<(), StoreError> {
        match self {
            Sink::First(mut load) => {
                load.set_meta(key, state).await?;
                load.commit().await?;
            }
            Sink::Upsert(mut writer) => {
                writer.set_meta(key, state).await?;
                writer.commit().await?;
            }
        }
        Ok(())
    }

    async fn rollback(self) -> Result<(), StoreError> {
        match self {
            Sink::First(load) => load.rollback().await,
            Sink::Upsert(writer) => writer.rollback().await,
        }
    }
}
