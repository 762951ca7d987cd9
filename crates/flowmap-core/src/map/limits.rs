//! The limits that keep reading and analysing a map bounded, whoever wrote it.
//!
//! A map file may come from anyone who can reach the server, so its size is limited before
//! and after parsing (bytes, values, nesting, steps, drill-down depth) with an error that
//! names the place, the same way for YAML, TOML and JSON. After the schema checks, the
//! rework numbers are checked too: a map whose expected passes overflow is an error (the
//! analysis would have no finite lead time), and one whose passes are absurd but finite
//! gets a warning.

use super::analysis::expected_passes;
use super::node::{Node, Pos, Value};
use super::parse::{Diagnostic, Severity};
use super::{Map, format_hours};

/// The largest map file read, in bytes (UTF-8 text).
pub const MAX_MAP_BYTES: usize = 4 * 1024 * 1024;
/// The most values (scalars, lists and mappings) a map file may hold.
pub const MAX_MAP_VALUES: usize = 250_000;
/// How deeply lists and mappings may nest inside each other. A map with drill-downs at
/// the deepest allowed level nests about 20 levels; the parsers' recursion must stay well
/// within a thread's stack.
pub const MAX_NESTING: usize = 32;
/// The most steps a map may have, drill-downs included.
pub const MAX_STEPS: usize = 10_000;
/// How many drill-down levels a map may have below its own steps.
pub const MAX_DRILL_DOWN_DEPTH: usize = 8;
/// The smallest `ca` a map may give: one in a trillion. Smaller values are typos, and
/// with them the expected passes leave the range of floating-point numbers.
pub const MIN_CA: f64 = 1e-12;
/// Expected passes above this are warned about: an item going through a step more than a
/// hundred times on average is almost always a mistyped `ca` or `rework_to`.
pub const ABSURD_PASSES: f64 = 100.0;

fn error(pos: Pos, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        pos,
        message,
    }
}

/// Refuses a file too large to be a map, before it is parsed.
pub(crate) fn check_size(text: &str) -> Result<(), Diagnostic> {
    if text.len() > MAX_MAP_BYTES {
        return Err(error(
            Pos { line: 1, column: 1 },
            format!(
                "the file is {} bytes; a map may be at most {MAX_MAP_BYTES} bytes (4 MiB)",
                text.len()
            ),
        ));
    }
    Ok(())
}

/// Refuses a parsed document with too many values, too deep a nesting, too many steps or
/// too deep drill-downs, naming the first value past the limit.
pub(crate) fn check_tree(root: &Node) -> Result<(), Diagnostic> {
    let mut values = 0;
    count_values(root, 1, &mut values)?;
    let mut steps = 0;
    count_steps(root, 0, &mut steps)
}

fn count_values(node: &Node, depth: usize, values: &mut usize) -> Result<(), Diagnostic> {
    *values += 1;
    if *values > MAX_MAP_VALUES {
        return Err(error(
            node.pos,
            format!("the map holds more than {MAX_MAP_VALUES} values; this is the limit"),
        ));
    }
    if depth > MAX_NESTING {
        return Err(error(
            node.pos,
            format!("lists and mappings nest more than {MAX_NESTING} levels deep here"),
        ));
    }
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .try_for_each(|item| count_values(item, depth + 1, values)),
        Value::Map(entries) => entries
            .iter()
            .try_for_each(|(_, value)| count_values(value, depth + 1, values)),
        _ => Ok(()),
    }
}

/// Counts the steps of a map (a mapping with `steps`) and of its drill-downs.
fn count_steps(map: &Node, level: usize, steps: &mut usize) -> Result<(), Diagnostic> {
    let Value::Map(entries) = &map.value else {
        return Ok(());
    };
    let Some((
        key,
        Node {
            value: Value::Seq(items),
            ..
        },
    )) = entries.iter().find(|(key, _)| key.name == "steps")
    else {
        return Ok(());
    };
    if level > MAX_DRILL_DOWN_DEPTH {
        return Err(error(
            key.pos,
            format!(
                "drill-downs nest more than {MAX_DRILL_DOWN_DEPTH} levels deep here; this is the limit"
            ),
        ));
    }
    for item in items {
        *steps += 1;
        if *steps > MAX_STEPS {
            return Err(error(
                item.pos,
                format!(
                    "the map has more than {MAX_STEPS} steps (drill-downs included); this is the limit"
                ),
            ));
        }
        count_steps(item, level + 1, steps)?;
    }
    Ok(())
}

/// Checks that a valid map's rework numbers are finite (an error otherwise) and sensible
/// (a warning otherwise), for the map and every drill-down.
pub(crate) fn check_rework(
    map: &Map,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) {
    let passes = expected_passes(map);
    let per_hour = map.arrivals.map_or(0.0, |a| a.per_hour());
    let mut expected_total = 0.0_f64;
    for (step, &v) in map.steps.iter().zip(&passes) {
        let (wait, process) = (step.wait.point(), step.process.point());
        expected_total += v * (wait + process);
        let queues_finite =
            (per_hour * v * wait).is_finite() && (per_hour * v * process).is_finite();
        if !v.is_finite() || !expected_total.is_finite() || !queues_finite {
            errors.push(error(
                step.pos,
                format!(
                    "step `{}`: rework overflows: with these `ca` values an item would pass through this step about {} times, and the expected lead time is too large to compute; raise `ca` (here {}) or on the steps that send work back here",
                    step.id,
                    describe_count(v),
                    step.ca
                ),
            ));
            return;
        }
    }
    let absurd: Vec<(usize, f64)> = passes
        .iter()
        .copied()
        .enumerate()
        .filter(|&(_, v)| v > ABSURD_PASSES)
        .collect();
    if let Some(&(worst, v)) = absurd.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
        let step = &map.steps[worst];
        let others = match absurd.len() - 1 {
            0 => String::new(),
            1 => " (and 1 other step)".to_string(),
            more => format!(" (and {more} other steps)"),
        };
        warnings.push(Diagnostic {
            severity: Severity::Warning,
            pos: step.pos,
            message: format!(
                "step `{}` is expected to be done about {} times per item because of rework{others}, more than {ABSURD_PASSES}; check its `ca` and `rework_to` and those of the later steps (expected lead time {})",
                step.id,
                describe_count(v),
                format_hours(expected_total)
            ),
        });
    }
    for step in &map.steps {
        if let Some(sub) = &step.drill_down {
            check_rework(sub, errors, warnings);
        }
    }
}

/// A count for a message: whole numbers up to a million, scientific notation above.
fn describe_count(v: f64) -> String {
    if !v.is_finite() {
        "more than 1e308".to_string()
    } else if v < 1e6 {
        format!("{v:.0}")
    } else {
        format!("{v:.2e}")
    }
}
