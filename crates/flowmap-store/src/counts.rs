//! How many records each listed table holds (`record_counts`, migration 0100), kept by
//! every write so that a list's `total` over every service and all time is one row read,
//! not a count of the whole table.
//!
//! Invariant: every statement that inserts or deletes deployments, changes or incidents
//! belongs to a transaction that records what it did here before it commits — the
//! [`crate::Writer`] (its upserts and deletions) and the first load. A write that cannot
//! tell its inserts from its updates marks the table's total unknown instead, and the next
//! read counts the table again. Writers change the rows just before committing, in one
//! order ([`COUNTED`]) and before the data version, so concurrent writers never wait on
//! each other in a cycle.

use sqlx::{AssertSqlSafe, Row};

use crate::{Backend, Store, StoreError};

/// PostgreSQL's SQLSTATE for a write refused by a read-only server or transaction.
const READ_ONLY_TRANSACTION: &str = "25006";

/// The tables whose totals are kept, in the order writers lock their rows.
const COUNTED: [&str; 3] = ["deployments", "changes", "incidents"];

/// What one write transaction did to the tables' totals.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CountChanges {
    /// Records inserted less records deleted, per table of [`COUNTED`].
    delta: [i64; 3],
    /// Whether a write whose inserts are not known touched the table.
    unknown: [bool; 3],
}

impl CountChanges {
    /// Notes `records` more (or, negative, fewer) in `table`; other tables are not counted.
    pub(crate) fn add(&mut self, table: &str, records: i64) {
        if let Some(at) = COUNTED.iter().position(|&name| name == table) {
            self.delta[at] += records;
        }
    }

    /// Notes that `table` changed by an unknown number of records.
    pub(crate) fn forget(&mut self, table: &str) {
        if let Some(at) = COUNTED.iter().position(|&name| name == table) {
            self.unknown[at] = true;
        }
    }

    /// The statements that apply the changes, to run in the write's transaction just
    /// before it commits. Spelled with literals (the names are [`COUNTED`]'s, the numbers
    /// integers), so that every driver runs them alike.
    pub(crate) fn statements(&self) -> Vec<String> {
        COUNTED
            .iter()
            .enumerate()
            .filter_map(|(at, name)| {
                if self.unknown[at] {
                    Some(format!(
                        "UPDATE record_counts SET known = 0 WHERE name = '{name}'"
                    ))
                } else if self.delta[at] != 0 {
                    Some(format!(
                        "UPDATE record_counts SET records = records + {} WHERE name = '{name}'",
                        self.delta[at]
                    ))
                } else {
                    None
                }
            })
            .collect()
    }
}

impl Store {
    /// How many records `table` (one of [`COUNTED`]) holds: the kept total, or, when it is
    /// not known, a count of the table, which is then kept.
    pub(crate) async fn total_records(&self, table: &'static str) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT records, known FROM record_counts WHERE name = $1")
            .bind(table)
            .fetch_one(&self.pool)
            .await?;
        if row.try_get::<i64, _>(1)? == 1 {
            return Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0));
        }
        // Counted while holding the row's lock: a write changes the row just before it
        // commits, so none commits between the count and the kept total. (On PostgreSQL
        // each statement reads what was committed when it began, after the lock.)
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        let locked = sqlx::query("UPDATE record_counts SET known = 0 WHERE name = $1")
            .bind(table)
            .execute(&mut *tx)
            .await;
        let count_sql = format!("SELECT COUNT(*) FROM {table}");
        if let Err(sqlx::Error::Database(err)) = &locked
            && err.code().as_deref() == Some(READ_ONLY_TRANSACTION)
        {
            // A read-only server (a standby): count, and leave keeping the total to the
            // primary's next read.
            drop(tx);
            let count: i64 = sqlx::query_scalar(AssertSqlSafe(count_sql))
                .fetch_one(&self.pool)
                .await?;
            return Ok(u64::try_from(count).unwrap_or(0));
        }
        locked?;
        let count: i64 = sqlx::query_scalar(AssertSqlSafe(count_sql))
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("UPDATE record_counts SET records = $1, known = 1 WHERE name = $2")
            .bind(count)
            .bind(table)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
