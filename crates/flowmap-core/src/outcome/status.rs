//! An outcome measured at a point in time: baseline, current value, progress, status, and
//! every experiment's before/after comparison.
//!
//! - `baseline_value`: the metric over the baseline window, or the value given.
//! - `current_value`: the metric over [at − window, at).
//! - `met`: whether the current value satisfies the target (null without a current value).
//! - `progress` = (current − baseline) ÷ (target − baseline); null when target equals
//!   baseline or either value is missing. It is negative when the metric moved away from
//!   the target.
//! - `expected_progress`: the elapsed share of [baseline end, deadline] at `at`, clamped to
//!   [0, 1]. A window baseline ends with its window; a value baseline at the outcome's
//!   `started` date, else the day it was first saved.
//! - `status`: `no_data` without a current value (or without a baseline value to measure
//!   progress from), else `met`, else `overdue` once the deadline has passed, else
//!   `on_track` when progress ≥ expected progress (≥ 0 when the expected progress is
//!   unknown), else `off_track`.
//!
//! DORA metrics are computed with [`crate::dora::compute`] over the outcome's service and
//! environment; a step metric's samples come from the caller ([`StepSamples`]).

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::{Baseline, Experiment, Metric, Operator, Outcome, StepRef, unit_name};
use crate::dora::{self, DoraInput, DoraOptions};
use crate::experiment::{
    MINIMUM_ITEMS, MINIMUM_WEEKS, Subject, Verdict, compare_proportions, compare_samples,
};
use crate::stats;

/// The samples of a step metric (`step:MAP#STEP`): for every item counted in
/// [since, until) — those that have every bound part of the step with no negative part,
/// counted in the window of its last part's end — the parts' durations added, in hours.
///
/// `None` when the step cannot be measured at all (its map binds nothing to measure).
pub trait StepSamples {
    fn step_samples(&self, step: &StepRef, since: Timestamp, until: Timestamp) -> Option<Vec<f64>>;
}

/// The data an outcome is measured from.
#[derive(Clone, Copy, Default)]
pub struct OutcomeData<'a> {
    pub events: DoraInput<'a>,
    /// Samples of step metrics; `None` when no measured maps are available (step metrics
    /// then have no data).
    pub steps: Option<&'a dyn StepSamples>,
}

/// What a metric measured over one window.
#[derive(Clone, Debug, PartialEq)]
enum Measurement {
    /// Durations in hours (lead times, recovery times, step times).
    Durations(Vec<f64>),
    /// Deployments per complete ISO week, and deployments per week over the whole window.
    Weeks { counts: Vec<f64>, per_week: f64 },
    /// `k` of `n` deployments.
    Proportion { k: u64, n: u64 },
    /// The window could not be measured (empty, or no source for a step metric).
    Nothing,
}

impl Measurement {
    fn value(&self) -> Option<f64> {
        match self {
            Measurement::Durations(values) => stats::median(values),
            Measurement::Weeks { per_week, .. } => Some(*per_week),
            Measurement::Proportion { k, n } => (*n > 0).then(|| *k as f64 / *n as f64),
            Measurement::Nothing => None,
        }
    }

    fn n(&self) -> u64 {
        match self {
            Measurement::Durations(values) => values.len() as u64,
            Measurement::Weeks { counts, .. } => counts.len() as u64,
            Measurement::Proportion { n, .. } => *n,
            Measurement::Nothing => 0,
        }
    }
}

/// The scope an outcome measures.
struct Scope<'a> {
    service: Option<&'a str>,
    environment: &'a str,
}

