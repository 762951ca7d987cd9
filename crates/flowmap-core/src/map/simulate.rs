//! The seeded Monte Carlo simulation of a map whose times are ranges (SPEC §3).
//!
//! One run walks the rework chain exactly as the analysis models it: every pass of a step
//! draws its own wait and process time, uniform within each range, and after the step the
//! item moves on with probability `ca` or returns to `rework_to`. The run's lead time is
//! the critical-path length over each step's total time in that run.
//!
//! The work is bounded, because a map with heavy rework (`ca: 0.000001%`) needs millions
//! of passes per run: the whole simulation walks at most [`SIMULATION_WORK_BUDGET`] step
//! passes (a run's critical-path pass counts one unit per step). When the budget runs out
//! the simulation stops after the runs it finished (at least one, whose walk is cut short
//! if it alone exceeds the budget) and says so in `capped` and `note`. The budget is a
//! count, not a clock, so a capped answer is as reproducible as a full one.
//!
//! ChaCha8 is used for its stable, documented output: a seed gives the same percentiles on
//! every platform and every flowmap version that keeps this algorithm.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use super::analysis::{
    AnalysisOptions, SimulationSummary, longest_path, predecessors, rework_targets,
};
use super::{Estimate, Map};
use crate::stats::percentile_of_sorted;

/// The most step passes one simulation walks (about a tenth of a second of work).
pub const SIMULATION_WORK_BUDGET: u64 = 5_000_000;

pub(crate) fn simulate(map: &Map, options: &AnalysisOptions) -> SimulationSummary {
    let requested_runs = options.runs.max(1);
    let n = map.steps.len();
    let predecessors = predecessors(map);
    let rework_targets = rework_targets(map);
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut totals = vec![0.0; n];
    // Every run costs at least two units per step, which bounds the runs that can fit.
    let most_runs = (SIMULATION_WORK_BUDGET / (2 * n.max(1) as u64)).max(1);
    let mut lead_times = Vec::with_capacity(u64::from(requested_runs).min(most_runs) as usize);
    let mut critical_runs = vec![0u32; n];
    let mut work: u64 = 0;
    let mut truncated_run = false;

    for _ in 0..requested_runs {
        totals.fill(0.0);
        let mut current = 0;
        // The critical-path walk at the end of the run costs one unit per step.
        let mut run_work: u64 = n as u64;
        let mut out_of_budget = false;
        while current < n {
            if work + run_work >= SIMULATION_WORK_BUDGET {
                out_of_budget = true;
                break;
            }
            let step = &map.steps[current];
            totals[current] += draw(&mut rng, step.wait) + draw(&mut rng, step.process);
            current = if unit_interval(&mut rng) < step.ca {
                current + 1
            } else {
                rework_targets[current]
            };
            run_work += 1;
        }
        // A run the budget cut short is dropped, unless it is the only one: then it is
        // kept (its lead time is a lower bound) so that the answer has numbers at all.
        if out_of_budget && !lead_times.is_empty() {
            break;
        }
        truncated_run = out_of_budget;
        work += run_work;
        let (lead_time, path) = longest_path(&predecessors, &totals);
        lead_times.push(lead_time);
        for i in path {
            critical_runs[i] += 1;
        }
        if out_of_budget {
            break;
        }
    }

    let runs = lead_times.len() as u32;
    let capped = runs < requested_runs || truncated_run;
    let note = capped.then(|| {
        if truncated_run {
            format!(
                "capped: one run alone needs more than {SIMULATION_WORK_BUDGET} step passes, so its walk was cut short; the percentiles are lower bounds (see expected_passes for the exact rework)"
            )
        } else {
            format!(
                "capped: rework makes runs long, so {runs} of {requested_runs} runs fit in the budget of {SIMULATION_WORK_BUDGET} step passes"
            )
        }
    });
    lead_times.sort_by(f64::total_cmp);
    SimulationSummary {
        runs,
        seed: options.seed,
        p50_hours: percentile_of_sorted(&lead_times, 50.0),
        p85_hours: percentile_of_sorted(&lead_times, 85.0),
        p95_hours: percentile_of_sorted(&lead_times, 95.0),
        critical_frequency: map
            .steps
            .iter()
            .zip(critical_runs)
            .map(|(step, count)| (step.id.clone(), f64::from(count) / f64::from(runs)))
            .collect::<BTreeMap<_, _>>(),
        capped,
        requested_runs: capped.then_some(requested_runs),
        note,
    }
}

/// A uniform draw within an estimate's range.
fn draw(rng: &mut ChaCha8Rng, estimate: Estimate) -> f64 {
    estimate.low + (estimate.high - estimate.low) * unit_interval(rng)
}

/// A uniform draw from [0, 1) with 53 random bits.
fn unit_interval(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}
