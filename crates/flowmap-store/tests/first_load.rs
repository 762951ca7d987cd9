//! A source's first load (`Store::begin_first_load`): plain inserts that store exactly
//! what the upserts store, in one transaction, on both backends.

use flowmap_core::events::{Change, Deployment, DeploymentKind, DeploymentStatus};
use flowmap_store::testing::TestDb;
use flowmap_store::{Backend, Batch, Dataset, LoadQuery, Store, StoreError};
use jiff::Timestamp;

fn t(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).expect("test time")
}

/// `n` changes (more than one statement's worth, with a remainder), every other one with
/// every optional field set, and three deployments, one of them with every field set.
fn records(n: usize) -> (Vec<Change>, Vec<Deployment>) {
    let changes = (0..n)
        .map(|i| {
            let base = Change::new(format!("{i:040x}"), "shop", t(1_700_000_000 + i as i64));
            if i % 2 == 1 {
                return base;
            }
            Change {
                authored_at: Some(t(1_699_999_000 + i as i64)),
                first_commit_at: Some(t(1_699_999_100)),
                pr_opened_at: Some(t(1_699_999_200)),
                first_review_at: Some(t(1_699_999_300)),
                approved_at: Some(t(1_699_999_400)),
                merged_at: Some(t(1_699_999_500)),
                deployment: Some(format!("tag:v{}", i % 3)),
                author: Some("ana@example.com".into()),
                title: Some(format!("Change {i}: \"quoted\", ünïcode")),
                reverts: (i % 10 == 0 && i > 0).then(|| format!("{:040x}", i - 1)),
                ..base
            }
        })
        .collect();
    let deployments = vec![
        Deployment::new("tag:v0", "shop", t(1_700_100_000)),
        Deployment::new("tag:v1", "shop", t(1_700_200_000)),
        Deployment {
            started_at: Some(t(1_700_290_000)),
            commit: Some("4f2a9c1".into()),
            changes: vec!["c1".into(), "c2".into()],
            kind: DeploymentKind::Hotfix,
            fixes: Some("tag:v1".into()),
            status: DeploymentStatus::Failure,
            environment: "staging".into(),
            ..Deployment::new("tag:v2", "shop", t(1_700_300_000))
        },
    ];
    (changes, deployments)
}

async fn everything(store: &Store) -> Dataset {
    let mut data = store.load(&LoadQuery::default()).await.expect("load");
    data.changes.sort_by(|a, b| a.id.cmp(&b.id));
    data.deployments.sort_by(|a, b| a.id.cmp(&b.id));
    data
}

/// Another empty database of the same backend.
async fn another(store: &Store) -> Option<(TestDb, Store)> {
    let db = match store.backend() {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => TestDb::postgres().await?,
    };
    let other = Store::open(&db.location()).await.expect("open");
    Some((db, other))
}

async fn first_load_stores_what_the_upserts_store(store: Store) {
    let (changes, deployments) = records(250);
    let version = store.data_version().await.expect("version");
    let mut load = store
        .begin_first_load("git:shop")
        .await
        .expect("begin")
        .expect("the source holds nothing");
    assert_eq!(load.source(), "git:shop");
    // In two inserts, as a streaming reader sends them.
    let (head, tail) = changes.split_at(120);
    assert_eq!(
        load.insert(head.to_vec(), Vec::new())
            .await
            .expect("insert"),
        120
    );
    assert_eq!(
        load.insert(tail.to_vec(), deployments.clone())
            .await
            .expect("insert"),
        133
    );
    load.set_meta("git:shop:state", "{}").await.expect("meta");
    assert_eq!(load.commit().await.expect("commit"), 253);
    assert_eq!(store.data_version().await.expect("version"), version + 1);
    assert_eq!(
        store.get_meta("git:shop:state").await.expect("meta"),
        Some("{}".to_owned())
    );
    let sources = store.sources().await.expect("sources");
    assert_eq!(sources.len(), 1);
    assert_eq!(
        (sources[0].changes, sources[0].deployments),
        (250, 3),
        "{sources:?}"
    );
    assert!(sources[0].updated_at.is_some());

    let Some((_db, upserted)) = another(&store).await else {
        return;
    };
    let batch = Batch {
        changes: changes.clone(),
        deployments: deployments.clone(),
        ..Batch::default()
    };
    upserted.write("git:shop", &batch).await.expect("write");
    let loaded = everything(&store).await;
    assert_eq!(loaded, everything(&upserted).await);
    assert_eq!(loaded.changes, changes);

    // Writing the same records again through the upserts changes nothing.
    let again = store.write("git:shop", &batch).await.expect("write");
    assert_eq!(again.changes.unchanged, 250);
    assert_eq!(again.deployments.unchanged, 3);
    assert_eq!(everything(&store).await, loaded);
    upserted.close().await;
}

async fn a_source_that_holds_records_gets_no_first_load(store: Store) {
    let batch = Batch {
        deployments: vec![Deployment::new("d1", "shop", t(1_700_000_000))],
        ..Batch::default()
    };
    store.write("git:shop", &batch).await.expect("write");
    let refused = store.begin_first_load("git:shop").await.expect("begin");
    assert!(refused.is_none());
    // The check let go of the write lock: others write on.
    store.write("import", &batch).await.expect("write");
    let other = store.begin_first_load("git:other").await.expect("begin");
    assert!(other.is_some());
    other.expect("checked").rollback().await.expect("rollback");
    assert!(matches!(
        store.begin_first_load("").await,
        Err(StoreError::Invalid { .. })
    ));
}

async fn a_first_load_that_fails_or_is_abandoned_leaves_nothing(store: Store) {
    let (changes, deployments) = records(150);
    let version = store.data_version().await.expect("version");

    let mut load = store
        .begin_first_load("git:shop")
        .await
        .expect("begin")
        .expect("empty");
    load.insert(changes.clone(), deployments.clone())
        .await
        .expect("insert");
    load.rollback().await.expect("rollback");

    let mut load = store
        .begin_first_load("git:shop")
        .await
        .expect("begin")
        .expect("still empty");
    load.insert(changes.clone(), Vec::new())
        .await
        .expect("insert");
    drop(load);

    // A repeated id fails the insert (it is not merged); the load is then rolled back.
    let mut load = store
        .begin_first_load("git:shop")
        .await
        .expect("begin")
        .expect("still empty");
    let mut twice = changes[..3].to_vec();
    twice.push(changes[1].clone());
    assert!(matches!(
        load.insert(twice, Vec::new()).await,
        Err(StoreError::Database(_) | StoreError::Sqlite(_))
    ));
    load.rollback().await.expect("rollback");

    // A record the checks refuse is refused before anything is written.
    let mut load = store
        .begin_first_load("git:shop")
        .await
        .expect("begin")
        .expect("still empty");
    let mut bad = changes[..2].to_vec();
    bad[1].id = "with\0nul".into();
    let err = load.insert(bad, Vec::new()).await.expect_err("refused");
    assert!(
        matches!(&err, StoreError::Invalid { what, .. } if what.starts_with("change")),
        "{err}"
    );
    load.rollback().await.expect("rollback");

    assert_eq!(store.data_version().await.expect("version"), version);
    assert!(store.sources().await.expect("sources").is_empty());
    let data = everything(&store).await;
    assert!(data.changes.is_empty() && data.deployments.is_empty());
}

on_both_backends!(
    first_load_stores_what_the_upserts_store,
    a_source_that_holds_records_gets_no_first_load,
    a_first_load_that_fails_or_is_abandoned_leaves_nothing,
);
