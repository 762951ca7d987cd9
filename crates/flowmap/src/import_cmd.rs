//! `flowmap import FILE...` (SPEC §4, §9): files of delivery records into the store.
//!
//! Each file is one transaction (`flowmap_app`'s import: parsed on its own thread while
//! the rows already read are written), so either all of it is imported or (on any bad
//! row, unless `--skip-invalid`) none of it. This module reads flags and prints.

use crate::output::{outln, plural};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use flowmap_app::import::{ImportFile, Imported};
use flowmap_app::{Actor, App};
use flowmap_ingest::import::{FileKind, Format, Options};
use flowmap_store::{Counts, WriteSummary};

#[derive(Args)]
pub struct ImportArgs {
    /// Files to import: `.csv` (header row), `.json` (array of objects) or `.ndjson`/`.jsonl`.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// What the files hold; by default each file's name tells (`deployments.csv`,
    /// `changes.ndjson`, `incidents.json`, `builds.csv`, `milestones.csv`, `cdevents.json`).
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// The source the records belong to. Importing a record again into the same source
    /// updates it instead of adding a second copy.
    #[arg(long, default_value = "import")]
    source: String,
    /// Import the valid rows of a file even when some rows are invalid; the invalid ones
    /// are reported and skipped. Without it, a file with any invalid row imports nothing.
    #[arg(long)]
    skip_invalid: bool,
    /// Ignore columns or keys that are not fields of the record kind (an error by default,
    /// so that a misspelt column cannot silently drop data).
    #[arg(long)]
    ignore_unknown: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Deployments,
    Changes,
    Incidents,
    Builds,
    Milestones,
    Cdevents,
}

impl From<KindArg> for FileKind {
    fn from(kind: KindArg) -> FileKind {
        match kind {
            KindArg::Deployments => FileKind::Deployments,
            KindArg::Changes => FileKind::Changes,
            KindArg::Incidents => FileKind::Incidents,
            KindArg::Builds => FileKind::Builds,
            KindArg::Milestones => FileKind::Milestones,
            KindArg::Cdevents => FileKind::CdEvents,
        }
    }
}

/// Imports every file; exit status 1 when any file was rejected.
pub fn run(args: ImportArgs, db: &str, actor: &Actor) -> anyhow::Result<ExitCode> {
    let runtime = crate::database::runtime()?;
    runtime.block_on(async {
        let store = crate::database::open(db).await?;
        let app = App::new(store.clone());
        let mut all_imported = true;
        for file in &args.files {
            all_imported &= import_file(&app, actor, file, &args).await?;
        }
        store.close().await;
        Ok(if all_imported {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

/// Imports one file in one transaction. `Ok(false)`: the file was rejected (and reported).
async fn import_file(
    app: &App,
    actor: &Actor,
    path: &Path,
    args: &ImportArgs,
) -> anyhow::Result<bool> {
    let name = path.display().to_string();
    let Some(kind) = args
        .kind
        .map(FileKind::from)
        .or_else(|| FileKind::from_path(path))
    else {
        eprintln!(
            "{name}: cannot tell what the file holds from its name; name it \
             deployments, changes, incidents, builds, milestones or cdevents (e.g. \
             deployments.csv) or pass --kind"
        );
        return Ok(false);
    };
    let Some(format) = Format::from_path(path) else {
        eprintln!("{name}: unknown file type; use .csv, .json, .ndjson or .jsonl");
        return Ok(false);
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) => {
            eprintln!("{name}: {err}");
            return Ok(false);
        }
    };
    let request = ImportFile {
        kind,
        format,
        source: args.source.clone(),
        options: Options {
            ignore_unknown: args.ignore_unknown,
        },
        skip_invalid: args.skip_invalid,
    };
    let outcome = app
        .import(actor, &request, file, &mut |problem| {
            eprintln!("{}", crate::terminal::safe(&problem.in_file(&name)))
        })
        .await
        .with_context(|| format!("{name}: writing to the database"))?;
    match outcome {
        Imported::Unreadable => {
            eprintln!("{name}: nothing imported");
            Ok(false)
        }
        Imported::InvalidRows { invalid } => {
            eprintln!(
                "{name}: nothing imported: {invalid} invalid {} (fix the file, or pass --skip-invalid)",
                plural(invalid, "row", "rows")
            );
            Ok(false)
        }
        Imported::Written { summary, skipped } => {
            report(&name, kind, &summary)?;
            if skipped > 0 {
                eprintln!(
                    "{name}: skipped {skipped} invalid {}",
                    plural(skipped, "row", "rows")
                );
            }
            Ok(true)
        }
    }
}

/// One line per kind: the file's own kind always, other kinds (from CDEvents) when seen.
fn report(name: &str, kind: FileKind, summary: &WriteSummary) -> std::io::Result<()> {
    let lines: [(&str, Counts, bool); 5] = [
        (
            "deployments",
            summary.deployments,
            kind == FileKind::Deployments,
        ),
        ("changes", summary.changes, kind == FileKind::Changes),
        ("incidents", summary.incidents, kind == FileKind::Incidents),
        ("builds", summary.builds, kind == FileKind::Builds),
        (
            "milestones",
            summary.milestones,
            kind == FileKind::Milestones,
        ),
    ];
    for &(label, counts, own_kind) in &lines {
        if own_kind || counts.total() > 0 {
            outln!(
                "{name}: {label}: {} inserted, {} updated, {} unchanged",
                counts.inserted,
                counts.updated,
                counts.unchanged
            )?;
        }
    }
    if kind == FileKind::CdEvents
        && lines
            .iter()
            .map(|(_, counts, _)| counts.total())
            .sum::<u64>()
            == 0
    {
        outln!("{name}: no events")?;
    }
    Ok(())
}
