//! Versioned documents: value stream maps and outcomes, kept as the file text they were
//! saved as.
//!
//! A document is stored as its text (YAML, TOML or JSON), never as parsed values: what a
//! user saves is what they get back, comments and all. Every save adds a version with its
//! date and author; nothing is overwritten. Checking that the text is a valid map or
//! outcome is the caller's job (`flowmap_core::map::parse_map`,
//! `flowmap_core::outcome::parse_outcome`): the store keeps text. Maps and outcomes are
//! two tables of the same shape, and one implementation serves both.

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Row};

use crate::{Backend, Store, StoreError};

/// The file format a stored document's text is written in: the map format of
/// `flowmap-core`, under the name the store has always used for it.
pub use flowmap_core::map::Format as MapFormat;

/// What kind of versioned document: each kind has a table of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    /// A value stream map (table `maps`).
    Map,
    /// An outcome (table `outcomes`).
    Outcome,
}

impl DocumentKind {
    /// The word for one document of this kind in messages: `map`, `outcome`.
    pub fn noun(self) -> &'static str {
        match self {
            DocumentKind::Map => "map",
            DocumentKind::Outcome => "outcome",
        }
    }

    fn table(self) -> &'static str {
        match self {
            DocumentKind::Map => "maps",
            DocumentKind::Outcome => "outcomes",
        }
    }

    fn id_field(self) -> &'static str {
        match self {
            DocumentKind::Map => "map id",
            DocumentKind::Outcome => "outcome id",
        }
    }
}

/// One saved version of a map or an outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDocument {
    /// The document's id: lowercase letters, digits, `-` and `_`.
    pub id: String,
    /// 1 for the first save, one more for each save after it.
    pub version: u32,
    /// When this version was saved, to the millisecond.
    pub saved_at: Timestamp,
    pub format: MapFormat,
    /// The file exactly as saved.
    pub text: String,
    /// Who saved this version, when known (versions saved before authors were recorded,
    /// and saves through [`Store::save_map`], have none).
    pub saved_by: Option<String>,
}

/// One saved version of a map.
pub type StoredMap = StoredDocument;

/// One saved version of an outcome.
pub type StoredOutcome = StoredDocument;

/// How a save checks the document's history before adding its version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Expected {
    /// Save whatever the latest version is (the last writer wins).
    #[default]
    Any,
    /// The document must not exist yet: this save creates it.
    New,
    /// The latest version must be this one: the editor's text was based on it, so a save
    /// on top of a newer version would silently drop someone else's edit.
    Version(u32),
}

/// Whether `id` can name a map or an outcome: 1–64 of `a-z`, `0-9`, `-`, `_` (it appears
/// in URLs and file names).
pub fn valid_map_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

