//! What serving a whole organisation relies on: the data version every write raises, and
//! lists paged in SQL by cursor, alike on SQLite and PostgreSQL.

use flowmap_core::events::{Change, Deployment};
use flowmap_store::{Batch, Cursor, ListQuery, ListStart, Position, Store, TimeRange};
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
        let listed: Vec<_> = expected
            .iter()
            .filter(|e| service.is_none_or(|s| e.3 == s))
            .collect();
        let want: Vec<String> = listed.iter().map(|e| e.2.clone()).collect();
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

        // Numbered pages see the same order at every offset, past the end too, and the
        // count agrees.
        for skip in 0..=want.len() + 1 {
            let page = store
                .list_deployments(&ListQuery {
                    service: service.map(str::to_owned),
                    range: TimeRange::ALL,
                    limit: 7,
                    start: ListStart::Offset(skip as u64),
                })
                .await
                .unwrap();
            let ids: Vec<String> = page.items.iter().map(|d| d.id.clone()).collect();
            let end = (skip + 7).min(want.len());
            assert_eq!(ids, want[skip.min(want.len())..end], "offset {skip}");
            assert_eq!(page.next.is_some(), end < want.len(), "offset {skip}");
        }
        // Counted from a record whose place is known, forward or back, every offset
        // gives the same page.
        let len = listed.len() as u64;
        for index in [0, 1, len / 2, len - 2, len - 1] {
            let e = listed[index as usize];
            let known = Position {
                index,
                key: Cursor {
                    time: e.0.as_millisecond(),
                    source: e.1.clone(),
                    id: e.2.clone(),
                },
            };
            for skip in 0..=len + 1 {
                let query = |start| ListQuery {
                    service: service.map(str::to_owned),
                    range: TimeRange::ALL,
                    limit: 7,
                    start,
                };
                let from_known = ListStart::OffsetFrom {
                    skip,
                    known: known.clone(),
                };
                let page = store.list_deployments(&query(from_known)).await.unwrap();
                let plain = store
                    .list_deployments(&query(ListStart::Offset(skip)))
                    .await
                    .unwrap();
                assert_eq!(page, plain, "offset {skip} from {index}");
                let from_end = ListStart::OffsetFromEnd { skip, total: len };
                let page = store.list_deployments(&query(from_end)).await.unwrap();
                assert_eq!(page, plain, "offset {skip} from the end");
            }
        }
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

    // Small pages inside the window, by cursor and by number, with and without a
    // service: every record of the window once, in order.
    for service in [None, Some("shop")] {
        let want: Vec<String> = expected
            .iter()
            .filter(|e| e.0 >= at(60) && e.0 < at(180) && service.is_none_or(|s| e.3 == s))
            .map(|e| e.2.clone())
            .collect();
        let query = |start| ListQuery {
            service: service.map(str::to_owned),
            range: window,
            limit: 3,
            start,
        };
        let mut seen = Vec::new();
        let mut start = ListStart::First;
        loop {
            let page = store.list_deployments(&query(start)).await.unwrap();
            seen.extend(page.items.iter().map(|d| d.id.clone()));
            match page.next {
                Some(cursor) => start = ListStart::After(cursor),
                None => break,
            }
        }
        assert_eq!(seen, want, "service {service:?}");
        let mut numbered = Vec::new();
        for skip in (0..want.len() + 3).step_by(3) {
            let page = store
                .list_deployments(&query(ListStart::Offset(skip as u64)))
                .await
                .unwrap();
            numbered.extend(page.items.iter().map(|d| d.id.clone()));
        }
        assert_eq!(numbered, want, "service {service:?}");
        // Counted back from the window's oldest record or its end, and on from each
        // page's last.
        let oldest = expected
            .iter()
            .rfind(|e| e.0 >= at(60) && e.0 < at(180) && service.is_none_or(|s| e.3 == s))
            .expect("records in the window");
        let oldest = Position {
            index: want.len() as u64 - 1,
            key: Cursor {
                time: oldest.0.as_millisecond(),
                source: oldest.1.clone(),
                id: oldest.2.clone(),
            },
        };
        let mut backwards = Vec::new();
        let mut from_end = Vec::new();
        let mut onwards = Vec::new();
        let mut previous: Option<Position> = None;
        for skip in (0..want.len() as u64 + 3).step_by(3) {
            let page = store
                .list_deployments(&query(ListStart::OffsetFrom {
                    skip,
                    known: oldest.clone(),
                }))
                .await
                .unwrap();
            backwards.extend(page.items.iter().map(|d| d.id.clone()));
            let total = want.len() as u64;
            let page = store
                .list_deployments(&query(ListStart::OffsetFromEnd { skip, total }))
                .await
                .unwrap();
            from_end.extend(page.items.iter().map(|d| d.id.clone()));
            let start = match previous.take() {
                Some(known) => ListStart::OffsetFrom { skip, known },
                None => ListStart::Offset(skip),
            };
            let page = store.list_deployments(&query(start)).await.unwrap();
            onwards.extend(page.items.iter().map(|d| d.id.clone()));
            previous = page.next.map(|key| Position {
                index: skip + 2,
                key,
            });
        }
        assert_eq!(backwards, want, "service {service:?}");
        assert_eq!(from_end, want, "service {service:?}");
        assert_eq!(onwards, want, "service {service:?}");
    }
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
async fn dora_loads_read_only_what_dora_reads(store: Store) {
    let mut change = Change::new("c1", "shop", at(0));
    change.author = Some("ada@example.com".into());
    change.title = Some("fix the cart".into());
    change.reverts = Some("c0".into());
    change.deployment = Some("d1".into());
    change.first_commit_at = Some(at(-50));
    change.merged_at = Some(at(3));
    let mut incident = flowmap_core::events::Incident::new("i1", "shop", at(20));
    incident.severity = Some("sev1".into());
    incident.title = Some("cart down".into());
    incident.caused_by = Some("d1".into());
    incident.detected_at = Some(at(21));
    incident.resolved_at = Some(at(40));
    let mut deployment = Deployment::new("d1", "shop", at(5));
    deployment.started_at = Some(at(4));
    deployment.commit = Some("abc".into());
    let batch = Batch {
        deployments: vec![deployment.clone()],
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
    assert_eq!(full.deployments, [deployment.clone()]);
    let options = flowmap_core::dora::DoraOptions::new(at(0), at(100));
    let lean = store
        .load(&flowmap_store::LoadQuery::for_dora(&options))
        .await
        .unwrap();
    change.author = None;
    change.title = None;
    change.reverts = None;
    change.first_commit_at = None;
    change.merged_at = None;
    incident.severity = None;
    incident.title = None;
    incident.detected_at = None;
    deployment.started_at = None;
    assert_eq!(lean.changes, [change]);
    assert_eq!(lean.incidents, [incident]);
    assert_eq!(lean.deployments, [deployment]);
}

/// Services whose names sort differently by bytes, by case-blind and by natural order,
/// so that a backend's collation cannot decide which group a service lands in.
fn service_name(n: usize) -> String {
    let stems = [
        "Zeta", "alpha", "Beta", "_edge", "9lives", "10x", "émile", "a",
    ];
    format!("{}{}", stems[n % stems.len()], n / stems.len())
}

/// Checks that `records` come in a group's order: each service's together, in time order.
/// (Which service comes first is the backend's collation.)
fn assert_service_time_order<T>(records: &[T], key: impl Fn(&T) -> (&String, Timestamp)) {
    let mut done = std::collections::BTreeSet::new();
    for pair in records.windows(2) {
        let (before, after) = (key(&pair[0]), key(&pair[1]));
        if before.0 == after.0 {
            assert!(before.1 <= after.1, "{} out of time order", before.0);
        } else {
            done.insert(before.0);
            assert!(!done.contains(after.0), "{}'s records apart", after.0);
        }
    }
}

/// A grouped load holds exactly the records of a whole load, each service's in one
/// group, together and in time order: over more services than one group takes,
/// with deployments in two environments, some services with only changes or only
/// incidents, and one service whose only deployment went elsewhere.
async fn grouped_loads_hold_every_record_once_by_service(store: Store) {
    let services = flowmap_store::SERVICES_PER_GROUP * 2 + 7;
    let mut batch = Batch::default();
    for n in 0..services {
        let service = service_name(n);
        if n % 5 != 4 {
            for k in 0..3 {
                let id = format!("{service}-d{k}");
                let mut d = Deployment::new(id, &service, at((n * 7 + k) as i64));
                if k == 2 || n % 11 == 3 {
                    d.environment = "staging".into();
                }
                d.changes = vec![format!("{service}-c{k}")];
                batch.deployments.push(d);
            }
        }
        if n % 7 != 6 {
            for k in 0..4 {
                let id = format!("{service}-c{k}");
                let mut c = Change::new(id, &service, at((n * 3 + k) as i64));
                c.deployment = Some(format!("{service}-d{}", k % 3));
                batch.changes.push(c);
            }
        }
        if n % 3 == 0 {
            let id = format!("{service}-i1");
            let i = flowmap_core::events::Incident::new(id, &service, at(n as i64 + 30));
            batch.incidents.push(i);
        }
    }
    store.write("import", &batch).await.unwrap();

    let options = flowmap_core::dora::DoraOptions::new(at(0), at(10_000));
    let query = flowmap_store::LoadQuery::for_dora(&options);
    let whole = store.load(&query).await.unwrap();
    let mut groups = store.load_grouped(&query);
    let mut seen = std::collections::BTreeSet::new();
    let mut merged = flowmap_store::Dataset::default();
    let mut count = 0;
    while let Some(group) = groups.next().await {
        let group = group.unwrap();
        count += 1;
        let mut mine = std::collections::BTreeSet::new();
        mine.extend(group.deployments.iter().map(|d| d.service.clone()));
        mine.extend(group.changes.iter().map(|c| c.service.clone()));
        mine.extend(group.incidents.iter().map(|i| i.service.clone()));
        assert!(
            mine.len() <= flowmap_store::SERVICES_PER_GROUP,
            "{}",
            mine.len()
        );
        assert!(mine.is_disjoint(&seen), "a service in two groups");
        seen.extend(mine);
        assert_service_time_order(&group.deployments, |d| (&d.service, d.finished_at));
        assert_service_time_order(&group.changes, |c| (&c.service, c.committed_at));
        assert_service_time_order(&group.incidents, |i| (&i.service, i.started_at));
        merged.deployments.extend(group.deployments.iter().cloned());
        merged.changes.extend(group.changes.iter().cloned());
        merged.incidents.extend(group.incidents.iter().cloned());
        // Later groups are read into this one's memory: they must not keep its records.
        groups.give_back(group);
    }
    assert!(count >= 3, "{count} groups");
    merged.deployments.sort_by(|a, b| {
        (a.finished_at, &a.service, &a.id).cmp(&(b.finished_at, &b.service, &b.id))
    });
    let mut whole_sorted = whole.clone();
    whole_sorted.deployments.sort_by(|a, b| {
        (a.finished_at, &a.service, &a.id).cmp(&(b.finished_at, &b.service, &b.id))
    });
    merged.changes.sort_by(|a, b| {
        (a.committed_at, &a.service, &a.id).cmp(&(b.committed_at, &b.service, &b.id))
    });
    whole_sorted.changes.sort_by(|a, b| {
        (a.committed_at, &a.service, &a.id).cmp(&(b.committed_at, &b.service, &b.id))
    });
    merged
        .incidents
        .sort_by(|a, b| (a.started_at, &a.service).cmp(&(b.started_at, &b.service)));
    whole_sorted
        .incidents
        .sort_by(|a, b| (a.started_at, &a.service).cmp(&(b.started_at, &b.service)));
    assert_eq!(merged, whole_sorted);
    // Only production deployments were asked for, and every one of them came.
    assert!(
        merged
            .deployments
            .iter()
            .all(|d| d.environment == "production")
    );
    assert!(!merged.deployments.is_empty() && !merged.incidents.is_empty());
}

/// A grouped load reads one snapshot: a write committed while the groups are being read
/// shows in none of them.
async fn a_grouped_load_reads_one_snapshot(store: Store) {
    // Enough groups that the reader, at most two groups ahead, has not read them all.
    let services = flowmap_store::SERVICES_PER_GROUP * 6;
    let batch = Batch {
        changes: (0..services)
            .map(|n| Change::new(format!("c1-{n}"), service_name(n), at(n as i64)))
            .collect(),
        ..Batch::default()
    };
    store.write("import", &batch).await.unwrap();
    let options = flowmap_core::dora::DoraOptions::new(at(0), at(10_000));
    let mut groups = store.load_grouped(&flowmap_store::LoadQuery::for_dora(&options));
    let first = groups.next().await.unwrap().unwrap();
    assert!(!first.changes.is_empty());
    // Every service gains a second change while the later groups are still unread.
    // (Ids are unique per source, so each carries its service's number.)
    let later = Batch {
        changes: (0..services)
            .map(|n| Change::new(format!("c2-{n}"), service_name(n), at(n as i64)))
            .collect(),
        ..Batch::default()
    };
    store.write("import", &later).await.unwrap();
    let mut total = first.changes.len();
    while let Some(group) = groups.next().await {
        total += group.unwrap().changes.len();
    }
    assert_eq!(total, services);
}

/// Grouped loads while writes keep committing: every load sees whole writes only, in
/// every group alike (SQLite reads the groups on several connections, which must begin
/// at one snapshot).
async fn grouped_loads_amid_writes_see_whole_writes(store: Store) {
    let services = flowmap_store::SERVICES_PER_GROUP * 4;
    let writes = 40;
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for round in 0..writes {
                let batch = Batch {
                    changes: (0..services)
                        .map(|n| {
                            let id = format!("c{round}-{n}");
                            Change::new(id, service_name(n), at(n as i64))
                        })
                        .collect(),
                    ..Batch::default()
                };
                store.write("import", &batch).await.unwrap();
            }
        })
    };
    let options = flowmap_core::dora::DoraOptions::new(at(0), at(10_000));
    let query = flowmap_store::LoadQuery::for_dora(&options);
    let mut loads = 0;
    while !writer.is_finished() || loads == 0 {
        let mut groups = store.load_grouped(&query);
        let mut total = 0;
        while let Some(group) = groups.next().await {
            total += group.unwrap().changes.len();
        }
        assert_eq!(total % services, 0, "load {loads}: {total} changes");
        loads += 1;
    }
    writer.await.unwrap();
}

