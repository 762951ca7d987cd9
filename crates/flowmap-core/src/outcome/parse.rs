//! Reading an outcome file: the map parser's located tree and checker, the outcome's rules.
//!
//! Every problem is collected and reported with its line and column: unknown fields,
//! metrics and capabilities with a "did you mean", a target in the wrong unit, a
//! constraint naming a missing map or step, an experiment that ends before it starts or
//! whose before window overlaps its after window.

use jiff::Timestamp;

use super::{
    Baseline, Concern, DEFAULT_WINDOW_HOURS, Experiment, METRIC_NAMES, Metric, Operator, Outcome,
    StepRef, Target,
};
use crate::capabilities;
use crate::dora::{DEFAULT_ENVIRONMENT, parse_window_bound};
use crate::experiment::Unit;
use crate::map::node::{self, Format, Node, Pos, Value};
use crate::map::parse::{Checker, closest};
use crate::map::{Diagnostic, Map, Severity, parse_duration};

/// Tells the outcome parser whether the map step `MAP#STEP` exists. Core reads no files:
/// the caller resolves MAP (relative to the outcome file) and answers.
pub trait StepResolver {
    /// `Ok(())` when the step exists, else the problem in words ("no map file
    /// `checkout.yaml`", "map `checkout.yaml` has no step `qa`: did you mean `manual-qa`?").
    fn check_step(&self, map: &str, step: &str) -> Result<(), String>;
}

impl<F: Fn(&str, &str) -> Result<(), String>> StepResolver for F {
    fn check_step(&self, map: &str, step: &str) -> Result<(), String> {
        self(map, step)
    }
}

/// Whether `map` (read from the file `file`) has a step `step`, at any drill-down depth,
/// with a "did you mean" when it does not: the answer a [`StepResolver`] gives once it has
/// read the map.
pub fn check_step(map: &Map, file: &str, step: &str) -> Result<(), String> {
    fn collect<'m>(map: &'m Map, ids: &mut Vec<&'m str>) {
        for s in &map.steps {
            ids.push(&s.id);
            if let Some(sub) = &s.drill_down {
                collect(sub, ids);
            }
        }
    }
    let mut ids = Vec::new();
    collect(map, &mut ids);
    if ids.contains(&step) {
        return Ok(());
    }
    let hint = match closest(step, &ids) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!("its steps are {}", ids.join(", ")),
    };
    Err(format!("map `{file}` has no step `{step}`: {hint}"))
}

const OUTCOME_FIELDS: &[&str] = &[
    "outcome",
    "mandate",
    "service",
    "environment",
    "metric",
    "baseline",
    "target",
    "deadline",
    "window",
    "started",
    "concerns",
    "benefits",
    "obstacles",
    "next_steps",
    "experiments",
];
const CONCERN_FIELDS: &[&str] = &["text", "category", "votes"];
const EXPERIMENT_FIELDS: &[&str] = &[
    "id",
    "hypothesis",
    "constraint",
    "capability",
    "metric",
    "started",
    "ended",
    "before",
];

/// Reads and checks an outcome written in `format`; `steps` answers whether the map steps
/// it names exist.
///
/// On failure, returns every error found, sorted by position.
///
/// ```
/// use flowmap_core::map::Format;
/// use flowmap_core::outcome::parse_outcome;
/// let no_maps = |_: &str, _: &str| Err::<(), String>("no maps here".to_string());
/// let text = "outcome: Faster reviews\nmetric: lead_time\nbaseline: 3d\ntarget: '<= 1d'\ndeadline: 2026-12-01\n";
/// let outcome = parse_outcome(text, Format::Yaml, &no_maps).unwrap();
/// assert_eq!(outcome.target.value, 24.0);
///
/// let errors = parse_outcome(&text.replace("lead_time", "lead_tiem"), Format::Yaml, &no_maps).unwrap_err();
/// assert_eq!((errors[0].pos.line, errors[0].pos.column), (2, 9));
/// assert!(errors[0].message.contains("did you mean `lead_time`"));
/// ```
pub fn parse_outcome(
    text: &str,
    format: Format,
    steps: &dyn StepResolver,
) -> Result<Outcome, Vec<Diagnostic>> {
    let root = node::parse(text, format).map_err(|err| {
        vec![Diagnostic {
            severity: Severity::Error,
            pos: err.pos,
            message: err.message,
        }]
    })?;
    let mut reader = Reader {
        checker: Checker::default(),
        steps,
    };
    let outcome = reader.outcome(&root);
    let mut errors = reader.checker.errors;
    errors.sort_by_key(|d| d.pos);
    match outcome {
        Some(outcome) if errors.is_empty() => Ok(outcome),
        _ => Err(errors),
    }
}

