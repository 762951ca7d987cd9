//! Reading records through each backend's own driver, for loads of up to millions of rows.
//!
//! sqlx's `Any` driver copies every value of every row into a generic value before it is
//! decoded. For the loads behind a report that costs several times what the database
//! itself spends, so loads read differently per backend:
//!
//! - **SQLite** through rusqlite, on a blocking thread: it steps the statement and decodes
//!   each column in place (sqlx's SQLite driver, typed, copies each value too and sends
//!   each row through a channel: measured 1.7 s for a million changes, against 0.7 s).
//! - **PostgreSQL** through sqlx's typed driver, whose rows borrow from the received
//!   buffer; the changes of a load over every service, most of its rows, through a binary
//!   `COPY` ([`crate::copy_out`]), with no row object per row.
//!
//! Both read by position, the columns in [`Table::select_list`] order, and decode with one
//! set of decoders over [`Cells`]. Every load sees one snapshot however many queries it
//! takes: it runs in one read transaction (a repeatable read on PostgreSQL), or in
//! several begun at one snapshot (a grouped load on SQLite, read on two connections).

use std::collections::VecDeque;
use std::path::PathBuf;

use flowmap_core::events::{
    Build, Change, Deployment, DeploymentKind, DeploymentStatus, Incident, Milestone,
};
use futures_util::{Stream, TryStreamExt};
use jiff::Timestamp;
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection, Row};
use tokio::sync::mpsc;

use crate::copy_out::{CopyOut, CopyRow};
use crate::load::{
    BUILD_KIND, CHANGE_KIND, DEPLOYMENT_KIND, Group, INCIDENT_KIND, Kind, MILESTONE_KIND,
    SERVICES_PER_GROUP, select,
};
use crate::schema::{BUILDS, CHANGES, DEPLOYMENTS, INCIDENTS, MILESTONES, Table};
use crate::version::VERSION_SQL;
use crate::{Dataset, LoadQuery, Native, Store, StoreError, TimeRange};

/// A bound parameter of a load's `SELECT`.
#[derive(Clone, Debug)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
}

impl Param {
    /// The value as a PostgreSQL literal, for a statement that takes no parameters (a
    /// `COPY`). Text is quoted by doubling its quotes, which is the whole of quoting
    /// while `standard_conforming_strings` is on.
    fn literal(&self) -> String {
        match self {
            Param::Text(text) => format!("'{}'", text.replace('\'', "''")),
            Param::Int(n) => n.to_string(),
        }
    }
}

/// Every service with a deployment, change or incident, by a loose index scan: one index
/// probe per service and table (`MIN(service) … WHERE service > previous`), instead of
/// reading every row's service. The same SQL runs on both backends; the names come back
/// unsorted and repeated, for the caller to sort.
pub(crate) const SERVICES_SQL: &str = "\
    WITH RECURSIVE \
      d(s) AS (SELECT MIN(service) FROM deployments UNION ALL \
               SELECT (SELECT MIN(service) FROM deployments WHERE service > d.s) \
               FROM d WHERE d.s IS NOT NULL), \
      c(s) AS (SELECT MIN(service) FROM changes UNION ALL \
               SELECT (SELECT MIN(service) FROM changes WHERE service > c.s) \
               FROM c WHERE c.s IS NOT NULL), \
      i(s) AS (SELECT MIN(service) FROM incidents UNION ALL \
               SELECT (SELECT MIN(service) FROM incidents WHERE service > i.s) \
               FROM i WHERE i.s IS NOT NULL) \
    SELECT s FROM d WHERE s IS NOT NULL \
    UNION ALL SELECT s FROM c WHERE s IS NOT NULL \
    UNION ALL SELECT s FROM i WHERE s IS NOT NULL";

/// Sorts and de-duplicates service names. Sorted here: SQL text ordering depends on the
/// backend's collation.
pub(crate) fn sorted_names(mut names: Vec<String>) -> Vec<String> {
    names.sort_unstable();
    names.dedup();
    names
}

/// [`crate::Store::load`] on either backend: the whole query in one snapshot, unsorted.
pub(crate) async fn load(store: &Store, query: LoadQuery) -> Result<Dataset, StoreError> {
    match &store.native {
        Native::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            pg_snapshot(&mut tx).await?;
            let data = pg_dataset(&mut tx, &query).await?;
            tx.commit().await?;
            Ok(data)
        }
        Native::Sqlite(file) => {
            let file = file.clone();
            blocking(move || {
                let mut conn = sqlite_open(file)?;
                let tx = conn.transaction()?;
                let mut data = Dataset::default();
                sqlite_fill(&tx, &query, &query.services, Reading::Whole, &mut data)?;
                Ok(data)
            })
            .await
        }
    }
}

