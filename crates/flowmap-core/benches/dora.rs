//! DORA engine benchmarks (results in docs/performance.md).
//!
//! A deterministic generator (ChaCha8, fixed seed) builds a year of delivery data for 50
//! services. At scale 1x that is 100 000 deployments (2 % failed runs, 5 % hotfixes and
//! rollbacks), 1 000 000 changes with 40-hex shas (half listed by their deployment, half
//! naming it) and 5 000 incidents (30 % with `caused_by`, 90 % resolved).
//!
//! - `dora/baseline_sort_1m_change_timestamps`: sorting the 1x changes' commit times, the
//!   named baseline every engine number is compared with;
//! - `dora/compute_1x`, `dora/compute_1x_explain`: every metric for all 50 services (pooled
//!   and per service), without and with the evidence lists;
//! - `dora_scaling/{compute,scan}/{0.1x,1x,10x}`: the engine at a tenth, one and ten times
//!   the data, against its own baseline at each scale: `scan`, one pass over every byte
//!   the engine has to read (ids, services, names, times), which costs what touching the
//!   input costs at that size. 10x holds 10 million changes (about 6 GB of memory) and is
//!   generated only when selected.
//! - `dora_scaling/compute_scattered/{1x,10x}`: the engine on the same events with their
//!   strings scattered over the heap rather than laid out in record order (see
//!   [`generate`]).

use std::cell::RefCell;
use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use flowmap_core::dora::{DoraInput, DoraOptions, compute};
use flowmap_core::events::{Change, Deployment, DeploymentKind, DeploymentStatus, Incident};
use jiff::{SignedDuration, Timestamp};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

const SERVICES: usize = 50;
const DAYS: i64 = 365;

struct Data {
    deployments: Vec<Deployment>,
    changes: Vec<Change>,
    incidents: Vec<Incident>,
    options: DoraOptions,
}

impl Data {
    fn input(&self) -> DoraInput<'_> {
        DoraInput {
            deployments: &self.deployments,
            changes: &self.changes,
            incidents: &self.incidents,
        }
    }
}

/// A uniform float in [0, 1).
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn seconds(hours: f64) -> SignedDuration {
    SignedDuration::from_secs_f64(hours * 3600.0)
}

fn sha(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{:016x}{:016x}{:08x}",
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u32()
    )
}

/// `scale` 1.0 = 2 000 deployments, 20 000 changes and 100 incidents per service.
///
/// Records are generated service by service and then sorted by time, so their strings lie
/// on the heap in generation order while the slices are in time order: every record's
/// strings are somewhere else. That is the worst case; [`lay_out`] turns it into the
/// layout of a store that decodes rows in the order it returns them.
fn generate(scale: f64) -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let start: Timestamp = "2025-01-06T00:00:00Z".parse().unwrap();
    let span_hours = (DAYS * 24) as f64;
    let deployments_per_service = (2000.0 * scale) as usize;
    let incidents_per_service = (100.0 * scale) as usize;

    let mut deployments = Vec::with_capacity(SERVICES * deployments_per_service);
    let mut changes = Vec::with_capacity(SERVICES * deployments_per_service * 10);
    let mut incidents = Vec::with_capacity(SERVICES * incidents_per_service);
    for s in 0..SERVICES {
        let service = format!("service-{s:02}");
        let mut times: Vec<f64> = (0..deployments_per_service)
            .map(|_| unit(&mut rng) * span_hours)
            .collect();
        times.sort_by(f64::total_cmp);
        let mut ids: Vec<String> = Vec::with_capacity(times.len());
        let mut carried: Vec<String> = Vec::new();
        for (j, &hours) in times.iter().enumerate() {
            let id = format!("{service}-deploy-{j}");
            let finished_at = start + seconds(hours);
            let lists = j % 2 == 0;
            let mut listed = std::mem::take(&mut carried);
            for _ in 0..10 {
                let change_id = sha(&mut rng);
                // Mostly hours to days before the deployment; now and then weeks.
                let lead = if unit(&mut rng) < 0.05 {
                    unit(&mut rng) * 1000.0
                } else {
                    unit(&mut rng) * 72.0
                };
                changes.push(Change {
                    id: change_id.clone(),
                    service: service.clone(),
                    committed_at: finished_at - seconds(lead),
                    authored_at: None,
                    first_commit_at: None,
                    pr_opened_at: None,
                    first_review_at: None,
                    approved_at: None,
                    merged_at: None,
                    deployment: (!lists).then(|| id.clone()),
                    author: None,
                    title: None,
                    reverts: None,
                });
                if lists {
                    listed.push(change_id);
                }
            }
            let roll = unit(&mut rng);
            let failed_run = roll < 0.02;
            if failed_run {
                // The next run ships what this one failed to.
                carried = listed.clone();
            }
            let (kind, fixes) = if (0.02..0.06).contains(&roll) && j > 0 {
                (DeploymentKind::Hotfix, Some(ids[j - 1].clone()))
            } else if (0.06..0.07).contains(&roll) && j > 0 {
                (DeploymentKind::Rollback, Some(ids[j - 1].clone()))
            } else {
                (DeploymentKind::Normal, None)
            };
            deployments.push(Deployment {
                id: id.clone(),
                service: service.clone(),
                environment: "production".to_owned(),
                status: if failed_run {
                    DeploymentStatus::Failure
                } else {
                    DeploymentStatus::Success
                },
                started_at: Some(finished_at - seconds(0.2)),
                finished_at,
                commit: Some(sha(&mut rng)),
                changes: listed,
                kind,
                fixes,
            });
            ids.push(id);
        }
        for k in 0..incidents_per_service {
            let started_at = start + seconds(unit(&mut rng) * span_hours);
            let caused_by = (unit(&mut rng) < 0.3)
                .then(|| ids[(rng.next_u64() % ids.len() as u64) as usize].clone());
            let resolved_at =
                (unit(&mut rng) < 0.9).then(|| started_at + seconds(0.1 + unit(&mut rng) * 48.0));
            incidents.push(Incident {
                id: format!("{service}-inc-{k}"),
                service: service.clone(),
                started_at,
                detected_at: None,
                acknowledged_at: None,
                resolved_at,
                caused_by,
                severity: None,
                title: None,
            });
        }
    }
    // A store returns events in time order, services interleaved.
    deployments.sort_by_key(|d| d.finished_at);
    changes.sort_by_key(|c| c.committed_at);
    incidents.sort_by_key(|i| i.started_at);

    let options = DoraOptions::new(start, start + SignedDuration::from_hours(DAYS * 24 + 24));
    Data {
        deployments,
        changes,
        incidents,
        options,
    }
}

