//! Reading a map file: syntax first, then every schema rule, collecting all problems.
//!
//! Checks run on the [`Node`] tree, so one set of rules serves YAML, TOML and JSON and
//! every problem can point at the line and column it comes from. The walk keeps going
//! after a problem so that one run of `flowmap map check` shows them all.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

use super::analysis::critical_path;
use super::binding::{self, Problem};
use super::duration::parse_estimate;
use super::node::{self, Format, Key, Node, Pos, Value};
use super::{Arrivals, Estimate, Map, Period, State, Step, Stream, Team};

/// How serious a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The map is invalid.
    Error,
    /// The map is valid but probably not what its author meant.
    Warning,
}

/// A problem found in a map file, with the place it was found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub pos: Pos,
    pub message: String,
}

impl Diagnostic {
    /// The diagnostic as `FILE:LINE:COL: message` (warnings say `warning:` first), the form
    /// editors and terminals turn into links.
    pub fn display<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        DisplayDiagnostic { file, diag: self }
    }
}

struct DisplayDiagnostic<'a> {
    file: &'a str,
    diag: &'a Diagnostic,
}

impl fmt::Display for DisplayDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Pos { line, column } = self.diag.pos;
        write!(f, "{}:{line}:{column}: ", self.file)?;
        if self.diag.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        f.write_str(&self.diag.message)
    }
}

/// A map that passed every check, with the warnings found on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub map: Map,
    pub warnings: Vec<Diagnostic>,
}

/// Reads and checks a map written in `format`.
///
/// On failure, returns every error found (sorted by position), never just the first.
///
/// ```
/// use flowmap_core::map::{parse_map, Format};
/// let parsed = parse_map("name: Demo\nsteps:\n  - id: code\n    process: 4h\n", Format::Yaml).unwrap();
/// assert_eq!(parsed.map.steps[0].process.point(), 4.0);
///
/// let errors = parse_map("name: Demo\nsteps:\n  - id: code\n    proces: 4h\n", Format::Yaml).unwrap_err();
/// assert_eq!(errors[0].pos.line, 4);
/// assert!(errors[0].message.contains("did you mean `process`"));
/// ```
pub fn parse_map(text: &str, format: Format) -> Result<Parsed, Vec<Diagnostic>> {
    let root = node::parse(text, format).map_err(|err| {
        vec![Diagnostic {
            severity: Severity::Error,
            pos: err.pos,
            message: err.message,
        }]
    })?;
    let mut checker = Checker::default();
    let map = checker.map(&root);
    checker.errors.sort_by_key(|d| d.pos);
    match map {
        Some(map) if checker.errors.is_empty() => {
            checker.warnings.sort_by_key(|d| d.pos);
            Ok(Parsed {
                map,
                warnings: checker.warnings,
            })
        }
        _ => Err(checker.errors),
    }
}

const MAP_FIELDS: &[&str] = &[
    "name", "stream", "state", "unit", "arrivals", "teams", "steps", "service", "measure",
];
const TEAM_FIELDS: &[&str] = &["id", "name"];
const STEP_FIELDS: &[&str] = &[
    "id",
    "name",
    "team",
    "process",
    "wait",
    "ca",
    "rework_to",
    "after",
    "people",
    "systems",
    "notes",
    "capabilities",
    "steps",
    "measure",
];

/// The list of steps being checked: the map they belong to and every id it lists.
struct Scope<'a> {
    map: &'a Map,
    all_ids: &'a HashSet<String>,
}

/// What a drill-down inherits from the map it belongs to.
struct Parent<'a> {
    step_name: &'a str,
    map: &'a Map,
}

/// Collects every problem of a file while its tree is walked (the outcome files use it too).
#[derive(Default)]
pub(crate) struct Checker {
    pub(crate) errors: Vec<Diagnostic>,
    pub(crate) warnings: Vec<Diagnostic>,
}

