//! What the server keeps besides delivery records: versioned maps and webhook deliveries,
//! run against SQLite and a real PostgreSQL.

use flowmap_core::events::{Change, Deployment, DeploymentKind, DeploymentStatus};
use flowmap_store::{
    Batch, Delivery, DocumentKind, Expected, LoadQuery, MapFormat, Store, StoreError, WriteMode,
};
use jiff::Timestamp;

fn t(s: &str) -> Timestamp {
    s.parse().expect("test time")
}

fn delivery<'a>(id: &'a str, body: &'a str) -> Delivery<'a> {
    Delivery {
        source: "github",
        delivery_id: id,
        event: "push",
        received_at: t("2026-03-01T12:00:00Z"),
        body,
    }
}

fn change(id: &str) -> Change {
    Change::new(id, "shop", t("2026-03-01T10:00:00Z"))
}

async fn maps_are_versioned(store: Store) {
    let first = store
        .save_map("checkout", MapFormat::Yaml, "name: A\n")
        .await
        .unwrap();
    let second = store
        .save_map("checkout", MapFormat::Toml, "name = \"B\"\n")
        .await
        .unwrap();
    store
        .save_map("billing", MapFormat::Json, "{}")
        .await
        .unwrap();
    assert_eq!((first.version, second.version), (1, 2));

    let latest = store.map("checkout", None).await.unwrap().unwrap();
    assert_eq!(latest.version, 2);
    assert_eq!(latest.format, MapFormat::Toml);
    assert_eq!(latest.text, "name = \"B\"\n");
    assert_eq!(latest.saved_at, second.saved_at);
    let old = store.map("checkout", Some(1)).await.unwrap().unwrap();
    assert_eq!(old.text, "name: A\n");
    assert_eq!(store.map("checkout", Some(3)).await.unwrap(), None);

    let all = store.maps().await.unwrap();
    let listed: Vec<(&str, u32)> = all.iter().map(|m| (m.id.as_str(), m.version)).collect();
    assert_eq!(listed, [("billing", 1), ("checkout", 2)]);
    let versions: Vec<u32> = store
        .map_versions("checkout")
        .await
        .unwrap()
        .iter()
        .map(|m| m.version)
        .collect();
    assert_eq!(versions, [2, 1]);

    assert!(
        store
            .delete_document(DocumentKind::Map, "checkout")
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_document(DocumentKind::Map, "checkout")
            .await
            .unwrap()
    );
    assert_eq!(store.map("checkout", None).await.unwrap(), None);
    assert!(
        store
            .save_map("Not Valid", MapFormat::Yaml, "")
            .await
            .is_err()
    );
}

async fn redelivery_is_applied_once(store: Store) {
    let mut tx = store
        .begin_delivery(&delivery("d1", "{\"a\":1}"))
        .await
        .unwrap()
        .expect("first delivery");
    let batch = Batch {
        mode: WriteMode::Merge,
        changes: vec![change("c1")],
        ..Batch::default()
    };
    tx.write(&batch).await.unwrap();
    tx.commit("1 change").await.unwrap();
    assert!(
        store
            .begin_delivery(&delivery("d1", "{\"a\":1}"))
            .await
            .unwrap()
            .is_none()
    );
    let kept = store.deliveries(false, 10).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].note, "1 change");
    assert_eq!(kept[0].status, "accepted");
    assert_eq!(kept[0].body, "{\"a\":1}");
}

async fn abandoned_delivery_leaves_nothing(store: Store) {
    let mut tx = store
        .begin_delivery(&delivery("d1", "{}"))
        .await
        .unwrap()
        .unwrap();
    tx.write(&Batch {
        changes: vec![change("c1")],
        ..Batch::default()
    })
    .await
    .unwrap();
    drop(tx);
    assert_eq!(store.delivery_counts().await.unwrap(), (0, 0));
    assert!(
        store
            .load(&LoadQuery::default())
            .await
            .unwrap()
            .changes
            .is_empty()
    );
    // And the same delivery id can then be processed.
    assert!(
        store
            .begin_delivery(&delivery("d1", "{}"))
            .await
            .unwrap()
            .is_some()
    );
}

async fn rejected_delivery_is_kept_and_can_be_retried(store: Store) {
    assert!(
        store
            .reject_delivery(&delivery("d9", "garbage"), "body: not JSON")
            .await
            .unwrap()
    );
    assert!(
        !store
            .reject_delivery(&delivery("d9", "garbage"), "body: not JSON")
            .await
            .unwrap()
    );
    let rejected = store.deliveries(true, 10).await.unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].note, "body: not JSON");
    assert_eq!(rejected[0].body, "garbage");
    assert_eq!(store.delivery_counts().await.unwrap(), (0, 1));

    let tx = store
        .begin_delivery(&delivery("d9", "{}"))
        .await
        .unwrap()
        .expect("a rejected delivery may be retried");
    tx.commit("fixed").await.unwrap();
    assert_eq!(store.delivery_counts().await.unwrap(), (1, 0));
}