struct Reader<'r> {
    checker: Checker,
    steps: &'r dyn StepResolver,
}

impl Reader<'_> {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.checker.error(pos, message);
    }

    fn outcome(&mut self, root: &Node) -> Option<Outcome> {
        let Value::Map(entries) = &root.value else {
            self.error(
                root.pos,
                format!(
                    "expected an outcome with `outcome`, `metric`, `baseline`, `target` and `deadline`, found {}",
                    root.value.kind()
                ),
            );
            return None;
        };
        let fields = self.checker.fields(entries, OUTCOME_FIELDS, "outcome");
        let mut required = |name: &str, why: &str| {
            let found = fields.get(name);
            if found.is_none() {
                self.checker
                    .error(root.pos, format!("missing field `{name}`: {why}"));
            }
            found
        };
        let statement = required(
            "outcome",
            "say in one sentence what the team wants to reach",
        );
        let metric_node = required("metric", "name the metric that shows the outcome");
        let baseline_node = required(
            "baseline",
            "give a window (`2026-06-01..2026-09-01`) or a value",
        );
        let target_node = required("target", "give a comparison and a value, like `< 10%`");
        let deadline_node = required("deadline", "give the date the outcome is due");

        let statement = statement.and_then(|n| self.checker.text(n, "outcome"));
        let mandate = fields
            .get("mandate")
            .and_then(|n| self.checker.text(n, "mandate"));
        let service = fields
            .get("service")
            .and_then(|n| self.checker.text(n, "service"));
        let environment = fields
            .get("environment")
            .and_then(|n| self.checker.text(n, "environment"));
        let metric = metric_node.and_then(|n| self.metric(n));
        let baseline = baseline_node.and_then(|n| self.baseline(n, metric.as_ref()));
        let target = target_node.and_then(|n| self.target(n, metric.as_ref()));
        let deadline = deadline_node.and_then(|n| self.time(n, "deadline"));
        let window_hours = match fields.get("window") {
            Some(n) => self.window(n),
            None => Some(DEFAULT_WINDOW_HOURS),
        };
        let started = fields.get("started").and_then(|n| self.time(n, "started"));
        if let (Some(Baseline::Window { until, .. }), Some(deadline), Some(n)) =
            (baseline, deadline, deadline_node)
            && deadline <= until
        {
            self.error(
                n.pos,
                "`deadline` must come after the end of the baseline window",
            );
        }
        let concerns = fields
            .get("concerns")
            .map(|n| self.concerns(n))
            .unwrap_or_default();
        let benefits = self.texts(fields.get("benefits"), "benefits");
        let obstacles = self.texts(fields.get("obstacles"), "obstacles");
        let next_steps = self.texts(fields.get("next_steps"), "next_steps");
        // Experiments are checked even when the outcome's metric is wrong, so that every
        // problem shows at once.
        let experiments = fields
            .get("experiments")
            .map(|n| self.experiments(n, metric.as_ref()))
            .unwrap_or_default();
        Some(Outcome {
            outcome: statement?,
            mandate,
            service,
            environment: environment.unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_string()),
            metric: metric?,
            baseline: baseline?,
            target: target?,
            deadline: deadline?,
            window_hours: window_hours?,
            started,
            concerns,
            benefits,
            obstacles,
            next_steps,
            experiments,
        })
    }

    fn metric(&mut self, node: &Node) -> Option<Metric> {
        let name = self.checker.text(node, "metric")?;
        let metric = match name.as_str() {
            "lead_time" => Metric::LeadTime,
            "deployment_frequency" => Metric::DeploymentFrequency,
            "change_failure_rate" => Metric::ChangeFailureRate,
            "recovery_time" => Metric::RecoveryTime,
            "rework_rate" => Metric::ReworkRate,
            other => match other.strip_prefix("step:") {
                Some(reference) => Metric::Step(self.step_ref(node, reference, "metric")?),
                None => {
                    let hint = match closest(other, METRIC_NAMES) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => {
                            format!("use one of {} or `step:MAP#STEP`", METRIC_NAMES.join(", "))
                        }
                    };
                    self.error(node.pos, format!("unknown metric `{other}`: {hint}"));
                    return None;
                }
            },
        };
        Some(metric)
    }

    /// `MAP#STEP`, checked with the caller's resolver.
    fn step_ref(&mut self, node: &Node, text: &str, field: &str) -> Option<StepRef> {
        let Some((map, step)) = text
            .split_once('#')
            .filter(|(m, s)| !m.trim().is_empty() && !s.trim().is_empty())
        else {
            self.error(
                node.pos,
                format!("`{field}` must name a map step as `MAP#STEP` (like `checkout.yaml#review`), found `{text}`"),
            );
            return None;
        };
        let (map, step) = (map.trim(), step.trim());
        if let Err(problem) = self.steps.check_step(map, step) {
            self.error(node.pos, format!("`{field}` `{text}`: {problem}"));
            return None;
        }
        Some(StepRef {
            map: map.to_string(),
            step: step.to_string(),
        })
    }

    fn baseline(&mut self, node: &Node, metric: Option<&Metric>) -> Option<Baseline> {
        let text = self.checker.text(node, "baseline")?;
        if text.contains("..") {
            let (since, until) = self.window_text(node, &text, "baseline")?;
            return Some(Baseline::Window { since, until });
        }
        let unit = metric?.unit();
        match value_in_unit(&text, unit) {
            Ok(value) => Some(Baseline::Value(value)),
            Err(problem) => {
                self.error(
                    node.pos,
                    format!(
                        "`baseline` must be a window like `2026-06-01..2026-09-01` or {}: {problem}",
                        unit_example(unit)
                    ),
                );
                None
            }
        }
    }

    fn target(&mut self, node: &Node, metric: Option<&Metric>) -> Option<Target> {
        let text = self.checker.text(node, "target")?;
        let trimmed = text.trim();
        let (op, rest) = [
            ("<=", Operator::LessOrEqual),
            (">=", Operator::GreaterOrEqual),
            ("<", Operator::Less),
            (">", Operator::Greater),
        ]
        .iter()
        .find_map(|(symbol, op)| trimmed.strip_prefix(symbol).map(|rest| (*op, rest)))
        .or_else(|| {
            self.error(
                node.pos,
                format!("`target` needs a comparison first: write `< {trimmed}`, `<= {trimmed}`, `> {trimmed}` or `>= {trimmed}`"),
            );
            None
        })?;
        let metric = metric?;
        let unit = metric.unit();
        match value_in_unit(rest, unit) {
            Ok(value) => Some(Target { op, value }),
            Err(problem) => {
                self.error(
                    node.pos,
                    format!(
                        "`target` for `{}` must be {}: {problem}",
                        metric.name(),
                        unit_example(unit)
                    ),
                );
                None
            }
        }
    }

    fn time(&mut self, node: &Node, field: &str) -> Option<Timestamp> {
        let text = self.checker.text(node, field)?;
        parse_window_bound(&text)
            .map_err(|problem| self.error(node.pos, format!("`{field}`: {problem}")))
            .ok()
    }

    /// A window `a..b` with a before b.
    fn window_text(
        &mut self,
        node: &Node,
        text: &str,
        field: &str,
    ) -> Option<(Timestamp, Timestamp)> {
        let Some((since, until)) = text.split_once("..") else {
            self.error(
                node.pos,
                format!("`{field}` must be a window like `2026-06-01..2026-09-01`, found `{text}`"),
            );
            return None;
        };
        let since = parse_window_bound(since)
            .map_err(|p| self.error(node.pos, format!("`{field}` start: {p}")))
            .ok();
        let until = parse_window_bound(until)
            .map_err(|p| self.error(node.pos, format!("`{field}` end: {p}")))
            .ok();
        let (since, until) = (since?, until?);
        if since >= until {
            self.error(
                node.pos,
                format!("`{field}` is empty: its start must come before its end"),
            );
            return None;
        }
        Some((since, until))
    }

    fn window(&mut self, node: &Node) -> Option<f64> {
        let text = self.checker.text(node, "window")?;
        match parse_duration(&text) {
            Ok(hours) if hours > 0.0 && hours <= 3660.0 * 24.0 => Some(hours),
            Ok(_) => {
                self.error(
                    node.pos,
                    "`window` must be longer than 0 and at most 10 years, like `28d`",
                );
                None
            }
            Err(problem) => {
                self.error(node.pos, format!("`window`: {problem}"));
                None
            }
        }
    }

    fn texts(&mut self, node: Option<&Node>, field: &str) -> Vec<String> {
        let Some(node) = node else {
            return Vec::new();
        };
        self.checker
            .list(node, field)
            .iter()
            .filter_map(|item| self.checker.text(item, field))
            .collect()
    }

    fn concerns(&mut self, node: &Node) -> Vec<Concern> {
        let mut concerns = Vec::new();
        for item in self.checker.list(node, "concerns") {
            let Value::Map(entries) = &item.value else {
                if let Some(text) = self.checker.text(item, "concerns") {
                    concerns.push(Concern {
                        text,
                        category: None,
                        votes: 0,
                    });
                }
                continue;
            };
            let fields = self.checker.fields(entries, CONCERN_FIELDS, "concern");
            let Some(text) = fields
                .get("text")
                .and_then(|n| self.checker.text(n, "text"))
            else {
                if fields.get("text").is_none() {
                    self.error(item.pos, "missing field `text` in concern");
                }
                continue;
            };
            let category = fields
                .get("category")
                .and_then(|n| self.checker.text(n, "category"));
            let votes = match fields.get("votes") {
                Some(n) => match n.value {
                    Value::Int(v) if (0..=i64::from(u32::MAX)).contains(&v) => v as u32,
                    _ => {
                        self.error(n.pos, "`votes` must be a whole number, 0 or more");
                        0
                    }
                },
                None => 0,
            };
            concerns.push(Concern {
                text,
                category,
                votes,
            });
        }
        concerns
    }

    fn experiments(&mut self, node: &Node, outcome_metric: Option<&Metric>) -> Vec<Experiment> {
        let mut experiments: Vec<Experiment> = Vec::new();
        for item in self.checker.list(node, "experiments") {
            let Value::Map(entries) = &item.value else {
                self.error(
                    item.pos,
                    format!(
                        "an experiment must be a mapping with `id` and `started`, found {}",
                        item.value.kind()
                    ),
                );
                continue;
            };
            let fields = self
                .checker
                .fields(entries, EXPERIMENT_FIELDS, "experiment");
            let id = match fields.get("id") {
                Some(n) => self.checker.id(n, "id").filter(|id| {
                    let repeated = experiments.iter().any(|e| &e.id == id);
                    if repeated {
                        self.checker
                            .error(n.pos, format!("experiment id `{id}` is used twice"));
                    }
                    !repeated
                }),
                None => {
                    self.error(item.pos, "missing field `id` in experiment");
                    None
                }
            };
            let hypothesis = fields
                .get("hypothesis")
                .and_then(|n| self.checker.text(n, "hypothesis"));
            let constraint = fields.get("constraint").and_then(|n| {
                let text = self.checker.text(n, "constraint")?;
                self.step_ref(n, &text, "constraint")
            });
            let capability = fields.get("capability").and_then(|n| self.capability(n));
            let metric = match fields.get("metric") {
                Some(n) => self.metric(n),
                None => outcome_metric.cloned(),
            };
            let started_node = fields.get("started");
            if started_node.is_none() {
                self.error(
                    item.pos,
                    "missing field `started` in experiment: give the date the change was made",
                );
            }
            let started = started_node.and_then(|n| self.time(n, "started"));
            let ended = fields.get("ended").and_then(|n| {
                let ended = self.time(n, "ended")?;
                if let Some(started) = started
                    && ended <= started
                {
                    self.error(
                        n.pos,
                        format!("`ended` ({ended}) must come after `started` ({started})"),
                    );
                    return None;
                }
                Some(ended)
            });
            let before = fields.get("before").and_then(|n| {
                let text = self.checker.text(n, "before")?;
                let (since, until) = self.window_text(n, &text, "before")?;
                if let Some(started) = started
                    && until > started
                {
                    self.error(
                        n.pos,
                        format!("`before` overlaps the experiment: it must end by `started` ({started}), the start of the after window"),
                    );
                    return None;
                }
                Some((since, until))
            });
            let (Some(id), Some(metric), Some(started)) = (id, metric, started) else {
                continue;
            };
            experiments.push(Experiment {
                id,
                hypothesis,
                constraint,
                capability,
                metric,
                started,
                ended,
                before,
                pos: item.pos,
            });
        }
        experiments
    }

    fn capability(&mut self, node: &Node) -> Option<String> {
        let id = self.checker.text(node, "capability")?;
        if capabilities::find(&id).is_some() {
            return Some(id);
        }
        let known: Vec<&str> = capabilities::ids().collect();
        let hint = match closest(&id, &known) {
            Some(near) => format!("did you mean `{near}`?"),
            None => "`flowmap capabilities` lists them".to_string(),
        };
        self.error(node.pos, format!("unknown DORA capability `{id}`: {hint}"));
        None
    }
}

