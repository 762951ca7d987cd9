//! CSV files: a header row naming the fields, then one record per row.

use std::collections::HashMap;
use std::io::Read;

use super::fields::{Cell, Kind, RowSource, build};
use super::{FileKind, Location, Options, Parsed, Row, RowError, file_error};

pub(super) fn parse(
    input: impl Read,
    kind: FileKind,
    options: Options,
    mut emit: impl FnMut(Row),
) -> Result<(), Vec<RowError>> {
    let Some(kind) = Kind::of(kind) else {
        return Err(vec![file_error(
            "CDEvents are JSON documents: import them from .json or .ndjson files",
        )]);
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = reader
        .byte_headers()
        .map_err(|e| vec![csv_error(&e)])?
        .clone();
    let columns = check_header(&header, kind, options)?;

    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(err) => return Err(vec![csv_error(&err)]),
        }
        let line = record.position().map_or(0, |p| p.line());
        let location = Location::Line(line);
        if record.len() != header.len() {
            emit(Err(vec![RowError {
                location,
                field: "row".into(),
                problem: format!(
                    "has {} fields, the header has {}",
                    record.len(),
                    header.len()
                ),
            }]));
            continue;
        }
        let mut row = CsvRow {
            record: &record,
            columns: &columns,
        };
        emit(match build(kind, &mut row) {
            Ok(record) => Ok(Parsed {
                location,
                record,
                raw: None,
            }),
            Err(problems) => Err(problems
                .into_iter()
                .map(|(field, problem)| RowError {
                    location,
                    field,
                    problem,
                })
                .collect()),
        });
    }
}

/// Maps each known field to its column, and reports every problem with the header.
fn check_header(
    header: &csv::ByteRecord,
    kind: Kind,
    options: Options,
) -> Result<HashMap<&'static str, usize>, Vec<RowError>> {
    let mut columns = HashMap::new();
    let mut problems = Vec::new();
    let mut problem = |field: String, problem: String| {
        problems.push(RowError {
            location: Location::Line(1),
            field,
            problem,
        })
    };
    for (index, name) in header.iter().enumerate() {
        let name = String::from_utf8_lossy(name);
        match kind.fields().iter().find(|field| **field == name) {
            Some(field) => {
                if columns.insert(*field, index).is_some() {
                    problem(name.into_owned(), "column appears twice".into());
                }
            }
            None if options.ignore_unknown => {}
            None => {
                let text = match flowmap_core::map::closest(&name, kind.fields()) {
                    Some(near) => format!("unknown column: did you mean `{near}`?"),
                    None => format!("unknown column (expected: {})", kind.fields().join(", ")),
                };
                problem(name.into_owned(), text)
            }
        }
    }
    for required in kind.required() {
        if !columns.contains_key(required) {
            problem((*required).into(), "required column missing".into());
        }
    }
    if problems.is_empty() {
        Ok(columns)
    } else {
        Err(problems)
    }
}

fn csv_error(err: &csv::Error) -> RowError {
    let location = err
        .position()
        .map_or(Location::File, |p| Location::Line(p.line()));
    RowError {
        location,
        field: "file".into(),
        problem: err.to_string(),
    }
}

struct CsvRow<'r> {
    record: &'r csv::ByteRecord,
    columns: &'r HashMap<&'static str, usize>,
}

impl RowSource for CsvRow<'_> {
    fn take(&mut self, name: &str) -> Cell {
        let Some(bytes) = self.columns.get(name).and_then(|&i| self.record.get(i)) else {
            return Cell::Absent;
        };
        match std::str::from_utf8(bytes) {
            Ok("") => Cell::Absent,
            Ok(text) => Cell::Text(text.to_owned()),
            Err(_) => Cell::Bad("not valid UTF-8".into()),
        }
    }
}
