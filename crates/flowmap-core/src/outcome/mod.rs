//! Outcomes: the result a team agreed to reach, how it is measured, and the experiments it
//! runs to get there.
//!
//! An outcome file (YAML, TOML or JSON, read like a map file so every problem is reported
//! with its line and column) states the outcome, its metric — one of DORA's five or the
//! time of a map step — a baseline, a target in the metric's unit, a deadline, the record
//! of the outcome-mapping exercise and the experiments. [`parse_outcome`] checks it;
//! [`status`] measures it from delivery events at a point in time: baseline, current value,
//! progress against the time elapsed, and every experiment's verdict.
//!
//! Core does no I/O, so the two things an outcome refers to outside itself come from the
//! caller: whether a map step named `MAP#STEP` exists ([`StepResolver`]) and the samples of
//! a step metric ([`StepSamples`]).

mod journey;
mod parse;
mod status;

use jiff::Timestamp;
use serde::Serialize;

use crate::experiment::{Better, Unit};
use crate::map::Pos;

pub use journey::{WeekPoint, journey_start, weekly_series};
pub use parse::{StepResolver, check_step, parse_outcome};
pub use status::{
    ExperimentResult, OutcomeData, OutcomeStatus, Status, StepSamples, TargetJson, WindowValue,
    measure_value, status,
};

/// The rolling window of an outcome's current value unless the file says otherwise.
pub const DEFAULT_WINDOW_HOURS: f64 = 28.0 * 24.0;

/// What an outcome (or one experiment) is measured by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Metric {
    LeadTime,
    DeploymentFrequency,
    ChangeFailureRate,
    RecoveryTime,
    ReworkRate,
    /// The time of one step of a map, `step:MAP#STEP`, with MAP relative to the outcome file.
    Step(StepRef),
}

/// A step of a map, written `MAP#STEP`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepRef {
    /// The map file, relative to the outcome file.
    pub map: String,
    pub step: String,
}

impl std::fmt::Display for StepRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.map, self.step)
    }
}

/// The names of the DORA metrics an outcome can use, as written in files.
pub const METRIC_NAMES: &[&str] = &[
    "lead_time",
    "deployment_frequency",
    "change_failure_rate",
    "recovery_time",
    "rework_rate",
];

impl Metric {
    /// The metric as written in a file: `lead_time`, `step:checkout.yaml#review`.
    pub fn name(&self) -> String {
        match self {
            Metric::LeadTime => "lead_time".into(),
            Metric::DeploymentFrequency => "deployment_frequency".into(),
            Metric::ChangeFailureRate => "change_failure_rate".into(),
            Metric::RecoveryTime => "recovery_time".into(),
            Metric::ReworkRate => "rework_rate".into(),
            Metric::Step(step) => format!("step:{step}"),
        }
    }

    /// The metric in words, for sentences.
    pub fn words(&self) -> String {
        match self {
            Metric::LeadTime => "lead time".into(),
            Metric::DeploymentFrequency => "deployment frequency".into(),
            Metric::ChangeFailureRate => "change fail rate".into(),
            Metric::RecoveryTime => "recovery time".into(),
            Metric::ReworkRate => "rework rate".into(),
            Metric::Step(step) => format!("the time of step {}", step.step),
        }
    }

    pub fn unit(&self) -> Unit {
        match self {
            Metric::DeploymentFrequency => Unit::PerWeek,
            Metric::ChangeFailureRate | Metric::ReworkRate => Unit::Fraction,
            Metric::LeadTime | Metric::RecoveryTime | Metric::Step(_) => Unit::Hours,
        }
    }

    /// Lower is better for times and rates, higher for frequency.
    pub fn better(&self) -> Better {
        match self {
            Metric::DeploymentFrequency => Better::Higher,
            _ => Better::Lower,
        }
    }

    /// What one item of the metric's sample is, plural.
    pub fn items(&self) -> &'static str {
        match self {
            Metric::LeadTime => "changes",
            Metric::DeploymentFrequency => "weeks",
            Metric::ChangeFailureRate | Metric::ReworkRate => "deployments",
            Metric::RecoveryTime => "failures",
            Metric::Step(_) => "items",
        }
    }
}

/// The name of a unit in JSON: `hours`, `per_week` or `fraction`.
pub fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Hours => "hours",
        Unit::PerWeek => "per_week",
        Unit::Fraction => "fraction",
    }
}

/// How a value is compared with the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Operator {
    #[serde(rename = "<")]
    Less,
    #[serde(rename = "<=")]
    LessOrEqual,
    #[serde(rename = ">")]
    Greater,
    #[serde(rename = ">=")]
    GreaterOrEqual,
}

impl Operator {
    pub fn symbol(self) -> &'static str {
        match self {
            Operator::Less => "<",
            Operator::LessOrEqual => "<=",
            Operator::Greater => ">",
            Operator::GreaterOrEqual => ">=",
        }
    }

    /// Whether `value` satisfies `op target`.
    pub fn holds(self, value: f64, target: f64) -> bool {
        match self {
            Operator::Less => value < target,
            Operator::LessOrEqual => value <= target,
            Operator::Greater => value > target,
            Operator::GreaterOrEqual => value >= target,
        }
    }
}

/// The target: a comparison and a value in the metric's unit (hours, per week, fraction).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    pub op: Operator,
    pub value: f64,
}

/// Where the outcome starts from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Baseline {
    /// Measured from data over [since, until).
    Window { since: Timestamp, until: Timestamp },
    /// A value in the metric's unit, as the team knew it.
    Value(f64),
}

/// One concern from the outcome-mapping exercise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Concern {
    pub text: String,
    pub category: Option<String>,
    pub votes: u32,
}

/// An improvement tried as an experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Experiment {
    pub id: String,
    pub hypothesis: Option<String>,
    /// The map step it changes.
    pub constraint: Option<StepRef>,
    /// The DORA capability it builds (a catalogue id).
    pub capability: Option<String>,
    /// Its metric; the outcome's unless the file says otherwise.
    pub metric: Metric,
    pub started: Timestamp,
    /// `None` while it runs.
    pub ended: Option<Timestamp>,
    /// The window it is compared with; `None` for the default, the same length right
    /// before `started`.
    pub before: Option<(Timestamp, Timestamp)>,
    pub pos: Pos,
}

/// An outcome file, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The outcome in the team's words.
    pub outcome: String,
    pub mandate: Option<String>,
    /// The service measured; `None` for all services.
    pub service: Option<String>,
    pub environment: String,
    pub metric: Metric,
    pub baseline: Baseline,
    pub target: Target,
    pub deadline: Timestamp,
    /// The rolling window of the current value, in hours.
    pub window_hours: f64,
    /// Where a value baseline ends.
    pub started: Option<Timestamp>,
    pub concerns: Vec<Concern>,
    pub benefits: Vec<String>,
    pub obstacles: Vec<String>,
    pub next_steps: Vec<String>,
    pub experiments: Vec<Experiment>,
}
