//! Measured-map benchmark (results in docs/performance.md): `map measure` against the
//! DORA engine on the same data, in the same run.
//!
//! A deterministic generator (ChaCha8, fixed seed) builds a year of one service's
//! delivery: 100 000 deployments (2 % failed runs, 5 % hotfixes and rollbacks), 1 000 000
//! changes with 40-hex ids and a full pull-request lifecycle (half listed by their
//! deployment, half naming it), 100 000 builds (one per deployment, on its commit, so
//! each change finds its build through the deployment's commit), 5 000 incidents and
//! 100 000 `qa_passed` milestones.
//!
//! - `measure/baseline_dora_compute_1x`: `dora::compute` for the service (the named
//!   baseline: what `flowmap dora --service` computes);
//! - `measure/measure_map_1x`: `measure::measure_map` of a map binding eight segments
//!   (every pull-request step, the build, a milestone, the deployment with `ca`), the end
//!   to end lead time, and both analyses.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use flowmap_core::dora::{DoraInput, DoraOptions, compute};
use flowmap_core::events::{
    Build, Change, Deployment, DeploymentKind, DeploymentStatus, Incident, Milestone,
};
use flowmap_core::map::{AnalysisOptions, Format, parse_map};
use flowmap_core::measure::{MeasureData, MeasureOptions, measure_map};
use jiff::{SignedDuration, Timestamp};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

const SERVICE: &str = "checkout";
const DEPLOYMENTS: usize = 100_000;
const CHANGES_PER_DEPLOYMENT: usize = 10;
const DAYS: i64 = 365;

struct Data {
    deployments: Vec<Deployment>,
    changes: Vec<Change>,
    incidents: Vec<Incident>,
    builds: Vec<Build>,
    milestones: Vec<Milestone>,
}

fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn hours(h: f64) -> SignedDuration {
    SignedDuration::from_secs_f64(h * 3600.0)
}

fn sha(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{:016x}{:016x}{:08x}",
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u32()
    )
}

fn generate() -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let start: Timestamp = "2025-01-06T00:00:00Z".parse().unwrap();
    let span = (DAYS * 24) as f64;
    let mut times: Vec<f64> = (0..DEPLOYMENTS).map(|_| unit(&mut rng) * span).collect();
    times.sort_by(f64::total_cmp);
    let mut data = Data {
        deployments: Vec::with_capacity(DEPLOYMENTS),
        changes: Vec::with_capacity(DEPLOYMENTS * CHANGES_PER_DEPLOYMENT),
        incidents: Vec::new(),
        builds: Vec::with_capacity(DEPLOYMENTS),
        milestones: Vec::new(),
    };
    for (j, &at) in times.iter().enumerate() {
        let id = format!("deploy-{j}");
        let finished_at = start + hours(at);
        let commit = sha(&mut rng);
        let lists = j % 2 == 0;
        let mut listed = Vec::new();
        for k in 0..CHANGES_PER_DEPLOYMENT {
            let change_id = sha(&mut rng);
            let merged = finished_at - hours(0.5 + unit(&mut rng) * 6.0);
            let approved = merged - hours(unit(&mut rng) * 3.0);
            let reviewed = approved - hours(unit(&mut rng) * 8.0);
            let opened = reviewed - hours(unit(&mut rng) * 24.0);
            let committed = opened - hours(unit(&mut rng) * 48.0);
            let mut change = Change::new(change_id.clone(), SERVICE, committed);
            change.first_commit_at = Some(committed - hours(unit(&mut rng) * 24.0));
            change.pr_opened_at = Some(opened);
            change.first_review_at = Some(reviewed);
            change.approved_at = Some(approved);
            change.merged_at = Some(merged);
            change.deployment = (!lists).then(|| id.clone());
            if k == 0 {
                data.milestones.push(Milestone {
                    item: change_id.clone(),
                    name: "qa_passed".into(),
                    at: merged + hours(unit(&mut rng) * 2.0),
                    service: None,
                });
            }
            if lists {
                listed.push(change_id);
            }
            data.changes.push(change);
        }
        let build_finished = finished_at - hours(0.25);
        let mut build = Build::new(
            format!("build-{j}"),
            SERVICE,
            build_finished - hours(0.2 + unit(&mut rng) * 0.3),
            build_finished,
        );
        build.commit = Some(commit.clone());
        data.builds.push(build);
        let roll = unit(&mut rng);
        let (kind, fixes) = if (0.02..0.07).contains(&roll) && j > 0 {
            (DeploymentKind::Hotfix, Some(format!("deploy-{}", j - 1)))
        } else {
            (DeploymentKind::Normal, None)
        };
        let mut deployment = Deployment::new(id, SERVICE, finished_at);
        deployment.status = if roll < 0.02 {
            DeploymentStatus::Failure
        } else {
            DeploymentStatus::Success
        };
        deployment.started_at = Some(finished_at - hours(0.1));
        deployment.commit = Some(commit);
        deployment.changes = listed;
        deployment.kind = kind;
        deployment.fixes = fixes;
        data.deployments.push(deployment);
        if j % 20 == 0 {
            let started = finished_at + hours(unit(&mut rng) * 30.0);
            let mut incident = Incident::new(format!("inc-{j}"), SERVICE, started);
            incident.detected_at = Some(started + hours(0.2));
            incident.acknowledged_at = Some(started + hours(0.4));
            incident.resolved_at = (unit(&mut rng) < 0.9).then(|| started + hours(3.0));
            data.incidents.push(incident);
        }
    }
    data.changes.sort_by_key(|c| c.committed_at);
    data
}

