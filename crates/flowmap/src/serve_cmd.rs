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
    /// Serve without authentication even on a non-loopback address (anyone who can reach
    /// the server can change everything).
    #[arg(long)]
    open: bool,
    /// Let everyone read pages and the GET API; changes still need a token.
    #[arg(long)]
    public_read: bool,
    /// The URL browsers use, e.g. https://flowmap.example.com: its host is accepted in
    /// `Host`, and `https` makes the session cookie `Secure`.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Trust this header for the signed-in user (e.g. X-Forwarded-Email from oauth2-proxy),
    /// only from --trusted-proxy addresses.
    #[arg(long, value_name = "HEADER")]
    auth_proxy_header: Option<String>,
    /// The header listing the proxy-authenticated user's groups (comma-separated).
    #[arg(long, value_name = "HEADER", default_value = "X-Forwarded-Groups")]
    auth_proxy_groups_header: String,
    /// An address block whose proxy headers are trusted (repeatable), e.g. 10.0.0.0/8.
    #[arg(long, value_name = "CIDR")]
    trusted_proxy: Vec<flowmap_server::auth::Cidr>,
    /// Roles of proxy-authenticated users: lines `user NAME ROLE`, `group NAME ROLE`,
    /// `default ROLE`.
    #[arg(long, value_name = "FILE")]
    auth_config: Option<std::path::PathBuf>,
    /// Connections served at once (default 1024); more wait until one closes. Keep it
    /// below the open-file limit (`ulimit -n`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: Option<u32>,
    /// Seconds a client may take to send a request's headers (default 5); also how long
    /// an idle connection stays open.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: Option<u64>,
    /// Seconds a client may take to send a request's body after its headers (default 60).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    body_timeout: Option<u64>,
}

impl ServeArgs {
    /// The connection limit and read timeouts, the defaults where no flag is given.
    fn limits(&self) -> flowmap_server::Limits {
        let default = flowmap_server::Limits::default();
        let seconds = std::time::Duration::from_secs;
        flowmap_server::Limits {
            max_connections: self
                .max_connections
                .map_or(default.max_connections, |n| n as usize),
            header_read_timeout: self
                .header_timeout
                .map_or(default.header_read_timeout, seconds),
            body_read_timeout: self.body_timeout.map_or(default.body_read_timeout, seconds),
        }
    }

    /// The access settings these flags ask for.
    fn access(&self) -> anyhow::Result<flowmap_server::auth::AccessConfig> {
        let proxy_roles = match &self.auth_config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                flowmap_server::auth::ProxyRoles::parse(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            None => flowmap_server::auth::ProxyRoles::default(),
        };
        if self.auth_proxy_header.is_some() && self.trusted_proxy.is_empty() {
            anyhow::bail!(
                "--auth-proxy-header needs --trusted-proxy: the header is believed only from the proxy"
            );
        }
        Ok(flowmap_server::auth::AccessConfig {
            open: self.open,
            public_read: self.public_read,
            public_url: self.public_url.clone(),
            proxy_header: self.auth_proxy_header.clone(),
            proxy_groups_header: Some(self.auth_proxy_groups_header.clone()),
            trusted_proxies: self.trusted_proxy.clone(),
            proxy_roles,
        })
    }
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
        // Serving only reads what is there: a missing database is not created.
        let store = flowmap_app::sources::open_for_reading(db).await?;
        let access = args.access()?;
        let what = format!("database {}", flowmap_store::redact_password(db));
        run(args.addr, store, &what, access, args.limits()).await
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
        let workshop = flowmap_server::demo::load_workshops(&store)
            .await
            .context("writing the demo workshops")?;
        eprintln!(
            "an open workshop: facilitate at http://{addr}{}, join at http://{addr}{}",
            workshop.facilitator_path,
            workshop.join_path,
            addr = args.addr
        );
        let access = args.access()?;
        let limits = args.limits();
        run(
            args.addr,
            store,
            "a generated demo organisation",
            access,
            limits,
        )
        .await
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

async fn run(
    addr: SocketAddr,
    store: Store,
    what: &str,
    access: flowmap_server::auth::AccessConfig,
    limits: flowmap_server::Limits,
) -> anyhow::Result<ExitCode> {
    log_to_stderr();
    // Safe defaults: on a loopback address with no tokens everything is open (the
    // zero-setup demo); on any other address someone must be able to tell who is asking.
    let has_tokens = store.has_tokens().await.context("reading the tokens")?;
    if access.open {
        eprintln!(
            "WARNING: --open: anyone who can reach {addr} can read and change everything, \
             tokens or not"
        );
    } else if !addr.ip().is_loopback() && !has_tokens && access.proxy_header.is_none() {
        anyhow::bail!(
            "refusing to serve on {addr} without authentication: create a token \
             (flowmap token create NAME --role admin), put a proxy in front \
             (--auth-proxy-header with --trusted-proxy), or pass --open to serve \
             everyone (see docs/security.md)"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    eprintln!("flowmap is serving {what} on http://{addr}/ (Ctrl-C to stop)");
    let mut config = ServerConfig::from_env();
    config.access = access;
    config.limits = limits;
    let state = AppState::new(store.clone(), config);
    flowmap_server::serve_on(listener, state)
        .await
        .context("serving")?;
    eprintln!("flowmap stopped");
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
