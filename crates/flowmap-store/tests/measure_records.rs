//! Builds and milestones on SQLite and a real PostgreSQL: idempotent writes, windowed
//! loads, and the same measured map from both backends.

mod common;

use flowmap_core::events::{Build, Change, Deployment, DeploymentStatus, Milestone};
use flowmap_core::map::{AnalysisOptions, Format, parse_map};
use flowmap_core::measure::{MeasureData, MeasureOptions, measure_map};
use flowmap_store::testing::TestDb;
use flowmap_store::{Batch, Counts, LoadQuery, RawRecord, RecordKind, Store, TimeRange};
use jiff::{SignedDuration, Timestamp};

fn t(s: &str) -> Timestamp {
    s.parse().expect("test time")
}

fn counts(inserted: u64, updated: u64, unchanged: u64) -> Counts {
    Counts {
        inserted,
        updated,
        unchanged,
    }
}

fn milestone(item: &str, name: &str, at: &str, service: Option<&str>) -> Milestone {
    Milestone {
        item: item.into(),
        name: name.into(),
        at: t(at),
        service: service.map(Into::into),
    }
}

fn batch() -> Batch {
    let mut b1 = Build::new(
        "b1",
        "checkout",
        t("2026-03-01T10:00:00Z"),
        t("2026-03-01T10:12:30.250Z"),
    );
    b1.commit = Some("4f2a9c1".into());
    b1.changes = vec!["c1".into(), "c2".into()];
    b1.name = Some("CI".into());
    let mut b2 = Build::new(
        "b2",
        "billing",
        t("2026-03-02T10:00:00Z"),
        t("2026-03-02T10:05:00Z"),
    );
    b2.status = DeploymentStatus::Failure;
    Batch {
        builds: vec![b1, b2],
        milestones: vec![
            milestone("c1", "qa_passed", "2026-03-01T12:00:00Z", Some("checkout")),
            milestone("c1", "qa_passed", "2026-03-01T15:00:00Z", None),
            milestone(
                "c9",
                "cab_approved",
                "2026-03-03T09:00:00Z",
                Some("billing"),
            ),
        ],
        ..Batch::default()
    }
}

fn everything() -> LoadQuery {
    LoadQuery {
        builds: Some(TimeRange::ALL),
        milestones: Some(TimeRange::ALL),
        ..LoadQuery::default()
    }
}

async fn builds_and_milestones_round_trip_idempotently(store: Store) {
    let batch = batch();
    let summary = store.write("import", &batch).await.unwrap();
    assert_eq!(summary.builds, counts(2, 0, 0));
    assert_eq!(summary.milestones, counts(3, 0, 0));
    let again = store.write("import", &batch).await.unwrap();
    assert_eq!(again.builds, counts(0, 0, 2));
    assert_eq!(again.milestones, counts(0, 0, 3));

    let mut edited = batch.clone();
    edited.builds[0].name = Some("CI (main)".into());
    let summary = store.write("import", &edited).await.unwrap();
    assert_eq!(summary.builds, counts(0, 1, 1));

    let data = store.load(&everything()).await.unwrap();
    assert_eq!(data.builds, edited.builds);
    // Sorted by time: both of c1's qa_passed milestones are kept (the earliest counts).
    assert_eq!(data.milestones, batch.milestones);
    // Without asking, a load brings neither (DORA never reads them).
    let plain = store.load(&LoadQuery::default()).await.unwrap();
    assert!(plain.builds.is_empty() && plain.milestones.is_empty());
}

async fn loads_filter_builds_and_milestones_by_service_and_window(store: Store) {
    store.write("import", &batch()).await.unwrap();
    let checkout = store
        .load(&LoadQuery::for_measure("checkout"))
        .await
        .unwrap();
    let ids: Vec<&str> = checkout.builds.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["b1"]);
    // A milestone without a service belongs to whichever service's item it names.
    assert_eq!(checkout.milestones.len(), 2);
    let windowed = store
        .load(&LoadQuery {
            builds: Some(TimeRange {
                from: Some(t("2026-03-02T00:00:00Z")),
                to: Some(t("2026-03-02T10:05:00Z")),
            }),
            milestones: Some(TimeRange {
                from: Some(t("2026-03-01T15:00:00Z")),
                to: None,
            }),
            ..LoadQuery::default()
        })
        .await
        .unwrap();
    assert!(
        windowed.builds.is_empty(),
        "finished_at is excluded at `to`"
    );
    assert_eq!(windowed.milestones.len(), 2);
}

