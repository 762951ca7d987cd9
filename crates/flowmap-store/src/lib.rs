//! flowmap's memory of what really happened: deployments, changes, incidents, builds and
//! milestones (SPEC §4, §7, §11), kept in an embedded SQLite file or a shared PostgreSQL database.
//!
//! This crate owns persistence: opening either backend from one location string, the
//! versioned migrations, idempotent transactional writes and windowed loads. It must not
//! compute metrics: [`Store::load`] hands plain `flowmap_core::events` values to the engine,
//! which does all the math.
//!
//! It also keeps what the server needs to remember: value stream maps and outcomes as
//! versioned text ([`Store::save_document`]) and webhook deliveries, applied exactly once
//! ([`Store::begin_delivery`]), and live workshops with the log of their changes
//! ([`Store::change_workshop`]).
//!
//! # Model
//!
//! Every record belongs to a *source* (`import`, `git`, a webhook's name, …) and has an id;
//! `(source, kind, id)` is unique. Writing a record that already exists updates it in place,
//! and writing an identical record changes nothing, so re-running any import is safe. Each
//! write reports how many records it [inserted, updated or left unchanged](Counts).
//!
//! Times are stored as UTC epoch milliseconds (finer precision is truncated). The same SQL
//! runs on both backends through sqlx's runtime-selected `Any` driver, so both pass one
//! test suite.
//!
//! # Example
//!
//! The CLI drives this async API from a tokio runtime it creates; a synchronous caller does
//! the same with `Runtime::block_on`.
//!
//! ```no_run
//! use flowmap_core::events::Change;
//! use flowmap_store::{Batch, LoadQuery, Store};
//! use jiff::Timestamp;
//!
//! # async fn demo() -> Result<(), flowmap_store::StoreError> {
//! let store = Store::open("flowmap.db").await?;
//! let batch = Batch {
//!     changes: vec![Change {
//!         id: "a1b2c3".into(),
//!         service: "checkout".into(),
//!         committed_at: "2026-03-01T12:00:00Z".parse::<Timestamp>().unwrap(),
//!         authored_at: None,
//!         first_commit_at: None,
//!         pr_opened_at: None,
//!         first_review_at: None,
//!         approved_at: None,
//!         merged_at: None,
//!         deployment: None,
//!         author: None,
//!         title: Some("Faster checkout".into()),
//!         reverts: None,
//!     }],
//!     ..Batch::default()
//! };
//! let summary = store.write("import", &batch).await?;
//! assert_eq!(summary.changes.inserted, 1);
//!
//! let data = store
//!     .load(&LoadQuery { services: vec!["checkout".into()], ..LoadQuery::default() })
//!     .await?;
//! assert_eq!(data.changes.len(), 1);
//! # Ok(())
//! # }
//! ```

mod access;
mod copy_out;
mod counts;
mod documents;
mod first_load;
mod lists;
mod load;
mod native;
mod schema;
mod scope;
mod sources;
mod sync;
#[cfg(feature = "test-support")]
pub mod testing;
mod version;
mod webhooks;
mod workshops;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor};

pub use access::{AuditEntry, StoredSession, StoredToken};
pub use documents::{
    DocumentKind, Expected, MapFormat, StoredDocument, StoredMap, StoredOutcome, valid_map_id,
};
pub use first_load::FirstLoad;
pub use lists::{Cursor, ListPage, ListQuery, ListStart, Position};
pub use load::{Dataset, Group, GroupedLoad, LoadQuery, SERVICES_PER_GROUP, TimeRange};
pub use sources::{Deleted, Extent, SourceSummary};
pub use sync::{StoredEtag, SyncSnapshot};
pub use webhooks::{Delivery, DeliveryWriter, StoredDelivery};
pub use workshops::{
    Applied, Change, KeyHolder, NewWorkshop, PHASES, StoredNote, StoredParticipant, StoredVote,
    StoredWorkshop, WorkshopEvent, WorkshopSnapshot,
};
pub use write::{
    Batch, Counts, RawRecord, RecordKind, WriteMode, WriteSummary, Writer, milestone_id,
};

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file: the default, for one person or one server.
    Sqlite,
    /// A PostgreSQL server, shared by a team or several server replicas.
    Postgres,
}

