//! Measured value streams on data small enough to compute by hand: lifecycle points from
//! the DORA links, segment statistics with WIP, missing and anomalies, flags, the measured
//! map, map bindings and `from-data`.

use flowmap_core::events::{
    Build, Change, Deployment, DeploymentKind, DeploymentStatus, Incident, Milestone,
};
use flowmap_core::map::{AnalysisOptions, Format, Map, Stream, parse_map};
use flowmap_core::measure::{
    Flag, FromDataOptions, ItemScope, MeasureData, MeasureOptions, Point, Segment, from_data,
    lifecycle, measure_map, segment_stats,
};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

/// `h` hours after the fixtures' origin, 2026-03-02 00:00 UTC.
fn at(h: f64) -> Timestamp {
    let origin: Timestamp = "2026-03-02T00:00:00Z".parse().unwrap();
    origin + SignedDuration::from_secs_f64(h * 3600.0)
}

fn yaml(text: &str) -> Map {
    match parse_map(text, Format::Yaml) {
        Ok(parsed) => parsed.map,
        Err(errors) => panic!("test map is invalid: {errors:#?}"),
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

struct Fixture {
    deployments: Vec<Deployment>,
    changes: Vec<Change>,
    incidents: Vec<Incident>,
    builds: Vec<Build>,
    milestones: Vec<Milestone>,
}

impl Fixture {
    fn data(&self) -> MeasureData<'_> {
        MeasureData {
            deployments: &self.deployments,
            changes: &self.changes,
            incidents: &self.incidents,
            builds: &self.builds,
            milestones: &self.milestones,
        }
    }
}

fn change(id: &str, committed: f64) -> Change {
    Change::new(id, "checkout", at(committed))
}

/// The hand-computed fixture (hours after the origin):
///
/// | change | pr_opened | first_review | approved | merged | deployed |
/// | c1 | 1 | 3 | 5 | 6 | d1 at 10 (staging s1 at 8) |
/// | c2 | 2 | 10 | 11 | 12 | d2 at 20 |
/// | c3 | — | 5 | — | 7 | d1 at 10 |
/// | c4 | 30 | 28 | — | — | — |
/// | c5 | 40 | — | — | — | — |
/// | c6 | 44 | 50 | — | — | — |
fn fixture() -> Fixture {
    let mut c1 = change("c1", 0.0);
    c1.pr_opened_at = Some(at(1.0));
    c1.first_review_at = Some(at(3.0));
    c1.approved_at = Some(at(5.0));
    c1.merged_at = Some(at(6.0));
    let mut c2 = change("c2", 2.0);
    c2.pr_opened_at = Some(at(2.0));
    c2.first_review_at = Some(at(10.0));
    c2.approved_at = Some(at(11.0));
    c2.merged_at = Some(at(12.0));
    let mut c3 = change("c3", 4.0);
    c3.first_review_at = Some(at(5.0));
    c3.merged_at = Some(at(7.0));
    let mut c4 = change("c4", 29.0);
    c4.pr_opened_at = Some(at(30.0));
    c4.first_review_at = Some(at(28.0));
    let mut c5 = change("c5", 39.0);
    c5.pr_opened_at = Some(at(40.0));
    let mut c6 = change("c6", 43.0);
    c6.pr_opened_at = Some(at(44.0));
    c6.first_review_at = Some(at(50.0));
    let other_service = Change::new("c1", "billing", at(0.0));

    let mut d1 = Deployment::new("d1", "checkout", at(10.0));
    d1.started_at = Some(at(9.0));
    d1.changes = vec!["c1".into(), "c3".into()];
    let mut d2 = Deployment::new("d2", "checkout", at(20.0));
    d2.changes = vec!["c2".into()];
    d2.commit = Some("sha2".into());
    let mut d3 = Deployment::new("d3", "checkout", at(22.0));
    d3.kind = DeploymentKind::Hotfix;
    d3.fixes = Some("d2".into());
    let mut s1 = Deployment::new("s1", "checkout", at(8.0));
    s1.environment = "staging".into();
    s1.changes = vec!["c1".into()];
    let mut failed_run = Deployment::new("r1", "checkout", at(5.0));
    failed_run.status = DeploymentStatus::Failure;
    failed_run.changes = vec!["c1".into()];

    let mut i1 = Incident::new("i1", "checkout", at(11.0));
    i1.caused_by = Some("d1".into());
    i1.detected_at = Some(at(11.5));
    i1.acknowledged_at = Some(at(12.0));
    i1.resolved_at = Some(at(15.0));

    let mut b0 = Build::new("b0", "checkout", at(5.0), at(6.0));
    b0.status = DeploymentStatus::Failure;
    b0.changes = vec!["c1".into()];
    let mut b1 = Build::new("b1", "checkout", at(6.5), at(7.0));
    b1.commit = Some("c1".into());
    let mut b3 = Build::new("b3", "checkout", at(8.0), at(9.0));
    b3.changes = vec!["c1".into()];
    let mut b2 = Build::new("b2", "checkout", at(12.5), at(13.0));
    b2.commit = Some("sha2".into());

    let milestone = |item: &str, name: &str, h: f64, service: Option<&str>| Milestone {
        item: item.into(),
        name: name.into(),
        at: at(h),
        service: service.map(Into::into),
    };
    Fixture {
        deployments: vec![failed_run, s1, d1, d2, d3],
        changes: vec![c1, c2, c3, c4, c5, c6, other_service],
        incidents: vec![i1],
        builds: vec![b0, b3, b1, b2],
        milestones: vec![
            milestone("c1", "qa_passed", 8.0, Some("checkout")),
            milestone("c1", "qa_passed", 7.5, None),
            milestone("c1", "qa_passed", 1.0, Some("billing")),
            milestone("i1", "rollback_approved", 12.5, None),
        ],
    }
}

fn scope() -> ItemScope {
    ItemScope {
        service: "checkout".into(),
        environment: "production".into(),
        attribution_window: SignedDuration::from_hours(24),
    }
}

fn options() -> MeasureOptions {
    MeasureOptions {
        service: "checkout".into(),
        environment: "production".into(),
        since: at(0.0),
        until: at(48.0),
        attribution_window: SignedDuration::from_hours(24),
        analysis: AnalysisOptions::default(),
        explain: true,
    }
}

fn column(items: &flowmap_core::measure::Items<'_>, point: &Point) -> Vec<Option<Timestamp>> {
    items.column(point).unwrap().to_vec()
}

#[test]
fn delivery_points_follow_the_dora_links_builds_and_milestones() {
    let f = fixture();
    let points = [
        Point::Deployed,
        Point::DeployStarted,
        Point::DeployedAt("staging".into()),
        Point::BuildStarted,
        Point::BuildFinished,
        Point::Event("qa_passed".into()),
    ];
    let items = lifecycle(
        &f.data(),
        &scope(),
        Stream::Delivery,
        &points,
        at(0.0),
        at(48.0),
    )
    .unwrap();
    assert_eq!(items.ids, ["c1", "c2", "c3", "c4", "c5", "c6"]);
    let deployed = column(&items, &Point::Deployed);
    assert_eq!(
        deployed,
        [
            Some(at(10.0)),
            Some(at(20.0)),
            Some(at(10.0)),
            None,
            None,
            None
        ]
    );
    let started = column(&items, &Point::DeployStarted);
    assert_eq!(
        started,
        [Some(at(9.0)), None, Some(at(9.0)), None, None, None]
    );
    let staging = column(&items, &Point::DeployedAt("staging".into()));
    assert_eq!(staging, [Some(at(8.0)), None, None, None, None, None]);
    // c1: the successful build b1 (commit c1, finished 7) beats b3 (lists it, finished 9)
    // and the failed b0; c2: no build names it, so the build of its deployment's commit.
    let build_started = column(&items, &Point::BuildStarted);
    assert_eq!(build_started[..2], [Some(at(6.5)), Some(at(12.5))]);
    let build_finished = column(&items, &Point::BuildFinished);
    assert_eq!(build_finished[..3], [Some(at(7.0)), Some(at(13.0)), None]);
    // Earliest of the checkout and service-less milestones; billing's is not c1's.
    let qa = column(&items, &Point::Event("qa_passed".into()));
    assert_eq!(qa[0], Some(at(7.5)));
    assert_eq!(qa[1], None);
    // 3 successful production deployments in the window, d1 (incident) and d2 (hotfix) failed.
    assert_eq!(
        (items.deployments_in_window, items.failed_in_window),
        (3, 2)
    );
}

#[test]
fn recovery_points_follow_the_engine_attribution() {
    let f = fixture();
    let points = [
        Point::Failed,
        Point::IncidentStarted,
        Point::Detected,
        Point::Acknowledged,
        Point::FixDeployed,
        Point::Recovered,
        Point::Event("rollback_approved".into()),
    ];
    let items = lifecycle(
        &f.data(),
        &scope(),
        Stream::Recovery,
        &points,
        at(0.0),
        at(48.0),
    )
    .unwrap();
    assert_eq!(items.ids, ["d1", "d2"]);
    assert_eq!(
        column(&items, &Point::Failed),
        [Some(at(10.0)), Some(at(20.0))]
    );
    assert_eq!(
        column(&items, &Point::IncidentStarted),
        [Some(at(11.0)), None]
    );
    assert_eq!(column(&items, &Point::Detected), [Some(at(11.5)), None]);
    assert_eq!(column(&items, &Point::Acknowledged), [Some(at(12.0)), None]);
    assert_eq!(column(&items, &Point::FixDeployed), [None, Some(at(22.0))]);
    assert_eq!(
        column(&items, &Point::Recovered),
        [Some(at(15.0)), Some(at(22.0))]
    );
    assert_eq!(
        column(&items, &Point::Event("rollback_approved".into())),
        [Some(at(12.5)), None]
    );
}

#[test]
fn segment_statistics_by_hand() {
    let f = fixture();
    let segment = Segment::parse("pr_opened..first_review", Stream::Delivery).unwrap();
    let items = lifecycle(
        &f.data(),
        &scope(),
        Stream::Delivery,
        &[segment.from.clone(), segment.to.clone()],
        at(0.0),
        at(48.0),
    )
    .unwrap();
    let (stats, negatives) = segment_stats(
        &segment,
        &items.ids,
        items.column(&segment.from).unwrap(),
        items.column(&segment.to).unwrap(),
        at(0.0),
        at(48.0),
    );
    // TO in the window: c1 (2 h), c2 (8 h), c3 (no FROM), c4 (28 − 30 = −2 h).
    assert_eq!((stats.n, stats.missing, stats.anomalies), (2, 1, 1));
    assert!(close(stats.p50_hours, 5.0));
    assert!(close(stats.p85_hours, 2.0 + 6.0 * 0.85));
    assert!(close(stats.mean_hours, 5.0));
    assert_eq!(negatives.len(), 1);
    assert_eq!(negatives[0].id, "c4");
    assert!((negatives[0].hours + 2.0).abs() < 1e-9);
    // In progress at 48: c5 (opened 40, never reviewed) and c6 (opened 44, reviewed at 50).
    assert_eq!(stats.wip, 2);
    assert!(close(stats.wip_age_p50_hours, 6.0));
    let oldest: Vec<(&str, f64)> = stats
        .wip_oldest
        .iter()
        .map(|w| (w.id.as_str(), w.age_hours))
        .collect();
    assert_eq!(oldest, [("c5", 8.0), ("c6", 4.0)]);
}

#[test]
fn wip_oldest_lists_five_oldest_first_with_ties_by_id() {
    let segment = Segment::parse("pr_opened..merged", Stream::Delivery).unwrap();
    let ids = ["g", "f", "e", "d", "c", "b", "a"];
    let opened = [1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 6.0];
    let from: Vec<Option<Timestamp>> = opened.iter().map(|h| Some(at(*h))).collect();
    let to = vec![None; ids.len()];
    let (stats, _) = segment_stats(&segment, &ids, &from, &to, at(0.0), at(10.0));
    assert_eq!(stats.wip, 7);
    let oldest: Vec<(&str, f64)> = stats
        .wip_oldest
        .iter()
        .map(|w| (w.id.as_str(), w.age_hours))
        .collect();
    assert_eq!(
        oldest,
        [("g", 9.0), ("e", 8.0), ("f", 8.0), ("d", 7.0), ("b", 5.0)]
    );
    assert_eq!(
        (stats.n, stats.p50_hours, stats.mean_hours),
        (0, None, None)
    );
}

#[test]
fn a_measured_map_flags_its_steps_and_notes_unrecorded_points() {
    let f = fixture();
    let map = yaml(
        "name: Checkout\nservice: checkout\nsteps:\n\
         \x20 - id: pickup\n    wait: 1h\n    measure: { wait: pr_opened..first_review }\n\
         \x20 - id: security\n    process: 2h\n    measure: { process: merged..event:security_ok }\n\
         \x20 - id: deploy\n    process: 1h\n    measure: { process: merged..deployed, ca: change_fail_rate }\n\
         \x20 - id: design\n    process: 1d\n    ca: 50%\n",
    );
    let report = measure_map(&map, &f.data(), &options()).unwrap();
    let flags: Vec<Flag> = report.steps.iter().map(|s| s.flag).collect();
    assert_eq!(
        flags,
        [
            Flag::TooLittleData,
            Flag::TooLittleData,
            Flag::TooLittleData,
            Flag::NotMeasured
        ]
    );
    let pickup = &report.steps[0];
    assert_eq!(pickup.estimate_hours, Some(1.0));
    assert_eq!(pickup.measured_hours, Some(5.0));
    assert_eq!(pickup.ratio, Some(5.0));
    // Nobody records `security_ok`: n = 0, nulls, and a note.
    let security = &report.steps[1];
    assert_eq!(security.process.as_ref().unwrap().n, 0);
    assert_eq!((security.measured_hours, security.ratio), (None, None));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("`event:security_ok`")),
        "{:?}",
        report.notes
    );
    // merged..deployed: c1 4 h, c2 8 h, c3 3 h → median 4; ca = 1 − 2/3.
    let deploy = &report.steps[2];
    assert!(close(deploy.measured_hours, 4.0));
    assert!(close(deploy.ca, 1.0 / 3.0));
    let design = &report.steps[3];
    assert_eq!(
        (design.estimate_hours, design.measured_hours, design.ratio),
        (None, None, None)
    );
    // The measured map: pickup waits 5 h, deploy takes 4 h at ca 1/3, the rest as drawn.
    let measured = &report.measured.steps;
    assert!((measured[0].wait_hours - 5.0).abs() < 1e-9);
    assert!((measured[1].process_hours - 2.0).abs() < 1e-9);
    assert!((measured[2].process_hours - 4.0).abs() < 1e-9);
    assert!((measured[2].ca - 1.0 / 3.0).abs() < 1e-9);
    assert!((report.measured.lead_time_hours - (5.0 + 2.0 + 4.0 + 24.0)).abs() < 1e-9);
    assert_eq!(report.measured.bottleneck, "pickup");
    assert!((report.estimate.lead_time_hours - (1.0 + 2.0 + 1.0 + 24.0)).abs() < 1e-9);
    // Lead time committed..deployed: c1 10, c2 18, c3 6 → median 10.
    assert_eq!(report.lead_time.n, 3);
    assert!(close(report.lead_time.p50_hours, 10.0));
    assert!(report.notes.iter().any(|n| n.contains("differ by nature")));
    assert_eq!(report.negative_segments.as_ref().map(Vec::len), Some(1));
}

