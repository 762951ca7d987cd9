//! `flowmap demo`'s organisation: six services with a year of deployments, changes and
//! incidents, the example value stream maps (the checkout map with three versions across
//! the year) and two outcomes with their experiments; [`load_workshops`] adds a finished
//! workshop and an open one.
//!
//! The services differ the way real ones do — a checkout team deploying several times a
//! day, a legacy billing system releasing monthly, a catalogue service getting faster over
//! the year — so every page has something to show. The data is generated, not measured:
//! [`generate`] is a pure function of its seed and the end time, so tests can check it.

use flowmap_core::events::{
    Build, Change, Deployment, DeploymentKind, DeploymentStatus, Incident, Milestone,
};
use flowmap_store::{Batch, DocumentKind, Expected, MapFormat, Store, StoreError, WriteMode};
use jiff::{SignedDuration, Timestamp};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// The source demo records are stored under.
pub const SOURCE: &str = "demo";

/// The example maps every demo starts with: id, format, file text.
pub const MAPS: &[(&str, MapFormat, &str)] = &[
    (
        "checkout-delivery",
        MapFormat::Yaml,
        include_str!("../../../examples/delivery.yaml"),
    ),
    (
        "checkout-delivery-future",
        MapFormat::Yaml,
        include_str!("../../../examples/delivery-future.yaml"),
    ),
    (
        "checkout-recovery",
        MapFormat::Yaml,
        include_str!("../../../examples/recovery.yaml"),
    ),
    (
        "ci-drill-down",
        MapFormat::Toml,
        include_str!("../../../examples/ci-drill-down.toml"),
    ),
];

/// How one demo service behaves.
struct Profile {
    name: &'static str,
    /// Mean deployments per working day.
    deploys_per_day: f64,
    /// Median commit-to-production hours at the start and at the end of the year (the
    /// median moves linearly between them).
    lead_hours: (f64, f64),
    /// Chance that a deployment causes an incident.
    fail_rate: f64,
    /// Median hours from a failure to recovery.
    recovery_hours: f64,
}

const PROFILES: &[Profile] = &[
    Profile {
        name: "checkout",
        deploys_per_day: 2.2,
        lead_hours: (10.0, 5.0),
        fail_rate: 0.04,
        recovery_hours: 0.8,
    },
    Profile {
        name: "search",
        deploys_per_day: 0.8,
        lead_hours: (40.0, 30.0),
        fail_rate: 0.08,
        recovery_hours: 5.0,
    },
    Profile {
        name: "catalog",
        deploys_per_day: 0.6,
        lead_hours: (300.0, 36.0),
        fail_rate: 0.12,
        recovery_hours: 10.0,
    },
    Profile {
        name: "payments",
        deploys_per_day: 0.25,
        lead_hours: (150.0, 130.0),
        fail_rate: 0.14,
        recovery_hours: 30.0,
    },
    Profile {
        name: "mobile-api",
        deploys_per_day: 1.1,
        lead_hours: (20.0, 18.0),
        fail_rate: 0.06,
        recovery_hours: 2.5,
    },
    Profile {
        name: "legacy-billing",
        deploys_per_day: 0.05,
        lead_hours: (700.0, 650.0),
        fail_rate: 0.3,
        recovery_hours: 200.0,
    },
];

const WORDS: &[&str] = &[
    "Fix", "Add", "Cache", "Retry", "Speed up", "Refactor", "Remove", "Log", "Upgrade", "Validate",
    "Tidy", "Harden",
];
const THINGS: &[&str] = &[
    "cart totals",
    "search index",
    "price rounding",
    "session timeout",
    "checkout button",
    "currency format",
    "image sizes",
    "payment retries",
    "stock check",
    "login flow",
    "invoice PDF",
    "feature flag",
];
const AUTHORS: &[&str] = &[
    "ada", "grace", "linus", "margaret", "ken", "barbara", "dennis",
];