/// [`crate::Store::load_grouped`] on either backend: starts the reader and returns.
pub(crate) fn load_grouped(
    store: &Store,
    query: LoadQuery,
    sender: mpsc::Sender<Group>,
    mut recycled: mpsc::Receiver<Dataset>,
) {
    match &store.native {
        Native::Postgres(pool) => {
            let pool = pool.clone();
            tokio::spawn(async move {
                if let Err(err) = pg_grouped(&pool, &query, &sender, &mut recycled).await {
                    // The receiver may be gone already; then nobody is waiting for it.
                    let _ = sender.send(Err(err)).await;
                }
            });
        }
        Native::Sqlite(file) => {
            let file = file.clone();
            tokio::task::spawn_blocking(move || {
                if let Err(err) = sqlite_grouped(file, &query, &sender, recycled) {
                    let _ = sender.blocking_send(Err(err));
                }
            });
        }
    }
}

/// Readers of a grouped SQLite load, each on a thread and connection of its own.
const SQLITE_READERS: usize = 2;

/// [`load_grouped`] on SQLite: the groups are read by [`SQLITE_READERS`] threads in turn
/// (reader `i` reads groups `i`, `i + SQLITE_READERS`, …) and sent on in order.
///
/// Reading is most of a report over every service (1.4 s of 1.75 s of CPU for a million
/// changes), and one SQLite connection reads on one core. The readers' connections must
/// see one snapshot: each begins its read transaction by reading the data version, which
/// every write of records raises in its own transaction, so equal versions mean that no
/// write committed between the snapshots; otherwise they begin again.
fn sqlite_grouped(
    file: PathBuf,
    query: &LoadQuery,
    sender: &mpsc::Sender<Group>,
    recycled: mpsc::Receiver<Dataset>,
) -> Result<(), StoreError> {
    let mut conns = (0..SQLITE_READERS)
        .map(|_| sqlite_open(file.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut attempts = 0;
    loop {
        let mut versions = Vec::with_capacity(conns.len());
        for conn in &conns {
            conn.execute_batch("BEGIN")?;
            versions.push(conn.query_row(VERSION_SQL, [], |row| row.get::<_, i64>(0))?);
        }
        if versions.windows(2).all(|pair| pair[0] == pair[1]) {
            break;
        }
        for conn in &conns {
            conn.execute_batch("ROLLBACK")?;
        }
        attempts += 1;
        if attempts == 100 {
            // Writes commit faster than two reads begin: read on one connection.
            conns.truncate(1);
        }
    }
    let names = {
        let mut statement = conns[0].prepare(SERVICES_SQL)?;
        let names = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<String>, _>>()?;
        sorted_names(names)
    };
    let groups: Vec<&[String]> = names.chunks(SERVICES_PER_GROUP).collect();
    let readers = conns.len();
    let recycled = std::sync::Mutex::new(recycled);
    std::thread::scope(|scope| {
        let mut parts = Vec::with_capacity(readers);
        for (first, conn) in conns.into_iter().enumerate() {
            let (part, receiver) = std::sync::mpsc::sync_channel::<Group>(0);
            parts.push(receiver);
            let (groups, recycled) = (&groups, &recycled);
            scope.spawn(move || {
                for group in groups.iter().skip(first).step_by(readers) {
                    let mut data = match recycled.lock() {
                        Ok(mut recycled) => reuse(&mut recycled),
                        Err(_) => Dataset::default(),
                    };
                    let read = sqlite_fill(&conn, query, group, Reading::Group, &mut data);
                    let failed = read.is_err();
                    // A receiver that is gone has stopped reading: so does this reader.
                    if part.send(read.map(|()| data)).is_err() || failed {
                        return;
                    }
                }
            });
        }
        for turn in 0..groups.len() {
            let Ok(group) = parts[turn % readers].recv() else {
                return Ok(());
            };
            let failed = group.is_err();
            if sender.blocking_send(group).is_err() || failed {
                return Ok(());
            }
        }
        Ok(())
    })
}

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| StoreError::Invalid {
            what: "load".into(),
            problem: format!("the reading thread stopped: {err}"),
        })?
}

/// A read-only connection to the SQLite file, with the store's busy timeout.
fn sqlite_open(file: PathBuf) -> Result<rusqlite::Connection, StoreError> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// What [`sqlite_fill`] reads.
#[derive(Clone, Copy, PartialEq)]
enum Reading {
    /// A whole load: builds and milestones too when the query asks, in any order.
    Whole,
    /// A group of [`load_grouped`]: deployments, changes and incidents, each kind in
    /// [`Kind::service_time_order`].
    Group,
}