/// Six changes, each merged 4 h before its deployment.
fn steady() -> Fixture {
    let mut changes = Vec::new();
    let mut deployments = Vec::new();
    for i in 0..6 {
        let id = format!("c{i}");
        let base = f64::from(i) * 5.0;
        let mut c = change(&id, base);
        c.merged_at = Some(at(base + 1.0));
        changes.push(c);
        let mut d = Deployment::new(format!("d{i}"), "checkout", at(base + 5.0));
        d.changes = vec![id];
        deployments.push(d);
    }
    Fixture {
        deployments,
        changes,
        incidents: vec![],
        builds: vec![],
        milestones: vec![],
    }
}

#[test]
fn flags_compare_the_median_with_the_estimate() {
    let f = steady();
    let flag = |estimate: &str| {
        let map = yaml(&format!(
            "name: t\nsteps:\n  - id: deploy\n    process: {estimate}\n    measure: {{ process: merged..deployed }}\n"
        ));
        let report = measure_map(&map, &f.data(), &options()).unwrap();
        (report.steps[0].flag, report.steps[0].ratio)
    };
    assert_eq!(flag("1h"), (Flag::UnderEstimated, Some(4.0)));
    assert_eq!(flag("2h"), (Flag::UnderEstimated, Some(2.0)));
    assert_eq!(flag("8h"), (Flag::OverEstimated, Some(0.5)));
    assert_eq!(flag("5h"), (Flag::Ok, Some(0.8)));
    assert_eq!(flag("0"), (Flag::UnderEstimated, None));
    assert_eq!(flag("2h..6h"), (Flag::Ok, Some(1.0)));
}

