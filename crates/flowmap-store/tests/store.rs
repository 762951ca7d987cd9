//! The store's contract, run against SQLite and a real PostgreSQL.

use flowmap_core::events::{Change, Deployment, DeploymentKind, DeploymentStatus, Incident};
use flowmap_store::testing::TestDb;
use flowmap_store::{
    Batch, Counts, LoadQuery, RawRecord, RecordKind, Store, StoredEtag, SyncSnapshot, TimeRange,
    WriteMode,
};
use jiff::Timestamp;

fn t(s: &str) -> Timestamp {
    s.parse().expect("test time")
}

fn deployment(id: &str, service: &str, finished_at: &str) -> Deployment {
    Deployment::new(id, service, t(finished_at))
}

fn change(id: &str, service: &str, committed_at: &str) -> Change {
    Change::new(id, service, t(committed_at))
}

fn incident(id: &str, service: &str, started_at: &str) -> Incident {
    Incident::new(id, service, t(started_at))
}

fn counts(inserted: u64, updated: u64, unchanged: u64) -> Counts {
    Counts {
        inserted,
        updated,
        unchanged,
    }
}

/// One record of each kind with every optional field set.
fn full_batch() -> Batch {
    Batch {
        deployments: vec![Deployment {
            started_at: Some(t("2026-03-01T11:50:00Z")),
            commit: Some("4f2a9c1".into()),
            changes: vec!["c1".into(), "c2".into()],
            kind: DeploymentKind::Hotfix,
            fixes: Some("d0".into()),
            status: DeploymentStatus::Failure,
            environment: "staging".into(),
            ..deployment("d1", "checkout", "2026-03-01T12:00:00.123Z")
        }],
        changes: vec![Change {
            authored_at: Some(t("2026-02-27T09:00:00Z")),
            first_commit_at: Some(t("2026-02-27T09:30:00Z")),
            pr_opened_at: Some(t("2026-02-27T10:00:00Z")),
            first_review_at: Some(t("2026-02-27T11:00:00Z")),
            approved_at: Some(t("2026-02-27T12:00:00Z")),
            merged_at: Some(t("2026-02-28T08:00:00Z")),
            deployment: Some("d1".into()),
            author: Some("ana@example.com".into()),
            title: Some("Fix the \"total\" rounding; ünïcode".into()),
            reverts: Some("c0".into()),
            ..change("c1", "checkout", "2026-02-28T07:59:59.999Z")
        }],
        incidents: vec![Incident {
            detected_at: Some(t("2026-03-01T12:10:00Z")),
            acknowledged_at: Some(t("2026-03-01T12:15:00Z")),
            resolved_at: Some(t("2026-03-01T13:00:00Z")),
            caused_by: Some("d1".into()),
            severity: Some("sev2".into()),
            title: Some("Checkout errors".into()),
            ..incident("i1", "checkout", "2026-03-01T12:05:00Z")
        }],
        ..Batch::default()
    }
}

async fn empty_store_has_no_services_and_reopens(store: Store) {
    assert_eq!(store.services().await.unwrap(), Vec::<String>::new());
    assert_eq!(
        store.load(&LoadQuery::default()).await.unwrap().changes,
        vec![]
    );
}

async fn every_field_round_trips(store: Store) {
    let batch = full_batch();
    let summary = store.write("import", &batch).await.unwrap();
    assert_eq!(summary.deployments, counts(1, 0, 0));
    assert_eq!(summary.changes, counts(1, 0, 0));
    assert_eq!(summary.incidents, counts(1, 0, 0));

    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(data.deployments, batch.deployments);
    assert_eq!(data.changes, batch.changes);
    assert_eq!(data.incidents, batch.incidents);
}