fn measure(
    metric: &Metric,
    scope: &Scope<'_>,
    since: Timestamp,
    until: Timestamp,
    data: &OutcomeData<'_>,
) -> Measurement {
    if since >= until {
        return Measurement::Nothing;
    }
    if let Metric::Step(step) = metric {
        return data
            .steps
            .and_then(|source| source.step_samples(step, since, until))
            .map_or(Measurement::Nothing, Measurement::Durations);
    }
    let mut options = DoraOptions::new(since, until);
    options.services = scope.service.map(str::to_string).into_iter().collect();
    options.environments = vec![scope.environment.to_string()];
    options.explain = matches!(metric, Metric::LeadTime | Metric::RecoveryTime);
    let Ok(report) = dora::compute(&data.events, &options) else {
        return Measurement::Nothing;
    };
    let metrics = &report.metrics;
    match metric {
        Metric::LeadTime => Measurement::Durations(
            report
                .explain
                .iter()
                .flat_map(|e| &e.changes)
                .map(|c| c.lead_time_hours)
                .filter(|h| h.is_finite() && *h >= 0.0)
                .collect(),
        ),
        Metric::RecoveryTime => Measurement::Durations(
            report
                .explain
                .iter()
                .flat_map(|e| &e.failed_deployments)
                .filter_map(|f| f.recovery_hours)
                .filter(|h| h.is_finite() && *h >= 0.0)
                .collect(),
        ),
        Metric::DeploymentFrequency => Measurement::Weeks {
            counts: metrics
                .weekly
                .iter()
                .filter(|w| w.complete)
                .map(|w| w.deployments as f64)
                .collect(),
            per_week: metrics.deployment_frequency.per_week,
        },
        Metric::ChangeFailureRate => Measurement::Proportion {
            k: metrics.change_failure_rate.failed,
            n: metrics.change_failure_rate.deployments,
        },
        Metric::ReworkRate => Measurement::Proportion {
            k: metrics.rework_rate.rework,
            n: metrics.rework_rate.deployments,
        },
        Metric::Step(_) => Measurement::Nothing,
    }
}

/// The value of `metric` over [since, until) for a service (all when `None`) and an
/// environment: the weekly points of an outcome's journey use it.
pub fn measure_value(
    metric: &Metric,
    service: Option<&str>,
    environment: &str,
    since: Timestamp,
    until: Timestamp,
    data: &OutcomeData<'_>,
) -> Option<f64> {
    let scope = Scope {
        service,
        environment,
    };
    measure(metric, &scope, since, until, data).value()
}

/// How an outcome stands. Serializes to the `outcome status --format json` fields.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutcomeStatus {
    pub outcome: String,
    pub metric: String,
    pub service: Option<String>,
    pub environment: String,
    /// `hours`, `per_week` or `fraction`.
    pub unit: &'static str,
    /// The time the status is taken at.
    pub at: Timestamp,
    pub baseline_value: Option<f64>,
    pub current_value: Option<f64>,
    pub target: TargetJson,
    pub deadline: Timestamp,
    pub met: Option<bool>,
    pub progress: Option<f64>,
    pub expected_progress: Option<f64>,
    pub status: Status,
    pub experiments: Vec<ExperimentResult>,
}

/// The target as JSON: `{"op": "<", "value": 0.1}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TargetJson {
    pub op: Operator,
    pub value: f64,
}

/// Where an outcome stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Met,
    Overdue,
    OnTrack,
    OffTrack,
    NoData,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Overdue => "overdue",
            Status::OnTrack => "on_track",
            Status::OffTrack => "off_track",
            Status::NoData => "no_data",
        }
    }
}

/// The metric over one side of an experiment.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct WindowValue {
    pub since: Timestamp,
    pub until: Timestamp,
    /// Items in the sample (weeks for deployment frequency).
    pub n: u64,
    pub value: Option<f64>,
}

/// One experiment's comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExperimentResult {
    pub id: String,
    pub metric: String,
    /// The unit of its metric: `hours`, `per_week` or `fraction`.
    pub unit: &'static str,
    pub hypothesis: Option<String>,
    /// `MAP#STEP`.
    pub constraint: Option<String>,
    pub capability: Option<String>,
    /// Whether it was still running at the status time.
    pub running: bool,
    pub before: WindowValue,
    pub after: WindowValue,
    pub shift: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub p_value: Option<f64>,
    pub verdict: Verdict,
    pub sentence: String,
}

/// Measures `outcome` at `at` from `data`. `first_saved` is when the outcome was first
/// saved, the end of a value baseline without `started`.
pub fn status(
    outcome: &Outcome,
    data: &OutcomeData<'_>,
    at: Timestamp,
    first_saved: Option<Timestamp>,
) -> OutcomeStatus {
    let scope = Scope {
        service: outcome.service.as_deref(),
        environment: &outcome.environment,
    };
    let (baseline_value, baseline_end) = match outcome.baseline {
        Baseline::Window { since, until } => (
            measure(&outcome.metric, &scope, since, until, data).value(),
            Some(until),
        ),
        Baseline::Value(value) => (Some(value), outcome.started.or(first_saved)),
    };
    let window = SignedDuration::from_secs_f64(outcome.window_hours * 3600.0);
    let current_value = at
        .checked_sub(window)
        .ok()
        .and_then(|since| measure(&outcome.metric, &scope, since, at, data).value());
    let target = outcome.target;
    let met = current_value.map(|current| target.op.holds(current, target.value));
    let progress = match (baseline_value, current_value) {
        (Some(baseline), Some(current)) if target.value != baseline => {
            Some((current - baseline) / (target.value - baseline)).filter(|p| p.is_finite())
        }
        _ => None,
    };
    let expected_progress = baseline_end.map(|start| elapsed_share(start, outcome.deadline, at));
    let status = if current_value.is_none() || baseline_value.is_none() {
        Status::NoData
    } else if met == Some(true) {
        Status::Met
    } else if at >= outcome.deadline {
        Status::Overdue
    } else if progress.is_some_and(|p| p >= expected_progress.unwrap_or(0.0)) {
        Status::OnTrack
    } else {
        Status::OffTrack
    };
    let experiments = outcome
        .experiments
        .iter()
        .map(|e| experiment_result(e, &scope, at, data))
        .collect();
    OutcomeStatus {
        outcome: outcome.outcome.clone(),
        metric: outcome.metric.name(),
        service: outcome.service.clone(),
        environment: outcome.environment.clone(),
        unit: unit_name(outcome.metric.unit()),
        at,
        baseline_value,
        current_value,
        target: TargetJson {
            op: target.op,
            value: target.value,
        },
        deadline: outcome.deadline,
        met,
        progress,
        expected_progress,
        status,
        experiments,
    }
}