/// The records of `services` (empty: every service) that `query` selects, from SQLite,
/// added to `data`.
fn sqlite_fill(
    conn: &rusqlite::Connection,
    query: &LoadQuery,
    services: &[String],
    reading: Reading,
    data: &mut Dataset,
) -> Result<(), StoreError> {
    fn read<T>(
        conn: &rusqlite::Connection,
        kind: &Kind,
        (query, services, reading, window): (&LoadQuery, &[String], Reading, &TimeRange),
        decode: impl Fn(&rusqlite::Row<'_>) -> Result<T, String>,
        records: &mut Vec<T>,
    ) -> Result<(), StoreError> {
        let (mut sql, params) = select(kind, query, services, window, |n, _| format!("?{n}"));
        if reading == Reading::Group {
            sql += &kind.service_time_order();
        }
        let mut statement = conn.prepare(&sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(sqlite_values(&params)))?;
        while let Some(row) = rows.next()? {
            records.push(decode(row).map_err(|problem| corrupt(kind.table, row, problem))?);
        }
        Ok(())
    }
    let scope = |window| (query, services, reading, window);
    read(
        conn,
        &DEPLOYMENT_KIND,
        scope(&query.deployments),
        |row| decode_deployment(row),
        &mut data.deployments,
    )?;
    read(
        conn,
        &CHANGE_KIND,
        scope(&query.changes),
        |row| decode_change(row),
        &mut data.changes,
    )?;
    read(
        conn,
        &INCIDENT_KIND,
        scope(&query.incidents),
        |row| decode_incident(row),
        &mut data.incidents,
    )?;
    if reading == Reading::Whole {
        if let Some(window) = &query.builds {
            read(
                conn,
                &BUILD_KIND,
                scope(window),
                |row| decode_build(row),
                &mut data.builds,
            )?;
        }
        if let Some(window) = &query.milestones {
            read(
                conn,
                &MILESTONE_KIND,
                scope(window),
                |row| decode_milestone(row),
                &mut data.milestones,
            )?;
        }
    }
    Ok(())
}

/// A load's parameters as SQLite values.
fn sqlite_values(params: &[Param]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match p {
            Param::Text(text) => rusqlite::types::Value::Text(text.clone()),
            Param::Int(n) => rusqlite::types::Value::Integer(*n),
        })
        .collect()
}

/// An empty dataset, in the memory of a group handed back when there is one.
fn reuse(recycled: &mut mpsc::Receiver<Dataset>) -> Dataset {
    match recycled.try_recv() {
        Ok(mut data) => {
            data.deployments.clear();
            data.changes.clear();
            data.incidents.clear();
            data.builds.clear();
            data.milestones.clear();
            data
        }
        Err(_) => Dataset::default(),
    }
}

/// [`load_grouped`] on PostgreSQL: a cursor per kind, each ordered by service, read side
/// by side and cut into groups by the service list.
///
/// Ordered by service, each kind is read through its `(service, time)` index as the rows
/// are needed (the changes from the index alone, once the table has been vacuumed). A
/// query per group (`service IN (…)`) would instead read each table's whole heap once per
/// group, since rows lie in the order they were written; and one query over the three
/// tables sorts a year of the organisation before its first row comes back (1.3 s at a
/// million changes).
///
/// The changes, most of the rows, are streamed by a binary `COPY` on a second connection,
/// so that the database produces them while this side decodes the deployments and the
/// other way round; the second transaction imports the first one's snapshot, so both see
/// the same data. The `COPY` spares this side sqlx's row object per row: a report over a
/// million changes took 1.05–1.10 s with it against 1.45–1.52 s with rows fetched from a
/// cursor.
///
/// The cursors order by the database's collation, whatever it is; the service list comes
/// in the same order from the same snapshot, and rows are matched to it by equality only.
async fn pg_grouped(
    pool: &sqlx::PgPool,
    query: &LoadQuery,
    sender: &mpsc::Sender<Group>,
    recycled: &mut mpsc::Receiver<Dataset>,
) -> Result<(), StoreError> {
    let (mut tx, mut copying) = {
        // Both connections are taken under one lock: two loads each holding one
        // connection of a full pool and waiting for a second would wait forever.
        static TAKING_TWO: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _taking = TAKING_TWO.lock().await;
        (pool.begin().await?, Copying::new(pool.acquire().await?))
    };
    let mut other = sqlx::Connection::begin(&mut *copying.conn).await?;
    pg_snapshot(&mut tx).await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *tx)
        .await?;
    pg_snapshot(&mut other).await?;
    // The snapshot's name is the server's own (hex digits and dashes); `SET` takes no
    // parameters.
    if !snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(StoreError::Invalid {
            what: "load".into(),
            problem: format!("PostgreSQL named a snapshot {snapshot:?}"),
        });
    }
    sqlx::query(AssertSqlSafe(format!(
        "SET TRANSACTION SNAPSHOT '{snapshot}'"
    )))
    .execute(&mut *other)
    .await?;
    pg_load_settings(&mut tx).await?;
    pg_load_settings(&mut other).await?;
    let names: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT DISTINCT s FROM ({SERVICES_SQL}) AS services ORDER BY s"
    )))
    .fetch_all(&mut *tx)
    .await?;
    let mut deployments =
        FetchCursor::declare(&mut tx, &DEPLOYMENT_KIND, query, &query.deployments).await?;
    let mut incidents =
        FetchCursor::declare(&mut tx, &INCIDENT_KIND, query, &query.incidents).await?;
    let mut changes = copy_cursor(&mut other, &CHANGE_KIND, query, &query.changes).await?;
    for group in names.chunks(SERVICES_PER_GROUP) {
        let mut data = reuse(recycled);
        let group = (&names[..], group);
        let Dataset {
            deployments: group_deployments,
            changes: group_changes,
            incidents: group_incidents,
            ..
        } = &mut data;
        tokio::try_join!(
            async {
                deployments
                    .read_group(
                        &mut tx,
                        group,
                        decode_deployment,
                        |d| &d.service,
                        group_deployments,
                    )
                    .await?;
                incidents
                    .read_group(
                        &mut tx,
                        group,
                        decode_incident,
                        |i| &i.service,
                        group_incidents,
                    )
                    .await
            },
            changes.read_group(
                group,
                |row| decode_change(row),
                |c| &c.service,
                group_changes
            ),
        )?;
        if sender.send(Ok(data)).await.is_err() {
            return Ok(());
        }
    }
    deployments.finish(&mut tx).await?;
    incidents.finish(&mut tx).await?;
    changes.finish().await?;
    drop(changes);
    other.commit().await?;
    copying.clean = true;
    tx.commit().await?;
    Ok(())
}

