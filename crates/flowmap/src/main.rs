//! The `flowmap` command line (SPEC §9): parses arguments and wires the library crates
//! together. Each subcommand lives in its own module and stays thin; metric logic belongs
//! in `flowmap-core`.

mod dora_cmd;
mod import_cmd;
mod ingest_cmd;
mod map_cmd;
mod measure_cmd;
mod outcome_cmd;
mod serve_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Value stream mapping for software delivery.
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
    /// DORA's five delivery metrics from the stored events, with levels and evidence.
    Dora(dora_cmd::DoraArgs),
    /// Serve the dashboard, the JSON API, webhooks and /metrics over the database.
    Serve(serve_cmd::ServeArgs),
    /// Serve a generated demo organisation (a year of data and example maps) from a
    /// temporary database.
    Demo(serve_cmd::ServeArgs),
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
        Command::Dora(args) => dora_cmd::run(args, &cli.db),
        Command::Serve(args) => serve_cmd::serve(args, &cli.db),
        Command::Demo(args) => serve_cmd::demo(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
