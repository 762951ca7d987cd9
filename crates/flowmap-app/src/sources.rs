//! The sources a database holds: listing them, deleting one, and opening a database
//! only to read it (a read never creates one).

use flowmap_store::{Deleted, SourceSummary, Store, StoreError};

use crate::{Actor, App, AppError, Role};

/// How a person fills an empty or missing database, in the CLI's words.
pub const HOW_TO_FILL: &str = "fill it with `flowmap import FILE` (CSV, JSON or NDJSON \
     records), `flowmap ingest git PATH` (a repository's history), or look around first \
     with `flowmap demo`";

/// Opens the database at `location` for a command that only reads: a missing database
/// is [`AppError::NotFound`] saying how to fill one, and nothing is created.
pub async fn open_for_reading(location: &str) -> Result<Store, AppError> {
    match Store::open_existing(location).await {
        Ok(store) => Ok(store),
        Err(StoreError::Missing { path }) => Err(AppError::NotFound(format!(
            "there is no database at {path}; {HOW_TO_FILL}"
        ))),
        Err(err) => Err(err.into()),
    }
}

impl App {
    /// Every source with its record counts and last update.
    pub async fn sources(&self) -> Result<Vec<SourceSummary>, AppError> {
        Ok(self.store.sources().await?)
    }

    /// What `source` holds; a source that does not exist is [`AppError::NotFound`], with
    /// the nearest name.
    pub async fn source(&self, source: &str) -> Result<SourceSummary, AppError> {
        let known = self.store.sources().await?;
        if let Some(found) = known.iter().find(|s| s.name == source) {
            return Ok(found.clone());
        }
        let names: Vec<&str> = known.iter().map(|s| s.name.as_str()).collect();
        let hint = match flowmap_core::map::closest(source, &names) {
            Some(near) => format!(": did you mean {near:?}?"),
            None if names.is_empty() => ": the database holds no data".to_owned(),
            None => format!("; the sources are {}", names.join(", ")),
        };
        Err(AppError::NotFound(format!("no source {source:?}{hint}")))
    }

    /// Deletes every record of `source` (and what its ingester remembered). A source
    /// that does not exist is [`AppError::NotFound`], with the nearest name.
    pub async fn delete_source(&self, actor: &Actor, source: &str) -> Result<Deleted, AppError> {
        actor.require(Role::Editor, "delete data")?;
        self.source(source).await?;
        Ok(self.store.delete_source(source).await?)
    }
}
