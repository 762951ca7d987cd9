//! `flowmap source list` and `flowmap source delete NAME --yes`: see what each source of
//! data put in the database, and take one out again.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use flowmap_app::sources::open_for_reading;
use flowmap_app::{Actor, App};

use crate::output::out;

#[derive(Subcommand)]
pub enum SourceCommand {
    /// Every source with how many deployments, changes and incidents it holds and when it
    /// was last written.
    List,
    /// Delete every record of one source (and what its ingester remembered, so the next
    /// ingest reads everything again).
    Delete(DeleteArgs),
}

#[derive(Args)]
pub struct DeleteArgs {
    /// The source, as `flowmap source list` shows it (`import`, `git:shop`, …).
    name: String,
    /// Confirm the deletion; without it nothing is deleted.
    #[arg(long)]
    yes: bool,
}

pub fn run(command: SourceCommand, db: &str, actor: &Actor) -> anyhow::Result<ExitCode> {
    let runtime = crate::database::runtime()?;
    runtime.block_on(async {
        let store = open_for_reading(db).await?;
        let app = App::new(store.clone());
        let result = match command {
            SourceCommand::List => list(&app).await,
            SourceCommand::Delete(args) => delete(&app, actor, args).await,
        };
        store.close().await;
        result
    })
}

async fn list(app: &App) -> anyhow::Result<ExitCode> {
    let sources = app.sources().await?;
    if sources.is_empty() {
        out!(
            "The database holds no records; {}.\n",
            flowmap_app::sources::HOW_TO_FILL
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let width = sources
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("source".len());
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:<width$}  {:>11}  {:>9}  {:>9}  last update",
        "source", "deployments", "changes", "incidents"
    );
    for s in &sources {
        let updated = s.updated_at.map_or("–".to_owned(), |t| {
            t.strftime("%Y-%m-%d %H:%M UTC").to_string()
        });
        let _ = writeln!(
            text,
            "{:<width$}  {:>11}  {:>9}  {:>9}  {updated}",
            s.name, s.deployments, s.changes, s.incidents
        );
    }
    out!("{text}")?;
    Ok(ExitCode::SUCCESS)
}

async fn delete(app: &App, actor: &Actor, args: DeleteArgs) -> anyhow::Result<ExitCode> {
    if !args.yes {
        let source = app.source(&args.name).await?;
        eprintln!(
            "error: this would delete {} deployments, {} changes and {} incidents of source \
             {:?}; run again with --yes to delete them",
            source.deployments, source.changes, source.incidents, source.name
        );
        return Ok(ExitCode::FAILURE);
    }
    let deleted = app.delete_source(actor, &args.name).await?;
    out!(
        "{}: deleted {} deployments, {} changes and {} incidents\n",
        args.name,
        deleted.deployments,
        deleted.changes,
        deleted.incidents
    )?;
    Ok(ExitCode::SUCCESS)
}