// Every statement below names its table from `DocumentKind::table`, a closed list of
// constants: no text from outside reaches the SQL but through bound parameters.
const COLUMNS: &str = "id, version, saved_at, format, text, saved_by";

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
        self.save_document(DocumentKind::Map, id, format, text, Expected::Any, None)
            .await
    }

    /// Saves `text` as the next version of document `id` of `kind` (version 1 when new)
    /// when its latest version is what `expected` says, recording `saved_by`; otherwise
    /// nothing is saved and the error is [`StoreError::Conflict`] naming the latest
    /// version.
    pub async fn save_document(
        &self,
        kind: DocumentKind,
        id: &str,
        format: MapFormat,
        text: &str,
        expected: Expected,
        saved_by: Option<&str>,
    ) -> Result<StoredDocument, StoreError> {
        if !valid_map_id(id) {
            return Err(StoreError::Invalid {
                what: kind.id_field().into(),
                problem: format!("{id:?} must be 1-64 characters of a-z, 0-9, - and _"),
            });
        }
        // Stored to the millisecond, so the version returned is the version read back.
        let saved_at =
            Timestamp::from_millisecond(Timestamp::now().as_millisecond()).map_err(|e| {
                StoreError::Invalid {
                    what: "clock".into(),
                    problem: e.to_string(),
                }
            })?;
        let table = kind.table();
        // The version check and the insert share one transaction; on SQLite the immediate
        // transaction serialises savers, on PostgreSQL a racing save fails on the key
        // instead of silently sharing a version.
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        let latest: i64 = sqlx::query(AssertSqlSafe(format!(
            "SELECT COALESCE(MAX(version), 0) FROM {table} WHERE id = $1"
        )))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let latest = u32::try_from(latest).map_err(|e| StoreError::Corrupt {
            table,
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
                kind: kind.noun(),
                id: id.to_owned(),
                expected,
                latest,
            });
        }
        let version = latest + 1;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {table} ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        )))
        .bind(id)
        .bind(i64::from(version))
        .bind(saved_at.as_millisecond())
        .bind(format.as_str())
        .bind(text)
        .bind(saved_by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(StoredDocument {
            id: id.to_owned(),
            version,
            saved_at,
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
            .save_document(DocumentKind::Map, id, format, text, Expected::Any, saved_by)
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
        self.latest_documents(DocumentKind::Map).await
    }

    /// The latest version of every outcome, sorted by id.
    pub async fn outcomes(&self) -> Result<Vec<StoredOutcome>, StoreError> {
        self.latest_documents(DocumentKind::Outcome).await
    }

    /// The latest version of every document of `kind`, sorted by id.
    pub async fn latest_documents(
        &self,
        kind: DocumentKind,
    ) -> Result<Vec<StoredDocument>, StoreError> {
        let table = kind.table();
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM {table} d \
             WHERE d.version = (SELECT MAX(version) FROM {table} WHERE id = d.id)"
        )))
        .fetch_all(&self.pool)
        .await?;
        let mut documents = rows
            .iter()
            .map(|row| decode(kind, row))
            .collect::<Result<Vec<_>, _>>()?;
        documents.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(documents)
    }

    /// Version `version` of map `id`, or its latest version when `version` is `None`.
    pub async fn map(
        &self,
        id: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredMap>, StoreError> {
        self.document(DocumentKind::Map, id, version).await
    }

    /// Version `version` of outcome `id`, or its latest when `version` is `None`.
    pub async fn outcome(
        &self,
        id: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredOutcome>, StoreError> {
        self.document(DocumentKind::Outcome, id, version).await
    }

    /// Version `version` of document `id` of `kind`, or its latest when `version` is
    /// `None`.
    pub async fn document(
        &self,
        kind: DocumentKind,
        id: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredDocument>, StoreError> {
        let table = kind.table();
        let row = match version {
            Some(version) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM {table} WHERE id = $1 AND version = $2"
                )))
                .bind(id)
                .bind(i64::from(version))
                .fetch_optional(&self.pool)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM {table} WHERE id = $1 ORDER BY version DESC LIMIT 1"
                )))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        row.as_ref().map(|row| decode(kind, row)).transpose()
    }

    /// Every version of map `id`, newest first; empty when there is no such map.
    pub async fn map_versions(&self, id: &str) -> Result<Vec<StoredMap>, StoreError> {
        self.document_versions(DocumentKind::Map, id).await
    }

    /// Every version of outcome `id`, newest first; empty when there is no such outcome.
    pub async fn outcome_versions(&self, id: &str) -> Result<Vec<StoredOutcome>, StoreError> {
        self.document_versions(DocumentKind::Outcome, id).await
    }

    /// Every version of document `id` of `kind`, newest first; empty when there is none.
    pub async fn document_versions(
        &self,
        kind: DocumentKind,
        id: &str,
    ) -> Result<Vec<StoredDocument>, StoreError> {
        let table = kind.table();
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM {table} WHERE id = $1 ORDER BY version DESC"
        )))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| decode(kind, row)).collect()
    }

    /// Deletes document `id` of `kind` with all its versions; `false` when there was
    /// none.
    pub async fn delete_document(&self, kind: DocumentKind, id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {} WHERE id = $1",
            kind.table()
        )))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }
}

fn decode(kind: DocumentKind, row: &sqlx::any::AnyRow) -> Result<StoredDocument, StoreError> {
    let id: String = row.try_get("id")?;
    let corrupt = |problem: String| StoreError::Corrupt {
        table: kind.table(),
        id: id.clone(),
        problem,
    };
    let version: i64 = row.try_get("version")?;
    let saved_at: i64 = row.try_get("saved_at")?;
    let format: String = row.try_get("format")?;
    Ok(StoredDocument {
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