#[test]
fn re_entering_a_step_counts_at_the_earliest_point() {
    // A change reviewed twice: the milestone `reviewed` is recorded at 2 h and again at 6 h.
    let mut f = steady();
    for h in [6.0, 2.0] {
        f.milestones.push(Milestone {
            item: "c0".into(),
            name: "reviewed".into(),
            at: at(h),
            service: None,
        });
    }
    let map = yaml(
        "name: t\nsteps:\n  - id: r\n    process: 1h\n    measure: { process: committed..event:reviewed }\n",
    );
    let report = measure_map(&map, &f.data(), &options()).unwrap();
    let process = report.steps[0].process.as_ref().unwrap();
    assert_eq!(process.n, 1);
    assert!(close(process.p50_hours, 2.0));
}

#[test]
fn recovery_maps_measure_failed_deployments() {
    let f = fixture();
    let map = yaml(
        "name: r\nstream: recovery\nsteps:\n\
         \x20 - id: detect\n    process: 1h\n    measure: { process: failed..detected }\n\
         \x20 - id: fix\n    process: 1h\n    measure: { process: acknowledged..recovered }\n",
    );
    let report = measure_map(&map, &f.data(), &options()).unwrap();
    // failed..recovered: d1 5 h, d2 2 h.
    assert_eq!(report.lead_time.n, 2);
    assert!(close(report.lead_time.p50_hours, 3.5));
    let detect = report.steps[0].process.as_ref().unwrap();
    // d2 has no incident, so no `detected`: not missing (its TO is absent), but in
    // progress since it failed at 20 h.
    assert_eq!((detect.n, detect.missing, detect.wip), (1, 0, 1));
    assert!(close(detect.wip_age_p50_hours, 28.0));
    assert!(close(detect.p50_hours, 1.5));
}