async fn deployment_ships_unshipped_pushes_up_to_its_head(store: Store) {
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut tx = store
        .begin_delivery(&delivery("p", "{}"))
        .await
        .unwrap()
        .unwrap();
    tx.record_push("shop", "a2", &ids(&["a1", "a2"]))
        .await
        .unwrap();
    tx.record_push("shop", "b1", &ids(&["b1"])).await.unwrap();
    tx.record_push("shop", "c2", &ids(&["c1", "c2"]))
        .await
        .unwrap();
    // A redelivered push with the same head adds nothing.
    tx.record_push("shop", "b1", &ids(&["b1", "x"]))
        .await
        .unwrap();
    tx.record_push("other", "b1", &ids(&["o1"])).await.unwrap();

    // The deployment of b1 ships the first two pushes.
    assert_eq!(
        tx.ship("shop", "dep1", "b1").await.unwrap(),
        ["a1", "a2", "b1"]
    );
    // Asked again (a repeated status event): the same answer.
    assert_eq!(
        tx.ship("shop", "dep1", "b1").await.unwrap(),
        ["a1", "a2", "b1"]
    );
    // The next deployment ships only what is left.
    assert_eq!(tx.ship("shop", "dep2", "c2").await.unwrap(), ["c1", "c2"]);
    // A deployment of an unknown head ships nothing.
    assert!(tx.ship("shop", "dep3", "zzz").await.unwrap().is_empty());
    assert_eq!(tx.ship("other", "dep4", "b1").await.unwrap(), ["o1"]);

    tx.write(&Batch {
        mode: WriteMode::Merge,
        deployments: vec![Deployment {
            id: "dep1".into(),
            service: "shop".into(),
            environment: "production".into(),
            status: DeploymentStatus::Success,
            started_at: None,
            finished_at: t("2026-03-01T12:00:00Z"),
            commit: Some("b1".into()),
            changes: ids(&["a1", "a2", "b1"]),
            kind: DeploymentKind::Normal,
            fixes: None,
        }],
        ..Batch::default()
    })
    .await
    .unwrap();
    tx.set_meta("github:pr", "{}").await.unwrap();
    assert_eq!(
        tx.get_meta("github:pr").await.unwrap().as_deref(),
        Some("{}")
    );
    tx.commit("pushes").await.unwrap();
    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(data.deployments[0].changes, ["a1", "a2", "b1"]);
    assert_eq!(
        store.get_meta("github:pr").await.unwrap().as_deref(),
        Some("{}")
    );
}

async fn outcomes_are_versioned_with_their_authors(store: Store) {
    let first = store
        .save_document(
            DocumentKind::Outcome,
            "faster",
            MapFormat::Yaml,
            "outcome: A\n",
            Expected::New,
            Some("ana"),
        )
        .await
        .unwrap();
    assert_eq!((first.version, first.saved_by.as_deref()), (1, Some("ana")));
    let second = store
        .save_document(
            DocumentKind::Outcome,
            "faster",
            MapFormat::Toml,
            "outcome = \"B\"\n",
            Expected::Version(1),
            Some("bo"),
        )
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    // A save based on version 1 after version 2 exists is refused and writes nothing.
    let stale = store
        .save_document(
            DocumentKind::Outcome,
            "faster",
            MapFormat::Yaml,
            "outcome: C\n",
            Expected::Version(1),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(stale, StoreError::Conflict { latest: 2, .. }),
        "{stale:?}"
    );
    store
        .save_document(
            DocumentKind::Outcome,
            "safer",
            MapFormat::Json,
            "{}",
            Expected::Any,
            None,
        )
        .await
        .unwrap();
    let latest = store.outcomes().await.unwrap();
    let ids: Vec<(&str, u32)> = latest.iter().map(|o| (o.id.as_str(), o.version)).collect();
    assert_eq!(ids, [("faster", 2), ("safer", 1)]);
    let old = store.outcome("faster", Some(1)).await.unwrap().unwrap();
    assert_eq!(
        (old.text.as_str(), old.format),
        ("outcome: A\n", MapFormat::Yaml)
    );
    assert_eq!(old.saved_at, first.saved_at);
    let versions = store.outcome_versions("faster").await.unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [2, 1]
    );
    assert_eq!(versions[0].saved_by.as_deref(), Some("bo"));
    assert!(
        store
            .delete_document(DocumentKind::Outcome, "faster")
            .await
            .unwrap()
    );
    assert_eq!(store.outcome("faster", None).await.unwrap(), None);
    assert!(
        !store
            .delete_document(DocumentKind::Outcome, "faster")
            .await
            .unwrap()
    );
    assert!(
        store
            .save_document(
                DocumentKind::Outcome,
                "Not Valid",
                MapFormat::Yaml,
                "",
                Expected::Any,
                None
            )
            .await
            .is_err()
    );
}

on_both_backends!(
    maps_are_versioned,
    outcomes_are_versioned_with_their_authors,
    redelivery_is_applied_once,
    abandoned_delivery_leaves_nothing,
    rejected_delivery_is_kept_and_can_be_retried,
    deployment_ships_unshipped_pushes_up_to_its_head,
);
