//! A server over a fresh database, and requests to it without a network (tower's
//! `oneshot`). PostgreSQL databases are created on the server named by
//! `FLOWMAP_TEST_PG_URL` and dropped afterwards.

#![allow(dead_code)] // each test file uses its own part of these helpers

use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use flowmap_server::{AppState, ServerConfig};
use flowmap_store::Store;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tower::ServiceExt;

pub const GITHUB_SECRET: &str = "It's a Secret to Everybody";
pub const GITLAB_TOKEN: &str = "gitlab-token";
pub const CDEVENTS_TOKEN: &str = "cdevents-token";

/// A fresh database; dropped with this value.
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        TestDb::Sqlite(tempfile::tempdir().expect("temp dir"))
    }

    /// `None` (after saying so) when no PostgreSQL is configured; with
    /// `FLOWMAP_REQUIRE_PG=1` a missing server fails the test instead.
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
            "flowmap_server_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(&admin_url).await.expect("connect");
        admin
            .execute(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .await
            .expect("drop stale database");
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create database");
        Some(TestDb::Postgres { admin_url, name })
    }

    pub fn location(&self) -> String {
        match self {
            TestDb::Sqlite(dir) => dir.path().join("flowmap.db").display().to_string(),
            TestDb::Postgres { admin_url, name } => {
                let base = &admin_url[..admin_url.rfind('/').expect("URL has a path")];
                format!("{base}/{name}")
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; a helper thread gets its own.
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
}

pub fn config() -> ServerConfig {
    ServerConfig {
        github_secret: Some(GITHUB_SECRET.into()),
        gitlab_token: Some(GITLAB_TOKEN.into()),
        cdevents_token: Some(CDEVENTS_TOKEN.into()),
        ..ServerConfig::default()
    }
}

/// A server over `db` with every webhook secret set.
pub async fn app(db: &TestDb) -> (Router, Store) {
    let store = Store::open(&db.location()).await.expect("open store");
    let router = flowmap_server::router(AppState::new(store.clone(), config()));
    (router, store)
}

pub fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(GITHUB_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!(
        "{}/../flowmap-ingest/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// A signed GitHub delivery.
pub fn github_request(event: &str, delivery: &str, body: &[u8]) -> Request<Body> {
    Request::post("/hooks/github")
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", sign(body))
        .body(Body::from(body.to_vec()))
        .unwrap()
}

pub async fn send(app: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.expect("router answers");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (
        status,
        String::from_utf8(bytes.to_vec()).expect("UTF-8 body"),
    )
}

pub async fn get(app: &Router, uri: &str) -> (StatusCode, String) {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub async fn get_json(app: &Router, uri: &str) -> serde_json::Value {
    let (status, body) = get(app, uri).await;
    assert_eq!(status, StatusCode::OK, "GET {uri}: {body}");
    serde_json::from_str(&body).expect("JSON body")
}