#[test]
fn binding_errors_name_the_place_and_the_point() {
    let errors = |text: &str| -> Vec<String> {
        parse_map(text, Format::Yaml)
            .unwrap_err()
            .iter()
            .map(|d| d.display("m.yaml").to_string())
            .collect()
    };
    let e = errors("name: t\nsteps:\n  - id: a\n    measure:\n      wait: pr_openned..merged\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("m.yaml:5:13: "), "{e:?}");
    assert!(e[0].contains("did you mean `pr_opened`"), "{e:?}");
    let e = errors("name: t\nsteps:\n  - id: a\n    measure: { process: failed..merged }\n");
    assert!(
        e[0].starts_with("m.yaml:4:25: ")
            && e[0].contains("`failed` is a point of the recovery stream"),
        "{e:?}"
    );
    let e = errors(
        "name: t\nstream: recovery\nsteps:\n  - id: a\n    measure: { process: merged..recovered }\n",
    );
    assert!(
        e[0].contains("`merged` is a point of the delivery stream"),
        "{e:?}"
    );
    let e = errors("name: t\nsteps:\n  - id: a\n    measure: { process: merged..merged }\n");
    assert!(e[0].contains("same point `merged`"), "{e:?}");
    let e = errors(
        "name: t\nstream: recovery\nsteps:\n  - id: a\n    measure: { ca: change_fail_rate }\n",
    );
    assert!(
        e[0].starts_with("m.yaml:5:20: ") && e[0].contains("recovery map"),
        "{e:?}"
    );
    let e = errors("name: t\nsteps:\n  - id: a\n    measure: { ca: 90% }\n");
    assert!(e[0].contains("can only be `change_fail_rate`"), "{e:?}");
    let e = errors("name: t\nsteps:\n  - id: a\n    measure: { proces: merged..deployed }\n");
    assert!(e[0].contains("did you mean `process`"), "{e:?}");
    let e = errors("name: t\nmeasure: { lead_time: committed..recovered }\nsteps:\n  - id: a\n");
    assert!(
        e[0].starts_with("m.yaml:2:23: ") && e[0].contains("recovery stream"),
        "{e:?}"
    );
    // Drill-down steps bind too, and are checked the same way.
    let e = errors(
        "name: t\nsteps:\n  - id: a\n    steps:\n      - id: b\n        measure: { wait: nope..merged }\n",
    );
    assert!(
        e[0].starts_with("m.yaml:6:26: ") && e[0].contains("unknown lifecycle point `nope`"),
        "{e:?}"
    );
}

#[test]
fn from_data_writes_a_map_that_checks_and_measures_itself() {
    let f = fixture();
    let options = FromDataOptions {
        service: "checkout".into(),
        environment: "production".into(),
        since: at(0.0),
        until: at(48.0),
        attribution_window: SignedDuration::from_hours(24),
    };
    let text = from_data(Stream::Delivery, &f.data(), &options).unwrap();
    let map = yaml(&text);
    let ids: Vec<&str> = map.steps.iter().map(|s| s.id.as_str()).collect();
    // No change has first_commit: no `code` step. Builds exist, so deploy starts at build_finished.
    assert_eq!(
        ids,
        ["pickup", "review", "merge", "build", "deploy"],
        "{text}"
    );
    assert!(text.contains("process: build_finished..deployed"), "{text}");
    // pickup's median is 5 h; review: c1 2 h, c2 1 h → 1.5 h.
    assert_eq!(map.steps[0].wait.point(), 5.0);
    assert_eq!(map.steps[1].process.point(), 1.5);
    assert_eq!(map.service.as_deref(), Some("checkout"));
    let recovery = yaml(&from_data(Stream::Recovery, &f.data(), &options).unwrap());
    let ids: Vec<&str> = recovery.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["detect", "respond", "restore"]);
    let empty = Fixture {
        deployments: vec![],
        changes: vec![],
        incidents: vec![],
        builds: vec![],
        milestones: vec![],
    };
    assert!(from_data(Stream::Delivery, &empty.data(), &options).is_err());
}

