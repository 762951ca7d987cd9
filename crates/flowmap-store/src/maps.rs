//! Value stream maps kept in the database, versioned.
//!
//! A map is stored as the file text it was saved as (YAML, TOML or JSON), never as parsed
//! values: what a user saves is what they get back, comments and all. Every save adds a
//! version; nothing is overwritten. Checking that the text is a valid map is the caller's
//! job (`flowmap_core::map::parse_map`): the store keeps text.

use jiff::Timestamp;
use sqlx::Row;

use crate::{Backend, Store, StoreError};

/// The file format a stored map's text is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapFormat {
    Yaml,
    Toml,
    Json,
}

impl MapFormat {
    /// `yaml`, `toml` or `json`: the stored name, and a file extension.
    pub fn as_str(self) -> &'static str {
        match self {
            MapFormat::Yaml => "yaml",
            MapFormat::Toml => "toml",
            MapFormat::Json => "json",
        }
    }

    /// The format a file extension or stored name announces (`yml` is YAML).
    pub fn from_name(name: &str) -> Option<MapFormat> {
        match name.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(MapFormat::Yaml),
            "toml" => Some(MapFormat::Toml),
            "json" => Some(MapFormat::Json),
            _ => None,
        }
    }
}

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
        if !valid_map_id(id) {
            return Err(StoreError::Invalid {
                what: "map id".into(),
                problem: format!("{id:?} must be 1-64 characters of a-z, 0-9, - and _"),
            });
        }
        let saved_at = Timestamp::now();
        // The next version is computed inside the insert; on SQLite the immediate
        // transaction serialises savers, on PostgreSQL a racing save fails on the key
        // instead of silently sharing a version.
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        let row = sqlx::query(
            "INSERT INTO maps (id, version, saved_at, format, text) \
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4 FROM maps WHERE id = $1 \
             RETURNING version",
        )
        .bind(id)
        .bind(saved_at.as_millisecond())
        .bind(format.as_str())
        .bind(text)
        .fetch_one(&mut *tx)
        .await?;
        let version: i64 = row.try_get(0)?;
        tx.commit().await?;
        Ok(StoredMap {
            id: id.to_owned(),
            version: version as u32,
            saved_at: Timestamp::from_millisecond(saved_at.as_millisecond())
                .expect("a time that was just stored"),
            format,
            text: text.to_owned(),
        })
    }

    /// The latest version of every map, sorted by id.
    pub async fn maps(&self) -> Result<Vec<StoredMap>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.id, m.version, m.saved_at, m.format, m.text FROM maps m \
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
                    "SELECT id, version, saved_at, format, text FROM maps \
                     WHERE id = $1 AND version = $2",
                )
                .bind(id)
                .bind(i64::from(version))
                .fetch_optional(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT id, version, saved_at, format, text FROM maps \
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
            "SELECT id, version, saved_at, format, text FROM maps WHERE id = $1 \
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
        id,
    })
}