/// One year of delivery records ending at `until`, reproducible for a given `seed`.
///
/// ```
/// let until = "2026-03-01T00:00:00Z".parse().unwrap();
/// let a = flowmap_server::demo::generate(7, until);
/// let b = flowmap_server::demo::generate(7, until);
/// assert_eq!(a.deployments, b.deployments);
/// assert!(a.deployments.iter().all(|d| d.finished_at < until));
/// ```
pub fn generate(seed: u64, until: Timestamp) -> Batch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Pull requests' first commits, builds and milestones draw from their own stream, so
    // the deployments, changes and incidents stay what they were without them.
    let mut lifecycle = ChaCha8Rng::seed_from_u64(seed ^ LIFECYCLE_SEED);
    let mut batch = Batch {
        mode: WriteMode::Replace,
        ..Batch::default()
    };
    let days = 364;
    // Days start at midnight UTC, so working hours fall in the working day.
    let first = (until - SignedDuration::from_hours(days * 24))
        .as_second()
        .div_euclid(86_400);
    let start = Timestamp::from_second(first * 86_400).expect("a midnight near a valid time");
    for profile in PROFILES {
        let mut serial = 0_u32;
        let mut next_id = |prefix: &str| {
            serial += 1;
            format!("{}-{prefix}{serial}", profile.name)
        };
        // The day QA last recorded a sign-off in the tool (once a month at most).
        let mut last_qa_day = i64::MIN / 2;
        for day in 0..days {
            let day_start = start + SignedDuration::from_hours(day * 24);
            // 1970-01-01 was a Thursday; days 2 and 3 after it are the weekend.
            let weekday = (day_start.as_second().div_euclid(86_400) + 3).rem_euclid(7);
            if weekday >= 5 {
                continue;
            }
            let progress = day as f64 / days as f64;
            let lead_median =
                profile.lead_hours.0 + (profile.lead_hours.1 - profile.lead_hours.0) * progress;
            for _ in 0..poisson(&mut rng, profile.deploys_per_day) {
                let finished_at = day_start + hours(8.0 + 10.0 * unit(&mut rng));
                if finished_at >= until {
                    continue;
                }
                let id = next_id("d");
                // A few deploy runs fail outright: recorded, never deployments.
                if unit(&mut rng) < 0.03 {
                    batch.deployments.push(deployment(
                        profile,
                        &id,
                        finished_at,
                        DeploymentStatus::Failure,
                    ));
                    continue;
                }
                let mut shipped = Vec::new();
                for _ in 0..1 + rng.next_u64() % 4 {
                    let change_id = next_id("c");
                    let lead = lognormal(&mut rng, lead_median, 0.7).max(0.2);
                    let committed_at = finished_at - hours(lead);
                    let merged_at = committed_at + hours(lead * 0.6);
                    let pr_opened_at = committed_at + hours(lead * 0.1);
                    let approved_at = committed_at + hours(lead * 0.5);
                    let pull_request = PullRequest {
                        change: &change_id,
                        pr_opened_at,
                        approved_at,
                        merged_at,
                        qa_due: day - last_qa_day >= 30,
                    };
                    let first_commit_at =
                        lifecycle_records(&mut batch, &mut lifecycle, profile, &pull_request);
                    if pull_request.qa_due {
                        last_qa_day = day;
                    }
                    batch.changes.push(Change {
                        id: change_id.clone(),
                        service: profile.name.into(),
                        committed_at,
                        authored_at: Some(committed_at),
                        first_commit_at: Some(first_commit_at),
                        pr_opened_at: Some(pr_opened_at),
                        first_review_at: Some(committed_at + hours(lead * 0.4)),
                        approved_at: Some(approved_at),
                        merged_at: Some(merged_at),
                        deployment: None,
                        author: Some(pick(&mut rng, AUTHORS).into()),
                        title: Some(format!(
                            "{} {}",
                            pick(&mut rng, WORDS),
                            pick(&mut rng, THINGS)
                        )),
                        reverts: None,
                    });
                    shipped.push(change_id);
                }
                let mut d = deployment(profile, &id, finished_at, DeploymentStatus::Success);
                d.changes = shipped;
                batch.deployments.push(d);

                if unit(&mut rng) < profile.fail_rate {
                    let started_at = finished_at + hours(0.2 + 4.0 * unit(&mut rng));
                    let recovery = lognormal(&mut rng, profile.recovery_hours, 0.8).max(0.1);
                    // Resolved after it was detected (0.1 h) and acknowledged (0.2 h after its start).
                    let resolved_at = (finished_at + hours(recovery)).max(started_at + hours(0.3));
                    let incident_id = next_id("inc");
                    // Half of the incidents name their deployment; the rest are blamed
                    // by the attribution window.
                    let caused_by = (unit(&mut rng) < 0.5).then(|| id.clone());
                    batch.incidents.push(Incident {
                        id: incident_id,
                        service: profile.name.into(),
                        started_at,
                        detected_at: Some(started_at + hours(0.1)),
                        acknowledged_at: Some(started_at + hours(0.2)),
                        resolved_at: (resolved_at < until).then_some(resolved_at),
                        caused_by,
                        severity: Some(if unit(&mut rng) < 0.3 { "sev1" } else { "sev2" }.into()),
                        title: Some(format!("{} degraded", pick(&mut rng, THINGS))),
                    });
                    // A third of the failures are repaired by a hotfix or a rollback.
                    if unit(&mut rng) < 0.33 && resolved_at < until {
                        let kind = if unit(&mut rng) < 0.5 {
                            DeploymentKind::Hotfix
                        } else {
                            DeploymentKind::Rollback
                        };
                        let mut fix = deployment(
                            profile,
                            &next_id("d"),
                            resolved_at,
                            DeploymentStatus::Success,
                        );
                        fix.kind = kind;
                        fix.fixes = Some(id.clone());
                        batch.deployments.push(fix);
                    }
                }
            }
        }
        open_work(&mut batch, &mut lifecycle, profile, until);
    }
    batch
}

