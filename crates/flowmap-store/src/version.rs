//! The data version: one counter that every committed write of records raises.
//!
//! Whatever is computed from the records (a DORA report, the service list, the data's
//! extent) stays valid while the counter is unchanged, so a cache keyed by it never serves
//! stale numbers — in one process or in several sharing a database.

use sqlx::{Any, Executor};

use crate::{Store, StoreError};

/// Reads the counter.
pub(crate) const VERSION_SQL: &str = "SELECT version FROM data_version WHERE id = 1";

/// Raises the counter; run inside the write transaction it counts.
pub(crate) const BUMP_SQL: &str = "UPDATE data_version SET version = version + 1 WHERE id = 1";

/// Raises the counter inside the caller's write transaction.
pub(crate) async fn bump<'e, E>(executor: E) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(BUMP_SQL).execute(executor).await?;
    Ok(())
}

impl Store {
    /// The current data version: a number that grows with every committed write of
    /// records (including deletions) by any process using this database. One primary-key
    /// read; cheap enough to ask on every request.
    ///
    /// A value computed from records loaded *after* reading the version `v` reflects at
    /// least version `v`, so keeping it under `v` is safe: it can only be newer than its
    /// key, never staler.
    pub async fn data_version(&self) -> Result<i64, StoreError> {
        let (version,): (i64,) = sqlx::query_as(VERSION_SQL).fetch_one(&self.pool).await?;
        Ok(version)
    }
}
