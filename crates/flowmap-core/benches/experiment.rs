//! Experiment statistics benchmarks (results in docs/performance.md).
//!
//! Durations drawn from a log-normal-ish generator (ChaCha8, fixed seed), rounded to whole
//! seconds so that ties occur as they do in real lead times.
//!
//! - `experiment/baseline_sort_200k`: sorting the 200 000 pooled values once, the named
//!   baseline: any rank-based method pays at least this;
//! - `experiment/hodges_lehmann_100k_vs_100k`: shift and 95 % interval by selection over
//!   10¹⁰ implicit differences;
//! - `experiment/mann_whitney_100k_vs_100k`: the p-value on the same samples;
//! - `experiment/hodges_lehmann_{selection,by_sorting}_1k_vs_1k`: the selection against the
//!   definition (every difference listed and sorted) where the definition is affordable.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use flowmap_core::experiment::{hodges_lehmann, hodges_lehmann_by_sorting, mann_whitney_p};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// `count` durations in hours, heavy-tailed, rounded to the second.
fn durations(rng: &mut ChaCha8Rng, count: usize, scale: f64) -> Vec<f64> {
    (0..count)
        .map(|_| {
            let u = ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            let hours = scale * (-u.ln()).powf(1.5);
            (hours * 3600.0).round() / 3600.0
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let before = durations(&mut rng, 100_000, 30.0);
    let after = durations(&mut rng, 100_000, 24.0);
    let small_before = durations(&mut rng, 1_000, 30.0);
    let small_after = durations(&mut rng, 1_000, 24.0);

    let mut group = c.benchmark_group("experiment");
    group.sample_size(10);
    group.bench_function("baseline_sort_200k", |b| {
        b.iter(|| {
            let mut pooled: Vec<f64> = before.iter().chain(&after).copied().collect();
            pooled.sort_by(f64::total_cmp);
            black_box(pooled)
        })
    });
    group.bench_function("hodges_lehmann_100k_vs_100k", |b| {
        b.iter(|| hodges_lehmann(black_box(&before), black_box(&after)))
    });
    group.bench_function("mann_whitney_100k_vs_100k", |b| {
        b.iter(|| mann_whitney_p(black_box(&before), black_box(&after)))
    });
    group.bench_function("hodges_lehmann_selection_1k_vs_1k", |b| {
        b.iter(|| hodges_lehmann(black_box(&small_before), black_box(&small_after)))
    });
    group.bench_function("hodges_lehmann_by_sorting_1k_vs_1k", |b| {
        b.iter(|| hodges_lehmann_by_sorting(black_box(&small_before), black_box(&small_after)))
    });
    group.finish();
}

criterion_group!(experiment, benches);
criterion_main!(experiment);