/// Settings for the rest of a load's transaction. A table never analysed may still be
/// sorted rather than read by index: in memory rather than in temporary files, and
/// without compiling the query first (JIT costs more here than it saves). A `COPY` spells
/// its parameters as literals ([`Param::literal`]), whose quoting needs standard strings.
async fn pg_load_settings(conn: &mut PgConnection) -> Result<(), StoreError> {
    for setting in [
        "SET LOCAL work_mem = '256MB'",
        "SET LOCAL jit = off",
        "SET LOCAL standard_conforming_strings = on",
    ] {
        sqlx::query(setting).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The pooled connection of a load's `COPY`: closed rather than returned to the pool
/// unless the load ended cleanly. A `COPY` abandoned midway (the report's reader gone, a
/// row that did not decode) leaves rows on the wire that the connection's next user would
/// read as answers to its own queries.
struct Copying {
    conn: sqlx::pool::PoolConnection<sqlx::Postgres>,
    clean: bool,
}

impl Copying {
    fn new(conn: sqlx::pool::PoolConnection<sqlx::Postgres>) -> Self {
        Self { conn, clean: false }
    }
}

impl Drop for Copying {
    fn drop(&mut self) {
        if !self.clean {
            self.conn.close_on_drop();
        }
    }
}

/// Rows fetched from a [`FetchCursor`] at a time: few round trips (50 000 rows took 7 %
/// less time than 10 000 for a report over a million changes), a few tens of megabytes.
const PG_FETCH_ROWS: usize = 50_000;

/// Cuts one kind's records, which arrive in service order, into the groups of the service
/// list.
struct Cutter<T> {
    kind: &'static Kind,
    /// Records read and not yet handed to a group.
    ahead: VecDeque<T>,
    /// The position in the service list of the service last seen.
    at: usize,
    /// Whether every record has been read.
    exhausted: bool,
}

impl<T> Cutter<T> {
    fn new(kind: &'static Kind) -> Self {
        Self {
            kind,
            ahead: VecDeque::new(),
            at: 0,
            exhausted: false,
        }
    }

    /// Hands the records read ahead that belong to `group` (a chunk of `names`, which
    /// holds every service in the records' order) to `records`. Whether the group is
    /// complete: a record of a later group is ahead, or none is left to read.
    fn cut(
        &mut self,
        (names, group): (&[String], &[String]),
        service: fn(&T) -> &String,
        records: &mut Vec<T>,
    ) -> bool {
        let last = group.last();
        while let Some(record) = self.ahead.pop_front() {
            if !self.reaches(names, last, service(&record)) {
                self.ahead.push_front(record);
                return true;
            }
            records.push(record);
        }
        self.exhausted
    }

    /// Whether `service`, that of the next record, is in the group that ends with `last`:
    /// the service last seen or a later one up to `last`. Moves [`Cutter::at`] to it when
    /// it is.
    fn reaches(&mut self, names: &[String], last: Option<&String>, service: &String) -> bool {
        while names.get(self.at) != Some(service) {
            if self.at >= names.len() || names.get(self.at) == last {
                return false;
            }
            self.at += 1;
        }
        true
    }

    /// Checks that every record was read and handed out: one left over came in an order
    /// other than the service list's.
    fn finish(&self) -> Result<(), StoreError> {
        if self.ahead.is_empty() && self.exhausted {
            return Ok(());
        }
        Err(self.out_of_order())
    }

    fn out_of_order(&self) -> StoreError {
        StoreError::Invalid {
            what: "load".into(),
            problem: format!(
                "PostgreSQL returned the {} in an order other than the service list's",
                self.kind.table.name
            ),
        }
    }
}

/// A declared cursor over one kind's records in service order, fetched from on the
/// connection the caller passes (one connection serves several cursors).
struct FetchCursor<T> {
    cut: Cutter<T>,
    fetch: String,
}

impl<T> FetchCursor<T> {
    async fn declare(
        conn: &mut PgConnection,
        kind: &'static Kind,
        query: &LoadQuery,
        window: &TimeRange,
    ) -> Result<Self, StoreError> {
        let name = format!("flowmap_{}", kind.table.name);
        let (sql, params) = select(kind, query, &[], window, |n, _| format!("${n}"));
        pg_query(
            format!(
                "DECLARE {name} NO SCROLL CURSOR FOR {sql}{}",
                kind.service_time_order()
            ),
            params,
        )
        .execute(&mut *conn)
        .await?;
        Ok(Self {
            cut: Cutter::new(kind),
            fetch: format!("FETCH {PG_FETCH_ROWS} FROM {name}"),
        })
    }

    /// Adds the records of the services `group` to `records` ([`Cutter::cut`]), fetching
    /// as needed.
    async fn read_group(
        &mut self,
        conn: &mut PgConnection,
        group: (&[String], &[String]),
        decode: fn(&PgRow) -> Result<T, String>,
        service: fn(&T) -> &String,
        records: &mut Vec<T>,
    ) -> Result<(), StoreError> {
        while !self.cut.cut(group, service, records) {
            let mut rows = sqlx::query(AssertSqlSafe(self.fetch.clone())).fetch(&mut *conn);
            let mut fetched = 0;
            while let Some(row) = rows.try_next().await? {
                fetched += 1;
                let record =
                    decode(&row).map_err(|problem| corrupt(self.cut.kind.table, &row, problem))?;
                self.cut.ahead.push_back(record);
            }
            self.cut.exhausted = fetched < PG_FETCH_ROWS;
        }
        Ok(())
    }

    /// [`Cutter::finish`]. (With no services at all, nothing was fetched yet.)
    async fn finish(&mut self, conn: &mut PgConnection) -> Result<(), StoreError> {
        if self.cut.ahead.is_empty() && !self.cut.exhausted {
            let rest = sqlx::query(AssertSqlSafe(self.fetch.clone()))
                .fetch_optional(&mut *conn)
                .await?;
            self.cut.exhausted = rest.is_none();
        }
        self.cut.finish()
    }
}

/// One kind's records in service order, streamed by a binary `COPY` on a connection of
/// their own: no round trip per batch, and no row object per row.
struct CopyCursor<S, T> {
    cut: Cutter<T>,
    out: CopyOut<S>,
}

/// Starts the `COPY` of `kind`'s records under `query` on `conn`.
async fn copy_cursor<'c, T>(
    conn: &'c mut PgConnection,
    kind: &'static Kind,
    query: &LoadQuery,
    window: &TimeRange,
) -> Result<
    CopyCursor<impl Stream<Item = sqlx::Result<impl AsRef<[u8]>>> + Unpin + 'c, T>,
    StoreError,
> {
    let (sql, _) = select(kind, query, &[], window, |_, param| param.literal());
    let copy = format!(
        "COPY ({sql}{}) TO STDOUT (FORMAT binary)",
        kind.service_time_order()
    );
    Ok(CopyCursor {
        cut: Cutter::new(kind),
        out: CopyOut::new(conn.copy_out_raw(&copy).await?),
    })
}

impl<S, B, T> CopyCursor<S, T>
where
    S: Stream<Item = sqlx::Result<B>> + Unpin,
    B: AsRef<[u8]>,
{
    /// Adds the records of the services `group` to `records` ([`Cutter::cut`]), reading
    /// as needed.
    async fn read_group(
        &mut self,
        group: (&[String], &[String]),
        decode: impl Fn(&CopyRow<'_>) -> Result<T, String>,
        service: fn(&T) -> &String,
        records: &mut Vec<T>,
    ) -> Result<(), StoreError> {
        let Self { cut, out } = self;
        while !cut.cut(group, service, records) {
            let table = cut.kind.table;
            let ahead = &mut cut.ahead;
            cut.exhausted = !out
                .next_rows(|row| {
                    ahead.push_back(decode(row).map_err(|problem| corrupt(table, row, problem))?);
                    Ok(())
                })
                .await?;
        }
        Ok(())
    }

    /// Reads to the end of the `COPY` (the connection is free for the next statement
    /// only then), and [`Cutter::finish`].
    async fn finish(&mut self) -> Result<(), StoreError> {
        let Self { cut, out } = self;
        let mut left_over = false;
        while !cut.exhausted {
            cut.exhausted = !out
                .next_rows(|_| {
                    left_over = true;
                    Ok(())
                })
                .await?;
        }
        if left_over {
            return Err(cut.out_of_order());
        }
        cut.finish()
    }
}

/// A PostgreSQL statement with its parameters bound.
fn pg_query(
    sql: String,
    params: Vec<Param>,
) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments> {
    params.into_iter().fold(
        sqlx::query(AssertSqlSafe(sql)),
        |query, param| match param {
            Param::Text(text) => query.bind(text),
            Param::Int(n) => query.bind(n),
        },
    )
}

/// Makes the transaction one snapshot: every query in it sees the same committed data.
async fn pg_snapshot(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(conn)
        .await?;
    Ok(())
}

/// A whole load ([`sqlite_fill`] of [`Reading::Whole`]) on PostgreSQL.
async fn pg_dataset(conn: &mut PgConnection, query: &LoadQuery) -> Result<Dataset, StoreError> {
    let services = &query.services;
    async fn read<T>(
        conn: &mut PgConnection,
        kind: &Kind,
        query: &LoadQuery,
        services: &[String],
        window: &crate::TimeRange,
        decode: fn(&PgRow) -> Result<T, String>,
    ) -> Result<Vec<T>, StoreError> {
        let (sql, params) = select(kind, query, services, window, |n, _| format!("${n}"));
        let mut rows = pg_query(sql, params).fetch(conn);
        let mut records = Vec::new();
        while let Some(row) = rows.try_next().await? {
            records.push(decode(&row).map_err(|problem| corrupt(kind.table, &row, problem))?);
        }
        Ok(records)
    }
    let mut data = Dataset {
        deployments: read(
            conn,
            &DEPLOYMENT_KIND,
            query,
            services,
            &query.deployments,
            decode_deployment,
        )
        .await?,
        changes: read(
            conn,
            &CHANGE_KIND,
            query,
            services,
            &query.changes,
            decode_change,
        )
        .await?,
        incidents: read(
            conn,
            &INCIDENT_KIND,
            query,
            services,
            &query.incidents,
            decode_incident,
        )
        .await?,
        ..Dataset::default()
    };
    if let Some(window) = &query.builds {
        data.builds = read(conn, &BUILD_KIND, query, services, window, decode_build).await?;
    }
    if let Some(window) = &query.milestones {
        data.milestones = read(
            conn,
            &MILESTONE_KIND,
            query,
            services,
            window,
            decode_milestone,
        )
        .await?;
    }
    Ok(data)
}

/// The error for a row of `table` that does not decode, naming the row by its id.
fn corrupt(table: &Table, row: &impl Cells, problem: String) -> StoreError {
    StoreError::Corrupt {
        table: table.name,
        id: row.opt_str(0).ok().flatten().unwrap_or_default().to_owned(),
        problem,
    }
}

/// One row of any driver, read by column position.
pub(crate) trait Cells {
    /// A text column; `Err` holds the driver's complaint.
    fn opt_str(&self, at: usize) -> Result<Option<&str>, String>;
    /// An integer column.
    fn opt_int(&self, at: usize) -> Result<Option<i64>, String>;
}

impl Cells for rusqlite::Row<'_> {
    fn opt_str(&self, at: usize) -> Result<Option<&str>, String> {
        use rusqlite::types::ValueRef;
        match self.get_ref(at).map_err(|e| e.to_string())? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(bytes) => std::str::from_utf8(bytes)
                .map(Some)
                .map_err(|e| e.to_string()),
            other => Err(format!("expected text, found {:?}", other.data_type())),
        }
    }

    fn opt_int(&self, at: usize) -> Result<Option<i64>, String> {
        use rusqlite::types::ValueRef;
        match self.get_ref(at).map_err(|e| e.to_string())? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(n) => Ok(Some(n)),
            other => Err(format!(
                "expected an integer, found {:?}",
                other.data_type()
            )),
        }
    }
}

