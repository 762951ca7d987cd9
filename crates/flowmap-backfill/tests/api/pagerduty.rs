//! The PagerDuty backfill.

use flowmap_backfill::pagerduty::{self, PagerDutyOptions};
use flowmap_backfill::testing::{FakeApi, Fault, pagerduty as pd, scenarios};
use flowmap_backfill::{BackfillError, SavedState, Service};
use flowmap_store::testing::TestDb;
use flowmap_store::{LoadQuery, Store};

use crate::common::{StoreSink, at, client, saved_state};

const TOKEN: &str = "u+TESTtoken0123456789SECRET";
const SOURCE: &str = "pagerduty:PSHOP01";

fn options(api: &FakeApi) -> PagerDutyOptions {
    PagerDutyOptions {
        service_id: "PSHOP01".into(),
        service: "shop".into(),
        since: None,
        api_url: api.url(),
    }
}

#[tokio::test]
async fn incidents_take_their_times_from_the_log_entries() {
    let api = FakeApi::start(Service::PagerDuty, TOKEN, 2).await;
    scenarios::pagerduty_shop(&api);
    api.fail_next(
        "/incidents/PINC001/log_entries",
        Fault::RetryAfter { secs: 1 },
    );
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let (client, recorder) = client(Service::PagerDuty, TOKEN);
    let mut sink = StoreSink::new(&store, SOURCE);
    pagerduty::backfill(&client, &options(&api), SavedState::default(), &mut sink)
        .await
        .expect("backfill");
    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(data.incidents.len(), 1);
    let incident = &data.incidents[0];
    assert_eq!(incident.id, "PINC001");
    assert_eq!(incident.service, "shop");
    assert_eq!(incident.started_at, at("2026-03-06T14:00:00Z"));
    assert_eq!(incident.acknowledged_at, Some(at("2026-03-06T14:10:00Z")));
    assert_eq!(incident.resolved_at, Some(at("2026-03-06T16:00:00Z")));
    assert_eq!(incident.severity.as_deref(), Some("P1"));
    assert_eq!(incident.title.as_deref(), Some("Incident PINC001"));
    assert_eq!(incident.caused_by, None);

    // A year back in windows of at most 179 days: 3 list requests; the log entries (4 at
    // two a page) 2 more; and the 429 once.
    let stats = recorder.last.lock().unwrap().to_owned();
    assert_eq!(stats.requests, 3 + 2 + 1);
    assert_eq!(stats.waits, 1);
    let lists: Vec<String> = api
        .seen()
        .iter()
        .filter(|seen| seen.uri.starts_with("/incidents?"))
        .map(|seen| seen.uri.clone())
        .collect();
    assert_eq!(lists.len(), 3);
    assert!(
        lists
            .iter()
            .all(|uri| uri.contains("service_ids%5B%5D=PSHOP01"))
    );
    assert!(api.seen().iter().all(|seen| {
        seen.headers.iter().any(|(name, value)| {
            name == "authorization" && value == &format!("Token token={TOKEN}")
        })
    }));
}

#[tokio::test]
async fn open_incidents_are_read_again_until_resolved() {
    let api = FakeApi::start(Service::PagerDuty, TOKEN, 2).await;
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let mut sink = StoreSink::new(&store, SOURCE);
    let open = pd::incident("PINC002", "2026-03-20T10:00:00Z", "low", None);
    api.put("/incidents", pd::list("incidents", vec![open.clone()]));
    api.put("/incidents/PINC002", pd::one(open));
    api.put(
        "/incidents/PINC002/log_entries",
        pd::list(
            "log_entries",
            vec![pd::log_entry("trigger_log_entry", "2026-03-20T10:00:00Z")],
        ),
    );
    let mut options = options(&api);
    options.since = Some(at("2026-03-01T00:00:00Z"));
    let (client, _) = client(Service::PagerDuty, TOKEN);
    pagerduty::backfill(&client, &options, SavedState::default(), &mut sink)
        .await
        .unwrap();
    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(data.incidents[0].resolved_at, None);
    assert_eq!(
        data.incidents[0].severity.as_deref(),
        Some("low"),
        "urgency without priorities"
    );

    api.put(
        "/incidents/PINC002/log_entries",
        pd::list(
            "log_entries",
            vec![
                pd::log_entry("resolve_log_entry", "2026-03-20T12:30:00Z"),
                pd::log_entry("acknowledge_log_entry", "2026-03-20T10:05:00Z"),
                pd::log_entry("trigger_log_entry", "2026-03-20T10:00:00Z"),
            ],
        ),
    );
    api.clear_seen();
    let (client, recorder) = crate::common::client(Service::PagerDuty, TOKEN);
    pagerduty::backfill(
        &client,
        &options,
        saved_state(&store, SOURCE).await,
        &mut sink,
    )
    .await
    .unwrap();
    let data = store.load(&LoadQuery::default()).await.unwrap();
    assert_eq!(
        data.incidents[0].acknowledged_at,
        Some(at("2026-03-20T10:05:00Z"))
    );
    assert_eq!(
        data.incidents[0].resolved_at,
        Some(at("2026-03-20T12:30:00Z"))
    );
    // The open incident (1) and its log entries (2 pages), then incidents created since
    // the last sync (1).
    assert_eq!(recorder.last.lock().unwrap().requests, 4);
    assert!(
        api.seen()
            .iter()
            .any(|seen| seen.uri == "/incidents/PINC002")
    );

    // Resolved: a third run no longer reads it.
    let (client, recorder) = crate::common::client(Service::PagerDuty, TOKEN);
    pagerduty::backfill(
        &client,
        &options,
        saved_state(&store, SOURCE).await,
        &mut sink,
    )
    .await
    .unwrap();
    assert_eq!(recorder.last.lock().unwrap().requests, 1);
}

#[tokio::test]
async fn a_wrong_token_stops_at_once() {
    let api = FakeApi::start(Service::PagerDuty, TOKEN, 2).await;
    let (client, _) = client(Service::PagerDuty, "wrong-token");
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let mut sink = StoreSink::new(&store, SOURCE);
    let err = pagerduty::backfill(&client, &options(&api), SavedState::default(), &mut sink)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        BackfillError::Unauthorized {
            variable: "PAGERDUTY_TOKEN",
            ..
        }
    ));
    assert_eq!(api.seen().len(), 1);
}
