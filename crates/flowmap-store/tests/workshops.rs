//! Live workshops in the store: numbered events with nothing lost or doubled, the rules
//! that must hold under concurrency (own notes, capped dots, phases, closed is read-only),
//! and keys that act only in their workshop — on SQLite and PostgreSQL.

use flowmap_store::{Change, KeyHolder, MapFormat, NewWorkshop, Store, StoreError};

fn workshop<'a>(id: &'a str, key: &'a str) -> NewWorkshop<'a> {
    NewWorkshop {
        id,
        title: "Checkout outcome",
        mandate: "Ship checkout changes the same day",
        stream: "checkout",
        join_code: "code-1",
        facilitator_key_digest: key,
        created_by: "ada",
        dots: 3,
        map: None,
    }
}

async fn change(store: &Store, id: &str, change: Change<'_>) -> Result<u64, StoreError> {
    store
        .change_workshop(id, change, "test", |a| format!("{{\"seq\":{}}}", a.seq))
        .await
        .map(|a| a.seq)
}

async fn join(store: &Store, id: &str, name: &str, digest: &str) -> KeyHolder {
    let applied = store
        .change_workshop(
            id,
            Change::Join {
                name,
                key_digest: digest,
                join_code: "code-1",
            },
            "participant_joined",
            |_| "{}".into(),
        )
        .await
        .unwrap();
    let p = applied.participant.unwrap();
    KeyHolder::Participant {
        id: p.id,
        name: p.name,
    }
}

async fn phase(store: &Store, id: &str, phase: &str) {
    change(
        store,
        id,
        Change::Phase {
            phase,
            countdown_ends: None,
        },
    )
    .await
    .unwrap();
}

