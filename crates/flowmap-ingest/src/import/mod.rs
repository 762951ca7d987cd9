//! Delivery records from files: CSV, JSON arrays and NDJSON (SPEC §4).
//!
//! [`parse`] reads one file and hands every record to a callback as soon as it is read,
//! each with its [`Location`] in the file, so a caller can stream millions of rows into a
//! store in bounded memory and still report every bad row precisely. What to do with bad
//! rows (reject the file, or skip them) is the caller's decision.
//!
//! # Fields
//!
//! | kind | required | optional |
//! | --- | --- | --- |
//! | deployment | `id`, `service`, `status` (`success`\|`failure`), `finished_at` | `environment` (default `production`), `started_at`, `commit`, `changes`, `kind` (`normal`\|`hotfix`\|`rollback`, default `normal`), `fixes` |
//! | change | `id`, `service`, `committed_at` | `authored_at`, `first_commit_at`, `pr_opened_at`, `first_review_at`, `approved_at`, `merged_at`, `deployment`, `author`, `title`, `reverts` |
//! | incident | `id`, `service`, `started_at` | `detected_at`, `acknowledged_at`, `resolved_at`, `caused_by`, `severity`, `title` |
//! | build | `id`, `service`, `status` (`success`\|`failure`), `started_at`, `finished_at` | `commit`, `changes`, `name` |
//! | milestone | `item` (a change or incident id), `name` (`[a-z0-9_-]+`), `at` | `service` |
//!
//! Times are RFC 3339 with an offset (`2026-03-01T12:00:00Z`, `2026-03-01T13:00:00+01:00`);
//! a time without one is an error, never a guess. An empty value is an absent one. A
//! deployment's `changes` is a list: a JSON array, or `;`-separated in CSV.

mod csv;
pub(crate) mod fields;
pub(crate) mod json;

use std::fmt;
use std::io::Read;
use std::path::Path;

use flowmap_core::events::{Build, Change, Deployment, Incident, Milestone};

pub use fields::{
    BUILD_FIELDS, CHANGE_FIELDS, DEPLOYMENT_FIELDS, INCIDENT_FIELDS, MILESTONE_FIELDS,
};

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    Deployments,
    Changes,
    Incidents,
    Builds,
    Milestones,
    /// CDEvents, each mapped onto a record of any kind (see [`crate::cdevents`]).
    CdEvents,
}

impl FileKind {
    /// The kind a file name announces: its stem is, or ends with, `deployments`,
    /// `changes`, `incidents`, `builds`, `milestones` or `cdevents` (`deployments.csv`,
    /// `prod-incidents.json`).
    ///
    /// ```
    /// use flowmap_ingest::import::FileKind;
    /// use std::path::Path;
    ///
    /// assert_eq!(FileKind::from_path(Path::new("data/changes.ndjson")), Some(FileKind::Changes));
    /// assert_eq!(FileKind::from_path(Path::new("2026-q1_deployments.csv")), Some(FileKind::Deployments));
    /// assert_eq!(FileKind::from_path(Path::new("export.csv")), None);
    /// ```
    pub fn from_path(path: &Path) -> Option<FileKind> {
        let stem = path.file_stem()?.to_str()?.to_ascii_lowercase();
        [
            ("deployments", FileKind::Deployments),
            ("changes", FileKind::Changes),
            ("incidents", FileKind::Incidents),
            ("builds", FileKind::Builds),
            ("milestones", FileKind::Milestones),
            ("cdevents", FileKind::CdEvents),
        ]
        .into_iter()
        .find(|(name, _)| stem.ends_with(name))
        .map(|(_, kind)| kind)
    }
}

/// How a file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values with a header row naming the fields.
    Csv,
    /// A JSON array of objects; also a single object, or objects one after another.
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl Format {
    /// The format a file's extension announces: `.csv`, `.json`, `.ndjson` or `.jsonl`.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            _ => None,
        }
    }
}

/// One delivery record of any kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Deployment(Deployment),
    Change(Change),
    Incident(Incident),
    Build(Build),
    Milestone(Milestone),
}