/// Unchecked: a load's columns are the schema's own, `TEXT` or `BIGINT` as the decoders
/// read them (a column of another type would fail to decode rather than misread, since
/// every value carries its length). sqlx's check of each value's type against the
/// column's cost a tenth of a load's time.
impl Cells for PgRow {
    fn opt_str(&self, at: usize) -> Result<Option<&str>, String> {
        self.try_get_unchecked(at).map_err(|e| e.to_string())
    }

    fn opt_int(&self, at: usize) -> Result<Option<i64>, String> {
        self.try_get_unchecked(at).map_err(|e| e.to_string())
    }
}

impl Cells for sqlx::any::AnyRow {
    fn opt_str(&self, at: usize) -> Result<Option<&str>, String> {
        self.try_get(at).map_err(|e| e.to_string())
    }

    fn opt_int(&self, at: usize) -> Result<Option<i64>, String> {
        self.try_get(at).map_err(|e| e.to_string())
    }
}

/// The position of column `name` in `table`'s select list (the id is 0). Evaluated at
/// compile time where the decoders use it ([`at!`]), so a renamed column fails the build.
const fn position(table: &Table, name: &str) -> usize {
    const fn same(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
    if same(name, "id") {
        return 0;
    }
    let mut i = 0;
    while i < table.columns.len() {
        if same(table.columns[i].0, name) {
            return i + 1;
        }
        i += 1;
    }
    panic!("no such column")
}

/// The compile-time position of a column: `at!(CHANGES, "service")`.
macro_rules! at {
    ($table:expr, $name:literal) => {{
        const AT: usize = position(&$table, $name);
        AT
    }};
}

/// Typed reads of one row, each error naming its column.
struct Columns<'r, R> {
    row: &'r R,
    table: &'static Table,
}

