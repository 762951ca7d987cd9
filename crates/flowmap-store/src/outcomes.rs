//! Outcomes kept in the database, versioned like maps: every save adds a version with its
//! date and author, nothing is overwritten, and the text is kept exactly as saved.
//! Checking that the text is a valid outcome is the caller's job
//! (`flowmap_core::outcome::parse_outcome`).

use jiff::Timestamp;
use sqlx::Row;

use crate::{Backend, Expected, MapFormat, Store, StoreError, valid_map_id};

/// One saved version of an outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredOutcome {
    /// Lowercase letters, digits, `-` and `_`, like a map id.
    pub id: String,
    /// 1 for the first save, one more for each save after it.
    pub version: u32,
    pub saved_at: Timestamp,
    pub format: MapFormat,
    /// The outcome file exactly as saved.
    pub text: String,
    pub saved_by: Option<String>,
}

impl Store {
    /// Saves `text` as the next version of outcome `id` when its latest version is what
    /// `expected` says, recording `saved_by`; otherwise nothing is saved and the error is
    /// [`StoreError::Conflict`] naming the latest version.
    pub async fn save_outcome_version(
        &self,
        id: &str,
        format: MapFormat,
        text: &str,
        expected: Expected,
        saved_by: Option<&str>,
    ) -> Result<StoredOutcome, StoreError> {
        if !valid_map_id(id) {
            return Err(StoreError::Invalid {
                what: "outcome id".into(),
                problem: format!("{id:?} must be 1-64 characters of a-z, 0-9, - and _"),
            });
        }
        let saved_at =
            Timestamp::from_millisecond(Timestamp::now().as_millisecond()).map_err(|e| {
                StoreError::Invalid {
                    what: "clock".into(),
                    problem: e.to_string(),
                }
            })?;
        // As for maps: the version check and the insert share one transaction.
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        let latest: i64 =
            sqlx::query("SELECT COALESCE(MAX(version), 0) FROM outcomes WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        let latest = u32::try_from(latest).map_err(|e| StoreError::Corrupt {
            table: "outcomes",
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
                kind: "outcome",
                id: id.to_owned(),
                expected,
                latest,
            });
        }
        let version = latest + 1;
        sqlx::query(
            "INSERT INTO outcomes (id, version, saved_at, format, text, saved_by) \
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
        Ok(StoredOutcome {
            id: id.to_owned(),
            version,
            saved_at,
            format,
            text: text.to_owned(),
            saved_by: saved_by.map(str::to_owned),
        })
    }

    /// The latest version of every outcome, sorted by id.
    pub async fn outcomes(&self) -> Result<Vec<StoredOutcome>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, version, saved_at, format, text, saved_by FROM outcomes o \
             WHERE o.version = (SELECT MAX(version) FROM outcomes WHERE id = o.id)",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut outcomes = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        outcomes.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(outcomes)
    }

    /// Version `version` of outcome `id`, or its latest when `version` is `None`.
    pub async fn outcome(
        &self,
        id: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredOutcome>, StoreError> {
        let row = match version {
            Some(version) => {
                sqlx::query("SELECT id, version, saved_at, format, text, saved_by FROM outcomes WHERE id = $1 AND version = $2")
                .bind(id)
                .bind(i64::from(version))
                .fetch_optional(&self.pool)
                .await?
            }
            None => {
                sqlx::query("SELECT id, version, saved_at, format, text, saved_by FROM outcomes WHERE id = $1 ORDER BY version DESC LIMIT 1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        row.as_ref().map(decode).transpose()
    }

    /// Every version of outcome `id`, newest first; empty when there is no such outcome.
    pub async fn outcome_versions(&self, id: &str) -> Result<Vec<StoredOutcome>, StoreError> {
        let rows = sqlx::query("SELECT id, version, saved_at, format, text, saved_by FROM outcomes WHERE id = $1 ORDER BY version DESC")
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Deletes outcome `id` with all its versions; `false` when there was no such outcome.
    pub async fn delete_outcome(&self, id: &str) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM outcomes WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }
}

fn decode(row: &sqlx::any::AnyRow) -> Result<StoredOutcome, StoreError> {
    let id: String = row.try_get("id")?;
    let corrupt = |problem: String| StoreError::Corrupt {
        table: "outcomes",
        id: id.clone(),
        problem,
    };
    let version: i64 = row.try_get("version")?;
    let saved_at: i64 = row.try_get("saved_at")?;
    let format: String = row.try_get("format")?;
    Ok(StoredOutcome {
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