impl Record {
    /// The record's id; for a milestone (which has none of its own), the item it marks.
    pub fn id(&self) -> &str {
        match self {
            Record::Deployment(d) => &d.id,
            Record::Change(c) => &c.id,
            Record::Incident(i) => &i.id,
            Record::Build(b) => &b.id,
            Record::Milestone(m) => &m.item,
        }
    }
}

/// Where in a file a record or problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A 1-based line: the CSV row's first line, the NDJSON line, or where a JSON value starts.
    Line(u64),
    /// A 0-based index into a JSON array.
    Index(u64),
    /// The file as a whole (an unreadable file).
    File,
}

impl fmt::Display for Location {
    /// `12` for a line, `[3]` for an array index, empty for the whole file, so that
    /// `FILE:{location}` reads `deployments.csv:12` or `incidents.json:[3]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(line) => write!(f, "{line}"),
            Location::Index(index) => write!(f, "[{index}]"),
            Location::File => Ok(()),
        }
    }
}

/// A record read from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// Where the record was in the file.
    pub location: Location,
    pub record: Record,
    /// The input text the record came from, for sources whose input is kept for audit
    /// (CDEvents); `None` for plain records.
    pub raw: Option<String>,
}

/// One problem with one field of one row.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {field}: {problem}")]
pub struct RowError {
    pub location: Location,
    /// The field (CSV column or JSON key, dotted for nested CDEvents fields), or `row`,
    /// `json` or `file` for problems with the row or file as a whole.
    pub field: String,
    pub problem: String,
}

impl RowError {
    /// The error as `FILE:LOCATION: field: problem`.
    pub fn in_file(&self, file: &str) -> String {
        match self.location {
            Location::File => format!("{file}: {}: {}", self.field, self.problem),
            location => format!("{file}:{location}: {}: {}", self.field, self.problem),
        }
    }
}

/// What [`parse`] reports for each row: the record, or every problem found in the row.
pub type Row = Result<Parsed, Vec<RowError>>;

/// Choices that change what counts as bad input.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Accept (and drop) columns and keys that are not fields of the record kind. Off by
    /// default, so that a misspelt column is an error rather than silently lost data.
    pub ignore_unknown: bool,
}

/// Reads every row of `input` and hands it to `emit`, in file order.
///
/// Rows are independent: a bad row is emitted as `Err` and reading goes on, so every
/// problem in a file is found in one pass. The returned errors are problems with the file
/// as a whole that stop reading (unreadable input, a CSV header with an unknown or
/// missing column, a JSON syntax error outside NDJSON); rows emitted before them stand,
/// and the caller decides whether to keep them.
///
/// ```
/// use flowmap_ingest::import::{parse, FileKind, Format, Location, Options, Record};
///
/// let csv = "id,service,committed_at\nc1,checkout,2026-03-01T12:00:00Z\nc2,checkout,yesterday\n";
/// let mut rows = Vec::new();
/// parse(csv.as_bytes(), FileKind::Changes, Format::Csv, Options::default(), |row| rows.push(row))?;
///
/// let first = rows[0].as_ref().unwrap();
/// assert_eq!(first.location, Location::Line(2));
/// assert!(matches!(&first.record, Record::Change(c) if c.id == "c1"));
///
/// let problems = rows[1].as_ref().unwrap_err();
/// assert_eq!(problems[0].in_file("changes.csv").split(": ").take(2).collect::<Vec<_>>(),
///            ["changes.csv:3", "committed_at"]);
/// # Ok::<(), Vec<flowmap_ingest::import::RowError>>(())
/// ```
pub fn parse(
    input: impl Read,
    kind: FileKind,
    format: Format,
    options: Options,
    emit: impl FnMut(Row),
) -> Result<(), Vec<RowError>> {
    match format {
        Format::Csv => csv::parse(input, kind, options, emit),
        Format::Json => json::parse_json(input, kind, options, emit),
        Format::Ndjson => json::parse_ndjson(input, kind, options, emit),
    }
}

fn file_error(problem: impl fmt::Display) -> RowError {
    RowError {
        location: Location::File,
        field: "file".into(),
        problem: problem.to_string(),
    }
}
