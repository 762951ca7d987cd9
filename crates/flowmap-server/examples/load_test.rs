//! Load test of the webhook receiver: many signed GitHub deliveries from concurrent
//! clients over real HTTP, while a reader keeps loading the overview page.
//!
//! ```text
//! cargo run --release -p flowmap-server --example load_test -- [REQUESTS] [CLIENTS] [DB]
//! ```
//!
//! Defaults: 10 000 deliveries from 50 clients into a fresh SQLite file; `DB` may be a
//! `postgres://` URL of an empty database instead. Every tenth delivery is sent twice
//! (a redelivery with the same `X-GitHub-Delivery`). At the end it checks that every
//! delivery is stored exactly once and every pushed commit once, and prints the webhook
//! latency percentiles and the overview page's latency during the load against its
//! latency before the load (the baseline, measured in the same run).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use flowmap_server::{AppState, ServerConfig};
use flowmap_store::{LoadQuery, Store};
use hmac::{Hmac, KeyInit, Mac};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jiff::Timestamp;
use sha2::Sha256;

const SECRET: &str = "load-test-secret";
const COMMITS_PER_PUSH: usize = 3;

type HttpClient = Client<HttpConnector, Body>;

fn push_body(n: usize) -> String {
    let commits: Vec<String> = (0..COMMITS_PER_PUSH)
        .map(|i| {
            format!(
                r#"{{"id": "{n:08x}{i:02x}", "message": "change {n}.{i}", "timestamp": "2026-03-01T12:00:00Z", "author": {{"name": "load", "email": "load@example.com"}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"ref": "refs/heads/main", "before": "0", "after": "{n:08x}{last:02x}", "deleted": false, "commits": [{}], "repository": {{"full_name": "load/service-{}", "default_branch": "main"}}}}"#,
        commits.join(", "),
        n % 10,
        last = COMMITS_PER_PUSH - 1,
    )
}

fn signature(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn post(client: &HttpClient, base: &str, n: usize) -> Duration {
    let body = push_body(n);
    let request = Request::post(format!("{base}/hooks/github"))
        .header("content-type", "application/json")
        .header("x-github-event", "push")
        .header("x-github-delivery", format!("delivery-{n}"))
        .header("x-hub-signature-256", signature(&body))
        .body(Body::from(body))
        .expect("a valid request");
    let started = Instant::now();
    let response = client.request(request).await.expect("the server answers");
    let status = response.status();
    let bytes = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX)
        .await
        .expect("a body");
    assert_eq!(status, StatusCode::OK, "delivery {n}: {bytes:?}");
    started.elapsed()
}

async fn get_page(client: &HttpClient, url: &str) -> Duration {
    let started = Instant::now();
    let response = client
        .request(
            Request::get(url)
                .body(Body::empty())
                .expect("a valid request"),
        )
        .await
        .expect("the server answers");
    assert_eq!(response.status(), StatusCode::OK);
    axum::body::to_bytes(Body::new(response.into_body()), usize::MAX)
        .await
        .expect("a body");
    started.elapsed()
}

/// The `p`-th percentile (0–100) of sorted durations, nearest rank.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let requests: usize = args
        .first()
        .map_or(10_000, |a| a.parse().expect("REQUESTS is a number"));
    let clients: usize = args
        .get(1)
        .map_or(50, |a| a.parse().expect("CLIENTS is a number"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let location = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| dir.path().join("load.db").display().to_string());

    let store = Store::open(&location).await.expect("open the database");
    flowmap_server::demo::load(&store, 1, Timestamp::now())
        .await
        .expect("demo data");
    let config = ServerConfig {
        github_secret: Some(SECRET.into()),
        ..ServerConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a local port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(flowmap_server::serve_on(
        listener,
        AppState::new(store.clone(), config),
    ));

    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(clients)
        .build_http();
    let overview = format!("{base}/");

    // Baseline: the overview page with no webhook traffic.
    let mut baseline = Vec::new();
    for _ in 0..20 {
        baseline.push(get_page(&client, &overview).await);
    }
    baseline.sort();

    let started = Instant::now();
    let reader = {
        let client = client.clone();
        let overview = overview.clone();
        tokio::spawn(async move {
            let mut times = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(600);
            while Instant::now() < deadline {
                times.push(get_page(&client, &overview).await);
                tokio::time::sleep(Duration::from_millis(100)).await;
                if STOP.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
            }
            times
        })
    };
    let mut workers = Vec::new();
    for worker in 0..clients {
        let client = client.clone();
        let base = base.clone();
        workers.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut n = worker;
            while n < requests {
                times.push(post(&client, &base, n).await);
                if n % 10 == 0 {
                    // A redelivery: answered, not stored again.
                    times.push(post(&client, &base, n).await);
                }
                n += clients;
            }
            times
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.expect("a worker finishes"));
    }
    let elapsed = started.elapsed();
    STOP.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut during = reader.await.expect("the reader finishes");
    during.sort();
    latencies.sort();

    let (accepted, rejected) = store.delivery_counts().await.expect("counts");
    let data = store.load(&LoadQuery::default()).await.expect("load");
    let pushed = data
        .changes
        .iter()
        .filter(|c| c.service.starts_with("load/"))
        .count();
    let sent = latencies.len();
    println!(
        "webhooks: {requests} deliveries (+{} redeliveries) from {clients} clients over HTTP",
        sent - requests
    );
    println!(
        "  stored deliveries: {accepted} accepted, {rejected} rejected (expected {requests}, 0)"
    );
    println!(
        "  stored changes: {pushed} (expected {})",
        requests * COMMITS_PER_PUSH
    );
    println!(
        "  throughput: {:.0} requests/s ({sent} in {:.1} s)",
        sent as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "  latency: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 95.0)),
        ms(percentile(&latencies, 99.0)),
        ms(*latencies.last().expect("at least one request"))
    );
    println!(
        "overview page: baseline p50 {:.1} ms ({} loads before the load); during the load p50 {:.1} ms, p99 {:.1} ms ({} loads); ratio p50 during/baseline {:.2}",
        ms(percentile(&baseline, 50.0)),
        baseline.len(),
        ms(percentile(&during, 50.0)),
        ms(percentile(&during, 99.0)),
        during.len(),
        percentile(&during, 50.0).as_secs_f64() / percentile(&baseline, 50.0).as_secs_f64()
    );
    assert_eq!(
        (accepted, rejected),
        (requests as u64, 0),
        "every delivery stored exactly once"
    );
    assert_eq!(
        pushed,
        requests * COMMITS_PER_PUSH,
        "every pushed commit stored once"
    );
    store.close().await;
}

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
