//! A source's first load: plain inserts through the backend's typed driver.
//!
//! The ordinary write path ([`crate::Writer`]) is an upsert through sqlx's `Any` driver:
//! right for every later write, but for a source that holds nothing yet there is nothing
//! to merge with, and the `Any` driver copies every value once more on its way in. A first
//! load (a repository's whole history, the first time) instead inserts its rows with
//! prepared multi-row `INSERT` statements through rusqlite on a connection of its own, or
//! `INSERT … SELECT FROM UNNEST` of one array per column on PostgreSQL, in one transaction
//! that also raises the data version: a load that fails or is interrupted leaves nothing
//! behind.
//!
//! On SQLite the inserts are the critical path of a large ingest (the walk of the history
//! runs beside them), so they bind each value straight from the records into a cached
//! statement: sqlx's driver copied every value into its own argument list and handed each
//! statement to a worker thread, which cost about a tenth of the insert time.

use flowmap_core::events::{Change, Deployment};
use rusqlite::types::ToSql;
use sqlx::postgres::Postgres;
use sqlx::{AssertSqlSafe, Transaction};

use crate::counts::CountChanges;
use crate::schema::{CHANGES, DEPLOYMENTS, Table};
use crate::write::{check_records, kind_str, status_str};
use crate::{Native, Store, StoreError};

/// Rows per SQLite `INSERT`: one prepared statement of 100 rows, reused, binds about as
/// fast per row as far larger ones and keeps each statement's arguments small.
const SQLITE_ROWS: usize = 100;

/// The record tables; a source with a row in any of them has been loaded before.
const RECORD_TABLES: [&str; 5] = [
    "deployments",
    "changes",
    "incidents",
    "builds",
    "milestones",
];

/// An open first load of one source: its changes and deployments are inserted, not
/// merged, and become visible together on [`FirstLoad::commit`].
///
/// Dropping it (or the process dying) rolls everything back. Ids must be unique within
/// the load: a repeated id fails the insert instead of replacing the earlier record.
#[derive(Debug)]
pub struct FirstLoad {
    tx: NativeTx,
    source: String,
    inserted: u64,
    /// The SQLite page cache set for the load so far, in KiB (see [`cache_kib`]).
    cache_kib: u64,
    /// What the load did to the tables' totals, applied at commit.
    counts: CountChanges,
}

#[derive(Debug)]
enum NativeTx {
    /// A connection in `BEGIN IMMEDIATE`; `None` only while a blocking thread uses it.
    /// Closing it with the transaction open rolls the transaction back.
    Sqlite(Option<rusqlite::Connection>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `work` on the SQLite connection in `slot`, on the blocking pool.
async fn on_sqlite<T: Send + 'static>(
    slot: &mut Option<rusqlite::Connection>,
    work: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let conn = slot.take().ok_or_else(|| StoreError::Invalid {
        what: "first load".into(),
        problem: "an earlier write of this load stopped midway".into(),
    })?;
    let (conn, result) = tokio::task::spawn_blocking(move || {
        let result = work(&conn);
        (conn, result)
    })
    .await
    .map_err(|err| StoreError::Invalid {
        what: "first load".into(),
        problem: format!("the writing thread stopped: {err}"),
    })?;
    *slot = Some(conn);
    result
}

impl Store {
    /// Starts a first load of `source`, or answers `None` when the source already holds
    /// records (then [`Store::begin`] and its upserts are the way to write).
    ///
    /// On SQLite the transaction takes the write lock before looking (`BEGIN IMMEDIATE`),
    /// so no other writer can add records of the source in between. On PostgreSQL two
    /// first loads of the same source at once both start; the second waits at its first
    /// key the other has inserted and, once the other commits, fails on it, writing
    /// nothing.
    pub async fn begin_first_load(&self, source: &str) -> Result<Option<FirstLoad>, StoreError> {
        if source.is_empty() {
            return Err(StoreError::Invalid {
                what: "source".into(),
                problem: "must not be empty".into(),
            });
        }
        let mut any_rows = String::from("SELECT ");
        for (i, table) in RECORD_TABLES.iter().enumerate() {
            if i > 0 {
                any_rows.push_str(" OR ");
            }
            any_rows.push_str(&format!("EXISTS (SELECT 1 FROM {table} WHERE source = $1)"));
        }
        let (tx, loaded) = match &self.native {
            Native::Sqlite(file) => {
                let file = file.clone();
                let source = source.to_owned();
                let (conn, loaded) = tokio::task::spawn_blocking(move || {
                    let conn = sqlite_connect(&file)?;
                    conn.execute_batch("BEGIN IMMEDIATE")?;
                    let loaded: bool = conn.query_row(&any_rows, [&source], |row| row.get(0))?;
                    Ok::<_, StoreError>((conn, loaded))
                })
                .await
                .map_err(|err| StoreError::Invalid {
                    what: "first load".into(),
                    problem: format!("the writing thread stopped: {err}"),
                })??;
                (NativeTx::Sqlite(Some(conn)), loaded)
            }
            Native::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let (loaded,): (bool,) = sqlx::query_as(AssertSqlSafe(any_rows))
                    .bind(source)
                    .fetch_one(&mut *tx)
                    .await?;
                (NativeTx::Postgres(tx), loaded)
            }
        };
        if loaded {
            // Nothing was written; the lock goes with the transaction.
            match tx {
                NativeTx::Sqlite(conn) => drop(conn),
                NativeTx::Postgres(tx) => tx.rollback().await?,
            }
            return Ok(None);
        }
        Ok(Some(FirstLoad {
            tx,
            source: source.to_owned(),
            inserted: 0,
            cache_kib: cache_kib(0),
            counts: CountChanges::default(),
        }))
    }
}

