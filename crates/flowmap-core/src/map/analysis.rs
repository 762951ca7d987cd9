//! The numbers every map shows (SPEC §3 "Analysis").
//!
//! Point values only here: a range counts as its midpoint. The spread a range implies is
//! the simulation's business (`simulate.rs`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::simulate::simulate;
use super::{Map, Stream};

/// Settings of [`analyze`] that only matter when the map has ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnalysisOptions {
    /// Monte Carlo runs.
    pub runs: u32,
    /// Seed of the simulation: the same seed gives the same percentiles.
    pub seed: u64,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            runs: 10_000,
            seed: 1,
        }
    }
}

/// A map's analysis. Serializes to the `map analyze --format json` fields of SPEC §9.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analysis {
    pub name: String,
    pub stream: Stream,
    /// LT: Σ (wait + process) along the critical path.
    pub lead_time_hours: f64,
    /// PT: Σ process along the critical path.
    pub process_time_hours: f64,
    /// LT − PT.
    pub wait_time_hours: f64,
    /// Flow efficiency PT / LT, 0 when LT is 0.
    pub activity_ratio: f64,
    /// Π ca along the critical path: the share of items that pass without rework.
    pub rolled_ca: f64,
    /// Flow edges between steps of two different teams.
    pub handoffs: usize,
    /// The step with the longest wait (first in list order on ties).
    pub bottleneck: String,
    /// The step with the longest wait + process (first in list order on ties).
    pub longest_step: String,
    /// The critical path's length when every step takes passes × (wait + process).
    pub expected_lead_time_hours: f64,
    /// Step ids of the critical (longest) path, in flow order.
    pub critical_path: Vec<String>,
    /// Items entering per hour, when the map gives `arrivals`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arrivals_per_hour: Option<f64>,
    pub steps: Vec<StepAnalysis>,
    /// Present when any wait or process time is a range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulation: Option<SimulationSummary>,
}

/// One step's numbers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepAnalysis {
    pub id: String,
    pub wait_hours: f64,
    pub process_hours: f64,
    pub lead_time_hours: f64,
    pub ca: f64,
    /// Expected number of times an item goes through this step, rework included.
    pub expected_passes: f64,
    /// Little's law: items waiting before this step (λ · passes · wait).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_waiting: Option<f64>,
    /// Little's law: items being worked on at this step (λ · passes · process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_in_process: Option<f64>,
    pub on_critical_path: bool,
    /// The analysis of the step's drill-down, analysed as a map of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drill_down: Option<Box<Analysis>>,
}

/// The Monte Carlo simulation's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimulationSummary {
    pub runs: u32,
    pub seed: u64,
    pub p50_hours: f64,
    pub p85_hours: f64,
    pub p95_hours: f64,
    /// For each step id, the fraction of runs in which it was on the critical path.
    pub critical_frequency: BTreeMap<String, f64>,
}

/// Analyses a map: critical path, totals, ratios, rework, queues, and a simulation when
/// any time is a range.
pub fn analyze(map: &Map, options: &AnalysisOptions) -> Analysis {
    let path = critical_path(map);
    let passes = expected_passes(map);
    let on_path: Vec<bool> = (0..map.steps.len())
        .map(|i| path.steps.contains(&i))
        .collect();
    let expected_weights: Vec<f64> = map
        .steps
        .iter()
        .zip(&passes)
        .map(|(step, v)| v * (step.wait.point() + step.process.point()))
        .collect();
    let (expected_lead, _) = longest_path(&predecessors(map), &expected_weights);
    let lambda = map.arrivals.map(|a| a.per_hour());

    let steps = map
        .steps
        .iter()
        .zip(&passes)
        .zip(&on_path)
        .map(|((step, &v), &on_critical_path)| {
            let (wait, process) = (step.wait.point(), step.process.point());
            StepAnalysis {
                id: step.id.clone(),
                wait_hours: wait,
                process_hours: process,
                lead_time_hours: wait + process,
                ca: step.ca,
                expected_passes: v,
                queue_waiting: lambda.map(|l| l * v * wait),
                queue_in_process: lambda.map(|l| l * v * process),
                on_critical_path,
                drill_down: step
                    .drill_down
                    .as_ref()
                    .map(|sub| Box::new(analyze(sub, options))),
            }
        })
        .collect();

    Analysis {
        name: map.name.clone(),
        stream: map.stream,
        lead_time_hours: path.lead_hours,
        process_time_hours: path.process_hours,
        wait_time_hours: path.lead_hours - path.process_hours,
        activity_ratio: if path.lead_hours > 0.0 {
            path.process_hours / path.lead_hours
        } else {
            0.0
        },
        rolled_ca: path.steps.iter().map(|&i| map.steps[i].ca).product(),
        handoffs: handoffs(map),
        bottleneck: first_max_by(map, |s| s.wait.point()),
        longest_step: first_max_by(map, |s| s.wait.point() + s.process.point()),
        expected_lead_time_hours: expected_lead,
        critical_path: path
            .steps
            .iter()
            .map(|&i| map.steps[i].id.clone())
            .collect(),
        arrivals_per_hour: lambda,
        steps,
        simulation: map.has_ranges().then(|| simulate(map, options)),
    }
}

