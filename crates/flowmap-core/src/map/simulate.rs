//! The seeded Monte Carlo simulation of a map whose times are ranges (SPEC §3).
//!
//! One run walks the rework chain exactly as the analysis models it: every pass of a step
//! draws its own wait and process time, uniform within each range, and after the step the
//! item moves on with probability `ca` or returns to `rework_to`. The run's lead time is
//! the critical-path length over each step's total time in that run.
//!
//! ChaCha8 is used for its stable, documented output: a seed gives the same percentiles on
//! every platform and every flowmap version that keeps this algorithm.

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use super::analysis::{AnalysisOptions, SimulationSummary, longest_path, predecessors};
use super::{Estimate, Map};
use crate::stats::percentile_of_sorted;

pub(crate) fn simulate(map: &Map, options: &AnalysisOptions) -> SimulationSummary {
    let runs = options.runs.max(1);
    let n = map.steps.len();
    let predecessors = predecessors(map);
    let rework_targets: Vec<usize> = map
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| map.step_index(&step.rework_to).unwrap_or(i))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut totals = vec![0.0; n];
    let mut lead_times = Vec::with_capacity(runs as usize);
    let mut critical_runs = vec![0u32; n];

    for _ in 0..runs {
        totals.fill(0.0);
        let mut current = 0;
        while current < n {
            let step = &map.steps[current];
            totals[current] += draw(&mut rng, step.wait) + draw(&mut rng, step.process);
            current = if unit_interval(&mut rng) < step.ca {
                current + 1
            } else {
                rework_targets[current]
            };
        }
        let (lead_time, path) = longest_path(&predecessors, &totals);
        lead_times.push(lead_time);
        for i in path {
            critical_runs[i] += 1;
        }
    }

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