impl Checker {
    pub(crate) fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.errors.push(Diagnostic {
            severity: Severity::Error,
            pos,
            message: message.into(),
        });
    }

    fn problems(&mut self, problems: Vec<Problem>) {
        for (pos, message) in problems {
            self.error(pos, message);
        }
    }

    pub(crate) fn warning(&mut self, pos: Pos, message: impl Into<String>) {
        self.warnings.push(Diagnostic {
            severity: Severity::Warning,
            pos,
            message: message.into(),
        });
    }

    fn map(&mut self, root: &Node) -> Option<Map> {
        let Value::Map(entries) = &root.value else {
            self.error(
                root.pos,
                format!(
                    "expected a map with `name` and `steps`, found {}",
                    root.value.kind()
                ),
            );
            return None;
        };
        let fields = self.fields(entries, MAP_FIELDS, "map");
        let name = match fields.get("name") {
            Some(node) => self.text(node, "name"),
            None => {
                self.error(root.pos, "missing field `name`: every map needs a name");
                None
            }
        };
        let stream = fields.get("stream").and_then(|n| {
            self.choice(
                n,
                "stream",
                &[
                    ("delivery", Stream::Delivery),
                    ("recovery", Stream::Recovery),
                ],
            )
        });
        let state = fields.get("state").and_then(|n| {
            self.choice(
                n,
                "state",
                &[("current", State::Current), ("future", State::Future)],
            )
        });
        let unit = fields.get("unit").and_then(|n| self.text(n, "unit"));
        let arrivals = fields.get("arrivals").and_then(|n| self.arrivals(n));
        let teams = fields
            .get("teams")
            .map(|n| self.teams(n))
            .unwrap_or_default();
        let service = fields.get("service").and_then(|n| self.text(n, "service"));
        let measure = fields.get("measure").map(|n| {
            let mut problems = Vec::new();
            let measure = binding::map_measure(n, stream.unwrap_or_default(), &mut problems);
            self.problems(problems);
            measure
        });
        let mut map = Map {
            name: name.unwrap_or_default(),
            stream: stream.unwrap_or_default(),
            state: state.unwrap_or_default(),
            unit: unit.unwrap_or_else(|| "item".into()),
            arrivals,
            teams,
            steps: Vec::new(),
            service,
            measure,
        };
        match fields.get("steps") {
            Some(node) => map.steps = self.steps(node, &map)?,
            None => self.error(
                root.pos,
                "missing field `steps`: a map needs at least one step",
            ),
        }
        Some(map)
    }

    pub(crate) fn fields<'n>(
        &mut self,
        entries: &'n [(Key, Node)],
        allowed: &[&str],
        what: &str,
    ) -> Fields<'n> {
        let mut seen: Vec<(&str, &Node)> = Vec::new();
        for (key, value) in entries {
            if !allowed.contains(&key.name.as_str()) {
                let hint = match closest(&key.name, allowed) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("expected one of: {}", allowed.join(", ")),
                };
                self.error(
                    key.pos,
                    format!("unknown field `{}` in {what}: {hint}", key.name),
                );
            } else if seen.iter().any(|(k, _)| *k == key.name) {
                self.error(key.pos, format!("field `{}` is given twice", key.name));
            } else {
                seen.push((&key.name, value));
            }
        }
        Fields(seen)
    }

    pub(crate) fn text(&mut self, node: &Node, field: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => {
                self.error(
                    node.pos,
                    format!("`{field}` must be text, found {}", other.kind()),
                );
                None
            }
        }
    }

    pub(crate) fn id(&mut self, node: &Node, field: &str) -> Option<String> {
        let id = self.text(node, field)?;
        let valid = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if valid {
            Some(id)
        } else {
            self.error(
                node.pos,
                format!(
                    "`{field}` `{id}` is not a valid id: use lowercase letters, digits, `_` and `-`"
                ),
            );
            None
        }
    }

    fn choice<T: Copy>(&mut self, node: &Node, field: &str, options: &[(&str, T)]) -> Option<T> {
        let text = self.text(node, field)?;
        let found = options.iter().find(|(name, _)| *name == text);
        if found.is_none() {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            self.error(
                node.pos,
                format!(
                    "`{field}` must be one of {}, found `{text}`",
                    names.join(" or ")
                ),
            );
        }
        found.map(|(_, value)| *value)
    }

    fn arrivals(&mut self, node: &Node) -> Option<Arrivals> {
        let text = self.text(node, "arrivals")?;
        let parsed = text.split_once('/').and_then(|(count, period)| {
            let count: f64 = count.trim().parse().ok()?;
            let period = match period.trim() {
                "day" | "d" => Period::Day,
                "week" | "w" => Period::Week,
                "month" => Period::Month,
                _ => return None,
            };
            (count.is_finite() && count >= 0.0).then_some(Arrivals { count, period })
        });
        if parsed.is_none() {
            self.error(
                node.pos,
                format!(
                    "`arrivals` must look like `30/week` (per day, week or month), found `{text}`"
                ),
            );
        }
        parsed
    }

    fn teams(&mut self, node: &Node) -> Vec<Team> {
        let mut teams: Vec<Team> = Vec::new();
        for item in self.list(node, "teams") {
            let Value::Map(entries) = &item.value else {
                self.error(
                    item.pos,
                    format!(
                        "a team must be a mapping with `id` and `name`, found {}",
                        item.value.kind()
                    ),
                );
                continue;
            };
            let fields = self.fields(entries, TEAM_FIELDS, "team");
            let Some(id_node) = fields.get("id") else {
                self.error(item.pos, "missing field `id` in team");
                continue;
            };
            let Some(id) = self.id(id_node, "id") else {
                continue;
            };
            let name = fields.get("name").and_then(|n| self.text(n, "name"));
            if teams.iter().any(|t| t.id == id) {
                self.error(id_node.pos, format!("team id `{id}` is used twice"));
                continue;
            }
            teams.push(Team {
                name: name.unwrap_or_else(|| id.clone()),
                id,
            });
        }
        teams
    }

    pub(crate) fn list<'n>(&mut self, node: &'n Node, field: &str) -> &'n [Node] {
        match &node.value {
            Value::Seq(items) => items,
            Value::Null => &[],
            other => {
                self.error(
                    node.pos,
                    format!("`{field}` must be a list, found {}", other.kind()),
                );
                &[]
            }
        }
    }

    /// Reads a list of steps: the map's own, or a drill-down's (then `map` is the sub-map,
    /// which shares the teams and arrivals of the map it belongs to).
    fn steps(&mut self, node: &Node, map: &Map) -> Option<Vec<Step>> {
        let items = self.list(node, "steps");
        if items.is_empty() {
            self.error(node.pos, "`steps` must list at least one step");
            return None;
        }
        let errors_before = self.errors.len();
        let mut steps: Vec<Step> = Vec::with_capacity(items.len());
        let written: Vec<Option<String>> = items.iter().map(written_id).collect();
        let all_ids: HashSet<String> = written.iter().flatten().cloned().collect();
        let scope = Scope {
            map,
            all_ids: &all_ids,
        };
        let mut earlier_ids: HashSet<String> = HashSet::new();
        for (index, item) in items.iter().enumerate() {
            if let Some(step) = self.step(item, index, &steps, &earlier_ids, &scope) {
                steps.push(step);
            }
            // Ids of invalid steps count too, so one bad step doesn't cascade into
            // "unknown step" errors wherever it is named.
            earlier_ids.extend(written[index].clone());
        }
        if self.errors.len() > errors_before || steps.len() != items.len() {
            return None;
        }
        Some(steps)
    }

    fn step(
        &mut self,
        node: &Node,
        index: usize,
        earlier: &[Step],
        earlier_ids: &HashSet<String>,
        scope: &Scope<'_>,
    ) -> Option<Step> {
        let map = scope.map;
        let Value::Map(entries) = &node.value else {
            self.error(
                node.pos,
                format!(
                    "a step must be a mapping with at least an `id`, found {}",
                    node.value.kind()
                ),
            );
            return None;
        };
        let fields = self.fields(entries, STEP_FIELDS, "step");
        let id = match fields.get("id") {
            Some(n) => {
                let id = self.id(n, "id");
                if let Some(id) = &id
                    && earlier_ids.contains(id)
                {
                    self.error(n.pos, format!("step id `{id}` is used twice"));
                }
                id
            }
            None => {
                self.error(
                    node.pos,
                    format!("missing field `id` in step {}", index + 1),
                );
                None
            }
        };
        let name = fields.get("name").and_then(|n| self.text(n, "name"));
        let team = fields.get("team").and_then(|n| {
            let team = self.text(n, "team")?;
            if map.team(&team).is_none() {
                let known: Vec<&str> = map.teams.iter().map(|t| t.id.as_str()).collect();
                let hint = if known.is_empty() {
                    "the map lists no `teams`".to_string()
                } else {
                    format!("known teams: {}", known.join(", "))
                };
                self.error(n.pos, format!("unknown team `{team}`: {hint}"));
            }
            Some(team)
        });
        let process = fields
            .get("process")
            .map(|n| (self.estimate(n, "process"), n.pos));
        let wait = fields
            .get("wait")
            .map(|n| (self.estimate(n, "wait"), n.pos));
        let ca = fields.get("ca").and_then(|n| self.ca(n)).unwrap_or(1.0);
        let own_id = id.clone().unwrap_or_default();
        let rework_to = match fields.get("rework_to") {
            Some(n) => self.text(n, "rework_to").inspect(|target| {
                if *target != own_id && !earlier_ids.contains(target) {
                    self.error(
                        n.pos,
                        format!(
                            "`rework_to` must name this step or an earlier one, and `{target}` is {}",
                            not_earlier(target, scope.all_ids)
                        ),
                    );
                }
            }),
            None => Some(own_id.clone()),
        };
        let after = match fields.get("after") {
            Some(n) => self.after(n, earlier_ids, &own_id, scope.all_ids),
            None => earlier
                .last()
                .map(|s| vec![s.id.clone()])
                .unwrap_or_default(),
        };
        let people = fields.get("people").and_then(|n| match n.value {
            Value::Int(i) if (0..=i64::from(u32::MAX)).contains(&i) => Some(i as u32),
            _ => {
                self.error(
                    n.pos,
                    "`people` must be a whole number of people, 0 or more",
                );
                None
            }
        });
        let systems = match fields.get("systems") {
            Some(n) if matches!(n.value, Value::Seq(_)) => self
                .list(n, "systems")
                .iter()
                .filter_map(|s| self.text(s, "systems"))
                .collect(),
            Some(n) => self.text(n, "systems").into_iter().collect(),
            None => Vec::new(),
        };
        let notes = fields.get("notes").and_then(|n| self.text(n, "notes"));
        let measure = fields.get("measure").map(|n| {
            let mut problems = Vec::new();
            let measure = binding::step_measure(n, map.stream, &mut problems);
            self.problems(problems);
            measure
        });
        let capabilities = fields
            .get("capabilities")
            .map(|n| self.capabilities(n))
            .unwrap_or_default();
        let step_name = name.clone().unwrap_or_else(|| own_id.clone());
        let drill_down = fields.get("steps").and_then(|n| {
            self.drill_down(
                n,
                &Parent {
                    step_name: &step_name,
                    map,
                },
            )
        });

        let (process, wait) = self.drill_down_defaults(process, wait, drill_down.as_ref());
        Some(Step {
            id: id?,
            name: step_name,
            team,
            process: process?,
            wait: wait?,
            ca,
            rework_to: rework_to?,
            after,
            people,
            systems,
            notes,
            capabilities,
            drill_down: drill_down.map(Box::new),
            pos: node.pos,
            measure,
        })
    }

    /// A step's `capabilities`: ids from the built-in catalogue of DORA capabilities.
    fn capabilities(&mut self, node: &Node) -> Vec<String> {
        let mut ids = Vec::new();
        for item in self.list(node, "capabilities") {
            let Some(id) = self.text(item, "capabilities") else {
                continue;
            };
            if crate::capabilities::find(&id).is_none() {
                let known: Vec<&str> = crate::capabilities::ids().collect();
                let hint = match closest(&id, &known) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => "`flowmap capabilities` lists them".to_string(),
                };
                self.error(item.pos, format!("unknown DORA capability `{id}`: {hint}"));
            } else if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    fn drill_down(&mut self, node: &Node, parent: &Parent<'_>) -> Option<Map> {
        let mut sub = Map {
            name: parent.step_name.to_string(),
            steps: Vec::new(),
            ..parent.map.clone()
        };
        sub.steps = self.steps(node, &sub)?;
        Some(sub)
    }

    /// A drill-down step's omitted `process` and `wait` are its sub-map's totals along the
    /// critical path; explicit values win, with a warning when they disagree.
    fn drill_down_defaults(
        &mut self,
        process: Option<(Option<Estimate>, Pos)>,
        wait: Option<(Option<Estimate>, Pos)>,
        drill_down: Option<&Map>,
    ) -> (Option<Estimate>, Option<Estimate>) {
        let Some(sub) = drill_down else {
            return (
                process.map_or(Some(Estimate::default()), |(e, _)| e),
                wait.map_or(Some(Estimate::default()), |(e, _)| e),
            );
        };
        let (total_process, total_lead) = {
            let path = critical_path(sub);
            (path.process_hours, path.lead_hours)
        };
        let total_wait = total_lead - total_process;
        let mut resolve = |given: Option<(Option<Estimate>, Pos)>, total: f64, field: &str| {
            match given {
                None => Some(Estimate::exact(total)),
                Some((Some(estimate), pos)) => {
                    if (estimate.point() - total).abs() > 1e-9 * total.max(1.0) {
                        self.warning(
                        pos,
                        format!(
                            "`{field}` {} differs from its sub-steps' total {field} time {}; the value given here wins",
                            estimate,
                            Estimate::exact(total)
                        ),
                    );
                    }
                    Some(estimate)
                }
                Some((None, _)) => None,
            }
        };
        let process = resolve(process, total_process, "process");
        let wait = resolve(wait, total_wait, "wait");
        (process, wait)
    }

    fn after(
        &mut self,
        node: &Node,
        earlier_ids: &HashSet<String>,
        own_id: &str,
        all_ids: &HashSet<String>,
    ) -> Vec<String> {
        let items: Vec<&Node> = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let mut after = Vec::new();
        for item in items {
            let Some(target) = self.text(item, "after") else {
                continue;
            };
            if earlier_ids.contains(&target) {
                if !after.contains(&target) {
                    after.push(target);
                }
            } else if target == own_id {
                self.error(
                    item.pos,
                    format!("step `{own_id}` cannot come `after` itself"),
                );
            } else {
                self.error(
                    item.pos,
                    format!(
                        "`after` may only name steps listed earlier, and `{target}` is {}",
                        not_earlier(&target, all_ids)
                    ),
                );
            }
        }
        after
    }

    fn estimate(&mut self, node: &Node, field: &str) -> Option<Estimate> {
        let result = match &node.value {
            Value::Int(0) => Ok(Estimate::exact(0.0)),
            Value::Float(f) if *f == 0.0 => Ok(Estimate::exact(0.0)),
            Value::Int(i) => Err(format!("needs a unit: write `{i}h`, `{i}d`, `{i}m`...")),
            Value::Float(f) => Err(format!("needs a unit: write `{f}h`, `{f}d`...")),
            Value::Str(s) => parse_estimate(s),
            other => Err(format!(
                "expected a duration like `4h` or a range like `2h..6h`, found {}",
                other.kind()
            )),
        };
        result
            .map_err(|message| self.error(node.pos, format!("`{field}`: {message}")))
            .ok()
    }

    fn ca(&mut self, node: &Node) -> Option<f64> {
        let fraction = match &node.value {
            Value::Int(i) => Ok(*i as f64),
            Value::Float(f) => Ok(*f),
            Value::Str(s) => match s.trim().strip_suffix('%') {
                Some(percent) => percent
                    .trim()
                    .parse::<f64>()
                    .map(|p| p / 100.0)
                    .map_err(|_| ()),
                None => s.trim().parse::<f64>().map_err(|_| ()),
            },
            _ => Err(()),
        };
        match fraction {
            Ok(f) if f > 0.0 && f <= 1.0 => Some(f),
            Ok(0.0) => {
                self.error(
                    node.pos,
                    "`ca` is 0%: every item is sent back, so rework here can never finish",
                );
                None
            }
            Ok(_) => {
                self.error(
                    node.pos,
                    "`ca` must be between 0% and 100% (write `80%` or `0.8`)",
                );
                None
            }
            Err(()) => {
                self.error(
                    node.pos,
                    "`ca` must be a percentage like `80%` or a fraction like `0.8`",
                );
                None
            }
        }
    }
}

/// Why a step id that had to name an earlier step does not: it is listed later, or it
/// names no step at all.
fn not_earlier(target: &str, all_ids: &HashSet<String>) -> &'static str {
    if all_ids.contains(target) {
        "listed later (list steps in flow order)"
    } else {
        "not a step of this map"
    }
}

/// The id written in a step, read before the steps are checked one by one so that a
/// reference to a later step can be told from a reference to no step.
fn written_id(item: &Node) -> Option<String> {
    let Value::Map(entries) = &item.value else {
        return None;
    };
    let (_, id) = entries.iter().find(|(k, _)| k.name == "id")?;
    match &id.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// A mapping's known fields by name, after the unknown and repeated ones were reported.
pub(crate) struct Fields<'n>(Vec<(&'n str, &'n Node)>);

impl<'n> Fields<'n> {
    pub(crate) fn get(&self, name: &str) -> Option<&'n Node> {
        self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
}

/// The allowed name closest to a misspelt one, when it is close enough to be a typo.
pub(crate) fn closest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 3))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}
