//! Value stream maps as code (SPEC §3).
//!
//! A map is read from YAML, TOML or JSON with [`parse_map`], which checks everything a
//! person can get wrong and reports each problem with its line and column. A parsed
//! [`Map`] is always valid: ids are unique, `after` and `rework_to` name earlier steps,
//! teams exist, `ca` is in (0, 1] so rework always finishes. [`analyze`] then computes the
//! numbers every map shows, and [`diff`] compares two maps.
//!
//! All times are hours (`f64`); ratios and `ca` are fractions.

mod analysis;
mod binding;
mod diff;
mod duration;
pub(crate) mod node;
pub(crate) mod parse;
mod simulate;

use serde::Serialize;

pub use analysis::{Analysis, AnalysisOptions, SimulationSummary, StepAnalysis, analyze};
pub use binding::{CaMeasure, MapMeasure, StepMeasure};
pub use diff::{MapDiff, MetricDelta, StepChange, diff};
pub use duration::{Estimate, format_hours, parse_duration, parse_estimate};
pub use node::{Format, Pos};
pub(crate) use parse::closest as closest_name;
pub use parse::{Diagnostic, Parsed, Severity, parse_map};

/// A value stream map: the steps one unit of work passes through, in flow order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Map {
    pub name: String,
    pub stream: Stream,
    pub state: State,
    /// What flows through the stream ("change", "incident", ...).
    pub unit: String,
    pub arrivals: Option<Arrivals>,
    pub teams: Vec<Team>,
    /// At least one step. List order is flow order and a topological order of `after`.
    pub steps: Vec<Step>,
    /// The service measured by default (`flowmap map measure`).
    pub service: Option<String>,
    /// The map's binding to the data: its end-to-end segment.
    pub measure: Option<MapMeasure>,
}

impl Map {
    /// The team with this id.
    pub fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    /// The position of the step with this id in [`Map::steps`].
    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id == id)
    }

    /// Whether any step's wait or process time is a range, which is
    /// when the analysis runs a simulation.
    pub fn has_ranges(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.wait.is_range() || s.process.is_range())
    }
}

/// Which of the two value streams a map draws (SPEC §1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// The happy path: new features and fixes, commit to production.
    #[default]
    Delivery,
    /// From a failed deployment to restored service.
    Recovery,
}

/// Whether a map shows how work flows today or how the team wants it to flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Current,
    Future,
}

/// How many items enter the stream per period (`30/week`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Arrivals {
    pub count: f64,
    pub period: Period,
}

impl Arrivals {
    /// The arrival rate λ in items per hour, the unit Little's law is applied in.
    pub fn per_hour(self) -> f64 {
        self.count / self.period.hours()
    }
}

/// The period of an arrival rate. A month is 30 days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub fn hours(self) -> f64 {
        match self {
            Period::Day => 24.0,
            Period::Week => 168.0,
            Period::Month => 720.0,
        }
    }
}

/// A team that owns steps; a flow edge between two teams is a handoff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Team {
    pub id: String,
    pub name: String,
}

/// One process step of a map.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub id: String,
    pub name: String,
    pub team: Option<String>,
    /// Touch time: someone is working on the item.
    pub process: Estimate,
    /// Queue time before this step starts.
    pub wait: Estimate,
    /// Fraction of work this step passes on complete and accurate, in (0, 1].
    pub ca: f64,
    /// The step rejected work returns to: this step or an earlier one.
    pub rework_to: String,
    /// Predecessors in the flow. Empty only for a step that starts the flow.
    pub after: Vec<String>,
    pub people: Option<u32>,
    pub systems: Vec<String>,
    pub notes: Option<String>,
    /// DORA capabilities the team links to this step (ids from
    /// [`crate::capabilities::CATALOGUE`]).
    pub capabilities: Vec<String>,
    /// The step broken into its own sub-steps, as a map of its own.
    pub drill_down: Option<Box<Map>>,
    /// Where the step is written in its file.
    pub pos: Pos,
    /// The step's binding to lifecycle segments of the data.
    pub measure: Option<StepMeasure>,
}