/// Work still in progress at `until`: four pull requests of `profile`, one at each stage
/// (open, reviewed, approved, merged and waiting for a deployment), none deployed.
fn open_work(batch: &mut Batch, rng: &mut ChaCha8Rng, profile: &Profile, until: Timestamp) {
    for stage in 0..4 {
        let age = lognormal(rng, profile.lead_hours.1 * 1.5, 0.8).max(0.5);
        let committed_at = until - hours(age);
        let at = |share: f64| Some(committed_at + hours(age * share));
        let id = format!("{}-open{}", profile.name, stage + 1);
        let pr_opened_at = committed_at + hours(age * 0.1);
        let first_commit_at = pr_opened_at - hours(lognormal(rng, 6.0, 0.5));
        batch.changes.push(Change {
            id: id.clone(),
            service: profile.name.into(),
            committed_at,
            authored_at: Some(committed_at),
            first_commit_at: Some(first_commit_at),
            pr_opened_at: Some(pr_opened_at),
            first_review_at: if stage >= 1 { at(0.4) } else { None },
            approved_at: if stage >= 2 { at(0.5) } else { None },
            merged_at: if stage >= 3 { at(0.6) } else { None },
            deployment: None,
            author: Some(pick(rng, AUTHORS).into()),
            title: Some(format!("{} {}", pick(rng, WORDS), pick(rng, THINGS))),
            reverts: None,
        });
    }
}

/// The seed of the lifecycle records' own random stream is the demo's seed XOR this.
const LIFECYCLE_SEED: u64 = 0x6c69_6665_6379_636c;

/// The points of a change's pull request the lifecycle records hang off.
struct PullRequest<'a> {
    change: &'a str,
    pr_opened_at: Timestamp,
    approved_at: Timestamp,
    merged_at: Timestamp,
    /// Whether QA records its sign-off on this change (the first change a month).
    qa_due: bool,
}

