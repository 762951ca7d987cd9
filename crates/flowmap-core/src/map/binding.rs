//! The binding of a map to the data: the map's `service` and `measure: {lead_time}`, and
//! each step's `measure: {wait, process, ca}` (lifecycle segments, and `ca:
//! change_fail_rate`). Read here from the map's tree, every problem with its place.

use serde::Serialize;

use crate::measure::Segment;

use super::Stream;
use super::node::{Node, Pos, Value};

/// The map-level `measure:` block.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MapMeasure {
    /// The end-to-end segment; `None` = the stream's default.
    pub lead_time: Option<Segment>,
}

/// A step's `measure:` block.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StepMeasure {
    pub wait: Option<Segment>,
    pub process: Option<Segment>,
    /// What the step's `ca` is measured as.
    pub ca: Option<CaMeasure>,
}

/// What a step's complete-and-accurate ratio can be measured as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaMeasure {
    /// 1 − the measured change fail rate (delivery maps only).
    ChangeFailRate,
}

/// A problem in a binding, with its place.
pub(crate) type Problem = (Pos, String);

const MAP_MEASURE_FIELDS: &[&str] = &["lead_time"];
const STEP_MEASURE_FIELDS: &[&str] = &["wait", "process", "ca"];

/// The entries of a `measure:` mapping, unknown and repeated fields reported.
fn entries<'n>(
    node: &'n Node,
    allowed: &[&str],
    problems: &mut Vec<Problem>,
) -> Vec<(&'n str, &'n Node)> {
    let Value::Map(entries) = &node.value else {
        problems.push((
            node.pos,
            format!(
                "`measure` must be a mapping of {}, found {}",
                allowed.join(", "),
                node.value.kind()
            ),
        ));
        return Vec::new();
    };
    let mut seen: Vec<(&str, &Node)> = Vec::new();
    for (key, value) in entries {
        if !allowed.contains(&key.name.as_str()) {
            let hint = match super::closest_name(&key.name, allowed) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("expected one of: {}", allowed.join(", ")),
            };
            problems.push((
                key.pos,
                format!("unknown field `{}` in measure: {hint}", key.name),
            ));
        } else if seen.iter().any(|(k, _)| *k == key.name) {
            problems.push((key.pos, format!("field `{}` is given twice", key.name)));
        } else {
            seen.push((&key.name, value));
        }
    }
    seen
}

fn segment(
    node: &Node,
    field: &str,
    stream: Stream,
    problems: &mut Vec<Problem>,
) -> Option<Segment> {
    let Value::Str(text) = &node.value else {
        problems.push((
            node.pos,
            format!(
                "`measure.{field}` must be a segment `FROM..TO`, found {}",
                node.value.kind()
            ),
        ));
        return None;
    };
    Segment::parse(text, stream)
        .map_err(|message| problems.push((node.pos, format!("`measure.{field}`: {message}"))))
        .ok()
}

/// Reads the map-level `measure:` of a map of `stream`.
pub(crate) fn map_measure(node: &Node, stream: Stream, problems: &mut Vec<Problem>) -> MapMeasure {
    let mut measure = MapMeasure::default();
    for (name, value) in entries(node, MAP_MEASURE_FIELDS, problems) {
        if name == "lead_time" {
            measure.lead_time = segment(value, name, stream, problems);
        }
    }
    measure
}

/// Reads a step's `measure:` in a map of `stream`.
pub(crate) fn step_measure(
    node: &Node,
    stream: Stream,
    problems: &mut Vec<Problem>,
) -> StepMeasure {
    let mut measure = StepMeasure::default();
    for (name, value) in entries(node, STEP_MEASURE_FIELDS, problems) {
        match name {
            "wait" => measure.wait = segment(value, name, stream, problems),
            "process" => measure.process = segment(value, name, stream, problems),
            _ => measure.ca = ca(value, stream, problems),
        }
    }
    measure
}

fn ca(node: &Node, stream: Stream, problems: &mut Vec<Problem>) -> Option<CaMeasure> {
    match &node.value {
        Value::Str(s) if s == "change_fail_rate" => {
            if stream == Stream::Recovery {
                problems.push((
                    node.pos,
                    "`measure.ca: change_fail_rate` binds a delivery step: a recovery map's \
                     items are failed deployments, which have no change fail rate"
                        .to_owned(),
                ));
                return None;
            }
            Some(CaMeasure::ChangeFailRate)
        }
        other => {
            let found = match other {
                Value::Str(s) => format!("`{s}`"),
                other => other.kind().to_owned(),
            };
            problems.push((
                node.pos,
                format!("`measure.ca` can only be `change_fail_rate`, found {found}"),
            ));
            None
        }
    }
}
