//! Throwaway databases for tests of this crate and of the crates above it (feature
//! `test-support`): a fresh SQLite file, or a fresh PostgreSQL database created on the
//! server named by `FLOWMAP_TEST_PG_URL` and dropped afterwards, even when the test fails.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

/// A fresh database that exists for the lifetime of this value.
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
}

impl TestDb {
    /// A new SQLite file in a temporary directory.
    pub fn sqlite() -> TestDb {
        TestDb::Sqlite(tempfile::tempdir().expect("temp dir"))
    }

    /// A uniquely named PostgreSQL database, or `None` (after saying so) when no server is
    /// configured. With `FLOWMAP_REQUIRE_PG=1` a missing server fails the test instead.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var("FLOWMAP_TEST_PG_URL") else {
            if std::env::var("FLOWMAP_REQUIRE_PG").as_deref() == Ok("1") {
                panic!("FLOWMAP_REQUIRE_PG=1 but FLOWMAP_TEST_PG_URL is not set");
            }
            eprintln!("skipping PostgreSQL test: FLOWMAP_TEST_PG_URL is not set");
            return None;
        };
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "flowmap_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            jiff::Timestamp::now().as_microsecond()
        );
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("connect to FLOWMAP_TEST_PG_URL");
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create test database");
        let url = with_database(&admin_url, &name);
        Some(TestDb::Postgres {
            admin_url,
            name,
            url,
        })
    }

    /// The location to give [`crate::Store::open`].
    pub fn location(&self) -> String {
        match self {
            TestDb::Sqlite(dir) => dir.path().join("flowmap.db").display().to_string(),
            TestDb::Postgres { url, .. } => url.clone(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let TestDb::Postgres {
            admin_url, name, ..
        } = self
        else {
            return;
        };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on; a helper
        // thread with its own runtime does the cleanup.
        let cleanup = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async {
                    let mut admin = PgConnection::connect(&admin_url).await.expect("connect");
                    admin
                        .execute(AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .await
                        .expect("drop test database");
                });
        });
        let _ = cleanup.join();
    }
}

/// `url` with its database path replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// The DORA report of `store`'s records as if nothing were cached or grouped: one whole
/// load and one [`flowmap_core::dora::compute`]. Tests of the report caches and of the
/// grouped computation compare what they serve with it.
pub async fn uncached_dora(
    store: &crate::Store,
    options: &flowmap_core::dora::DoraOptions,
) -> flowmap_core::dora::DoraReport {
    let data = store
        .load(&crate::LoadQuery::for_dora(options))
        .await
        .expect("load");
    let input = flowmap_core::dora::DoraInput {
        deployments: &data.deployments,
        changes: &data.changes,
        incidents: &data.incidents,
    };
    flowmap_core::dora::compute(&input, options).expect("compute")
}
