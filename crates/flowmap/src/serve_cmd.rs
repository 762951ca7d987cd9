//! `flowmap serve` and `flowmap demo` (SPEC §8): the dashboard, API and webhooks of
//! `flowmap-server`, over the user's database or over a generated demo organisation.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use flowmap_server::{AppState, ServerConfig};
use flowmap_store::Store;
use jiff::Timestamp;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7878")]
    addr: SocketAddr,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Serves the database `db` until Ctrl-C. Webhook secrets come from the environment
/// (`FLOWMAP_GITHUB_SECRET`, `FLOWMAP_GITLAB_TOKEN`, `FLOWMAP_CDEVENTS_TOKEN`).
pub fn serve(args: ServeArgs, db: &str) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let store = Store::open(db)
            .await
            .with_context(|| format!("opening database {db}"))?;
        run(args.addr, store, &format!("database {db}")).await
    })
}

/// Generates the demo organisation into a fresh SQLite database in a temporary
/// directory (removed on exit) and serves it.
pub fn demo(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let location = dir.path().join("demo.db").display().to_string();
    runtime()?.block_on(async {
        let store = Store::open(&location)
            .await
            .with_context(|| format!("creating the demo database {location}"))?;
        eprintln!("generating a year of demo delivery data…");
        flowmap_server::demo::load(&store, 1, Timestamp::now())
            .await
            .context("writing the demo data")?;
        run(args.addr, store, "a generated demo organisation").await
    })
}

/// Server logs (failed requests with their request ids) go to stderr.
fn log_to_stderr() {
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .finish();
    // A subscriber set before (by an embedding program) keeps logging; nothing to do.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

async fn run(addr: SocketAddr, store: Store, what: &str) -> anyhow::Result<ExitCode> {
    log_to_stderr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    eprintln!("flowmap is serving {what} on http://{addr}/ (Ctrl-C to stop)");
    let state = AppState::new(store.clone(), ServerConfig::from_env());
    flowmap_server::serve_on(listener, state)
        .await
        .context("serving")?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