async fn rewriting_is_idempotent_and_counts_changes(store: Store) {
    let batch = full_batch();
    store.write("import", &batch).await.unwrap();

    let again = store.write("import", &batch).await.unwrap();
    assert_eq!(again.deployments, counts(0, 0, 1));
    assert_eq!(again.changes, counts(0, 0, 1));
    assert_eq!(again.incidents, counts(0, 0, 1));

    let mut edited = batch.clone();
    edited.changes[0].title = None;
    edited
        .changes
        .push(change("c2", "checkout", "2026-02-28T09:00:00Z"));
    edited.incidents[0].resolved_at = Some(t("2026-03-01T14:00:00Z"));
    let summary = store.write("import", &edited).await.unwrap();
    assert_eq!(summary.deployments, counts(0, 0, 1));
    assert_eq!(summary.changes, counts(1, 1, 0));
    assert_eq!(summary.incidents, counts(0, 1, 0));

    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(data.changes, edited.changes);
    assert_eq!(data.incidents, edited.incidents);
}

async fn sources_keep_their_own_records(store: Store) {
    let batch = Batch {
        changes: vec![change("c1", "checkout", "2026-02-28T08:00:00Z")],
        ..Batch::default()
    };
    store.write("import", &batch).await.unwrap();
    let summary = store.write("git", &batch).await.unwrap();
    assert_eq!(summary.changes, counts(1, 0, 0));
    assert_eq!(
        store
            .load(&LoadQuery::default())
            .await
            .unwrap()
            .changes
            .len(),
        2
    );
}

async fn a_repeated_id_in_one_batch_is_applied_in_order(store: Store) {
    let first = change("c1", "checkout", "2026-02-28T08:00:00Z");
    let second = Change {
        title: Some("second".into()),
        ..first.clone()
    };
    let batch = Batch {
        changes: vec![
            first,
            change("c2", "checkout", "2026-02-28T09:00:00Z"),
            second.clone(),
        ],
        ..Batch::default()
    };
    let summary = store.write("import", &batch).await.unwrap();
    assert_eq!(summary.changes, counts(2, 1, 0));
    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(data.changes.len(), 2);
    assert_eq!(data.changes[0], second);
}