/// A change's CI builds (one failed run in eight, then the green one; ids `CHANGE-ci1`
/// and `CHANGE-ci2`), its change
/// advisory board approval and, when due, its QA sign-off; returns its first commit's time.
///
/// The numbers tell the checkout map's story against its workshop estimates: coding takes
/// about the 6 h the room guessed, CI about 1.6 h against 40 min, the board approves
/// standard changes within the hour against days, and QA signs off in the tool too rarely
/// to measure.
fn lifecycle_records(
    batch: &mut Batch,
    rng: &mut ChaCha8Rng,
    profile: &Profile,
    pr: &PullRequest<'_>,
) -> Timestamp {
    let first_commit_at = pr.pr_opened_at - hours(lognormal(rng, 6.0, 0.5));
    let mut build_start = pr.pr_opened_at + SignedDuration::from_mins(2);
    if unit(rng) < 0.125 {
        let mut failed = Build::new(
            format!("{}-ci1", pr.change),
            profile.name,
            build_start,
            build_start + hours(0.2 + 0.5 * unit(rng)),
        );
        failed.status = DeploymentStatus::Failure;
        failed.commit = Some(pr.change.to_owned());
        failed.name = Some("ci".into());
        build_start = failed.finished_at + SignedDuration::from_mins(20);
        batch.builds.push(failed);
    }
    let mut build = Build::new(
        format!("{}-ci2", pr.change),
        profile.name,
        build_start,
        build_start + hours(lognormal(rng, 1.6, 0.35)),
    );
    build.commit = Some(pr.change.to_owned());
    build.name = Some("ci".into());
    batch.builds.push(build);
    let milestone = |name: &str, at: Timestamp| Milestone {
        item: pr.change.to_owned(),
        name: name.into(),
        at,
        service: Some(profile.name.into()),
    };
    let board = pr.approved_at
        + pr.merged_at
            .duration_since(pr.approved_at)
            .mul_f64(0.2 + 0.7 * unit(rng));
    batch.milestones.push(milestone("cab_approved", board));
    if pr.qa_due {
        let qa = pr.merged_at + hours(lognormal(rng, 3.0, 0.4));
        batch.milestones.push(milestone("qa_passed", qa));
    }
    first_commit_at
}

/// Writes [`generate`]'s records (source [`SOURCE`]) and the example [`MAPS`] into
/// `store`.
pub async fn load(store: &Store, seed: u64, until: Timestamp) -> Result<(), StoreError> {
    store.write(SOURCE, &generate(seed, until)).await?;
    for (id, format, text) in MAPS {
        if *id == CHECKOUT_MAP {
            continue;
        }
        store.save_map(id, *format, text).await?;
    }
    for (days, author, text) in checkout_history() {
        let saved_at = year_start(until) + SignedDuration::from_hours(24 * days);
        store
            .save_map_version_dated(CHECKOUT_MAP, MapFormat::Yaml, &text, saved_at, Some(author))
            .await?;
    }
    for (id, text) in outcomes(until) {
        store
            .save_document(
                DocumentKind::Outcome,
                &id,
                MapFormat::Yaml,
                &text,
                Expected::Any,
                Some("ada"),
            )
            .await?;
    }
    Ok(())
}

/// The map whose history the demo tells.
const CHECKOUT_MAP: &str = "checkout-delivery";

/// The first day of the demo's year.
fn year_start(until: Timestamp) -> Timestamp {
    until - SignedDuration::from_hours(364 * 24)
}