async fn raw_input_can_stand_behind_builds_and_milestones(store: Store) {
    let mut batch = batch();
    batch.raw = vec![RawRecord {
        kind: RecordKind::Build,
        record_id: "b1".into(),
        received_at: t("2026-03-01T10:13:00Z"),
        body: "{\"workflow_run\":{}}".into(),
    }];
    store.write("github", &batch).await.unwrap();
    let raw = store
        .raw_records("github", RecordKind::Build, "b1")
        .await
        .unwrap();
    assert_eq!(raw.len(), 1);
}

on_both_backends!(
    builds_and_milestones_round_trip_idempotently,
    loads_filter_builds_and_milestones_by_service_and_window,
    raw_input_can_stand_behind_builds_and_milestones,
);

/// A small service history with builds and milestones.
fn history() -> Batch {
    let origin = t("2026-03-02T00:00:00Z");
    let at = |h: i64| origin + SignedDuration::from_mins(h * 37);
    let mut batch = Batch::default();
    for i in 0..40 {
        let id = format!("c{i}");
        let mut c = Change::new(&id, "checkout", at(i * 10));
        c.pr_opened_at = Some(at(i * 10 + 1));
        c.first_review_at = Some(at(i * 10 + 2 + i % 7));
        c.approved_at = Some(at(i * 10 + 9 + i % 3));
        c.merged_at = Some(at(i * 10 + 12));
        batch.changes.push(c);
        if i % 4 == 3 {
            let mut d = Deployment::new(format!("d{i}"), "checkout", at(i * 10 + 20 + i % 5));
            d.changes = (i - 3..=i).map(|k| format!("c{k}")).collect();
            d.commit = Some(format!("sha{i}"));
            batch.deployments.push(d);
            let mut b = Build::new(
                format!("b{i}"),
                "checkout",
                at(i * 10 + 13),
                at(i * 10 + 15),
            );
            b.commit = Some(format!("sha{i}"));
            batch.builds.push(b);
        }
        if i % 3 == 0 {
            batch.milestones.push(Milestone {
                item: id,
                name: "qa_passed".into(),
                at: at(i * 10 + 14),
                service: None,
            });
        }
    }
    batch
}

async fn measured_json(store: &Store) -> String {
    store.write("import", &history()).await.unwrap();
    let data = store
        .load(&LoadQuery::for_measure("checkout"))
        .await
        .unwrap();
    let map = parse_map(
        "name: m\nsteps:\n\
         \x20 - id: review\n    wait: 1h\n    process: 2h\n    measure: { wait: pr_opened..first_review, process: first_review..approved }\n\
         \x20 - id: qa\n    process: 1h\n    measure: { process: merged..event:qa_passed }\n\
         \x20 - id: build\n    process: 1h\n    measure: { process: build_started..build_finished, ca: change_fail_rate }\n",
        Format::Yaml,
    )
    .unwrap()
    .map;
    let options = MeasureOptions {
        service: "checkout".into(),
        environment: "production".into(),
        since: t("2026-03-02T00:00:00Z"),
        until: t("2026-03-12T00:00:00Z"),
        attribution_window: SignedDuration::from_hours(24),
        analysis: AnalysisOptions::default(),
        explain: true,
    };
    let input = MeasureData {
        deployments: &data.deployments,
        changes: &data.changes,
        incidents: &data.incidents,
        builds: &data.builds,
        milestones: &data.milestones,
    };
    let report = measure_map(&map, &input, &options).unwrap();
    assert!(report.steps.iter().all(|s| s.measured_hours.is_some()));
    serde_json::to_string_pretty(&report).unwrap()
}

#[tokio::test]
async fn sqlite_and_postgres_measure_the_same_map_alike() {
    let Some(pg) = TestDb::postgres().await else {
        return;
    };
    let lite = TestDb::sqlite();
    let from_sqlite = measured_json(&Store::open(&lite.location()).await.unwrap()).await;
    let pg_store = Store::open(&pg.location()).await.unwrap();
    let from_postgres = measured_json(&pg_store).await;
    pg_store.close().await;
    assert_eq!(from_sqlite, from_postgres);
}