const MAP: &str = "\
name: Checkout — delivery
service: checkout
steps:
  - id: code
    process: 1d
    measure: { process: first_commit..pr_opened }
  - id: review
    wait: 1d
    process: 4h
    measure: { wait: pr_opened..first_review, process: first_review..approved }
  - id: merge
    process: 1h
    measure: { process: approved..merged }
  - id: build
    process: 20m
    measure: { process: build_started..build_finished }
  - id: qa
    process: 2h
    measure: { process: merged..event:qa_passed }
  - id: deploy
    process: 1h
    measure: { process: build_finished..deployed, ca: change_fail_rate }
";

fn bench(c: &mut Criterion) {
    let data = generate();
    let since: Timestamp = "2025-01-06T00:00:00Z".parse().unwrap();
    let until = since + SignedDuration::from_hours(DAYS * 24);
    let mut dora_options = DoraOptions::new(since, until);
    dora_options.services = vec![SERVICE.into()];
    let dora_input = DoraInput {
        deployments: &data.deployments,
        changes: &data.changes,
        incidents: &data.incidents,
    };
    let map = parse_map(MAP, Format::Yaml).unwrap().map;
    let measure_options = MeasureOptions {
        service: SERVICE.into(),
        environment: "production".into(),
        since,
        until,
        attribution_window: SignedDuration::from_hours(24),
        analysis: AnalysisOptions::default(),
        explain: false,
    };
    let measure_input = MeasureData {
        deployments: &data.deployments,
        changes: &data.changes,
        incidents: &data.incidents,
        builds: &data.builds,
        milestones: &data.milestones,
    };
    // The measurement must be a real one: every bound step has data.
    let report = measure_map(&map, &measure_input, &measure_options).unwrap();
    assert!(report.steps.iter().all(|s| s.measured_hours.is_some()));
    assert!(report.lead_time.n > 900_000);

    let mut group = c.benchmark_group("measure");
    group.sample_size(10);
    group.bench_function("baseline_dora_compute_1x", |b| {
        b.iter(|| black_box(compute(&dora_input, &dora_options).unwrap()))
    });
    group.bench_function("measure_map_1x", |b| {
        b.iter(|| black_box(measure_map(&map, &measure_input, &measure_options).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