async fn large_batches_span_many_statements(store: Store) {
    // 1 500 changes need three statements of at most 571 rows each.
    let changes: Vec<Change> = (0..1_500)
        .map(|i| {
            let minute = i % 60;
            let hour = i / 60;
            change(
                &format!("c{i:04}"),
                if i % 3 == 0 { "search" } else { "checkout" },
                &format!(
                    "2026-01-{:02}T{:02}:{minute:02}:00Z",
                    1 + hour / 24,
                    hour % 24
                ),
            )
        })
        .collect();
    let batch = Batch {
        changes,
        ..Batch::default()
    };
    assert_eq!(
        store.write("import", &batch).await.unwrap().changes,
        counts(1_500, 0, 0)
    );
    assert_eq!(
        store.write("import", &batch).await.unwrap().changes,
        counts(0, 0, 1_500)
    );
    let search = store
        .load(&LoadQuery {
            services: vec!["search".into()],
            ..LoadQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(search.changes.len(), 500);
    assert_eq!(search.changes[0].id, "c0000");
    assert_eq!(search.changes[499].id, "c1497");
}

async fn loads_filter_by_service_environment_and_half_open_window(store: Store) {
    let staging = Deployment {
        environment: "staging".into(),
        ..deployment("d-stg", "checkout", "2026-03-02T00:00:00Z")
    };
    let batch = Batch {
        deployments: vec![
            deployment("d1", "checkout", "2026-03-01T00:00:00Z"),
            deployment("d2", "checkout", "2026-03-02T00:00:00Z"),
            deployment("d3", "checkout", "2026-03-03T00:00:00Z"),
            deployment("d4", "search", "2026-03-02T00:00:00Z"),
            staging,
        ],
        changes: vec![
            change("c1", "checkout", "2026-02-28T00:00:00Z"),
            change("c2", "search", "2026-02-28T00:00:00Z"),
        ],
        incidents: vec![
            incident("i1", "checkout", "2026-03-02T01:00:00Z"),
            incident("i2", "checkout", "2026-03-05T01:00:00Z"),
        ],
        ..Batch::default()
    };
    store.write("import", &batch).await.unwrap();

    let data = store
        .load(&LoadQuery {
            services: vec!["checkout".into()],
            environments: vec!["production".into()],
            deployments: TimeRange {
                from: Some(t("2026-03-02T00:00:00Z")),
                to: Some(t("2026-03-03T00:00:00Z")),
            },
            changes: TimeRange {
                from: None,
                to: Some(t("2026-03-03T00:00:00Z")),
            },
            incidents: TimeRange {
                from: Some(t("2026-03-02T00:00:00Z")),
                to: Some(t("2026-03-04T00:00:00Z")),
            },
            ..LoadQuery::default()
        })
        .await
        .unwrap();
    let ids = |ids: Vec<&str>| ids.into_iter().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        data.deployments
            .iter()
            .map(|d| d.id.clone())
            .collect::<Vec<_>>(),
        ids(vec!["d2"])
    );
    assert_eq!(
        data.changes
            .iter()
            .map(|c| c.id.clone())
            .collect::<Vec<_>>(),
        ids(vec!["c1"])
    );
    assert_eq!(
        data.incidents
            .iter()
            .map(|i| i.id.clone())
            .collect::<Vec<_>>(),
        ids(vec!["i1"])
    );

    let both = store
        .load(&LoadQuery {
            services: vec!["checkout".into(), "search".into()],
            ..LoadQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        both.deployments
            .iter()
            .map(|d| d.id.clone())
            .collect::<Vec<_>>(),
        ids(vec!["d1", "d-stg", "d2", "d4", "d3"])
    );
    assert_eq!(
        store.services().await.unwrap(),
        ids(vec!["checkout", "search"])
    );
}

async fn merge_mode_fills_in_what_events_know(store: Store) {
    let detected = Incident {
        detected_at: Some(t("2026-03-01T12:10:00Z")),
        title: Some("Checkout errors".into()),
        ..incident("i1", "checkout", "2026-03-01T12:10:00Z")
    };
    let resolved = Incident {
        resolved_at: Some(t("2026-03-01T13:00:00Z")),
        ..incident("i1", "checkout", "2026-03-01T13:00:00Z")
    };
    let reopened_and_resolved_again = Incident {
        resolved_at: Some(t("2026-03-01T15:00:00Z")),
        ..incident("i1", "checkout", "2026-03-01T15:00:00Z")
    };
    let events = |incidents: Vec<Incident>| Batch {
        mode: WriteMode::Merge,
        incidents,
        ..Batch::default()
    };
    store
        .write("cdevents", &events(vec![detected]))
        .await
        .unwrap();
    let summary = store
        .write(
            "cdevents",
            &events(vec![resolved.clone(), reopened_and_resolved_again]),
        )
        .await
        .unwrap();
    assert_eq!(summary.incidents, counts(0, 2, 0));
    // Repeating an event already merged changes nothing.
    let summary = store
        .write("cdevents", &events(vec![resolved]))
        .await
        .unwrap();
    assert_eq!(summary.incidents, counts(0, 0, 1));

    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(
        data.incidents,
        vec![Incident {
            detected_at: Some(t("2026-03-01T12:10:00Z")),
            resolved_at: Some(t("2026-03-01T15:00:00Z")),
            title: Some("Checkout errors".into()),
            ..incident("i1", "checkout", "2026-03-01T12:10:00Z")
        }]
    );
}

/// Deployment statuses that arrive out of order: the newest by event time wins, an older
/// one arriving late changes nothing (and counts as unchanged), a replay is unchanged.
async fn merged_deployments_keep_the_newest_status_by_event_time(store: Store) {
    let status = |status: DeploymentStatus, at: &str| Deployment {
        status,
        commit: Some("4f2a9c1".into()),
        ..deployment("d1", "checkout", at)
    };
    let events = |deployments: Vec<Deployment>| Batch {
        mode: WriteMode::Merge,
        deployments,
        ..Batch::default()
    };
    let failed_early = status(DeploymentStatus::Failure, "2026-03-01T12:00:00Z");
    let succeeded_later = status(DeploymentStatus::Success, "2026-03-01T12:05:00Z");
    let summary = store
        .write("github", &events(vec![succeeded_later.clone()]))
        .await
        .unwrap();
    assert_eq!(summary.deployments, counts(1, 0, 0));
    // The older failure arrives late: nothing changes, nothing is counted as updated.
    let summary = store
        .write("github", &events(vec![failed_early.clone()]))
        .await
        .unwrap();
    assert_eq!(summary.deployments, counts(0, 0, 1));
    // The same event again: unchanged.
    let summary = store
        .write("github", &events(vec![succeeded_later.clone()]))
        .await
        .unwrap();
    assert_eq!(summary.deployments, counts(0, 0, 1));
    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(data.deployments, vec![succeeded_later.clone()]);

    // A newer event does change it, and fields it lacks keep their values.
    let rolled_back = Deployment {
        commit: None,
        ..status(DeploymentStatus::Failure, "2026-03-01T12:30:00Z")
    };
    let summary = store
        .write("github", &events(vec![rolled_back]))
        .await
        .unwrap();
    assert_eq!(summary.deployments, counts(0, 1, 0));
    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(
        data.deployments,
        vec![status(DeploymentStatus::Failure, "2026-03-01T12:30:00Z")]
    );

    // Both orders within one batch end the same way.
    let both = |first: &Deployment, second: &Deployment| {
        events(vec![
            Deployment {
                id: "d2".into(),
                ..first.clone()
            },
            Deployment {
                id: "d2".into(),
                ..second.clone()
            },
        ])
    };
    store
        .write("other", &both(&succeeded_later, &failed_early))
        .await
        .unwrap();
    store
        .write("third", &both(&failed_early, &succeeded_later))
        .await
        .unwrap();
    let data = store.load(&LoadQuery::default()).await.unwrap();
    let d2: Vec<_> = data
        .deployments
        .iter()
        .filter(|d| d.id == "d2")
        .map(|d| (d.status, d.finished_at))
        .collect();
    assert_eq!(
        d2,
        [
            (DeploymentStatus::Success, t("2026-03-01T12:05:00Z")),
            (DeploymentStatus::Success, t("2026-03-01T12:05:00Z"))
        ]
    );

    // A file replaces whole records whatever their times: it is the user's correction.
    let summary = store
        .write(
            "github",
            &Batch {
                deployments: vec![failed_early.clone()],
                ..Batch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(summary.deployments, counts(0, 1, 0));
}

/// Incident and change events that arrive out of order: the event time is the latest of
/// the record's times, a late older event keeps its times but not its title, severity or
/// link, and a replay is unchanged.
async fn merged_incidents_and_changes_keep_the_newest_event(store: Store) {
    let merge = |incidents: Vec<Incident>, changes: Vec<Change>| Batch {
        mode: WriteMode::Merge,
        incidents,
        changes,
        ..Batch::default()
    };
    let detected = Incident {
        detected_at: Some(t("2026-03-01T12:00:00Z")),
        severity: Some("sev3".into()),
        title: Some("Slow checkout".into()),
        caused_by: Some("d0".into()),
        ..incident("i1", "checkout", "2026-03-01T12:00:00Z")
    };
    let escalated = Incident {
        acknowledged_at: Some(t("2026-03-01T12:20:00Z")),
        severity: Some("sev1".into()),
        title: Some("Checkout down".into()),
        caused_by: Some("d1".into()),
        ..incident("i1", "checkout", "2026-03-01T12:00:00Z")
    };
    let resolved = Incident {
        resolved_at: Some(t("2026-03-01T13:00:00Z")),
        ..incident("i1", "checkout", "2026-03-01T12:00:00Z")
    };
    let opened = Change {
        pr_opened_at: Some(t("2026-03-01T09:00:00Z")),
        title: Some("Draft: rounding".into()),
        author: Some("ana".into()),
        ..change("c1", "checkout", "2026-03-01T09:00:00Z")
    };
    let merged = Change {
        merged_at: Some(t("2026-03-01T11:00:00Z")),
        title: Some("Fix rounding".into()),
        ..change("c1", "checkout", "2026-03-01T09:00:00Z")
    };
    let summary = store
        .write(
            "cdevents",
            &merge(
                vec![escalated.clone(), resolved.clone()],
                vec![merged.clone()],
            ),
        )
        .await
        .unwrap();
    assert_eq!(summary.incidents, counts(1, 1, 0));
    assert_eq!(summary.changes, counts(1, 0, 0));
    let expected_incident = Incident {
        resolved_at: resolved.resolved_at,
        ..escalated.clone()
    };
    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(data.incidents, vec![expected_incident.clone()]);
    assert_eq!(data.changes, vec![merged.clone()]);

    // The older events arrive late: their times merge in, their text does not.
    let summary = store
        .write(
            "cdevents",
            &merge(vec![detected.clone()], vec![opened.clone()]),
        )
        .await
        .unwrap();
    assert_eq!(summary.incidents, counts(0, 1, 0), "detected_at is new");
    assert_eq!(summary.changes, counts(0, 1, 0), "pr_opened_at is new");
    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(
        data.incidents,
        vec![Incident {
            detected_at: detected.detected_at,
            ..expected_incident.clone()
        }]
    );
    assert_eq!(
        data.changes,
        vec![Change {
            pr_opened_at: opened.pr_opened_at,
            author: Some("ana".into()),
            ..merged.clone()
        }]
    );

    // Replaying every event, in any order, changes nothing.
    for _ in 0..2 {
        let summary = store
            .write(
                "cdevents",
                &merge(
                    vec![resolved.clone(), detected.clone(), escalated.clone()],
                    vec![opened.clone(), merged.clone()],
                ),
            )
            .await
            .unwrap();
        assert_eq!(summary.incidents, counts(0, 0, 3));
        assert_eq!(summary.changes, counts(0, 0, 2));
    }

    // A newer event (same latest time counts as newer) does change the text.
    let renamed = Incident {
        resolved_at: Some(t("2026-03-01T13:00:00Z")),
        title: Some("Checkout outage".into()),
        ..incident("i1", "checkout", "2026-03-01T12:00:00Z")
    };
    let summary = store
        .write("cdevents", &merge(vec![renamed], vec![]))
        .await
        .unwrap();
    assert_eq!(summary.incidents, counts(0, 1, 0));
    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(data.incidents[0].title.as_deref(), Some("Checkout outage"));
    assert_eq!(data.incidents[0].severity.as_deref(), Some("sev1"));
}

async fn a_dropped_writer_leaves_nothing(store: Store) {
    let mut writer = store.begin("import").await.unwrap();
    writer.write(&full_batch()).await.unwrap();
    writer.set_meta("git:repo:head", "abc").await.unwrap();
    drop(writer);
    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(
        (
            data.deployments.len(),
            data.changes.len(),
            data.incidents.len()
        ),
        (0, 0, 0)
    );
    assert_eq!(store.get_meta("git:repo:head").await.unwrap(), None);

    let mut writer = store.begin("import").await.unwrap();
    writer.write(&full_batch()).await.unwrap();
    writer.rollback().await.unwrap();
    assert_eq!(
        store
            .load(&LoadQuery::default())
            .await
            .unwrap()
            .changes
            .len(),
        0
    );
}

async fn a_committed_writer_keeps_records_and_meta_together(store: Store) {
    let mut writer = store.begin("git").await.unwrap();
    writer.write(&full_batch()).await.unwrap();
    writer
        .write(&Batch {
            changes: vec![change("c9", "checkout", "2026-03-01T00:00:00Z")],
            ..Batch::default()
        })
        .await
        .unwrap();
    writer.set_meta("git:repo:head", "4f2a9c1").await.unwrap();
    let total = writer.commit().await.unwrap();
    assert_eq!(total.changes, counts(2, 0, 0));
    assert_eq!(total.deployments, counts(1, 0, 0));
    assert_eq!(
        store.get_meta("git:repo:head").await.unwrap().as_deref(),
        Some("4f2a9c1")
    );

    store.set_meta("git:repo:head", "5b0e2d7").await.unwrap();
    assert_eq!(
        store.get_meta("git:repo:head").await.unwrap().as_deref(),
        Some("5b0e2d7")
    );
    assert_eq!(store.get_meta("other").await.unwrap(), None);
}

async fn raw_inputs_are_kept_once_per_body(store: Store) {
    let raw = |body: &str, at: &str| RawRecord {
        kind: RecordKind::Incident,
        record_id: "i1".into(),
        received_at: t(at),
        body: body.into(),
    };
    let batch = Batch {
        mode: WriteMode::Merge,
        incidents: vec![incident("i1", "checkout", "2026-03-01T12:00:00Z")],
        raw: vec![
            raw(r#"{"type":"detected"}"#, "2026-03-01T12:00:00Z"),
            raw(r#"{"type":"resolved"}"#, "2026-03-01T13:00:00Z"),
        ],
        ..Batch::default()
    };
    store.write("cdevents", &batch).await.unwrap();
    store.write("cdevents", &batch).await.unwrap();
    let kept = store
        .raw_records("cdevents", RecordKind::Incident, "i1")
        .await
        .unwrap();
    assert_eq!(kept, batch.raw);
    assert_eq!(
        store
            .raw_records("other", RecordKind::Incident, "i1")
            .await
            .unwrap(),
        vec![]
    );
}

async fn empty_source_and_ids_are_refused(store: Store) {
    let err = store.write("", &full_batch()).await.unwrap_err();
    assert_eq!(err.to_string(), "invalid source: must not be empty");
    let batch = Batch {
        changes: vec![change("", "checkout", "2026-03-01T00:00:00Z")],
        ..Batch::default()
    };
    let err = store.write("import", &batch).await.unwrap_err();
    assert_eq!(err.to_string(), "invalid changes id: must not be empty");
}

/// NUL bytes and over-long ids went into SQLite but failed PostgreSQL (with its own line
/// number); both refuse them now, before any SQL, with the record and field named.
async fn both_backends_refuse_the_same_bad_records(store: Store) {
    let mut nul = change("c1", "shop", "2026-03-01T00:00:00Z");
    nul.title = Some("fix\0".into());
    let long_id = change(&"x".repeat(3000), "shop", "2026-03-01T00:00:00Z");
    let mut self_fix = deployment("d1", "shop", "2026-03-01T00:00:00Z");
    self_fix.kind = DeploymentKind::Hotfix;
    self_fix.fixes = Some("d1".into());
    let cases = [
        (
            Batch {
                changes: vec![nul],
                ..Batch::default()
            },
            "invalid change \"c1\" title: contains a NUL byte",
        ),
        (
            Batch {
                changes: vec![long_id],
                ..Batch::default()
            },
            "is 3000 bytes long; the limit is 512 bytes",
        ),
        (
            Batch {
                deployments: vec![self_fix],
                ..Batch::default()
            },
            "invalid deployment \"d1\" fixes: a deployment cannot fix itself",
        ),
    ];
    for (batch, message) in cases {
        let err = store.write("import", &batch).await.unwrap_err().to_string();
        assert!(err.contains(message), "{err}");
    }
    assert!(
        store.services().await.unwrap().is_empty(),
        "nothing was written"
    );
}

/// Backfill progress: cursors and ETags per source, saved with the records of a page, gone
/// with a dropped writer, replaced in place, and forgotten on request.
async fn sync_state_is_kept_per_source_in_the_writers_transaction(store: Store) {
    assert_eq!(
        store.load_sync("github:a/b").await.unwrap(),
        SyncSnapshot::default()
    );
    let etag = |url: &str, etag: &str| StoredEtag {
        url: url.into(),
        etag: etag.into(),
        extract: format!("{{\"items\":[],\"next\":\"{url}?page=2\"}}"),
    };

    let mut writer = store.begin("github:a/b").await.unwrap();
    writer.write(&full_batch()).await.unwrap();
    writer
        .save_cursor("pulls", Some("{\"next\":null}"))
        .await
        .unwrap();
    writer
        .save_etags(&[etag("https://x/pulls", "\"e1\"")])
        .await
        .unwrap();
    drop(writer);
    assert_eq!(
        store.load_sync("github:a/b").await.unwrap(),
        SyncSnapshot::default()
    );

    let mut writer = store.begin("github:a/b").await.unwrap();
    writer.save_cursor("pulls", Some("one")).await.unwrap();
    writer
        .save_cursor("deployments:production", Some("two"))
        .await
        .unwrap();
    writer
        .save_etags(&[etag("https://x/pulls", "\"e1\"")])
        .await
        .unwrap();
    writer.commit().await.unwrap();
    let mut writer = store.begin("github:c/d").await.unwrap();
    writer
        .save_cursor("pulls", Some("other source"))
        .await
        .unwrap();
    writer.commit().await.unwrap();

    let mut writer = store.begin("github:a/b").await.unwrap();
    writer.save_cursor("pulls", Some("three")).await.unwrap();
    writer
        .save_cursor("deployments:production", None)
        .await
        .unwrap();
    writer
        .save_etags(&[etag("https://x/pulls", "\"e2\"")])
        .await
        .unwrap();
    writer.commit().await.unwrap();
    let saved = store.load_sync("github:a/b").await.unwrap();
    assert_eq!(
        saved.cursors,
        vec![("pulls".to_string(), "three".to_string())]
    );
    assert_eq!(saved.etags, vec![etag("https://x/pulls", "\"e2\"")]);
    assert_eq!(
        store.load_sync("github:c/d").await.unwrap().cursors,
        vec![("pulls".to_string(), "other source".to_string())]
    );
}

on_both_backends!(
    both_backends_refuse_the_same_bad_records,
    sync_state_is_kept_per_source_in_the_writers_transaction,
    empty_store_has_no_services_and_reopens,
    every_field_round_trips,
    rewriting_is_idempotent_and_counts_changes,
    sources_keep_their_own_records,
    a_repeated_id_in_one_batch_is_applied_in_order,
    large_batches_span_many_statements,
    loads_filter_by_service_environment_and_half_open_window,
    merge_mode_fills_in_what_events_know,
    merged_deployments_keep_the_newest_status_by_event_time,
    merged_incidents_and_changes_keep_the_newest_event,
    a_dropped_writer_leaves_nothing,
    a_committed_writer_keeps_records_and_meta_together,
    raw_inputs_are_kept_once_per_body,
    empty_source_and_ids_are_refused,
);

#[tokio::test]
async fn sqlite_locations_accept_a_path_or_sqlite_prefix_and_reopen() {
    let db = TestDb::sqlite();
    let path = db.location();
    let store = Store::open(&path).await.unwrap();
    store.write("import", &full_batch()).await.unwrap();
    assert!(
        std::path::Path::new(&format!("{path}-wal")).exists(),
        "WAL mode is on"
    );
    store.close().await;

    for location in [format!("sqlite:{path}"), format!("sqlite://{path}")] {
        let store = Store::open(&location).await.unwrap();
        assert_eq!(
            store.services().await.unwrap(),
            vec!["checkout".to_string()]
        );
        store.close().await;
    }
}

#[tokio::test]
async fn a_missing_directory_is_a_clear_error() {
    let db = TestDb::sqlite();
    let location = std::path::Path::new(&db.location())
        .with_file_name("no/such/dir/flowmap.db")
        .display()
        .to_string();
    let err = Store::open(&location).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot open the database at {location}:")),
        "{err}"
    );
    assert!(Store::open("sqlite:").await.is_err());
}

#[tokio::test]
async fn an_unusable_database_fails_within_seconds_and_says_why() {
    // Both used to wait 30 s for the pool and then only say "pool timed out".
    let cases = [
        ("/dev/null", "cannot open the database at /dev/null: "),
        (
            "postgres://flowmap:hunter2@127.0.0.1:1/flowmap",
            "cannot open the database at postgres://flowmap:***@127.0.0.1:1/flowmap: ",
        ),
    ];
    for (location, prefix) in cases {
        let started = std::time::Instant::now();
        let err = Store::open(location).await.unwrap_err().to_string();
        let elapsed = started.elapsed();
        assert!(err.starts_with(prefix), "{err}");
        assert!(
            !err.contains("hunter2") && !err.contains("timed out"),
            "{err}"
        );
        assert!(
            elapsed < flowmap_store::CONNECT_TIMEOUT,
            "{location}: {elapsed:?}"
        );
    }
}

/// Opens a fresh database from two pools at once, as two first-time `flowmap import` runs
/// do: both must succeed and leave one applied schema.
async fn open_twice_at_once(location: &str) {
    let (first, second) = tokio::join!(Store::open(location), Store::open(location));
    let (first, second) = (first.expect("first open"), second.expect("second open"));
    first.write("import", &full_batch()).await.expect("write");
    assert_eq!(
        second.services().await.unwrap(),
        vec!["checkout".to_string()]
    );
    first.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_time_migrations_run_one_at_a_time_on_sqlite() {
    // Without a lock, 6 of 20 such pairs failed: "table webhook_deliveries already exists".
    for _ in 0..20 {
        let db = TestDb::sqlite();
        open_twice_at_once(&db.location()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_time_migrations_run_one_at_a_time_on_postgres() {
    for _ in 0..5 {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        open_twice_at_once(&db.location()).await;
    }
}

/// A read-only PostgreSQL — a standby serving the pages; here a database whose
/// transactions are read-only by default — opens without migrating when its schema is
/// this version's. It serves lists, totals and reports over every service, refuses writes,
/// and refuses to open when its schema is behind, naming the missing migration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_postgres_serves_reads_and_refuses_writes() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let primary = Store::open(&db.location()).await.unwrap();
    let at = |second: i64| Timestamp::from_second(1_764_000_000 + second).unwrap();
    let batch = Batch {
        deployments: (0..6)
            .map(|n| Deployment::new(format!("d{n}"), ["shop", "search"][n % 2], at(n as i64)))
            .collect(),
        changes: (0..10)
            .map(|n| Change::new(format!("c{n}"), ["shop", "search"][n % 2], at(n as i64)))
            .collect(),
        ..Batch::default()
    };
    // A bulk write leaves the totals for the next read to count.
    let mut writer = primary.begin("import").await.unwrap();
    writer.write_bulk(&batch).await.unwrap();
    writer.commit().await.unwrap();
    let separator = if db.location().contains('?') {
        '&'
    } else {
        '?'
    };
    let read_only = format!(
        "{}{separator}options=-c%20default_transaction_read_only%3Don",
        db.location()
    );
    let replica = Store::open(&read_only).await.unwrap();
    // The primary has not counted the tables since: the replica counts without keeping.
    for (table, total) in [("deployments", 6), ("changes", 10)] {
        assert_eq!(
            replica
                .count_records(table, None, TimeRange::ALL)
                .await
                .unwrap(),
            total
        );
    }
    let options = flowmap_core::dora::DoraOptions::new(at(-10), at(100));
    let mut groups = replica.load_grouped(&flowmap_store::LoadQuery::for_dora(&options));
    let mut changes = 0;
    while let Some(group) = groups.next().await {
        changes += group.unwrap().changes.len();
    }
    assert_eq!(changes, 10);
    let error = replica
        .write("import", &batch)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("read-only transaction"), "{error}");
    replica.close().await;

    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&db.location())
        .await
        .unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 100")
        .execute(&mut admin)
        .await
        .unwrap();
    let error = Store::open(&read_only).await.err().unwrap().to_string();
    assert!(
        error.contains("lacks migration 100 (record_counts)")
            && error.contains("start this version of flowmap on the primary first"),
        "{error}"
    );
}
