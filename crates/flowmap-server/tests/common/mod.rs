//! A server over a fresh database, and requests to it without a network (tower's
//! `oneshot`). PostgreSQL databases are created on the server named by
//! `FLOWMAP_TEST_PG_URL` and dropped afterwards.

#![allow(dead_code)] // each test file uses its own part of these helpers

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use flowmap_server::{AppState, ServerConfig};
use flowmap_store::Store;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tower::ServiceExt;

pub const GITHUB_SECRET: &str = "It's a Secret to Everybody";
pub const GITLAB_TOKEN: &str = "gitlab-token";
pub const CDEVENTS_TOKEN: &str = "cdevents-token";

pub use flowmap_store::testing::TestDb;

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
