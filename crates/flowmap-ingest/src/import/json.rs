//! JSON files (an array of objects, or objects one after another) and NDJSON files.

use std::io::{BufRead, BufReader, Read};

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::fields::{Cell, Kind, RowSource, build};
use super::{FileKind, Location, Options, Parsed, Row, RowError, file_error};
use crate::cdevents;

/// NDJSON: one JSON value per line; blank lines are skipped. Streams line by line.
pub(super) fn parse_ndjson(
    input: impl Read,
    kind: FileKind,
    options: Options,
    mut emit: impl FnMut(Row),
) -> Result<(), Vec<RowError>> {
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut bytes = Vec::new();
    let mut line = 0;
    loop {
        bytes.clear();
        match reader.read_until(b'\n', &mut bytes) {
            Ok(0) => return Ok(()),
            Ok(_) => line += 1,
            Err(err) => return Err(vec![file_error(err)]),
        }
        let location = Location::Line(line);
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text.trim(),
            Err(_) => {
                emit(Err(vec![row_error(location, "json", "not valid UTF-8")]));
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        match strict_value(text) {
            Ok(value) => emit(record(value, text, location, kind, options)),
            Err(err) => emit(Err(vec![row_error(location, "json", json_problem(&err))])),
        }
    }
}

/// JSON: an array of objects (located by index), or one or more objects one after another
/// (located by the line they start on). The file is read whole; a syntax error anywhere
/// stops reading, since no later value can be found reliably after one.
pub(super) fn parse_json(
    mut input: impl Read,
    kind: FileKind,
    options: Options,
    mut emit: impl FnMut(Row),
) -> Result<(), Vec<RowError>> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|err| vec![file_error(err)])?;
    let body = text.trim_start_matches('\u{feff}');
    let syntax = |err: serde_json::Error| {
        vec![row_error(
            Location::Line(err.line() as u64),
            "json",
            json_problem(&err),
        )]
    };
    match body.trim_start().chars().next() {
        None => Ok(()),
        Some('[') => {
            let items: Vec<&RawValue> = serde_json::from_str(body).map_err(syntax)?;
            for (index, item) in items.into_iter().enumerate() {
                let location = Location::Index(index as u64);
                match strict_value(item.get()) {
                    Ok(value) => emit(record(value, item.get(), location, kind, options)),
                    Err(err) => emit(Err(vec![row_error(location, "json", json_problem(&err))])),
                }
            }
            Ok(())
        }
        Some('{') => {
            let mut line = 1;
            let mut counted = 0;
            for item in serde_json::Deserializer::from_str(body).into_iter::<&RawValue>() {
                let item = item.map_err(syntax)?;
                let start = item.get().as_ptr() as usize - body.as_ptr() as usize;
                line += body.as_bytes()[counted..start]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count() as u64;
                counted = start;
                let location = Location::Line(line);
                match strict_value(item.get()) {
                    Ok(value) => emit(record(value, item.get(), location, kind, options)),
                    Err(err) => emit(Err(vec![row_error(location, "json", json_problem(&err))])),
                }
            }
            Ok(())
        }
        Some(_) => Err(vec![row_error(
            Location::Line(1),
            "json",
            "expected a JSON array of objects or a JSON object",
        )]),
    }
}

/// Parses one JSON value, refusing an object that gives a key twice: `serde_json` keeps
/// the last silently, so `{"status": "success", "status": "failure"}` would be whatever
/// came last, and another reader might take the first.
pub(crate) fn strict_value(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<UniqueKeys>(text).map(|unique| unique.0)
}

/// A JSON value whose objects have unique keys.
struct UniqueKeys(Value);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UniqueKeysVisitor)
            .map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "the key {key:?} is given twice in one object"
                )));
            }
            let UniqueKeys(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Turns one JSON value into a record of `kind`.
fn record(value: Value, raw: &str, location: Location, kind: FileKind, options: Options) -> Row {
    let located = |problems: Vec<(String, String)>| {
        problems
            .into_iter()
            .map(|(field, problem)| row_error(location, &field, problem))
            .collect::<Vec<_>>()
    };
    let Some(kind) = Kind::of(kind) else {
        return match cdevents::to_record(&value) {
            Ok(record) => Ok(Parsed {
                location,
                record,
                raw: Some(raw.to_owned()),
            }),
            Err(problems) => Err(located(problems)),
        };
    };
    let Value::Object(map) = value else {
        return Err(vec![row_error(
            location,
            "row",
            format!("expected a JSON object, found {}", describe(&value)),
        )]);
    };
    let mut row = JsonRow { map };
    let built = build(kind, &mut row);
    let mut problems = match &built {
        Ok(_) => Vec::new(),
        Err(problems) => problems.clone(),
    };
    if !options.ignore_unknown {
        for key in row.map.keys() {
            let text = match flowmap_core::map::closest(key, kind.fields()) {
                Some(near) => format!("unknown field: did you mean `{near}`?"),
                None => format!("unknown field (expected: {})", kind.fields().join(", ")),
            };
            problems.push((key.clone(), text));
        }
    }
    match built {
        Ok(record) if problems.is_empty() => Ok(Parsed {
            location,
            record,
            raw: None,
        }),
        _ => Err(located(problems)),
    }
}

fn row_error(location: Location, field: &str, problem: impl Into<String>) -> RowError {
    RowError {
        location,
        field: field.to_owned(),
        problem: problem.into(),
    }
}

/// serde_json's message without its trailing "at line L column C" (the location is
/// reported separately).
fn json_problem(err: &serde_json::Error) -> String {
    let message = err.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

pub(crate) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct JsonRow {
    map: Map<String, Value>,
}

impl RowSource for JsonRow {
    fn take(&mut self, name: &str) -> Cell {
        match self.map.remove(name) {
            None | Some(Value::Null) => Cell::Absent,
            Some(Value::String(text)) if text.is_empty() => Cell::Absent,
            Some(Value::String(text)) => Cell::Text(text),
            // Ids are often numbers (pull request 123); they are text in flowmap.
            Some(Value::Number(number)) => Cell::Text(number.to_string()),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(text) => Ok(text),
                    Value::Number(number) => Ok(number.to_string()),
                    other => Err(Cell::Bad(format!(
                        "expected a list of ids, found {} in it",
                        describe(&other)
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map_or_else(|bad| bad, Cell::List),
            Some(other) => Cell::Bad(format!("expected text, found {}", describe(&other))),
        }
    }
}