/// Everything that can go wrong opening, writing or reading a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The location string names no usable database.
    #[error("invalid database location {location:?}: {problem}")]
    Location { location: String, problem: String },
    /// The database could not be opened or reached (passwords are not shown).
    #[error("cannot open the database at {location}: {problem}")]
    Unreachable { location: String, problem: String },
    /// The database refused a statement or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The SQLite file could not be read (see [`Store::load`]).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A record or argument the store cannot accept, e.g. an empty source name.
    #[error("invalid {what}: {problem}")]
    Invalid { what: String, problem: String },
    /// A versioned save found a different latest version than the one it expected:
    /// someone else saved in between (or the document exists / does not exist).
    #[error("{kind} {id:?} is at version {latest}, but the save expected {}", expected_text(kind, *expected))]
    Conflict {
        /// What was saved: `map` or `outcome`.
        kind: &'static str,
        id: String,
        expected: documents::Expected,
        latest: u32,
    },
    /// A read-only command found no database where it looked (an SQLite file that
    /// does not exist); nothing was created.
    #[error("there is no database at {path}")]
    Missing { path: String },
    /// A workshop change its state does not allow (the wrong phase, too many dots).
    #[error("{0}")]
    Refused(String),
    /// A workshop change the one asking may not make (someone else's note, a wrong join
    /// code, a closed workshop).
    #[error("{0}")]
    NotAllowed(String),
    /// A workshop or note that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A stored row no longer decodes into a domain value (edited by hand, or a newer schema).
    #[error("stored {table} row {id:?} is unreadable: {problem}")]
    Corrupt {
        table: &'static str,
        id: String,
        problem: String,
    },
}