/// Three versions of the checkout delivery map across the year, as days after the year's
/// start: the March workshop's map, the map after reviews got a rota (review wait down),
/// and the map after contract tests replaced most manual QA.
fn checkout_history() -> [(i64, &'static str, String); 3] {
    let first = MAPS
        .iter()
        .find(|(id, _, _)| *id == CHECKOUT_MAP)
        .map_or(String::new(), |(_, _, text)| (*text).to_string());
    let second = first.replace("wait: 1d..3d", "wait: 4h..1d");
    let third = second.replace("    wait: 2d\n    ca: 75%", "    wait: 1d\n    ca: 90%");
    [
        (14, "ada", first),
        (150, "grace", second),
        (280, "ada", third),
    ]
}

/// The demo's two outcomes, dated relative to `until`: checkout's lead time (its
/// finished experiment improved it, a second one is still running) and search's change
/// fail rate (its experiment is inconclusive).
fn outcomes(until: Timestamp) -> [(String, String); 2] {
    let day = |days: i64| {
        (year_start(until) + SignedDuration::from_hours(24 * days))
            .strftime("%Y-%m-%d")
            .to_string()
    };
    let checkout = format!(
        "outcome: Checkout changes reach production within 6 hours
mandate: Ship small checkout changes the same working day
service: checkout
metric: lead_time
baseline: {b0}..{b1}
target: '<= 6h'
deadline: {deadline}
concerns:
  - {{ text: Reviews wait for the one senior reviewer, category: process, votes: 5 }}
  - {{ text: Big pull requests take days to review, category: process, votes: 3 }}
  - {{ text: Manual QA is booked a week ahead, category: testing, votes: 2 }}
benefits: [Fixes reach customers the day they are written, Less context switching]
obstacles: [Release freeze in December]
next_steps: [Agree a review rota, Split stories before coding]
experiments:
  - id: smaller-prs
    hypothesis: Pull requests under 200 lines are reviewed within hours
    constraint: checkout-delivery.yaml#review
    capability: working-in-small-batches
    before: {b0}..{b2}
    started: {s1}
    ended: {e1}
  - id: review-rota
    hypothesis: A daily review rota removes the wait for one reviewer
    constraint: checkout-delivery.yaml#review
    capability: streamlining-change-approval
    started: {s2}
",
        b0 = day(0),
        b1 = day(91),
        b2 = day(120),
        s1 = day(240),
        e1 = day(357),
        s2 = day(343),
        deadline = day(420),
    );
    let search = format!(
        "outcome: Fewer search deployments fail in production
mandate: Keep search reliable while the index is rebuilt
service: search
metric: change_failure_rate
baseline: 8%
started: {started}
target: '< 5%'
deadline: {deadline}
concerns:
  - {{ text: Index changes are only tested in production, category: testing, votes: 4 }}
experiments:
  - id: canary-releases
    hypothesis: Releasing to 5 % of traffic first catches bad index builds
    constraint: checkout-delivery.yaml#deploy
    capability: deployment-automation
    started: {s1}
    ended: {e1}
",
        started = day(180),
        deadline = day(394),
        s1 = day(200),
        e1 = day(290),
    );
    [
        ("checkout-lead-time".to_string(), checkout),
        ("search-reliability".to_string(), search),
    ]
}

fn deployment(
    profile: &Profile,
    id: &str,
    finished_at: Timestamp,
    status: DeploymentStatus,
) -> Deployment {
    Deployment {
        id: id.into(),
        service: profile.name.into(),
        environment: flowmap_core::events::PRODUCTION.into(),
        status,
        started_at: Some(finished_at - SignedDuration::from_mins(12)),
        finished_at,
        commit: None,
        changes: Vec::new(),
        kind: DeploymentKind::Normal,
        fixes: None,
    }
}

fn hours(h: f64) -> SignedDuration {
    SignedDuration::from_secs_f64(h * 3600.0)
}

/// A uniform draw from [0, 1).
fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[(rng.next_u64() % items.len() as u64) as usize]
}

/// A Poisson draw (Knuth's method; the means here are small).
fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    let limit = (-mean).exp();
    let mut product = unit(rng);
    let mut count = 0;
    while product > limit {
        count += 1;
        product *= unit(rng);
    }
    count
}

