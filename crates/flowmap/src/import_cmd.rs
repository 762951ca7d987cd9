//! `flowmap import FILE...` (SPEC §4, §9): files of delivery records into the store.
//!
//! Each file is one transaction: it is parsed on its own thread while the rows already
//! read are written, so a large file streams through in bounded memory, and either all
//! of it is imported or (on any bad row, unless `--skip-invalid`) none of it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use flowmap_ingest::import::{self, FileKind, Format, Options, Record, Row};
use flowmap_store::{Batch, Counts, RawRecord, RecordKind, Store, WriteMode, WriteSummary};
use jiff::Timestamp;

/// Rows handed from the parser thread to the writer at a time.
const ROWS_PER_CHUNK: usize = 10_000;

#[derive(Args)]
pub struct ImportArgs {
    /// Files to import: `.csv` (header row), `.json` (array of objects) or `.ndjson`/`.jsonl`.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// What the files hold; by default each file's name tells (`deployments.csv`,
    /// `changes.ndjson`, `incidents.json`, `cdevents.json`).
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
    Cdevents,
}

impl From<KindArg> for FileKind {
    fn from(kind: KindArg) -> FileKind {
        match kind {
            KindArg::Deployments => FileKind::Deployments,
            KindArg::Changes => FileKind::Changes,
            KindArg::Incidents => FileKind::Incidents,
            KindArg::Cdevents => FileKind::CdEvents,
        }
    }
}

/// Imports every file; exit status 1 when any file was rejected.
pub fn run(args: ImportArgs, db: &str) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let store = Store::open(db)
            .await
            .with_context(|| format!("opening database {}", flowmap_store::redact_password(db)))?;
        let mut all_imported = true;
        for file in &args.files {
            all_imported &= import_file(&store, file, &args).await?;
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
async fn import_file(store: &Store, path: &Path, args: &ImportArgs) -> anyhow::Result<bool> {
    let name = path.display().to_string();
    let Some(kind) = args
        .kind
        .map(FileKind::from)
        .or_else(|| FileKind::from_path(path))
    else {
        eprintln!(
            "{name}: cannot tell what the file holds from its name; name it \
             deployments, changes, incidents or cdevents (e.g. deployments.csv) or pass --kind"
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

    // The parser runs on its own thread and hands rows over in chunks; the bounded
    // channel keeps at most a few chunks in memory however large the file is.
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<Row>>(4);
    let options = Options {
        ignore_unknown: args.ignore_unknown,
    };
    let parser = std::thread::spawn(move || {
        let mut chunk = Vec::with_capacity(ROWS_PER_CHUNK);
        let result = import::parse(file, kind, format, options, |row| {
            chunk.push(row);
            if chunk.len() == ROWS_PER_CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(ROWS_PER_CHUNK));
                // A closed channel means the writer gave up; its error is reported there.
                let _ = sender.blocking_send(full);
            }
        });
        if !chunk.is_empty() {
            let _ = sender.blocking_send(chunk);
        }
        result
    });

    let mode = if kind == FileKind::CdEvents {
        WriteMode::Merge
    } else {
        WriteMode::Replace
    };
    let received_at = Timestamp::now();
    let mut writer = store.begin(&args.source).await?;
    let mut invalid_rows = 0_u64;
    while let Some(rows) = receiver.recv().await {
        let mut batch = Batch {
            mode,
            ..Batch::default()
        };
        for row in rows {
            match row {
                Ok(parsed) => {
                    if let Some(body) = parsed.raw {
                        batch.raw.push(RawRecord {
                            kind: record_kind(&parsed.record),
                            record_id: parsed.record.id().to_owned(),
                            received_at,
                            body,
                        });
                    }
                    match parsed.record {
                        Record::Deployment(d) => batch.deployments.push(d),
                        Record::Change(c) => batch.changes.push(c),
                        Record::Incident(i) => batch.incidents.push(i),
                    }
                }
                Err(problems) => {
                    invalid_rows += 1;
                    for problem in problems {
                        eprintln!("{}", problem.in_file(&name));
                    }
                }
            }
        }
        // Once the file is known to be rejected, rows are still read (to report every
        // problem) but no longer written.
        if invalid_rows == 0 || args.skip_invalid {
            writer
                .write(&batch)
                .await
                .with_context(|| format!("{name}: writing to the database"))?;
        }
    }
    let file_problems = match parser.join() {
        Ok(result) => result.err(),
        Err(_) => anyhow::bail!("{name}: the parser stopped unexpectedly"),
    };

    if let Some(problems) = file_problems {
        for problem in &problems {
            eprintln!("{}", problem.in_file(&name));
        }
        writer.rollback().await?;
        eprintln!("{name}: nothing imported");
        return Ok(false);
    }
    if invalid_rows > 0 && !args.skip_invalid {
        writer.rollback().await?;
        eprintln!(
            "{name}: nothing imported: {invalid_rows} invalid {} (fix the file, or pass --skip-invalid)",
            plural(invalid_rows, "row", "rows")
        );
        return Ok(false);
    }
    let summary = writer
        .commit()
        .await
        .with_context(|| format!("{name}: committing"))?;
    report(&name, kind, &summary);
    if invalid_rows > 0 {
        eprintln!(
            "{name}: skipped {invalid_rows} invalid {}",
            plural(invalid_rows, "row", "rows")
        );
    }
    Ok(true)
}

fn record_kind(record: &Record) -> RecordKind {
    match record {
        Record::Deployment(_) => RecordKind::Deployment,
        Record::Change(_) => RecordKind::Change,
        Record::Incident(_) => RecordKind::Incident,
    }
}

/// One line per kind: the file's own kind always, other kinds (from CDEvents) when seen.
fn report(name: &str, kind: FileKind, summary: &WriteSummary) {
    let lines: [(&str, Counts, bool); 3] = [
        (
            "deployments",
            summary.deployments,
            kind == FileKind::Deployments,
        ),
        ("changes", summary.changes, kind == FileKind::Changes),
        ("incidents", summary.incidents, kind == FileKind::Incidents),
    ];
    for (label, counts, own_kind) in lines {
        if own_kind || counts.total() > 0 {
            println!(
                "{name}: {label}: {} inserted, {} updated, {} unchanged",
                counts.inserted, counts.updated, counts.unchanged
            );
        }
    }
    if kind == FileKind::CdEvents
        && summary.deployments.total() + summary.changes.total() + summary.incidents.total() == 0
    {
        println!("{name}: no events");
    }
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