/// A grouped load of a database without records (or whose records were all deleted) ends
/// at once, without an error.
async fn a_grouped_load_of_nothing_has_no_group(store: Store) {
    let options = flowmap_core::dora::DoraOptions::new(at(0), at(10_000));
    let query = flowmap_store::LoadQuery::for_dora(&options);
    assert!(store.load_grouped(&query).next().await.is_none());
    let batch = Batch {
        deployments: vec![Deployment::new("d1", "shop", at(5))],
        ..Batch::default()
    };
    store.write("import", &batch).await.unwrap();
    store.delete_source("import").await.unwrap();
    assert!(store.load_grouped(&query).next().await.is_none());
}

/// The totals of the lists over every service and all time are kept by the writes
/// (`record_counts`) rather than counted: after every kind of write, committed or not,
/// and after writers running at once, each equals a count of the table.
async fn kept_totals_equal_counts_after_every_kind_of_write(store: Store) {
    const TABLES: [&str; 3] = ["deployments", "changes", "incidents"];
    async fn check(store: &Store, step: &str) {
        for table in TABLES {
            let kept = store
                .count_records(table, None, TimeRange::ALL)
                .await
                .unwrap();
            // A range from the beginning of time is counted, not kept.
            let from_the_start = TimeRange {
                from: Some(Timestamp::MIN),
                to: None,
            };
            let counted = store
                .count_records(table, None, from_the_start)
                .await
                .unwrap();
            assert_eq!(kept, counted, "{table} after {step}");
        }
    }
    let batch = |prefix: &str, n: usize| Batch {
        deployments: (0..n)
            .map(|k| Deployment::new(format!("{prefix}d{k}"), "shop", at(k as i64)))
            .collect(),
        changes: (0..n * 2)
            .map(|k| Change::new(format!("{prefix}c{k}"), "shop", at(k as i64)))
            .collect(),
        incidents: (0..n / 2)
            .map(|k| {
                flowmap_core::events::Incident::new(format!("{prefix}i{k}"), "shop", at(k as i64))
            })
            .collect(),
        ..Batch::default()
    };
    check(&store, "nothing").await;
    store.write("a", &batch("", 6)).await.unwrap();
    check(&store, "inserts").await;
    // The same records again, then some of them changed and some new.
    store.write("a", &batch("", 6)).await.unwrap();
    let mut changed = batch("", 8);
    for change in &mut changed.changes {
        change.title = Some("edited".into());
    }
    store.write("a", &changed).await.unwrap();
    check(&store, "unchanged, updated and new records").await;
    // A bulk write cannot tell inserts from updates: the next read counts.
    let mut writer = store.begin("a").await.unwrap();
    writer.write_bulk(&batch("", 10)).await.unwrap();
    writer.commit().await.unwrap();
    check(&store, "a bulk write").await;
    let mut writer = store.begin("a").await.unwrap();
    writer.delete_deployments().await.unwrap();
    writer.commit().await.unwrap();
    check(&store, "deleting a source's deployments").await;
    // Written and rolled back: nothing changes.
    let mut writer = store.begin("a").await.unwrap();
    writer.write(&batch("gone-", 5)).await.unwrap();
    writer.rollback().await.unwrap();
    check(&store, "a rolled-back write").await;
    let mut load = store.begin_first_load("git:b").await.unwrap().unwrap();
    let first = batch("b-", 7);
    load.insert(first.changes, first.deployments).await.unwrap();
    load.commit().await.unwrap();
    check(&store, "a first load").await;
    let mut abandoned = store.begin_first_load("git:c").await.unwrap().unwrap();
    let never = batch("c-", 3);
    abandoned
        .insert(never.changes, never.deployments)
        .await
        .unwrap();
    drop(abandoned);
    check(&store, "an abandoned first load").await;
    store.delete_source("a").await.unwrap();
    check(&store, "deleting a source").await;
    // Writers at once, each asking for the totals between its writes.
    let writers = (0..4).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            for round in 0..5 {
                let prefix = format!("w{w}-{round}-");
                store
                    .write(&format!("w{w}"), &batch(&prefix, 3))
                    .await
                    .unwrap();
                store
                    .count_records("changes", None, TimeRange::ALL)
                    .await
                    .unwrap();
                if round == 2 {
                    store.delete_source(&format!("w{w}")).await.unwrap();
                }
            }
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.unwrap();
    }
    check(&store, "writers at once").await;
}