/// A log-normal draw with the given median and log-space spread (Box–Muller).
fn lognormal(rng: &mut ChaCha8Rng, median: f64, sigma: f64) -> f64 {
    let u1 = unit(rng).max(f64::MIN_POSITIVE);
    let u2 = unit(rng);
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    median * (sigma * z).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_for_every_service_with_failures_and_fixes() {
        let until: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
        let batch = generate(1, until);
        for profile in PROFILES {
            let count = batch
                .deployments
                .iter()
                .filter(|d| d.service == profile.name)
                .count();
            // Expected ≈ 260 working days × rate (+ fixes): at least half of it.
            let expected = 260.0 * profile.deploys_per_day;
            assert!(count as f64 > expected * 0.5, "{}: {count}", profile.name);
        }
        assert!(
            batch
                .deployments
                .iter()
                .any(|d| d.kind == DeploymentKind::Hotfix)
        );
        assert!(
            batch
                .deployments
                .iter()
                .any(|d| d.status == DeploymentStatus::Failure)
        );
        assert!(batch.incidents.iter().any(|i| i.caused_by.is_some()));
        // Every change is committed before the deployment that lists it.
        let by_id: std::collections::HashMap<&str, &Change> =
            batch.changes.iter().map(|c| (c.id.as_str(), c)).collect();
        for d in &batch.deployments {
            for c in &d.changes {
                assert!(by_id[c.as_str()].committed_at < d.finished_at);
            }
        }
    }

    #[test]
    fn the_example_maps_parse() {
        for (id, format, text) in MAPS {
            assert!(flowmap_core::map::parse_map(text, *format).is_ok(), "{id}");
        }
        // Each version of the checkout map changes something and shortens the lead time.
        let lead_times: Vec<f64> = checkout_history()
            .iter()
            .map(|(_, _, text)| {
                let map = flowmap_core::map::parse_map(text, MapFormat::Yaml)
                    .unwrap()
                    .map;
                flowmap_core::constraints::constraints(&map).expected_lead_time_hours
            })
            .collect();
        assert!(lead_times.windows(2).all(|w| w[1] < w[0]), "{lead_times:?}");
    }

    #[tokio::test]
    async fn the_demo_outcomes_tell_an_improvement_and_an_inconclusive_experiment() {
        let db = flowmap_store::testing::TestDb::sqlite();
        let store = Store::open(&db.location()).await.unwrap();
        let until: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        load(&store, 1, until).await.unwrap();
        let versions = store.map_versions(CHECKOUT_MAP).await.unwrap();
        assert_eq!(versions.len(), 3);
        assert!(versions.iter().all(|v| v.saved_at < until));
        let app = flowmap_app::App::new(store);
        let (_, _, checkout) = app
            .stored_outcome_report("checkout-lead-time", until)
            .await
            .unwrap();
        let verdicts: Vec<(&str, &str, bool)> = checkout
            .status
            .experiments
            .iter()
            .map(|e| (e.id.as_str(), e.verdict.as_str(), e.running))
            .collect();
        assert_eq!(verdicts[0], ("smaller-prs", "improved", false));
        assert_eq!((verdicts[1].0, verdicts[1].2), ("review-rota", true));
        assert_eq!(checkout.maps.len(), 3);
        assert!(checkout.weeks.len() >= 52);
        let (_, _, search) = app
            .stored_outcome_report("search-reliability", until)
            .await
            .unwrap();
        assert_eq!(
            search.status.experiments[0].verdict.as_str(),
            "inconclusive"
        );
    }

    /// The flags of `steps` and their drill-downs, by step id.
    fn flags(
        steps: &[flowmap_core::measure::StepMeasurement],
        out: &mut Vec<(String, &'static str)>,
    ) {
        for step in steps {
            out.push((step.id.clone(), step.flag.as_str()));
            flags(&step.steps, out);
        }
    }

    #[tokio::test]
    async fn the_demo_maps_measure_with_every_flag() {
        // Any end date: the story holds whatever day the demo starts on.
        for until in ["2026-06-01T00:00:00Z", "2026-11-19T15:30:00Z"] {
            let db = flowmap_store::testing::TestDb::sqlite();
            let store = Store::open(&db.location()).await.unwrap();
            let until: Timestamp = until.parse().unwrap();
            load(&store, 1, until).await.unwrap();
            let app = flowmap_app::App::new(store.clone());
            let mut seen = Vec::new();
            for stored in store.maps().await.unwrap() {
                let map = flowmap_core::map::parse_map(&stored.text, stored.format)
                    .unwrap()
                    .map;
                if map.service.is_none() {
                    continue;
                }
                let request = flowmap_app::measure::MeasureRequest {
                    service: None,
                    environment: flowmap_core::events::PRODUCTION.into(),
                    since: until - SignedDuration::from_hours(90 * 24),
                    until,
                    attribution_window: flowmap_core::dora::DEFAULT_ATTRIBUTION_WINDOW,
                    analysis: flowmap_core::map::AnalysisOptions { runs: 0, seed: 1 },
                    explain: false,
                };
                let report = app.reports().measure(map, request).await.unwrap();
                let mut found = Vec::new();
                flags(&report.steps, &mut found);
                if stored.id == CHECKOUT_MAP {
                    let flag = |id: &str| {
                        found
                            .iter()
                            .find(|(step, _)| step == id)
                            .map_or("", |(_, flag)| *flag)
                    };
                    // The map against the data: coding as guessed, CI slower, reviews and
                    // the board far faster, QA too rarely recorded, refinement unbound.
                    assert_eq!(
                        [
                            flag("refine"),
                            flag("code"),
                            flag("review"),
                            flag("ci"),
                            flag("qa"),
                            flag("cab"),
                            flag("deploy"),
                        ],
                        [
                            "not measured",
                            "ok",
                            "over-estimated",
                            "under-estimated",
                            "too little data",
                            "over-estimated",
                            "over-estimated",
                        ],
                        "{until}"
                    );
                    assert!(report.lead_time.n > 100, "{}", report.lead_time.n);
                    // The four open pull requests are in progress at the end.
                    assert!(report.lead_time.wip >= 4, "{}", report.lead_time.wip);
                }
                seen.extend(found.into_iter().map(|(_, flag)| flag));
            }
            for flag in [
                "not measured",
                "too little data",
                "under-estimated",
                "over-estimated",
                "ok",
            ] {
                assert!(seen.contains(&flag), "{until}: no step is {flag}: {seen:?}");
            }
        }
    }
}

/// The demo's open workshop: where its facilitator and its participants go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoWorkshop {
    /// `/workshops/{id}#key=…`: the facilitator's page, key included (this browser keeps it).
    pub facilitator_path: String,
    /// `/workshops/{id}/join?code=…`: the link participants join with.
    pub join_path: String,
}