impl FirstLoad {
    /// The source being loaded.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Inserts `changes` and `deployments`, which are checked like every write (see
    /// [`crate::Writer::write`]). Their strings move into the statements' arguments
    /// instead of being copied. Returns how many records were inserted.
    pub async fn insert(
        &mut self,
        changes: Vec<Change>,
        deployments: Vec<Deployment>,
    ) -> Result<u64, StoreError> {
        check_records(&deployments, &changes)?;
        let count = (changes.len() + deployments.len()) as u64;
        let (changes_inserted, deployments_inserted) = (
            i64::try_from(changes.len()).unwrap_or(i64::MAX),
            i64::try_from(deployments.len()).unwrap_or(i64::MAX),
        );
        match &mut self.tx {
            NativeTx::Sqlite(slot) => {
                let source = self.source.clone();
                let cache = cache_kib(self.inserted + count);
                let grow = (cache != self.cache_kib).then_some(cache);
                self.cache_kib = cache;
                on_sqlite(slot, move |conn| {
                    if let Some(kib) = grow {
                        conn.execute_batch(&format!("PRAGMA cache_size = -{kib};"))?;
                    }
                    sqlite_insert(conn, &source, &CHANGES, &changes, bind_change)?;
                    sqlite_insert(conn, &source, &DEPLOYMENTS, &deployments, bind_deployment)
                })
                .await?;
            }
            NativeTx::Postgres(tx) => {
                if !changes.is_empty() {
                    pg_insert_changes(tx, &self.source, changes).await?;
                }
                if !deployments.is_empty() {
                    pg_insert_deployments(tx, &self.source, deployments).await?;
                }
            }
        }
        self.inserted += count;
        self.counts.add("changes", changes_inserted);
        self.counts.add("deployments", deployments_inserted);
        Ok(count)
    }

