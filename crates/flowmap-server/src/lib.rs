//! The team's shared screen (SPEC §8): `flowmap serve` and `flowmap demo`.
//!
//! One axum [`router`] over one [`Store`] serves
//!
//! - server-rendered pages: the overview of every service's DORA metrics, a page per
//!   service, the value stream maps (stored in the database, versioned, with an editor)
//!   a file import page, and live workshops (`/workshops/{id}`, updated over server-sent
//!   events);
//! - a JSON API under `/api/v1/` (described by `/api/v1/openapi.json`);
//! - webhook receivers under `/hooks/` for GitHub, GitLab and CDEvents;
//! - `/metrics` in Prometheus text format and `/healthz`.
//!
//! This crate owns HTTP: routing, authentication of webhooks, request parsing and page
//! layout. It must not hold metric logic — every number comes from `flowmap_core::dora` or
//! `flowmap_core::map`, every picture from `flowmap-render`, every record from
//! `flowmap-ingest` parsers — so the pages, the API and the CLI always agree.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = flowmap_store::Store::open("flowmap.db").await?;
//! let state = flowmap_server::AppState::new(store, flowmap_server::ServerConfig::from_env());
//! flowmap_server::serve("127.0.0.1:7878".parse()?, state).await?;
//! # Ok(()) }
//! ```

mod api;
pub mod auth;
mod config;
pub mod demo;
mod documents_api;
mod error;
mod hooks;
mod listen;
mod metrics;
mod outcomes_api;
mod pages;
mod query;
mod request_id;
mod warmer;
mod workshops_api;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, patch, post, put};
use flowmap_app::App;
use flowmap_store::Store;

pub use config::ServerConfig;

/// The largest request body accepted (webhooks and uploads); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// What every handler shares: the application and the configuration. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    app: App,
    config: ServerConfig,
}

impl AppState {
    /// State for a server over `store`.
    pub fn new(store: Store, config: ServerConfig) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                app: App::new(store),
                config,
            }),
        }
    }

    /// The use cases every handler calls.
    pub(crate) fn app(&self) -> &App {
        &self.inner.app
    }

    /// The store, for plain reads.
    pub(crate) fn store(&self) -> &Store {
        self.inner.app.store()
    }

    pub(crate) fn config(&self) -> &ServerConfig {
        &self.inner.config
    }
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/services/{service}", get(pages::service))
        .route("/maps", get(pages::maps).post(pages::create_map))
        .route("/maps/preview", post(pages::preview_map))
        .route("/maps/{id}", get(pages::map))
        .route(
            "/maps/{id}/edit",
            get(pages::edit_map).post(pages::save_map),
        )
        .route("/maps/{id}/export", get(pages::export_map))
        .route("/maps/{id}/diff", get(pages::map_diff))
        .route(
            "/import",
            get(pages::import_form).post(pages::import_upload),
        )
        .route("/import/templates/{file}", get(pages::import_template))
        .route("/static/style.css", get(pages::stylesheet))
        .route("/static/editor.js", get(pages::editor_script))
        .route("/static/csrf.js", get(pages::csrf_script))
        .route("/healthz", get(metrics::healthz))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/metrics", get(metrics::metrics))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/services", get(api::services))
        .route("/api/v1/dora", get(api::dora))
        .route("/api/v1/deployments", get(api::deployments))
        .route("/api/v1/changes", get(api::changes))
        .route("/api/v1/incidents", get(api::incidents))
        .route("/api/v1/deliveries", get(api::deliveries))
        .route("/api/v1/maps", get(api::maps).post(api::create_map))
        .route(
            "/api/v1/maps/{id}",
            get(api::map).put(api::update_map).delete(api::delete_map),
        )
        .route("/api/v1/maps/{id}/versions", get(api::map_versions))
        .route("/api/v1/maps/{id}/analysis", get(api::map_analysis))
        .route("/api/v1/maps/{id}/measure", get(api::map_measure))
        .route(
            "/api/v1/outcomes",
            get(outcomes_api::outcomes).post(outcomes_api::create_outcome),
        )
        .route(
            "/api/v1/outcomes/{id}",
            get(outcomes_api::outcome)
                .put(outcomes_api::update_outcome)
                .delete(outcomes_api::delete_outcome),
        )
        .route(
            "/api/v1/outcomes/{id}/versions",
            get(outcomes_api::outcome_versions),
        )
        .route(
            "/api/v1/outcomes/{id}/status",
            get(outcomes_api::outcome_status),
        )
        .route(
            "/api/v1/workshops",
            get(workshops_api::workshops).post(workshops_api::create_workshop),
        )
        .route("/api/v1/workshops/{id}", get(workshops_api::workshop))
        .route(
            "/api/v1/workshops/{id}/participants",
            post(workshops_api::join),
        )
        .route(
            "/api/v1/workshops/{id}/notes",
            post(workshops_api::add_note),
        )
        .route(
            "/api/v1/workshops/{id}/notes/{note}",
            patch(workshops_api::edit_note).delete(workshops_api::delete_note),
        )
        .route("/api/v1/workshops/{id}/phase", post(workshops_api::phase))
        .route("/api/v1/workshops/{id}/votes", post(workshops_api::vote))
        .route(
            "/api/v1/workshops/{id}/outcome",
            put(workshops_api::put_outcome),
        )
        .route("/api/v1/workshops/{id}/map", put(workshops_api::put_map))
        .route("/api/v1/workshops/{id}/close", post(workshops_api::close))
        .route("/api/v1/workshops/{id}/events", get(workshops_api::events))
        .route(
            "/workshops",
            get(pages::workshops).post(pages::create_workshop),
        )
        .route("/workshops/{id}", get(pages::workshop))
        .route("/workshops/{id}/join", get(pages::join_workshop))
        .route("/workshops/{id}/preview", get(pages::workshop_preview))
        .route("/workshops/{id}/export/{what}", get(pages::workshop_export))
        .route("/static/workshop.js", get(pages::workshop_script))
        .route("/outcomes", get(pages::outcomes))
        .route("/outcomes/{id}", get(pages::outcome))
        .route("/hooks/github", post(hooks::github))
        .route("/hooks/gitlab", post(hooks::gitlab))
        .route("/hooks/cdevents", post(hooks::cdevents))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::layer,
        ))
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(state)
}

pub use listen::{Limits, SHUTDOWN_DRAIN};

/// Serves [`router`] on `addr` until SIGTERM or SIGINT (Ctrl-C).
pub async fn serve(addr: SocketAddr, state: AppState) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(listener, state).await
}

/// Serves [`router`] on an already bound listener (tests bind port 0) until SIGTERM or
/// SIGINT, within the configuration's [`Limits`] (connections at once, header and body
/// read timeouts). Then it stops accepting, lets requests in flight finish for at most
/// [`SHUTDOWN_DRAIN`], and returns `Ok` (a clean exit); idle keep-alive connections are
/// closed at once.
pub async fn serve_on(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    serve_until(listener, state, shutdown_signal()).await
}

/// Serves until `stop` completes, then drains as [`serve_on`] does. While it serves, the
/// default reports asked for in the last few minutes are recomputed just after every
/// whole minute, so the first request of a minute finds them in the cache.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    state: AppState,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config().limits.clone();
    let _warmer = warmer::Running(tokio::spawn(warmer::run(state.app().reports().clone())));
    listen::serve(listener, router(state), limits, stop).await
}

/// Completes on SIGTERM (how service managers and containers stop a process) or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            // No handler could be installed: Ctrl-C still works.
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
