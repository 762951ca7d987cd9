//! Value stream maps kept in the database, versioned.
//!
//! A map is stored as the file text it was saved as (YAML, TOML or JSON), never as parsed
//! values: what a user saves is what they get back, comments and all. Every save adds a
//! version; nothing is overwritten. Checking that the text is a valid map is the caller's
//! job (`flowmap_core::map::parse_map`): the store keeps text.

use jiff::Timestamp;
use sqlx::Row;

use crate::{Backend, Store, StoreError};

/// The file format a stored map's text is written in: the map format of
/// `flowmap-core`, under the name the store has always used for it.
pub use flowmap_core::map::Format as MapFormat;

/// One saved version of a map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMap {
    /// The map's id: lowercase letters, digits, `-` and `_`.
    pub id: String,
    /// 1 for the first save, one more for each save after it.
    pub version: u32,
    pub saved_at: Timestamp,
    pub format: MapFormat,
    /// The map file exactly as saved.
    pub text: String,
    /// Who saved this version, when known (versions saved before authors were recorded,
    /// and saves through [`Store::save_map`], have none).
    pub saved_by: Option<String>,
}

/// How a save checks the map's history before adding its version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Expected {
    /// Save whatever the latest version is (the last writer wins).
    #[default]
    Any,
    /// The map must not exist yet: this save creates it.
    New,
    /// The latest version must be this one: the editor's text was based on it, so a save
    /// on top of a newer version would silently drop someone else's edit.
    Version(u32),
}

/// Whether `id` can name a map: 1–64 of `a-z`, `0-9`, `-`, `_` (it appears in URLs and
/// file names).
pub fn valid_map_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Store {
    /// Saves `text` as the next version of map `id` (version 1 when new) and returns it.
    ///
    /// ```no_run
    /// # async fn demo(store: flowmap_store::Store) -> Result<(), flowmap_store::StoreError> {
    /// use flowmap_store::MapFormat;
    /// let first = store.save_map("checkout", MapFormat::Yaml, "name: Checkout\nsteps: [{id: code}]\n").await?;
    /// let second = store.save_map("checkout", MapFormat::Yaml, "name: Checkout v2\nsteps: [{id: code}]\n").await?;
    /// assert_eq!((first.version, second.version), (1, 2));
    /// # Ok(()) }
    /// ```
    pub async fn save_map(
        &self,
        id: &str,
        format: MapFormat,
        text: &str,
    ) -> Result<StoredMap, StoreError> {
        self.save_map_version(id, format, text, Expected::Any, None)
            .await
    }

    /// Saves `text` as the next version of map `id` when the map's latest version is what
    /// `expected` says, recording `saved_by`; otherwise nothing is saved and the error is
    /// [`StoreError::Conflict`] naming the latest version.
    pub async fn save_map_version(
        &self,
        id: &str,
        format: MapFormat,
        text: &str,
        expected: Expected,
        saved_by: Option<&str>,
    ) -> Result<StoredMap, StoreError> {
        if !valid_map_id(id) {
            return Err(StoreError::Invalid {
                what: "map id".into(),
                problem: format!("{id:?} must be 1-64 characters of a-z, 0-9, - and _"),
            });
        }
        let saved_at = Timestamp::now();
        // The version check and the insert share one transaction; on SQLite the immediate
        // transaction serialises savers, on PostgreSQL a racing save fails on the key
        // instead of silently sharing a version.
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        let latest: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM maps WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let latest = u32::try_from(latest).map_err(|e| StoreError::Corrupt {
            table: "maps",
            id: id.to_owned(),
            problem: format!("version: {e}"),
        })?;
        let conflict = match expected {
            Expected::Any => false,
            Expected::New => latest != 0,
            Expected::Version(version) => latest != version,
        };
        if conflict {
            return Err(StoreError::Conflict {
                kind: "map",
                id: id.to_owned(),
                expected,
                latest,
            });
        }
        let version = latest + 1;
        sqlx::query(
            "INSERT INTO maps (id, version, saved_at, format, text, saved_by) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(i64::from(version))
        .bind(saved_at.as_millisecond())
        .bind(format.as_str())
        .bind(text)
        .bind(saved_by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(StoredMap {
            id: id.to_owned(),
            version,
            saved_at: Timestamp::from_millisecond(saved_at.as_millisecond())
                .expect("a time that was just stored"),
            format,
            text: text.to_owned(),
            saved_by: saved_by.map(str::to_owned),
        })
    }

    /// Appends `text` as the next version of map `id` with the date it was saved on, for
    /// bringing in a map's history from elsewhere (and the demo's year of maps). Save a
    /// history oldest first: versions are numbered in the order they are added.
    pub async fn save_map_version_dated(
        &self,
        id: &str,
        format: MapFormat,
        text: &str,
        saved_at: Timestamp,
        saved_by: Option<&str>,
    ) -> Result<StoredMap, StoreError> {
        let saved = self
            .save_map_version(id, format, text, Expected::Any, saved_by)
            .await?;
        sqlx::query("UPDATE maps SET saved_at = $1 WHERE id = $2 AND version = $3")
            .bind(saved_at.as_millisecond())
            .bind(id)
            .bind(i64::from(saved.version))
            .execute(&self.pool)
            .await?;
        Ok(StoredMap {
            saved_at: Timestamp::from_millisecond(saved_at.as_millisecond())
                .unwrap_or(saved.saved_at),
            ..saved
        })
    }

    /// The latest version of every map, sorted by id.
    pub async fn maps(&self) -> Result<Vec<StoredMap>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.id, m.version, m.saved_at, m.format, m.text, m.saved_by FROM maps m \
             WHERE m.version = (SELECT MAX(version) FROM maps WHERE id = m.id)",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut maps = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        maps.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(maps)
    }

    /// Version `version` of map `id`, or its latest version when `version` is `None`.
    pub async fn map(
        &self,
        id: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredMap>, StoreError> {
        let row = match version {
            Some(version) => {
                sqlx::query(
                    "SELECT id, version, saved_at, format, text, saved_by FROM maps \
                     WHERE id = $1 AND version = $2",
                )
                .bind(id)
                .bind(i64::from(version))
                .fetch_optional(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT id, version, saved_at, format, text, saved_by FROM maps \
                     WHERE id = $1 ORDER BY version DESC LIMIT 1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        row.as_ref().map(decode).transpose()
    }

    /// Every version of map `id`, newest first; empty when there is no such map.
    pub async fn map_versions(&self, id: &str) -> Result<Vec<StoredMap>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, version, saved_at, format, text, saved_by FROM maps WHERE id = $1 \
             ORDER BY version DESC",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Deletes map `id` with all its versions; `false` when there was no such map.
    pub async fn delete_map(&self, id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM maps WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }
}

fn decode(row: &sqlx::any::AnyRow) -> Result<StoredMap, StoreError> {
    let id: String = row.try_get("id")?;
    let corrupt = |problem: String| StoreError::Corrupt {
        table: "maps",
        id: id.clone(),
        problem,
    };
    let version: i64 = row.try_get("version")?;
    let saved_at: i64 = row.try_get("saved_at")?;
    let format: String = row.try_get("format")?;
    Ok(StoredMap {
        version: u32::try_from(version).map_err(|e| corrupt(format!("version: {e}")))?,
        saved_at: Timestamp::from_millisecond(saved_at)
            .map_err(|e| corrupt(format!("saved_at: {e}")))?,
        format: MapFormat::from_name(&format)
            .ok_or_else(|| corrupt(format!("format: unknown value {format:?}")))?,
        text: row.try_get("text")?,
        saved_by: row.try_get("saved_by")?,
        id,
    })
}
