//! The `flowmap` command line (SPEC §9): parses arguments and wires the library crates
//! together. Each subcommand lives in its own module and stays thin; metric logic belongs
//! in `flowmap-core`.

mod database;
mod dora_cmd;
mod import_cmd;
mod ingest_cmd;
mod map_cmd;
mod measure_cmd;
mod outcome_cmd;
mod output;
mod serve_cmd;
mod source_cmd;
mod terminal;
mod token_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Value stream mapping for software delivery.
/// Loads of a million rows allocate and free millions of small strings, many on another
/// thread than the one that allocated them; mimalloc does that at a fraction of glibc's
/// cost (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "flowmap", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The database: a path to an SQLite file, `sqlite:PATH` or `postgres://…`.
    #[arg(long, global = true, env = "FLOWMAP_DB", default_value = "flowmap.db")]
    db: String,
}

#[derive(Subcommand)]
enum Command {
    /// Check, analyse, draw and compare value stream maps.
    #[command(subcommand)]
    Map(map_cmd::MapCommand),
    /// Check outcome files, measure them against the stored events, write their pages.
    #[command(subcommand)]
    Outcome(outcome_cmd::OutcomeCommand),
    /// List DORA's capabilities, the ids maps and experiments may name.
    Capabilities {
        #[arg(long, value_enum, default_value_t = map_cmd::OutputFormat::Text)]
        format: map_cmd::OutputFormat,
    },
    /// Import deployments, changes, incidents or CDEvents from CSV, JSON or NDJSON files.
    Import(import_cmd::ImportArgs),
    /// Read delivery history from a source (a git repository) into the database.
    #[command(subcommand)]
    Ingest(ingest_cmd::IngestCommand),
    /// List the sources of data in the database, or delete one.
    #[command(subcommand)]
    Source(source_cmd::SourceCommand),
    /// DORA's five delivery metrics from the stored events, with levels and evidence.
    Dora(dora_cmd::DoraArgs),
    /// Serve the dashboard, the JSON API, webhooks and /metrics over the database.
    Serve(serve_cmd::ServeArgs),
    /// Serve a generated demo organisation (a year of data and example maps) from a
    /// temporary database.
    Demo(serve_cmd::ServeArgs),
    /// Manage the API tokens a server accepts (create, list, revoke).
    #[command(subcommand)]
    Token(token_cmd::TokenCommand),
}

/// The person running the command: the CLI works on a database its user can open, so it
/// acts with every right, under the login name (recorded with what it changes).
fn local_user() -> flowmap_app::Actor {
    let name = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "local".to_owned());
    flowmap_app::Actor::local_user(name)
}

/// What a command reports when it fails: exit 1 means the input was invalid or a check
/// failed (SPEC §9). Usage errors (exit 2) are clap's.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let actor = local_user();
    let result = match cli.command {
        Command::Map(cmd) => map_cmd::run(cmd, &cli.db),
        Command::Outcome(cmd) => outcome_cmd::run(cmd, &cli.db),
        Command::Capabilities { format } => outcome_cmd::capabilities(format),
        Command::Import(args) => import_cmd::run(args, &cli.db, &actor),
        Command::Ingest(cmd) => ingest_cmd::run(cmd, &cli.db, &actor),
        Command::Source(cmd) => source_cmd::run(cmd, &cli.db, &actor),
        Command::Dora(args) => dora_cmd::run(args, &cli.db),
        Command::Serve(args) => serve_cmd::serve(args, &cli.db),
        Command::Demo(args) => serve_cmd::demo(args),
        Command::Token(cmd) => token_cmd::run(cmd, &cli.db, &actor),
    };
    match result {
        Ok(code) => code,
        // The reader of stdout went away (`| head`): stop quietly, as Unix tools do.
        Err(err) if output::is_broken_pipe(&err) => ExitCode::from(output::BROKEN_PIPE_STATUS),
        Err(err) => {
            eprintln!("error: {}", terminal::safe_report(&format!("{err:#}")));
            ExitCode::from(1)
        }
    }
}