const DEMO_WORKSHOP_MAP: &str = "name: Search delivery
steps:
  - id: code
    name: Code
    process: 1d..3d
  - id: review
    name: Review
    wait: 1d..2d
    process: 1h..2h
  - id: index-build
    name: Index build
    process: 2h..6h
    ca: 80%
  - id: deploy
    name: Deploy
    wait: 2d
    process: 30m
";

const DEMO_WORKSHOP_OUTCOME: &str = "outcome: Search changes reach production within two days
mandate: Rebuild the search index without slowing the team down
service: search
metric: lead_time
baseline: 5d
target: '<= 2d'
deadline: 2027-03-01
concerns:
  - { text: Index builds fail late and are rerun by hand, category: index builds, votes: 5 }
  - { text: Deploys wait for the weekly slot, category: release process, votes: 3 }
  - { text: Nobody owns the flaky relevance tests, category: testing, votes: 1 }
benefits: [Relevance fixes ship the week they are found]
obstacles: [The index rebuild takes the staging cluster for a day]
next_steps: [Build the index in CI on every merge, Ask for a daily deploy slot]
";

/// Adds two workshops through the application's use cases, as the demo's editor `ada`:
/// a finished one for the search stream (its outcome and map saved at close as
/// `search-delivery`), and an open one in the brainstorm phase with a few notes.
pub async fn load_workshops(store: &Store) -> Result<DemoWorkshop, flowmap_app::AppError> {
    use flowmap_app::workshops::CreateWorkshop;
    use flowmap_app::{Actor, App, Role};
    let app = App::new(store.clone());
    let ada = Actor::new("ada", Role::Editor);
    let done = app
        .create_workshop(
            &ada,
            CreateWorkshop {
                title: "Search: outcome mapping and the first map",
                mandate: "Rebuild the search index without slowing the team down",
                stream: "search-delivery",
                dots: None,
            },
        )
        .await?;
    let facilitator = app
        .workshop_holder(&done.id, Some(&done.facilitator_key))
        .await?;
    let mut people = Vec::new();
    for name in ["Grace", "Linus", "Barbara"] {
        let (_, key) = app.join_workshop(&done.id, name, &done.join_code).await?;
        people.push(app.workshop_holder(&done.id, Some(&key)).await?);
    }
    app.set_phase(&done.id, &facilitator, "brainstorm", Some(300))
        .await?;
    let concerns = [
        (
            0,
            "Index builds fail late and are rerun by hand",
            "index builds",
        ),
        (1, "Deploys wait for the weekly slot", "release process"),
        (2, "Nobody owns the flaky relevance tests", "testing"),
        (
            1,
            "The index build needs the staging cluster",
            "index builds",
        ),
    ];
    let mut notes = Vec::new();
    for (who, text, category) in concerns {
        let note = app.add_note(&done.id, &people[who], text).await?;
        notes.push((note.id, category));
    }
    app.set_phase(&done.id, &facilitator, "group", None).await?;
    for (note, category) in notes {
        app.edit_note(&done.id, &facilitator, note, None, Some(Some(category)))
            .await?;
    }
    app.set_phase(&done.id, &facilitator, "vote", None).await?;
    for (who, category, dots) in [
        (0, "index builds", 2),
        (0, "release process", 1),
        (1, "index builds", 2),
        (1, "testing", 1),
        (2, "index builds", 1),
        (2, "release process", 2),
    ] {
        app.vote(&done.id, &people[who], category, dots).await?;
    }
    app.set_phase(&done.id, &facilitator, "outcome", None)
        .await?;
    app.put_workshop_outcome(&done.id, MapFormat::Yaml, DEMO_WORKSHOP_OUTCOME)
        .await?;
    app.set_phase(&done.id, &facilitator, "map", None).await?;
    app.put_workshop_map(&done.id, MapFormat::Yaml, DEMO_WORKSHOP_MAP)
        .await?;
    app.close_workshop(&done.id, &facilitator).await?;

    let open = app
        .create_workshop(
            &ada,
            CreateWorkshop {
                title: "Checkout: what keeps changes from shipping the same day?",
                mandate: "Ship small checkout changes the same working day",
                stream: "checkout-delivery",
                dots: None,
            },
        )
        .await?;
    let facilitator = app
        .workshop_holder(&open.id, Some(&open.facilitator_key))
        .await?;
    app.set_phase(&open.id, &facilitator, "brainstorm", Some(600))
        .await?;
    for (name, text) in [
        ("Grace", "Reviews wait for the one senior reviewer"),
        ("Linus", "Manual QA is booked a week ahead"),
    ] {
        let (_, key) = app.join_workshop(&open.id, name, &open.join_code).await?;
        let holder = app.workshop_holder(&open.id, Some(&key)).await?;
        app.add_note(&open.id, &holder, text).await?;
    }
    Ok(DemoWorkshop {
        facilitator_path: format!("/workshops/{}#key={}", open.id, open.facilitator_key),
        join_path: format!("/workshops/{}/join?code={}", open.id, open.join_code),
    })
}