impl<R: Cells> Columns<'_, R> {
    fn name(&self, at: usize) -> &'static str {
        match at {
            0 => "id",
            _ => self.table.columns.get(at - 1).map_or("?", |c| c.0),
        }
    }

    fn opt_str(&self, at: usize) -> Result<Option<&str>, String> {
        self.row
            .opt_str(at)
            .map_err(|e| format!("{}: {e}", self.name(at)))
    }

    fn str(&self, at: usize) -> Result<&str, String> {
        self.opt_str(at)?
            .ok_or_else(|| format!("{}: missing", self.name(at)))
    }

    fn text(&self, at: usize) -> Result<String, String> {
        self.str(at).map(str::to_owned)
    }

    fn opt_text(&self, at: usize) -> Result<Option<String>, String> {
        Ok(self.opt_str(at)?.map(str::to_owned))
    }

    fn opt_time(&self, at: usize) -> Result<Option<Timestamp>, String> {
        let ms = self
            .row
            .opt_int(at)
            .map_err(|e| format!("{}: {e}", self.name(at)))?;
        ms.map(Timestamp::from_millisecond)
            .transpose()
            .map_err(|e| format!("{}: {e}", self.name(at)))
    }

    fn time(&self, at: usize) -> Result<Timestamp, String> {
        self.opt_time(at)?
            .ok_or_else(|| format!("{}: missing", self.name(at)))
    }

    fn status(&self, at: usize) -> Result<DeploymentStatus, String> {
        match self.str(at)? {
            "success" => Ok(DeploymentStatus::Success),
            "failure" => Ok(DeploymentStatus::Failure),
            other => Err(format!("{}: unknown value {other:?}", self.name(at))),
        }
    }

    /// A JSON list of change ids; none when NULL.
    fn ids(&self, at: usize) -> Result<Vec<String>, String> {
        match self.opt_str(at)? {
            Some(json) => serde_json::from_str(json).map_err(|e| format!("{}: {e}", self.name(at))),
            None => Ok(Vec::new()),
        }
    }
}