/// A grouped load honours a window on the changes (on PostgreSQL the `COPY`'s bounds are
/// spelled as literals): it holds exactly the changes a whole load of the window holds.
async fn a_grouped_load_keeps_to_the_changes_window(store: Store) {
    let services = flowmap_store::SERVICES_PER_GROUP * 3;
    let batch = Batch {
        changes: (0..services * 4)
            .map(|n| Change::new(format!("c-{n}"), service_name(n % services), at(n as i64)))
            .collect(),
        ..Batch::default()
    };
    store.write("import", &batch).await.unwrap();
    let options = flowmap_core::dora::DoraOptions::new(at(0), at(10_000));
    let query = flowmap_store::LoadQuery {
        changes: flowmap_store::TimeRange {
            from: Some(at(10)),
            to: Some(at(services as i64 * 3)),
        },
        ..flowmap_store::LoadQuery::for_dora(&options)
    };
    let ids = |changes: &[Change]| {
        let mut ids: Vec<String> = changes.iter().map(|c| c.id.clone()).collect();
        ids.sort();
        ids
    };
    let whole = ids(&store.load(&query).await.unwrap().changes);
    assert_eq!(whole.len(), services * 3 - 10);
    let mut groups = store.load_grouped(&query);
    let mut grouped = Vec::new();
    while let Some(group) = groups.next().await {
        grouped.extend(group.unwrap().changes);
    }
    assert_eq!(ids(&grouped), whole);
}