async fn workshop_rules_and_events(store: Store) {
    store
        .create_workshop(workshop("w1", "fdigest"))
        .await
        .unwrap();
    store
        .create_workshop(workshop("w2", "fdigest2"))
        .await
        .unwrap();
    assert_eq!(store.workshop_version("w1").await.unwrap(), Some(0));

    // A wrong code admits nobody and changes nothing.
    let refused = store
        .change_workshop(
            "w1",
            Change::Join {
                name: "eve",
                key_digest: "e",
                join_code: "guess",
            },
            "participant_joined",
            |_| "{}".into(),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::NotAllowed(_)), "{refused}");
    assert_eq!(store.workshop_version("w1").await.unwrap(), Some(0));

    let bo = join(&store, "w1", "Bo", "bdigest").await;
    let cy = join(&store, "w1", "Cy", "cdigest").await;
    assert_eq!(
        store.workshop_key("w1", "bdigest").await.unwrap(),
        Some(bo.clone())
    );
    assert_eq!(
        store.workshop_key("w1", "fdigest").await.unwrap(),
        Some(KeyHolder::Facilitator)
    );
    // Keys act only in their own workshop.
    assert_eq!(store.workshop_key("w2", "bdigest").await.unwrap(), None);
    assert_eq!(store.workshop_key("w2", "fdigest").await.unwrap(), None);

    // Notes wait for the brainstorm.
    let early = change(&store, "w1", Change::AddNote { by: &bo, text: "x" })
        .await
        .unwrap_err();
    assert!(matches!(early, StoreError::Refused(_)), "{early}");
    phase(&store, "w1", "brainstorm").await;
    let note = store
        .change_workshop(
            "w1",
            Change::AddNote {
                by: &bo,
                text: "<b>Reviews wait</b>",
            },
            "note_added",
            |_| "{}".into(),
        )
        .await
        .unwrap()
        .note
        .unwrap();
    assert_eq!(note.author, bo_id(&bo));
    // Cy may not touch Bo's note; the facilitator may.
    let theirs = change(
        &store,
        "w1",
        Change::EditNote {
            by: &cy,
            note: note.id,
            text: Some("mine now"),
            category: None,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(theirs, StoreError::NotAllowed(_)), "{theirs}");
    let gone = change(
        &store,
        "w1",
        Change::DeleteNote {
            by: &cy,
            note: note.id,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(gone, StoreError::NotAllowed(_)), "{gone}");
    change(
        &store,
        "w1",
        Change::AddNote {
            by: &cy,
            text: "QA booked",
        },
    )
    .await
    .unwrap();
    phase(&store, "w1", "group").await;
    let snapshot = store.workshop("w1").await.unwrap().unwrap();
    for (n, category) in snapshot.notes.iter().zip(["process", "testing"]) {
        change(
            &store,
            "w1",
            Change::EditNote {
                by: &KeyHolder::Facilitator,
                note: n.id,
                text: None,
                category: Some(Some(category)),
            },
        )
        .await
        .unwrap();
    }

    // Dots: replaced per category, capped per participant.
    phase(&store, "w1", "vote").await;
    let vote = |who: i64, category: &'static str, dots: u32| Change::Vote {
        participant: who,
        category,
        dots,
    };
    let bo_id = bo_id(&bo).unwrap();
    let cy_id = bo_id_of(&cy);
    change(&store, "w1", vote(bo_id, "process", 2))
        .await
        .unwrap();
    change(&store, "w1", vote(bo_id, "process", 3))
        .await
        .unwrap();
    let over = change(&store, "w1", vote(bo_id, "testing", 1))
        .await
        .unwrap_err();
    assert!(
        over.to_string().contains("each participant has 3"),
        "{over}"
    );
    change(&store, "w1", vote(bo_id, "process", 1))
        .await
        .unwrap();
    change(&store, "w1", vote(bo_id, "testing", 2))
        .await
        .unwrap();
    change(&store, "w1", vote(cy_id, "testing", 3))
        .await
        .unwrap();
    let unknown = change(&store, "w1", vote(cy_id, "nothing", 1))
        .await
        .unwrap_err();
    assert!(matches!(unknown, StoreError::Refused(_)), "{unknown}");
    let snapshot = store.workshop("w1").await.unwrap().unwrap();
    let total: u32 = snapshot
        .votes
        .iter()
        .filter(|v| v.category == "testing")
        .map(|v| v.dots)
        .sum();
    assert_eq!(total, 5);

    // Every accepted change is one event, numbered 1..=N with no gap.
    let version = store.workshop_version("w1").await.unwrap().unwrap();
    let events = store.workshop_events("w1", 0, 1000).await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=version).collect::<Vec<_>>());
    assert_eq!(
        store
            .workshop_events("w1", version - 2, 1000)
            .await
            .unwrap()
            .len(),
        2
    );

    // Closed is read-only.
    change(
        &store,
        "w1",
        Change::Close {
            outcome: Some(("checkout", 1)),
            map: None,
        },
    )
    .await
    .unwrap();
    let closed = store.workshop("w1").await.unwrap().unwrap().workshop;
    assert_eq!(closed.phase, "closed");
    assert_eq!(closed.saved_outcome, Some(("checkout".into(), 1)));
    let after = change(
        &store,
        "w1",
        Change::Map {
            format: MapFormat::Yaml,
            text: "x",
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(after, StoreError::NotAllowed(_)), "{after}");
    let missing = change(
        &store,
        "nope",
        Change::Map {
            format: MapFormat::Yaml,
            text: "x",
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)), "{missing}");
    assert_eq!(store.workshops().await.unwrap().len(), 2);
}

fn bo_id(holder: &KeyHolder) -> Option<i64> {
    match holder {
        KeyHolder::Participant { id, .. } => Some(*id),
        KeyHolder::Facilitator => None,
    }
}

fn bo_id_of(holder: &KeyHolder) -> i64 {
    bo_id(holder).unwrap_or_default()
}

/// Forty writers at once on one workshop: every write gets its own event number, none
/// is lost or doubled.
async fn concurrent_writes_number_every_event_once(store: Store) {
    store.create_workshop(workshop("w", "f")).await.unwrap();
    phase(&store, "w", "brainstorm").await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let text = format!("note {i}");
            change(
                &store,
                "w",
                Change::AddNote {
                    by: &KeyHolder::Facilitator,
                    text: &text,
                },
            )
            .await
            .unwrap()
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (2..=41).collect::<Vec<u64>>());
    let snapshot = store.workshop("w").await.unwrap().unwrap();
    assert_eq!(snapshot.notes.len(), 40);
    assert_eq!(snapshot.workshop.version, 41);
}

on_both_backends!(
    workshop_rules_and_events,
    concurrent_writes_number_every_event_once
);