proptest! {
    /// Every item whose TO lies in the window is counted exactly once: in the sample, as
    /// missing its FROM, or as an anomaly.
    #[test]
    fn every_item_ending_in_the_window_is_counted_once(
        points in proptest::collection::vec((proptest::option::of(-50.0f64..150.0), proptest::option::of(-50.0f64..150.0)), 0..60),
        since in -20.0f64..40.0,
        length in 1.0f64..100.0,
    ) {
        let segment = Segment::parse("pr_opened..merged", Stream::Delivery).unwrap();
        let ids: Vec<String> = (0..points.len()).map(|i| format!("c{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let from: Vec<Option<Timestamp>> = points.iter().map(|(f, _)| f.map(at)).collect();
        let to: Vec<Option<Timestamp>> = points.iter().map(|(_, t)| t.map(at)).collect();
        let (since, until) = (at(since), at(since + length));
        let (stats, negatives) = segment_stats(&segment, &ids, &from, &to, since, until);
        let ending = to.iter().filter(|t| t.is_some_and(|t| since <= t && t < until)).count();
        prop_assert_eq!(stats.n + stats.missing + stats.anomalies, ending);
        prop_assert_eq!(negatives.len(), stats.anomalies);
        prop_assert!(stats.wip_oldest.len() <= 5 && stats.wip_oldest.len() <= stats.wip);
        for value in [stats.p50_hours, stats.p85_hours, stats.mean_hours, stats.wip_age_p50_hours].into_iter().flatten() {
            prop_assert!(value.is_finite() && value >= 0.0);
        }
        prop_assert!(stats.wip_oldest.windows(2).all(|w| w[0].age_hours >= w[1].age_hours));
    }
}