/// How long opening a database may take before it counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects once, outside the pool, so that a database that cannot be used fails within
/// [`CONNECT_TIMEOUT`] with the real reason (a pool retries failed connections silently
/// until its own timeout, and then only says that it timed out).
async fn probe(
    location: &str,
    backend: Backend,
    options: &AnyConnectOptions,
) -> Result<(), StoreError> {
    let unreachable = |problem: String| StoreError::Unreachable {
        location: redact_password(location),
        problem,
    };
    let attempt = async {
        let mut conn = AnyConnection::connect_with(options).await?;
        if backend == Backend::Sqlite {
            apply_sqlite_pragmas(&mut conn).await?;
        }
        conn.execute(sqlx::raw_sql("SELECT 1")).await?;
        conn.close().await
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(unreachable(err.to_string())),
        Err(_) => Err(unreachable(format!(
            "no answer within {} s",
            CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// A location fit for an error message: a PostgreSQL URL's password is replaced by `***`.
pub fn redact_password(location: &str) -> String {
    let Some((scheme, rest)) = location.split_once("://") else {
        return location.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return location.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => location.to_owned(),
    }
}

/// Applies pending migrations with one process at a time.
///
/// PostgreSQL: sqlx's migrator holds `pg_advisory_lock` while it migrates. SQLite has no
/// such lock, and two first-time runs on a new file both created the tables ("table
/// webhook_deliveries already exists"), so the whole migration runs inside one
/// `BEGIN IMMEDIATE` transaction: it takes SQLite's write lock up front, a second process
/// waits for it (busy timeout) and then finds every migration applied. Each migration
/// runs in a savepoint of that transaction.
///
/// A read-only PostgreSQL (a hot standby serving the pages) cannot be migrated: there the
/// schema is only checked to be exactly this version's ([`check_migrated`]).
async fn migrate(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let migrator = schema::migrator(backend);
    match backend {
        Backend::Postgres => {
            let read_only: String = sqlx::query_scalar("SHOW transaction_read_only")
                .fetch_one(pool)
                .await?;
            if read_only == "on" {
                return check_migrated(pool, &migrator).await;
            }
            migrator.run(pool).await?
        }
        Backend::Sqlite => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            migrator.run(&mut tx).await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// Checks, without writing, that a read-only database has every migration of `migrator`
/// applied, with the same checksums, and none other.
async fn check_migrated(
    pool: &AnyPool,
    migrator: &sqlx::migrate::Migrator,
) -> Result<(), StoreError> {
    let behind = |problem: String| StoreError::Invalid {
        what: "read-only database".into(),
        problem: format!(
            "{problem}; a read-only server (a standby) cannot be migrated: start this \
             version of flowmap on the primary first"
        ),
    };
    let applied: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(pool)
    .await
    .map_err(|err| behind(format!("its schema cannot be read ({err})")))?;
    for migration in migrator.iter() {
        match applied
            .iter()
            .find(|(version, _)| *version == migration.version)
        {
            Some((_, checksum)) if *checksum == *migration.checksum => {}
            Some(_) => {
                return Err(behind(format!(
                    "its migration {} ({}) differs from this version's",
                    migration.version, migration.description
                )));
            }
            None => {
                return Err(behind(format!(
                    "its schema lacks migration {} ({})",
                    migration.version, migration.description
                )));
            }
        }
    }
    if let Some((version, _)) = applied
        .iter()
        .find(|(version, _)| !migrator.iter().any(|m| m.version == *version))
    {
        return Err(StoreError::Invalid {
            what: "read-only database".into(),
            problem: format!(
                "its schema has migration {version}, newer than this version of flowmap knows"
            ),
        });
    }
    Ok(())
}

fn expected_text(kind: &str, expected: documents::Expected) -> String {
    match expected {
        documents::Expected::Any => "any version".to_owned(),
        documents::Expected::New => format!("no {kind} yet"),
        documents::Expected::Version(version) => format!("version {version}"),
    }
}

/// A connection pool to one flowmap database, with its schema up to date.
///
/// Cheap to clone: clones share the pool.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    native: Native,
}

/// The same database through each backend's own driver.
///
/// The `Any` driver copies every value of every row into a generic value before it is
/// decoded, and that copying is most of the cost of reading or writing a million rows. The
/// few paths that move rows by the million (organisation-wide loads, a source's first
/// ingest) go through rusqlite on the SQLite file, or through sqlx's typed PostgreSQL
/// pool; everything else shares one SQL text through `pool`. Connections open on first use.
#[derive(Clone, Debug)]
pub(crate) enum Native {
    /// The SQLite file (an absolute path), opened with rusqlite where needed.
    Sqlite(std::path::PathBuf),
    Postgres(PgPool),
}

/// The file an SQLite `location` names, or `None` for a PostgreSQL URL.
fn sqlite_path(location: &str) -> Option<&str> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        return None;
    }
    Some(
        location
            .strip_prefix("sqlite://")
            .or_else(|| location.strip_prefix("sqlite:"))
            .unwrap_or(location),
    )
}

/// SQLite settings applied to every connection. WAL lets readers (a dashboard) run beside
/// a long import; `synchronous = NORMAL` is durable for committed transactions in WAL mode
/// against application crashes and much faster than FULL; the busy timeout makes a second
/// writer wait instead of failing at once. For bulk imports (see docs/performance.md):
/// statement journals stay in memory instead of temporary files, and a page cache of up
/// to 256 MiB keeps the id index of a million records hot (a first load sizes its own to
/// its key: `first_load::cache_kib`).
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA temp_store = MEMORY; \
     PRAGMA cache_size = -262144;";

/// Applies [`SQLITE_PRAGMAS`] to a new connection.
///
/// Switching a new file to WAL needs SQLite's exclusive lock, and SQLite answers "database
/// is locked" at once, without its busy timeout, while another process holds the write
/// lock (a first-time migration). So a locked answer is retried for up to
/// [`CONNECT_TIMEOUT`]: the other process's migration is short.
async fn apply_sqlite_pragmas(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    let started = std::time::Instant::now();
    loop {
        match conn.execute(sqlx::raw_sql(SQLITE_PRAGMAS)).await {
            Err(sqlx::Error::Database(err))
                if err.message().contains("locked") && started.elapsed() < CONNECT_TIMEOUT =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            result => return result.map(|_| ()),
        }
    }
}

impl Store {
    /// Opens (and if needed creates) the database at `location` and applies any pending
    /// migrations.
    ///
    /// `location` is what `--db` / `FLOWMAP_DB` accept:
    ///
    /// - `postgres://…` or `postgresql://…`: a PostgreSQL connection URL;
    /// - `sqlite:PATH` (also `sqlite://PATH`): an SQLite file;
    /// - anything else: a path to an SQLite file, e.g. the default `flowmap.db`.
    ///
    /// A missing SQLite file is created; its directory must exist.
    pub async fn open(location: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let invalid = |problem: String| StoreError::Location {
            location: location.to_owned(),
            problem,
        };
        let (backend, options, sqlite_file) = if location.starts_with("postgres://")
            || location.starts_with("postgresql://")
        {
            let options =
                AnyConnectOptions::from_str(location).map_err(|e| invalid(e.to_string()))?;
            (Backend::Postgres, options, None)
        } else {
            let path = sqlite_path(location).unwrap_or(location);
            if path.is_empty() {
                return Err(invalid("no file name".into()));
            }
            // An absolute path keeps the generated URL unambiguous (a relative first
            // component would otherwise read as a URL host).
            let path = std::path::absolute(Path::new(path)).map_err(|e| invalid(e.to_string()))?;
            let sqlite = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true);
            let options = AnyConnectOptions::from_url(&sqlite.to_url_lossy())
                .map_err(|e| invalid(e.to_string()))?;
            (Backend::Sqlite, options, Some(path))
        };

        let mut pool_options = AnyPoolOptions::new();
        if backend == Backend::Sqlite {
            // SQLite serialises writers anyway; a few connections serve concurrent readers.
            pool_options = pool_options
                .max_connections(4)
                .after_connect(|conn, _meta| {
                    Box::pin(async move { apply_sqlite_pragmas(conn).await })
                });
        } else {
            pool_options = pool_options.max_connections(8);
        }
        probe(location, backend, &options).await?;
        let native = match sqlite_file {
            Some(path) => Native::Sqlite(path),
            None => {
                let options =
                    PgConnectOptions::from_str(location).map_err(|e| invalid(e.to_string()))?;
                Native::Postgres(
                    PgPoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(CONNECT_TIMEOUT)
                        .connect_lazy_with(options),
                )
            }
        };
        let pool = pool_options
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await?;
        migrate(&pool, backend).await?;
        Ok(Store {
            pool,
            backend,
            native,
        })
    }

    /// Opens the database at `location` like [`Store::open`], but never creates one: a
    /// missing SQLite file is [`StoreError::Missing`]. For commands that only read.
    pub async fn open_existing(location: &str) -> Result<Store, StoreError> {
        if let Some(path) = sqlite_path(location)
            && !path.is_empty()
            && !Path::new(path).exists()
        {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        Store::open(location).await
    }

    /// Which backend this store uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Every service that has at least one deployment, change or incident, sorted.
    pub async fn services(&self) -> Result<Vec<String>, StoreError> {
        let names: Vec<(String,)> = sqlx::query_as(native::SERVICES_SQL)
            .fetch_all(&self.pool)
            .await?;
        Ok(native::sorted_names(
            names.into_iter().map(|(name,)| name).collect(),
        ))
    }

    /// Every environment at least one deployment went to, sorted.
    pub async fn environments(&self) -> Result<Vec<String>, StoreError> {
        let names: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT environment FROM deployments")
            .fetch_all(&self.pool)
            .await?;
        let mut names: Vec<String> = names.into_iter().map(|(name,)| name).collect();
        names.sort();
        Ok(names)
    }

    /// The value stored under `key` by [`Store::set_meta`] or [`Writer::set_meta`], if any.
    ///
    /// Incremental ingesters keep their progress here, e.g. `git:/srv/repo:head` → the
    /// last commit read. Keys are free text; prefix them with the ingester's name.
    pub async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT value FROM ingest_state WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(value,)| value))
    }

    /// Stores `value` under `key`, replacing any previous value.
    ///
    /// To record progress atomically with the records it covers, use
    /// [`Writer::set_meta`] in the same transaction instead.
    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        write::set_meta(&self.pool, key, value).await
    }

    /// Closes every connection; on SQLite this also checkpoints the WAL into the file.
    pub async fn close(self) {
        match &self.native {
            Native::Sqlite(_) => {}
            Native::Postgres(pool) => pool.close().await,
        }
        self.pool.close().await;
    }
}
