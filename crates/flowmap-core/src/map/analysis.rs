//! The numbers every map shows (SPEC §3 "Analysis").
//!
//! Point values only here: a range counts as its midpoint. The spread a range implies is
//! the simulation's business (`simulate.rs`).

use std::collections::{BTreeMap, HashMap};

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
    /// Whether the work budget stopped the simulation early: then `runs` is fewer than
    /// asked for (or the one run was cut short) and `note` says which.
    pub capped: bool,
    /// The runs asked for, when fewer were made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_runs: Option<u32>,
    /// What the cap means for these numbers, when the simulation was capped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Analyses a map: critical path, totals, ratios, rework, queues, and a simulation when
/// any time is a range.
pub fn analyze(map: &Map, options: &AnalysisOptions) -> Analysis {
    let path = critical_path(map);
    let passes = expected_passes(map);
    let mut on_path = vec![false; map.steps.len()];
    for &i in &path.steps {
        on_path[i] = true;
    }
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
    let index = step_indices(map);
    map.steps
        .iter()
        .map(|step| {
            step.after
                .iter()
                .filter_map(|id| index.get(id.as_str()).copied())
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

/// Expected passes through each step with rework, solved exactly in O(n log n).
///
/// The steps form an absorbing Markov chain in list order: after step i, work moves on
/// with probability caᵢ and returns to `rework_to` rᵢ ≤ i with 1 − caᵢ. Because work only
/// ever moves forward one step at a time, the first arrivals at steps 1, 2, …, n happen in
/// order, and the walk splits into *passages*: from arriving at step k to first moving on
/// to k + 1. In one passage of k, step k itself is tried a geometric number of times
/// (mean 1/caₖ), and each of its failures (mean (1 − caₖ)/caₖ) sends work back to rₖ, from
/// where it climbs through one passage of each of rₖ … k − 1 again.
///
/// So mₖ, the expected number of passages of k, is one (the walk's own) plus ρᵢ·mᵢ for
/// every later step i whose loop spans k (rᵢ ≤ k < i), with ρᵢ = (1 − caᵢ)/caᵢ; and
/// vₖ = mₖ / caₖ. One backward sweep computes every mₖ from later ones, summing the
/// spanning loops with a Fenwick tree keyed by rᵢ. Every term is positive, so nothing
/// cancels (a dense elimination lost all precision on long loops and gave negative
/// passes), and memory is O(n).
///
/// Parsing guarantees every ca is in (0, 1] and rework goes backwards; it also rejects
/// rework so extreme that these numbers overflow (see `limits.rs`).
pub(crate) fn expected_passes(map: &Map) -> Vec<f64> {
    let n = map.steps.len();
    let rework_targets = rework_targets(map);
    let mut passages = vec![0.0_f64; n];
    let mut spanning = PrefixSums::new(n);
    for k in (0..n).rev() {
        let later = k + 1;
        if later < n && rework_targets[later] < later {
            let ca = map.steps[later].ca;
            spanning.add(rework_targets[later], (1.0 - ca) / ca * passages[later]);
        }
        passages[k] = 1.0 + spanning.sum_to(k);
    }
    passages
        .iter()
        .zip(&map.steps)
        .map(|(m, step)| m / step.ca)
        .collect()
}

/// Each step's `rework_to` as an index: the step itself or an earlier one.
pub(crate) fn rework_targets(map: &Map) -> Vec<usize> {
    let index = step_indices(map);
    map.steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            index
                .get(step.rework_to.as_str())
                .copied()
                .unwrap_or(i)
                .min(i)
        })
        .collect()
}

/// Step id → position, so that resolving references stays linear in the map's size.
fn step_indices(map: &Map) -> HashMap<&str, usize> {
    map.steps
        .iter()
        .enumerate()
        .map(|(i, step)| (step.id.as_str(), i))
        .collect()
}

/// A Fenwick tree of non-negative values: point additions and prefix sums in O(log n),
/// each sum built only by adding non-negative partial sums.
struct PrefixSums {
    tree: Vec<f64>,
}

impl PrefixSums {
    fn new(len: usize) -> Self {
        PrefixSums {
            tree: vec![0.0; len + 1],
        }
    }

    fn add(&mut self, index: usize, value: f64) {
        let mut i = index + 1;
        while i < self.tree.len() {
            self.tree[i] += value;
            i += i & i.wrapping_neg();
        }
    }

    /// The sum of the values at indices `0..=index`.
    fn sum_to(&self, index: usize) -> f64 {
        let mut i = index + 1;
        let mut sum = 0.0;
        while i > 0 {
            sum += self.tree[i];
            i -= i & i.wrapping_neg();
        }
        sum
    }
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