/// The share of [start, end] elapsed at `at`, clamped to [0, 1]; an empty span counts as
/// all elapsed once `at` reaches its end.
fn elapsed_share(start: Timestamp, end: Timestamp, at: Timestamp) -> f64 {
    let span = end.duration_since(start).as_secs_f64();
    if span <= 0.0 {
        return if at >= end { 1.0 } else { 0.0 };
    }
    (at.duration_since(start).as_secs_f64() / span).clamp(0.0, 1.0)
}

/// The windows an experiment compares at `at`: after = [started, ended or at) (never past
/// `at`), before = the file's or the same length right before `started`.
pub(crate) fn experiment_windows(
    experiment: &Experiment,
    at: Timestamp,
) -> ((Timestamp, Timestamp), (Timestamp, Timestamp)) {
    let after_until = experiment
        .ended
        .map_or(at, |ended| ended.min(at))
        .max(experiment.started);
    let after = (experiment.started, after_until);
    let before = experiment.before.unwrap_or_else(|| {
        let length = after_until.duration_since(experiment.started);
        (experiment.started - length, experiment.started)
    });
    (before, after)
}

fn experiment_result(
    experiment: &Experiment,
    scope: &Scope<'_>,
    at: Timestamp,
    data: &OutcomeData<'_>,
) -> ExperimentResult {
    let metric = &experiment.metric;
    let ((before_since, before_until), (after_since, after_until)) =
        experiment_windows(experiment, at);
    let before = measure(metric, scope, before_since, before_until, data);
    let after = measure(metric, scope, after_since, after_until, data);
    let words = metric.words();
    let subject = Subject {
        name: &words,
        unit: metric.unit(),
        better: metric.better(),
        items: metric.items(),
        minimum: if *metric == Metric::DeploymentFrequency {
            MINIMUM_WEEKS
        } else {
            MINIMUM_ITEMS
        },
    };
    let comparison = match (&before, &after) {
        (Measurement::Proportion { k: k1, n: n1 }, Measurement::Proportion { k: k2, n: n2 }) => {
            compare_proportions(&subject, (*k1, *n1), (*k2, *n2))
        }
        _ => compare_samples(&subject, &samples(&before), &samples(&after)),
    };
    ExperimentResult {
        id: experiment.id.clone(),
        metric: metric.name(),
        unit: unit_name(metric.unit()),
        hypothesis: experiment.hypothesis.clone(),
        constraint: experiment.constraint.as_ref().map(ToString::to_string),
        capability: experiment.capability.clone(),
        running: experiment.ended.is_none_or(|ended| ended > at),
        before: WindowValue {
            since: before_since,
            until: before_until,
            n: before.n(),
            value: before.value(),
        },
        after: WindowValue {
            since: after_since,
            until: after_until,
            n: after.n(),
            value: after.value(),
        },
        shift: comparison.shift,
        ci_low: comparison.ci_low,
        ci_high: comparison.ci_high,
        p_value: comparison.p_value,
        verdict: comparison.verdict,
        sentence: comparison.sentence,
    }
}

/// The sample a measurement compares: durations, or weekly deployment counts.
fn samples(measurement: &Measurement) -> Vec<f64> {
    match measurement {
        Measurement::Durations(values) => values.clone(),
        Measurement::Weeks { counts, .. } => counts.clone(),
        Measurement::Proportion { .. } | Measurement::Nothing => Vec::new(),
    }
}