/// A grouped load whose reader stops after the first group (a report's request dropped)
/// leaves every connection fit for the next user: on PostgreSQL its changes stream
/// through a `COPY`, which an abandoned load leaves midway on the wire.
async fn an_abandoned_grouped_load_leaves_the_store_usable(store: Store) {
    let services = flowmap_store::SERVICES_PER_GROUP * 8;
    let batch = Batch {
        changes: (0..services * 40)
            .map(|n| {
                let service = service_name(n % services);
                Change::new(format!("c-{n}"), service, at(n as i64 % 5_000))
            })
            .collect(),
        ..Batch::default()
    };
    store.write("import", &batch).await.unwrap();
    let options = flowmap_core::dora::DoraOptions::new(at(0), at(10_000));
    let query = flowmap_store::LoadQuery::for_dora(&options);
    for _ in 0..3 {
        let mut groups = store.load_grouped(&query);
        assert!(!groups.next().await.unwrap().unwrap().changes.is_empty());
    }
    // More uses than the pool has connections, so the abandoned ones' turn comes.
    for _ in 0..12 {
        assert_eq!(
            store.load(&query).await.unwrap().changes.len(),
            batch.changes.len()
        );
        let mut groups = store.load_grouped(&query);
        let mut total = 0;
        while let Some(group) = groups.next().await {
            total += group.unwrap().changes.len();
        }
        assert_eq!(total, batch.changes.len());
    }
}

on_both_backends!(
    kept_totals_equal_counts_after_every_kind_of_write,
    a_grouped_load_keeps_to_the_changes_window,
    an_abandoned_grouped_load_leaves_the_store_usable,
    dora_loads_read_only_what_dora_reads,
    grouped_loads_hold_every_record_once_by_service,
    a_grouped_load_of_nothing_has_no_group,
    a_grouped_load_reads_one_snapshot,
    grouped_loads_amid_writes_see_whole_writes,
    every_write_raises_the_data_version,
    cursor_pages_walk_every_record_once_newest_first,
    changes_and_incidents_page_like_deployments,
);