/// How a value of `unit` is written, for error messages.
fn unit_example(unit: Unit) -> &'static str {
    match unit {
        Unit::Hours => "a duration like `1d` or `4h`",
        Unit::PerWeek => "a frequency like `2/week` or `1/day`",
        Unit::Fraction => "a rate like `10%` or `0.1`",
    }
}

/// Reads a value in the metric's unit: hours from a duration, per week from `N/week`
/// (`/day`, `/month` of 30 days), a fraction from `N%` or a number in [0, 1].
fn value_in_unit(text: &str, unit: Unit) -> Result<f64, String> {
    let text = text.trim();
    let value = match unit {
        Unit::Hours => {
            if text.ends_with('%') || text.contains('/') {
                return Err(format!("`{text}` is not a duration"));
            }
            parse_duration(text).map_err(|e| e.to_string())?
        }
        Unit::PerWeek => {
            let (count, period) = text
                .split_once('/')
                .ok_or_else(|| format!("`{text}` is not a frequency"))?;
            let count: f64 = count
                .trim()
                .parse()
                .map_err(|_| format!("`{}` is not a number", count.trim()))?;
            let per_week = match period.trim() {
                "week" | "w" => 1.0,
                "day" | "d" => 7.0,
                "month" => 7.0 / 30.0,
                other => return Err(format!("`{other}` is not a period: use day, week or month")),
            };
            count * per_week
        }
        Unit::Fraction => {
            let fraction = match text.strip_suffix('%') {
                Some(percent) => percent.trim().parse::<f64>().map(|p| p / 100.0),
                None => text.parse::<f64>(),
            }
            .map_err(|_| format!("`{text}` is not a rate"))?;
            if !(0.0..=1.0).contains(&fraction) {
                return Err(format!("`{text}` is not between 0% and 100%"));
            }
            fraction
        }
    };
    if !value.is_finite() || value < 0.0 {
        return Err(format!("`{text}` must be 0 or more"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_each_unit() {
        assert_eq!(value_in_unit("1d", Unit::Hours), Ok(24.0));
        assert_eq!(value_in_unit("2/week", Unit::PerWeek), Ok(2.0));
        assert_eq!(value_in_unit("1/day", Unit::PerWeek), Ok(7.0));
        assert_eq!(value_in_unit("10%", Unit::Fraction), Ok(0.1));
        assert_eq!(value_in_unit("0.25", Unit::Fraction), Ok(0.25));
        assert!(value_in_unit("10%", Unit::Hours).is_err());
        assert!(value_in_unit("1d", Unit::Fraction).is_err());
        assert!(value_in_unit("150%", Unit::Fraction).is_err());
        assert!(value_in_unit("2/fortnight", Unit::PerWeek).is_err());
        assert!(value_in_unit("-1/week", Unit::PerWeek).is_err());
    }
}
