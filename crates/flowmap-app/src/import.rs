//! Importing a file of delivery records (CSV, JSON, NDJSON, CDEvents) into the store.
//!
//! A file is one transaction: it is parsed on a blocking thread while the rows already
//! read are written, so a large file streams through in bounded memory, and either all of
//! it is imported or (on any bad row, unless bad rows are skipped) none of it.

use std::io::Read;

use flowmap_ingest::import::{self, FileKind, Format, Options, Parsed, Record, Row, RowError};
use flowmap_store::{Batch, RawRecord, RecordKind, WriteMode, WriteSummary};
use jiff::Timestamp;

use crate::{Actor, App, AppError, Role};

/// Rows handed from the parser thread to the writer at a time.
const ROWS_PER_CHUNK: usize = 10_000;

/// One file to import and how.
#[derive(Clone, Debug)]
pub struct ImportFile {
    /// What the file holds.
    pub kind: FileKind,
    /// How it is written.
    pub format: Format,
    /// The source its records belong to (importing a record again into the same source
    /// updates it).
    pub source: String,
    /// What counts as a bad row.
    pub options: Options,
    /// Import the valid rows even when some are invalid; otherwise one invalid row
    /// rejects the whole file.
    pub skip_invalid: bool,
}

/// How an import ended. Every problem was handed to the caller's problem sink on the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Imported {
    /// The records were written; `skipped` invalid rows were left out.
    Written { summary: WriteSummary, skipped: u64 },
    /// The file could not be read to the end; nothing was imported.
    Unreadable,
    /// The file has `invalid` bad rows and skipping was not asked for; nothing was
    /// imported.
    InvalidRows { invalid: u64 },
}

/// The store's name for the kind of `record`.
pub fn record_kind(record: &Record) -> RecordKind {
    match record {
        Record::Deployment(_) => RecordKind::Deployment,
        Record::Change(_) => RecordKind::Change,
        Record::Incident(_) => RecordKind::Incident,
        Record::Build(_) => RecordKind::Build,
        Record::Milestone(_) => RecordKind::Milestone,
    }
}

/// Adds a parsed record (and its raw input, when kept for audit) to `batch`: the one place
/// records read from outside become a store batch.
pub fn add_to_batch(batch: &mut Batch, parsed: Parsed, received_at: Timestamp) {
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
        Record::Build(b) => batch.builds.push(b),
        Record::Milestone(m) => batch.milestones.push(m),
    }
}

/// How records of `kind` are written: CDEvents describe one record in several events,
/// so they merge; files of plain records hold whole records, so they replace.
pub fn write_mode(kind: FileKind) -> WriteMode {
    if kind == FileKind::CdEvents {
        WriteMode::Merge
    } else {
        WriteMode::Replace
    }
}

impl App {
    /// Imports `input` as `file` describes, in one transaction. Every problem (bad rows,
    /// and problems with the file as a whole) is handed to `problems` as it is found.
    pub async fn import(
        &self,
        actor: &Actor,
        file: &ImportFile,
        input: impl Read + Send + 'static,
        problems: &mut (dyn FnMut(&RowError) + Send),
    ) -> Result<Imported, AppError> {
        actor.require(Role::Editor, "import files")?;
        // The parser runs on the blocking pool and hands rows over in chunks; the bounded
        // channel keeps at most a few chunks in memory however large the file is.
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<Row>>(4);
        let (kind, format, options) = (file.kind, file.format, file.options);
        let parser = tokio::task::spawn_blocking(move || {
            let mut chunk = Vec::with_capacity(ROWS_PER_CHUNK);
            let result = import::parse(input, kind, format, options, |row| {
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

        let mode = write_mode(file.kind);
        let received_at = Timestamp::now();
        let mut writer = self.store.begin(&file.source).await?;
        let mut invalid = 0_u64;
        while let Some(rows) = receiver.recv().await {
            let mut batch = Batch {
                mode,
                ..Batch::default()
            };
            for row in rows {
                match row {
                    Ok(parsed) => add_to_batch(&mut batch, parsed, received_at),
                    Err(row_problems) => {
                        invalid += 1;
                        row_problems.iter().for_each(&mut *problems);
                    }
                }
            }
            // Once the file is known to be rejected, rows are still read (to report every
            // problem) but no longer written.
            if invalid == 0 || file.skip_invalid {
                writer.write(&batch).await?;
            }
        }
        let file_problems = parser
            .await
            .map_err(|_| AppError::Background("the file parser"))?
            .err();

        if let Some(file_problems) = file_problems {
            file_problems.iter().for_each(&mut *problems);
            writer.rollback().await?;
            return Ok(Imported::Unreadable);
        }
        if invalid > 0 && !file.skip_invalid {
            writer.rollback().await?;
            return Ok(Imported::InvalidRows { invalid });
        }
        let summary = writer.commit().await?;
        Ok(Imported::Written {
            summary,
            skipped: invalid,
        })
    }
}

#[cfg(test)]
mod tests {
    use flowmap_store::testing::TestDb;

    use super::*;

    fn changes_file(skip_invalid: bool) -> ImportFile {
        ImportFile {
            kind: FileKind::Changes,
            format: Format::Csv,
            source: "import".into(),
            options: Options::default(),
            skip_invalid,
        }
    }

    const CSV: &str = "id,service,committed_at\nc1,shop,2026-03-01T12:00:00Z\nc2,shop,yesterday\nc3,shop,2026-03-02T12:00:00Z\n";

    #[tokio::test]
    async fn one_bad_row_rejects_the_file_unless_skipped() {
        let db = TestDb::sqlite();
        let app = App::new(flowmap_store::Store::open(&db.location()).await.unwrap());
        let actor = Actor::anonymous();
        let mut seen = Vec::new();
        let outcome = app
            .import(&actor, &changes_file(false), CSV.as_bytes(), &mut |p| {
                seen.push(p.in_file("changes.csv"))
            })
            .await
            .unwrap();
        assert_eq!(outcome, Imported::InvalidRows { invalid: 1 });
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0].starts_with("changes.csv:3: committed_at:"),
            "{seen:?}"
        );
        assert!(app.store().services().await.unwrap().is_empty());

        let outcome = app
            .import(&actor, &changes_file(true), CSV.as_bytes(), &mut |_| {})
            .await
            .unwrap();
        let Imported::Written { summary, skipped } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!((summary.changes.inserted, skipped), (2, 1));
    }
}