    /// Stores `value` under `key` in this transaction (see [`Store::get_meta`]).
    pub async fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        match &mut self.tx {
            NativeTx::Sqlite(slot) => {
                let (key, value) = (key.to_owned(), value.to_owned());
                on_sqlite(slot, move |conn| {
                    conn.execute(crate::write::SET_META_SQL, [&key, &value])?;
                    Ok(())
                })
                .await?;
            }
            NativeTx::Postgres(tx) => {
                sqlx::query(crate::write::SET_META_SQL)
                    .bind(key)
                    .bind(value)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }

    /// Makes the load visible, with the source's last update time, and raises the data
    /// version, like [`crate::Writer::commit`]. Returns how many records were inserted.
    pub async fn commit(mut self) -> Result<u64, StoreError> {
        let now = jiff::Timestamp::now().as_millisecond().to_string();
        let key = crate::sources::updated_key(&self.source);
        self.set_meta(&key, &now).await?;
        // Last, so that on PostgreSQL these rows' locks are held only while committing.
        let counts = self.counts.statements();
        match self.tx {
            NativeTx::Sqlite(mut slot) => {
                on_sqlite(&mut slot, move |conn| {
                    for statement in &counts {
                        conn.execute(statement, [])?;
                    }
                    conn.execute(crate::version::BUMP_SQL, [])?;
                    conn.execute_batch("COMMIT")?;
                    Ok(())
                })
                .await?;
            }
            NativeTx::Postgres(mut tx) => {
                for statement in counts {
                    sqlx::query(AssertSqlSafe(statement))
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(crate::version::BUMP_SQL)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(self.inserted)
    }

    /// Discards everything inserted.
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.tx {
            NativeTx::Sqlite(mut slot) => {
                on_sqlite(&mut slot, |conn| Ok(conn.execute_batch("ROLLBACK")?)).await?;
            }
            NativeTx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// A read-write connection to the SQLite file, with the store's settings and the page
/// cache a first load starts with.
fn sqlite_connect(file: &std::path::Path) -> Result<rusqlite::Connection, StoreError> {
    let conn = rusqlite::Connection::open_with_flags(
        file,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch(crate::SQLITE_PRAGMAS)?;
    conn.execute_batch(&format!("PRAGMA cache_size = -{};", cache_kib(0)))?;
    Ok(conn)
}

/// The SQLite page cache, in KiB, a first load keeps once it holds `records` records:
/// room for the `(source, id)` key (some 70 bytes a record, with a quarter to spare),
/// which is filled at random places and so must stay in memory, between 64 MiB and the
/// store's usual 256 MiB.
///
/// Not more: the other pages a first load writes are never touched again once full (the
/// table and the time indexes grow at their end), and a cache that keeps only what is
/// still changing hands them to the WAL while the records are being read, on the core
/// the readers share, instead of all at the commit, when one core works and the other
/// waits. Not less: a key that no longer fits is read back from the file page by page. A
/// million commits (measured before the cache grew with the load): 6.35–6.52 s with
/// 64 MiB against 6.58–6.90 s with 256 MiB, and 7.7–7.8 s with 32 MiB; two million:
/// 16.3–17.9 s with 64 MiB against 14.3 s with 256 MiB.
fn cache_kib(records: u64) -> u64 {
    (records.saturating_mul(88) / 1024).clamp(64 * 1024, 256 * 1024)
}

/// `INSERT OR FAIL INTO table (source, id, columns…) VALUES (?, …), …` for `rows` rows.
///
/// `OR FAIL` because a failed first load is rolled back as a whole anyway: SQLite then
/// keeps no statement journal (a copy of every page a statement changes, to undo just that
/// statement), which cost a tenth of the insert time.
fn insert_sql(table: &Table, rows: usize) -> String {
    let mut sql = format!("INSERT OR FAIL INTO {} (source, id", table.name);
    for (name, _) in table.columns {
        sql.push_str(", ");
        sql.push_str(name);
    }
    sql.push_str(") VALUES ");
    let row = format!("({})", vec!["?"; table.width()].join(", "));
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&row);
    }
    sql
}

/// Inserts `records` into `table`, [`SQLITE_ROWS`] to a statement.
fn sqlite_insert<R>(
    conn: &rusqlite::Connection,
    source: &str,
    table: &Table,
    records: &[R],
    bind: fn(&mut Binder<'_, '_>, &R) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let mut full = conn.prepare(&insert_sql(table, SQLITE_ROWS))?;
    for chunk in records.chunks(SQLITE_ROWS) {
        let mut rest;
        let statement = if chunk.len() == SQLITE_ROWS {
            &mut full
        } else {
            rest = conn.prepare(&insert_sql(table, chunk.len()))?;
            &mut rest
        };
        let mut binder = Binder { statement, next: 1 };
        for record in chunk {
            binder.value(&source)?;
            bind(&mut binder, record)?;
        }
        binder.statement.raw_execute()?;
    }
    Ok(())
}

/// Binds values to a statement's parameters in order.
struct Binder<'s, 'c> {
    statement: &'s mut rusqlite::Statement<'c>,
    next: usize,
}

impl Binder<'_, '_> {
    fn value(&mut self, value: &dyn ToSql) -> Result<(), StoreError> {
        self.statement.raw_bind_parameter(self.next, value)?;
        self.next += 1;
        Ok(())
    }
}

fn ms(time: Option<jiff::Timestamp>) -> Option<i64> {
    time.map(|t| t.as_millisecond())
}

/// Binds a change in [`CHANGES`]' column order (after the source).
fn bind_change(b: &mut Binder<'_, '_>, c: &Change) -> Result<(), StoreError> {
    b.value(&c.id)?;
    b.value(&c.service)?;
    b.value(&c.committed_at.as_millisecond())?;
    b.value(&ms(c.authored_at))?;
    b.value(&ms(c.first_commit_at))?;
    b.value(&ms(c.pr_opened_at))?;
    b.value(&ms(c.first_review_at))?;
    b.value(&ms(c.approved_at))?;
    b.value(&ms(c.merged_at))?;
    b.value(&c.deployment)?;
    b.value(&c.author)?;
    b.value(&c.title)?;
    b.value(&c.reverts)
}

/// A deployment's listed changes as stored: a JSON array, or NULL when it lists none.
fn changes_json(changes: &[String]) -> Result<Option<String>, StoreError> {
    if changes.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(changes)
        .map(Some)
        .map_err(|err| StoreError::Invalid {
            what: "deployment changes".into(),
            problem: err.to_string(),
        })
}

/// Binds a deployment in [`DEPLOYMENTS`]' column order (after the source).
fn bind_deployment(b: &mut Binder<'_, '_>, d: &Deployment) -> Result<(), StoreError> {
    b.value(&d.id)?;
    b.value(&d.service)?;
    b.value(&d.environment)?;
    b.value(&status_str(d.status))?;
    b.value(&ms(d.started_at))?;
    b.value(&d.finished_at.as_millisecond())?;
    b.value(&d.commit)?;
    b.value(&changes_json(&d.changes)?)?;
    b.value(&kind_str(d.kind))?;
    b.value(&d.fixes)
}

/// `INSERT INTO table (source, id, columns…) SELECT $1, * FROM UNNEST($2::type[], …)`:
/// one statement per batch, one array per column.
fn unnest_sql(table: &Table, types: &[&str]) -> String {
    let mut sql = format!("INSERT INTO {} (source, id", table.name);
    for (name, _) in table.columns {
        sql.push_str(", ");
        sql.push_str(name);
    }
    sql.push_str(") SELECT $1, * FROM UNNEST(");
    for (i, ty) in types.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("${}::{ty}[]", i + 2));
    }
    sql.push(')');
    sql
}

async fn pg_insert_changes(
    tx: &mut Transaction<'static, Postgres>,
    source: &str,
    changes: Vec<Change>,
) -> Result<(), StoreError> {
    let n = changes.len();
    let mut ids = Vec::with_capacity(n);
    let mut services = Vec::with_capacity(n);
    let mut committed = Vec::with_capacity(n);
    let mut times: [Vec<Option<i64>>; 6] = std::array::from_fn(|_| Vec::with_capacity(n));
    let mut deployments = Vec::with_capacity(n);
    let mut authors = Vec::with_capacity(n);
    let mut titles = Vec::with_capacity(n);
    let mut reverts = Vec::with_capacity(n);
    for c in changes {
        ids.push(c.id);
        services.push(c.service);
        committed.push(c.committed_at.as_millisecond());
        let optional = [
            c.authored_at,
            c.first_commit_at,
            c.pr_opened_at,
            c.first_review_at,
            c.approved_at,
            c.merged_at,
        ];
        for (column, time) in times.iter_mut().zip(optional) {
            column.push(ms(time));
        }
        deployments.push(c.deployment);
        authors.push(c.author);
        titles.push(c.title);
        reverts.push(c.reverts);
    }
    let types = [
        "text", "text", "int8", "int8", "int8", "int8", "int8", "int8", "int8", "text", "text",
        "text", "text",
    ];
    let [
        authored,
        first_commit,
        pr_opened,
        first_review,
        approved,
        merged,
    ] = times;
    sqlx::query(AssertSqlSafe(unnest_sql(&CHANGES, &types)))
        .bind(source)
        .bind(ids)
        .bind(services)
        .bind(committed)
        .bind(authored)
        .bind(first_commit)
        .bind(pr_opened)
        .bind(first_review)
        .bind(approved)
        .bind(merged)
        .bind(deployments)
        .bind(authors)
        .bind(titles)
        .bind(reverts)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn pg_insert_deployments(
    tx: &mut Transaction<'static, Postgres>,
    source: &str,
    deployments: Vec<Deployment>,
) -> Result<(), StoreError> {
    let n = deployments.len();
    let mut ids = Vec::with_capacity(n);
    let mut services = Vec::with_capacity(n);
    let mut environments = Vec::with_capacity(n);
    let mut statuses = Vec::with_capacity(n);
    let mut started = Vec::with_capacity(n);
    let mut finished = Vec::with_capacity(n);
    let mut commits = Vec::with_capacity(n);
    let mut changes = Vec::with_capacity(n);
    let mut kinds = Vec::with_capacity(n);
    let mut fixes = Vec::with_capacity(n);
    for d in deployments {
        changes.push(changes_json(&d.changes)?);
        ids.push(d.id);
        services.push(d.service);
        environments.push(d.environment);
        statuses.push(status_str(d.status));
        started.push(ms(d.started_at));
        finished.push(d.finished_at.as_millisecond());
        commits.push(d.commit);
        kinds.push(kind_str(d.kind));
        fixes.push(d.fixes);
    }
    let types = [
        "text", "text", "text", "text", "int8", "int8", "text", "text", "text", "text",
    ];
    sqlx::query(AssertSqlSafe(unnest_sql(&DEPLOYMENTS, &types)))
        .bind(source)
        .bind(ids)
        .bind(services)
        .bind(environments)
        .bind(statuses)
        .bind(started)
        .bind(finished)
        .bind(commits)
        .bind(changes)
        .bind(kinds)
        .bind(fixes)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_inserts_list_every_column_once_per_row() {
        let sql = insert_sql(&DEPLOYMENTS, 2);
        assert_eq!(
            sql,
            "INSERT OR FAIL INTO deployments (source, id, service, environment, status, started_at, \
             finished_at, commit_sha, changes, kind, fixes) VALUES \
             (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
    }

    #[test]
    fn a_first_loads_cache_grows_with_its_key_between_64_and_256_mib() {
        const MIB: u64 = 1024;
        assert_eq!(cache_kib(0), 64 * MIB);
        assert_eq!(cache_kib(500_000), 64 * MIB);
        // 88 bytes a record: a million records' key and its room to spare.
        assert_eq!(cache_kib(1_000_000), 1_000_000 * 88 / 1024);
        assert_eq!(cache_kib(2_000_000), 2_000_000 * 88 / 1024);
        assert_eq!(cache_kib(10_000_000), 256 * MIB);
        assert_eq!(cache_kib(u64::MAX), 256 * MIB);
        let mut last = 0;
        for records in (0..5_000_000).step_by(8_192) {
            assert!(
                cache_kib(records) >= last,
                "the cache never shrinks as a load grows"
            );
            last = cache_kib(records);
        }
    }

    #[test]
    fn postgres_inserts_take_one_array_per_column() {
        let sql = unnest_sql(&DEPLOYMENTS, &["text", "int8"]);
        assert!(
            sql.ends_with("SELECT $1, * FROM UNNEST($2::text[], $3::int8[])"),
            "{sql}"
        );
    }
}