pub(crate) fn decode_deployment<R: Cells>(row: &R) -> Result<Deployment, String> {
    let c = Columns {
        row,
        table: &DEPLOYMENTS,
    };
    let kind = match c.str(at!(DEPLOYMENTS, "kind"))? {
        "normal" => DeploymentKind::Normal,
        "hotfix" => DeploymentKind::Hotfix,
        "rollback" => DeploymentKind::Rollback,
        other => return Err(format!("kind: unknown value {other:?}")),
    };
    Ok(Deployment {
        id: c.text(at!(DEPLOYMENTS, "id"))?,
        service: c.text(at!(DEPLOYMENTS, "service"))?,
        environment: c.text(at!(DEPLOYMENTS, "environment"))?,
        status: c.status(at!(DEPLOYMENTS, "status"))?,
        started_at: c.opt_time(at!(DEPLOYMENTS, "started_at"))?,
        finished_at: c.time(at!(DEPLOYMENTS, "finished_at"))?,
        commit: c.opt_text(at!(DEPLOYMENTS, "commit_sha"))?,
        changes: c.ids(at!(DEPLOYMENTS, "changes"))?,
        kind,
        fixes: c.opt_text(at!(DEPLOYMENTS, "fixes"))?,
    })
}

pub(crate) fn decode_change<R: Cells>(row: &R) -> Result<Change, String> {
    let c = Columns {
        row,
        table: &CHANGES,
    };
    Ok(Change {
        id: c.text(at!(CHANGES, "id"))?,
        service: c.text(at!(CHANGES, "service"))?,
        committed_at: c.time(at!(CHANGES, "committed_at"))?,
        authored_at: c.opt_time(at!(CHANGES, "authored_at"))?,
        first_commit_at: c.opt_time(at!(CHANGES, "first_commit_at"))?,
        pr_opened_at: c.opt_time(at!(CHANGES, "pr_opened_at"))?,
        first_review_at: c.opt_time(at!(CHANGES, "first_review_at"))?,
        approved_at: c.opt_time(at!(CHANGES, "approved_at"))?,
        merged_at: c.opt_time(at!(CHANGES, "merged_at"))?,
        deployment: c.opt_text(at!(CHANGES, "deployment"))?,
        author: c.opt_text(at!(CHANGES, "author"))?,
        title: c.opt_text(at!(CHANGES, "title"))?,
        reverts: c.opt_text(at!(CHANGES, "reverts"))?,
    })
}

