//! What API backfills remember between runs, per source: cursors (where paging stopped,
//! high-water marks, the last sync time) and the ETag of every page read, with the part of
//! the page the backfill needs, so a `304 Not Modified` answer costs nothing.
//!
//! The store keeps these as opaque text: their meaning belongs to the backfill. They are
//! written through a [`Writer`], in the same transaction as the records of the page they
//! describe, so a run killed between two pages resumes exactly after the last saved one.

use jiff::Timestamp;

use crate::write::Writer;
use crate::{Store, StoreError};

/// A page's validator as the server sent it, and what the backfill kept of the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEtag {
    /// The page's URL, without credentials (tokens travel in headers only).
    pub url: String,
    pub etag: String,
    /// The backfill's own extract of the page (JSON), used when the page is unchanged.
    pub extract: String,
}

/// Everything stored for one source's backfill.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncSnapshot {
    /// `(resource, value)` pairs, sorted by resource.
    pub cursors: Vec<(String, String)>,
    pub etags: Vec<StoredEtag>,
}

impl Store {
    /// The cursors and ETags saved for `source` (empty before its first backfill).
    pub async fn load_sync(&self, source: &str) -> Result<SyncSnapshot, StoreError> {
        let cursors: Vec<(String, String)> = sqlx::query_as(
            "SELECT resource, value FROM sync_cursors WHERE source = $1 ORDER BY resource",
        )
        .bind(source)
        .fetch_all(&self.pool)
        .await?;
        let etags: Vec<(String, String, String)> =
            sqlx::query_as("SELECT url, etag, extract FROM sync_etags WHERE source = $1")
                .bind(source)
                .fetch_all(&self.pool)
                .await?;
        Ok(SyncSnapshot {
            cursors,
            etags: etags
                .into_iter()
                .map(|(url, etag, extract)| StoredEtag { url, etag, extract })
                .collect(),
        })
    }
}

impl Writer {
    /// Saves (or, with `None`, forgets) the cursor of `resource` for this writer's source.
    pub async fn save_cursor(
        &mut self,
        resource: &str,
        value: Option<&str>,
    ) -> Result<(), StoreError> {
        match value {
            Some(value) => {
                sqlx::query(
                    "INSERT INTO sync_cursors (source, resource, value, updated_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (source, resource) \
                     DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(self.source.as_str())
                .bind(resource)
                .bind(value)
                .bind(Timestamp::now().as_millisecond())
                .execute(&mut *self.tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM sync_cursors WHERE source = $1 AND resource = $2")
                    .bind(self.source.as_str())
                    .bind(resource)
                    .execute(&mut *self.tx)
                    .await?;
            }
        }
        Ok(())
    }

    /// Saves the ETags of pages read for this writer's source, replacing older ones.
    pub async fn save_etags(&mut self, etags: &[StoredEtag]) -> Result<(), StoreError> {
        for etag in etags {
            sqlx::query(
                "INSERT INTO sync_etags (source, url, etag, extract) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (source, url) \
                 DO UPDATE SET etag = excluded.etag, extract = excluded.extract",
            )
            .bind(self.source.as_str())
            .bind(etag.url.as_str())
            .bind(etag.etag.as_str())
            .bind(etag.extract.as_str())
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }
}