/// Copies the events so that each record's strings follow the previous record's on the
/// heap, as a store that decodes rows in the order it returns them lays them out.
fn lay_out(data: &mut Data) {
    data.deployments = data.deployments.to_vec();
    data.changes = data.changes.to_vec();
    data.incidents = data.incidents.to_vec();
}

/// One pass over every byte of input the engine reads: the baseline of the scaling group.
fn scan(input: &DoraInput<'_>) -> u64 {
    let bytes = |s: &str| s.bytes().map(u64::from).sum::<u64>();
    let time = |t: Timestamp| t.as_second() as u64;
    let mut sum = 0u64;
    for c in input.changes {
        sum = sum.wrapping_add(bytes(&c.id) + bytes(&c.service) + time(c.committed_at));
        sum = sum.wrapping_add(c.deployment.as_deref().map_or(0, bytes));
    }
    for d in input.deployments {
        sum = sum.wrapping_add(bytes(&d.id) + bytes(&d.service) + bytes(&d.environment));
        sum = sum.wrapping_add(time(d.finished_at) + d.commit.as_deref().map_or(0, bytes));
        sum = sum.wrapping_add(d.changes.iter().map(|c| bytes(c)).sum::<u64>());
    }
    for i in input.incidents {
        sum = sum.wrapping_add(bytes(&i.service) + time(i.started_at));
    }
    sum
}

/// The commit times of `data`'s changes in a scrambled (but fixed) order, so the baseline
/// sorts for real instead of confirming an order the generator already made.
fn scrambled_commit_times(data: &Data) -> Vec<Timestamp> {
    let mut times: Vec<Timestamp> = data.changes.iter().map(|c| c.committed_at).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for i in (1..times.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        times.swap(i, j);
    }
    times
}

fn engine(c: &mut Criterion) {
    let mut data = generate(1.0);
    lay_out(&mut data);
    assert_eq!(data.changes.len(), 1_000_000);
    assert_eq!(data.deployments.len(), 100_000);
    assert_eq!(data.incidents.len(), 5_000);
    let timestamps = scrambled_commit_times(&data);

    let mut group = c.benchmark_group("dora");
    group.sample_size(10);
    group.bench_function("baseline_sort_1m_change_timestamps", |b| {
        b.iter_batched(
            || timestamps.clone(),
            |mut t| {
                t.sort_unstable();
                t
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("compute_1x", |b| {
        b.iter(|| compute(black_box(&data.input()), &data.options).unwrap())
    });
    let mut explain = data.options.clone();
    explain.explain = true;
    group.bench_function("compute_1x_explain", |b| {
        b.iter_with_large_drop(|| compute(black_box(&data.input()), &explain).unwrap())
    });
    group.finish();
}

fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("dora_scaling");
    group.sample_size(10);
    for (label, scale) in [("0.1x", 0.1), ("1x", 1.0), ("10x", 10.0)] {
        // Generated on first use: criterion calls a closure only for selected benchmarks,
        // and 10x data takes a while and gigabytes to build. The scattered layout is
        // measured first, then the same events are laid out in place of it.
        let data: RefCell<Option<(Data, bool)>> = RefCell::new(None);
        let with = |laid: bool, run: &mut dyn FnMut(&Data)| {
            let mut slot = data.borrow_mut();
            let (events, is_laid) = slot.get_or_insert_with(|| (generate(scale), false));
            if laid && !*is_laid {
                lay_out(events);
                *is_laid = true;
            }
            run(events);
        };
        if scale >= 1.0 {
            group.bench_function(BenchmarkId::new("compute_scattered", label), |b| {
                with(false, &mut |d| {
                    b.iter(|| compute(black_box(&d.input()), &d.options).unwrap());
                })
            });
        }
        group.bench_function(BenchmarkId::new("compute", label), |b| {
            with(true, &mut |d| {
                b.iter(|| compute(black_box(&d.input()), &d.options).unwrap());
            })
        });
        group.bench_function(BenchmarkId::new("scan", label), |b| {
            with(true, &mut |d| {
                b.iter(|| scan(black_box(&d.input())));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, engine, scaling);
criterion_main!(benches);
