//! What serving a whole organisation relies on: the data version every write raises, and
//! lists paged in SQL by cursor, alike on SQLite and PostgreSQL.

use flowmap_core::events::{Change, Deployment};
use flowmap_store::{Batch, ListQuery, ListStart, Store, TimeRange};
use jiff::Timestamp;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + second).expect("test time")
}

async fn every_write_raises_the_data_version(store: Store) {
    let mut version = store.data_version().await.unwrap();
    let mut raised = |now: i64, what: &str| {
        assert!(now > version, "{what}: {now} after {version}");
        version = now;
    };
    let batch = Batch {
        deployments: vec![Deployment::new("d1", "shop", at(0))],
        ..Batch::default()
    };
    store.write("import", &batch).await.unwrap();
    raised(store.data_version().await.unwrap(), "a write");
    store.write("import", &batch).await.unwrap();
    raised(store.data_version().await.unwrap(), "an unchanged write");
    let mut writer = store.begin("git:shop").await.unwrap();
    writer.write(&batch).await.unwrap();
    writer.delete_deployments().await.unwrap();
    writer.commit().await.unwrap();
    raised(store.data_version().await.unwrap(), "a replacement");
    store.delete_source("import").await.unwrap();
    raised(store.data_version().await.unwrap(), "a deletion");
    // A rolled-back write changes nothing, so it keeps the version.
    let mut writer = store.begin("import").await.unwrap();
    writer.write(&batch).await.unwrap();
    writer.rollback().await.unwrap();
    assert_eq!(store.data_version().await.unwrap(), version);
    // Reads never raise it.
    store.services().await.unwrap();
    assert_eq!(store.data_version().await.unwrap(), version);
}

/// 30 deployments in two sources, with times shared by several records, so pages must
/// order ties by source and id the same way on both backends.
async fn cursor_pages_walk_every_record_once_newest_first(store: Store) {
    let mut expected = Vec::new();
    for source in ["b-import", "a-git"] {
        let deployments: Vec<Deployment> = (0..15)
            .map(|n| {
                let service = if n % 3 == 0 { "search" } else { "shop" };
                // Ids whose byte order differs from a natural or case-blind order.
                let id = ["Z", "a", "B", "_", "9", "10"][n % 6].to_owned() + &n.to_string();
                Deployment::new(&id, service, at((n / 4) as i64 * 60))
            })
            .collect();
        for d in &deployments {
            expected.push((
                d.finished_at,
                source.to_owned(),
                d.id.clone(),
                d.service.clone(),
            ));
        }
        let batch = Batch {
            deployments,
            ..Batch::default()
        };
        store.write(source, &batch).await.unwrap();
    }
    expected.sort();
    expected.reverse();

    for service in [None, Some("shop")] {
        let want: Vec<String> = expected
            .iter()
            .filter(|e| service.is_none_or(|s| e.3 == s))
            .map(|e| e.2.clone())
            .collect();
        let mut seen = Vec::new();
        let mut start = ListStart::First;
        let mut pages = 0;
        loop {
            let query = ListQuery {
                service: service.map(str::to_owned),
                range: TimeRange::ALL,
                limit: 7,
                start: start.clone(),
            };
            let page = store.list_deployments(&query).await.unwrap();
            assert!(page.items.len() <= 7);
            pages += 1;
            seen.extend(page.items.iter().map(|d| d.id.clone()));
            match page.next {
                Some(cursor) => start = ListStart::After(cursor),
                None => break,
            }
        }
        assert_eq!(seen, want, "service {service:?}");
        assert_eq!(pages, want.len().div_ceil(7), "no empty last page");

        // Numbered pages see the same order, and the count agrees.
        let third = store
            .list_deployments(&ListQuery {
                service: service.map(str::to_owned),
                range: TimeRange::ALL,
                limit: 7,
                start: ListStart::Offset(14),
            })
            .await
            .unwrap();
        let ids: Vec<String> = third.items.iter().map(|d| d.id.clone()).collect();
        assert_eq!(ids, want[14.min(want.len())..21.min(want.len())]);
        let total = store
            .count_records("deployments", service, TimeRange::ALL)
            .await
            .unwrap();
        assert_eq!(total, want.len() as u64);
    }

    // A window narrows the list on the record's own time.
    let window = TimeRange {
        from: Some(at(60)),
        to: Some(at(180)),
    };
    let page = store
        .list_deployments(&ListQuery {
            service: None,
            range: window,
            limit: 100,
            start: ListStart::First,
        })
        .await
        .unwrap();
    let want = expected
        .iter()
        .filter(|e| e.0 >= at(60) && e.0 < at(180))
        .count();
    assert_eq!(page.items.len(), want);
    assert!(page.next.is_none());
}

async fn changes_and_incidents_page_like_deployments(store: Store) {
    let changes: Vec<Change> = (0..5)
        .map(|n| Change::new(format!("c{n}"), "shop", at(n)))
        .collect();
    store
        .write(
            "import",
            &Batch {
                changes,
                ..Batch::default()
            },
        )
        .await
        .unwrap();
    let query = ListQuery {
        limit: 2,
        ..ListQuery::default()
    };
    let first = store.list_changes(&query).await.unwrap();
    let ids: Vec<&str> = first.items.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["c4", "c3"]);
    let next = first.next.expect("more");
    let second = store
        .list_changes(&ListQuery {
            start: ListStart::After(next),
            ..query.clone()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = second.items.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["c2", "c1"]);
    let incidents = store.list_incidents(&query).await.unwrap();
    assert!(incidents.items.is_empty() && incidents.next.is_none());
}

/// A DORA load leaves out the texts no metric reads, and nothing else.
async fn dora_loads_leave_out_descriptions_only(store: Store) {
    let mut change = Change::new("c1", "shop", at(0));
    change.author = Some("ada@example.com".into());
    change.title = Some("fix the cart".into());
    change.reverts = Some("c0".into());
    change.deployment = Some("d1".into());
    change.merged_at = Some(at(10));
    let mut incident = flowmap_core::events::Incident::new("i1", "shop", at(20));
    incident.severity = Some("sev1".into());
    incident.title = Some("cart down".into());
    incident.caused_by = Some("d1".into());
    let batch = Batch {
        deployments: vec![Deployment::new("d1", "shop", at(5))],
        changes: vec![change.clone()],
        incidents: vec![incident.clone()],
        ..Batch::default()
    };
    store.write("import", &batch).await.unwrap();
    let full = store
        .load(&flowmap_store::LoadQuery::default())
        .await
        .unwrap();
    assert_eq!(full.changes, [change.clone()]);
    assert_eq!(full.incidents, [incident.clone()]);
    let options = flowmap_core::dora::DoraOptions::new(at(0), at(100));
    let lean = store
        .load(&flowmap_store::LoadQuery::for_dora(&options))
        .await
        .unwrap();
    change.author = None;
    change.title = None;
    change.reverts = None;
    incident.severity = None;
    incident.title = None;
    assert_eq!(lean.changes, [change]);
    assert_eq!(lean.incidents, [incident]);
    assert_eq!(lean.deployments, full.deployments);
}

on_both_backends!(
    dora_loads_leave_out_descriptions_only,
    every_write_raises_the_data_version,
    cursor_pages_walk_every_record_once_newest_first,
    changes_and_incidents_page_like_deployments,
);