pub(crate) fn decode_incident<R: Cells>(row: &R) -> Result<Incident, String> {
    let c = Columns {
        row,
        table: &INCIDENTS,
    };
    Ok(Incident {
        id: c.text(at!(INCIDENTS, "id"))?,
        service: c.text(at!(INCIDENTS, "service"))?,
        started_at: c.time(at!(INCIDENTS, "started_at"))?,
        detected_at: c.opt_time(at!(INCIDENTS, "detected_at"))?,
        acknowledged_at: c.opt_time(at!(INCIDENTS, "acknowledged_at"))?,
        resolved_at: c.opt_time(at!(INCIDENTS, "resolved_at"))?,
        caused_by: c.opt_text(at!(INCIDENTS, "caused_by"))?,
        severity: c.opt_text(at!(INCIDENTS, "severity"))?,
        title: c.opt_text(at!(INCIDENTS, "title"))?,
    })
}

fn decode_build<R: Cells>(row: &R) -> Result<Build, String> {
    let c = Columns {
        row,
        table: &BUILDS,
    };
    Ok(Build {
        id: c.text(at!(BUILDS, "id"))?,
        service: c.text(at!(BUILDS, "service"))?,
        status: c.status(at!(BUILDS, "status"))?,
        started_at: c.time(at!(BUILDS, "started_at"))?,
        finished_at: c.time(at!(BUILDS, "finished_at"))?,
        commit: c.opt_text(at!(BUILDS, "commit_sha"))?,
        changes: c.ids(at!(BUILDS, "changes"))?,
        name: c.opt_text(at!(BUILDS, "name"))?,
    })
}

fn decode_milestone<R: Cells>(row: &R) -> Result<Milestone, String> {
    let c = Columns {
        row,
        table: &MILESTONES,
    };
    Ok(Milestone {
        item: c.text(at!(MILESTONES, "item"))?,
        name: c.text(at!(MILESTONES, "name"))?,
        at: c.time(at!(MILESTONES, "at"))?,
        service: c.opt_text(at!(MILESTONES, "service"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_is_the_value_itself() {
        assert_eq!(Param::Int(-1_764_633_600_000).literal(), "-1764633600000");
        assert_eq!(Param::Text("it's".into()).literal(), "'it''s'");
        assert_eq!(Param::Text("a\\'; --".into()).literal(), "'a\\''; --'");
    }

    /// The SQLite plan of a DORA load of one group's changes: an index range per service,
    /// answered from the index alone.
    #[tokio::test]
    async fn a_dora_load_of_a_groups_changes_reads_only_the_service_index() {
        let db = crate::testing::TestDb::sqlite();
        let store = Store::open(&db.location()).await.expect("open");
        let Native::Sqlite(file) = &store.native else {
            panic!("an SQLite store");
        };
        let conn = sqlite_open(file.clone()).expect("open");
        let query = LoadQuery {
            dora_columns_only: true,
            ..LoadQuery::default()
        };
        let services = ["shop".to_owned(), "search".to_owned()];
        let (sql, params) = select(&CHANGE_KIND, &query, &services, &query.changes, |n, _| {
            format!("?{n}")
        });
        let mut plan = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("plan");
        let steps: Vec<String> = plan
            .query_map(rusqlite::params_from_iter(sqlite_values(&params)), |row| {
                row.get(3)
            })
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("plan");
        assert_eq!(
            steps,
            ["SEARCH changes USING COVERING INDEX changes_by_service_time (service=?)"],
            "{sql}"
        );
    }
}