/// The critical path of a map on point values.
pub(crate) struct CriticalPath {
    /// Step indices in flow order.
    pub steps: Vec<usize>,
    pub lead_hours: f64,
    pub process_hours: f64,
}

pub(crate) fn critical_path(map: &Map) -> CriticalPath {
    let weights: Vec<f64> = map
        .steps
        .iter()
        .map(|s| s.wait.point() + s.process.point())
        .collect();
    let (lead_hours, steps) = longest_path(&predecessors(map), &weights);
    let process_hours = steps.iter().map(|&i| map.steps[i].process.point()).sum();
    CriticalPath {
        steps,
        lead_hours,
        process_hours,
    }
}

/// Each step's predecessors as indices. Parsing guarantees they are earlier steps.
pub(crate) fn predecessors(map: &Map) -> Vec<Vec<usize>> {
    map.steps
        .iter()
        .map(|step| {
            step.after
                .iter()
                .filter_map(|id| map.step_index(id))
                .collect()
        })
        .collect()
}

/// The longest path through a DAG given in topological order, and its length.
///
/// Ties between predecessors go to the earliest in list order; ties between end steps go
/// to the latest, so a path runs as far through the flow as it can.
pub(crate) fn longest_path(predecessors: &[Vec<usize>], weights: &[f64]) -> (f64, Vec<usize>) {
    let mut finish = vec![0.0_f64; weights.len()];
    let mut best_predecessor: Vec<Option<usize>> = vec![None; weights.len()];
    for (i, preds) in predecessors.iter().enumerate() {
        let best = preds
            .iter()
            .copied()
            .fold(None, |best: Option<usize>, p| match best {
                Some(b) if finish[b] > finish[p] || (finish[b] == finish[p] && b < p) => Some(b),
                _ => Some(p),
            });
        best_predecessor[i] = best;
        finish[i] = best.map_or(0.0, |b| finish[b]) + weights[i];
    }
    let Some(end) =
        (0..weights.len()).max_by(|&a, &b| finish[a].total_cmp(&finish[b]).then(a.cmp(&b)))
    else {
        return (0.0, Vec::new());
    };
    let mut path = vec![end];
    while let Some(p) = best_predecessor[*path.last().expect("path starts non-empty")] {
        path.push(p);
    }
    path.reverse();
    (finish[end], path)
}

/// Expected passes through each step with rework, solved exactly.
///
/// The steps form an absorbing Markov chain in list order: after step i, work moves on
/// with probability caᵢ and returns to `rework_to` with 1 − caᵢ. The expected visits v
/// satisfy v = e₀ + Qᵀv, so we solve (I − Qᵀ) v = e₀ by Gaussian elimination. Parsing
/// guarantees every ca > 0 and rework goes backwards, so the system is non-singular.
pub(crate) fn expected_passes(map: &Map) -> Vec<f64> {
    let n = map.steps.len();
    // a = I − Qᵀ, as rows of the augmented matrix [a | e₀].
    let mut a = vec![vec![0.0_f64; n + 1]; n];
    for (i, row) in a.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    a[0][n] = 1.0;
    for (i, step) in map.steps.iter().enumerate() {
        if i + 1 < n {
            a[i + 1][i] -= step.ca;
        }
        let target = map.step_index(&step.rework_to).unwrap_or(i);
        a[target][i] -= 1.0 - step.ca;
    }
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .expect("col < n");
        a.swap(col, pivot);
        let divisor = a[col][col];
        for value in &mut a[col][col..] {
            *value /= divisor;
        }
        let pivot_row = a[col].clone();
        for (row, values) in a.iter_mut().enumerate() {
            let factor = values[col];
            if row != col && factor != 0.0 {
                for (value, pivot_value) in values[col..].iter_mut().zip(&pivot_row[col..]) {
                    *value -= factor * pivot_value;
                }
            }
        }
    }
    a.into_iter().map(|row| row[n]).collect()
}

fn handoffs(map: &Map) -> usize {
    let preds = predecessors(map);
    map.steps
        .iter()
        .zip(&preds)
        .map(|(step, preds)| {
            preds
                .iter()
                .filter(|&&p| match (&map.steps[p].team, &step.team) {
                    (Some(a), Some(b)) => a != b,
                    _ => false,
                })
                .count()
        })
        .sum()
}

fn first_max_by(map: &Map, value: impl Fn(&super::Step) -> f64) -> String {
    let mut best = &map.steps[0];
    for step in &map.steps[1..] {
        if value(step) > value(best) {
            best = step;
        }
    }
    best.id.clone()
}
