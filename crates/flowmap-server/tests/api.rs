//! The JSON API, `/metrics` and `/healthz` over a temporary SQLite database.

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use flowmap_core::dora::{DoraInput, DoraOptions, compute};
use flowmap_core::events::{Change, Deployment, DeploymentKind, DeploymentStatus, Incident};
use flowmap_store::{Batch, LoadQuery, Store};
use jiff::Timestamp;
use serde_json::{Value, json};
use tower::ServiceExt;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn deployment(id: &str, service: &str, at: &str, kind: DeploymentKind) -> Deployment {
    Deployment {
        id: id.into(),
        service: service.into(),
        environment: "production".into(),
        status: DeploymentStatus::Success,
        started_at: None,
        finished_at: t(at),
        commit: None,
        changes: vec![format!("c-{id}")],
        kind,
        fixes: None,
    }
}

fn change(id: &str, service: &str, at: &str) -> Change {
    Change::new(id, service, t(at))
}

/// Two services: shop deploys three times (one fails: an incident resolved 2h later,
/// fixed by a hotfix), search once.
async fn seed(store: &Store) {
    let batch = Batch {
        deployments: vec![
            deployment("d1", "shop", "2026-03-02T12:00:00Z", DeploymentKind::Normal),
            deployment("d2", "shop", "2026-03-03T12:00:00Z", DeploymentKind::Normal),
            deployment("d3", "shop", "2026-03-03T15:00:00Z", DeploymentKind::Hotfix),
            deployment(
                "d4",
                "search",
                "2026-03-04T12:00:00Z",
                DeploymentKind::Normal,
            ),
        ],
        changes: vec![
            change("c-d1", "shop", "2026-03-02T10:00:00Z"),
            change("c-d2", "shop", "2026-03-03T08:00:00Z"),
            change("c-d3", "shop", "2026-03-03T14:00:00Z"),
            change("c-d4", "search", "2026-03-04T11:00:00Z"),
        ],
        incidents: vec![Incident {
            id: "i1".into(),
            service: "shop".into(),
            started_at: t("2026-03-03T13:00:00Z"),
            detected_at: None,
            acknowledged_at: None,
            resolved_at: Some(t("2026-03-03T14:00:00Z")),
            caused_by: Some("d2".into()),
            severity: None,
            title: None,
        }],
        ..Batch::default()
    };
    store.write("import", &batch).await.unwrap();
}

/// Pages by number start from the places earlier pages made known, or far down a long
/// list from its end; asked in any order, again, past the end, and after a write that
/// moves every record down a place, each is the page its number gives.
#[tokio::test]
async fn pages_by_number_in_any_order_are_the_pages_their_numbers_give() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    // More records than a page is skipped by before the list's end is considered.
    const RECORDS: usize = 12_000;
    let at = |n: usize| {
        (t("2026-01-01T00:00:00Z") + jiff::SignedDuration::from_mins(n as i64)).to_string()
    };
    let batch = Batch {
        deployments: (0..RECORDS)
            .map(|n| deployment(&format!("d{n:05}"), "shop", &at(n), DeploymentKind::Normal))
            .collect(),
        ..Batch::default()
    };
    store.write("import", &batch).await.unwrap();
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut newest_first: Vec<String> = (0..RECORDS).rev().map(|n| format!("d{n:05}")).collect();
    for round in 0..2 {
        let pages = [
            5, 6, 6, 2, 13, 3999, 4000, 4001, 3998, 14, 1, 9, 8, 13, 3, 2000, 12, 7, 5000,
        ];
        for page in pages {
            let got = get_json(&app, &format!("/api/v1/deployments?per_page=3&page={page}")).await;
            let start = ((page - 1) * 3).min(newest_first.len());
            let want = &newest_first[start..(start + 3).min(newest_first.len())];
            assert_eq!(ids(&got), want, "round {round}, page {page}");
            assert_eq!(got["total"], newest_first.len());
        }
        // In a window, a far page counts from the end once the window's total is known.
        let in_window: Vec<String> = newest_first
            .iter()
            .filter(|id| !id.starts_with("d0000"))
            .cloned()
            .collect();
        for page in [1, 3995, 3995, 3996] {
            let got = get_json(
                &app,
                &format!("/api/v1/deployments?since=2026-01-01T00:10:00Z&per_page=3&page={page}"),
            )
            .await;
            let start = ((page - 1) * 3).min(in_window.len());
            let want = &in_window[start..(start + 3).min(in_window.len())];
            assert_eq!(ids(&got), want, "round {round}, window page {page}");
            assert_eq!(got["total"], in_window.len());
        }
        // A newer record: every page by number moves down by one.
        let id = format!("new{round}");
        let newer = Batch {
            deployments: vec![deployment(
                &id,
                "shop",
                &format!("2026-03-02T00:0{round}:00Z"),
                DeploymentKind::Normal,
            )],
            ..Batch::default()
        };
        store.write("import", &newer).await.unwrap();
        newest_first.insert(0, id);
    }
}

#[tokio::test]
async fn health_services_and_paged_records() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    seed(&store).await;
    assert_eq!(get(&app, "/healthz").await, (StatusCode::OK, "ok\n".into()));
    assert_eq!(
        get_json(&app, "/api/v1/services").await,
        json!({"services": ["search", "shop"]})
    );
    let page = get_json(&app, "/api/v1/deployments?service=shop&per_page=2").await;
    assert_eq!(page["total"], 3);
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["d3", "d2"], "newest first");
    let page = get_json(&app, "/api/v1/deployments?service=shop&per_page=2&page=2").await;
    assert_eq!(page["items"][0]["id"], "d1");
    let incidents = get_json(&app, "/api/v1/incidents").await;
    assert_eq!(incidents["items"][0]["caused_by"], "d2");
    let windowed = get_json(&app, "/api/v1/changes?since=2026-03-03T00:00:00Z").await;
    assert_eq!(windowed["items"].as_array().unwrap().len(), 3);
    assert_eq!(windowed["next"], json!(null));
    assert!(windowed.get("total").is_none(), "cursor pages do not count");

    // Cursor pages: `limit`, and `next` carries the filter and the cursor.
    let first = get_json(&app, "/api/v1/deployments?service=shop&limit=2").await;
    assert_eq!(first["items"][0]["id"], "d3");
    assert_eq!(first["items"][1]["id"], "d2");
    let next = first["next"].as_str().unwrap();
    assert!(
        next.starts_with("/api/v1/deployments?service=shop&limit=2&cursor="),
        "{next}"
    );
    let second = get_json(&app, next).await;
    assert_eq!(second["items"][0]["id"], "d1");
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["next"], json!(null));
    assert_eq!(
        get(&app, "/api/v1/deployments?cursor=garbage").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&app, "/api/v1/deployments?limit=2&page=2").await.0,
        StatusCode::BAD_REQUEST
    );
    // A numbered page's `next` carries the page's end as a cursor too, so following the
    // links costs the same at any depth; the pages are the ones the numbers give.
    let numbered = get_json(&app, "/api/v1/deployments?service=shop&per_page=2").await;
    let next = numbered["next"].as_str().unwrap();
    assert!(
        next.starts_with("/api/v1/deployments?service=shop&page=2&per_page=2&cursor="),
        "{next}"
    );
    let by_link = get_json(&app, next).await;
    assert_eq!(
        by_link,
        json!({"items": [page["items"][0]], "next": null, "page": 2, "per_page": 2, "total": 3})
    );
    // A newer record arriving while a client pages through shifts the numbers, not the
    // pages reached by links: nothing is seen twice.
    let newer = Batch {
        deployments: vec![deployment(
            "d9",
            "shop",
            "2026-03-04T12:00:00Z",
            DeploymentKind::Normal,
        )],
        ..Batch::default()
    };
    store.write("import", &newer).await.unwrap();
    let after_write = get_json(&app, next).await;
    assert_eq!(after_write["items"], json!([page["items"][0]]));
    assert_eq!(after_write["total"], 4);
    let shifted = get_json(&app, "/api/v1/deployments?service=shop&per_page=2&page=2").await;
    assert_eq!(
        shifted["items"][0]["id"], "d2",
        "by number, page 2 moved down by one"
    );
    let mut linked = Vec::new();
    let mut url = Some("/api/v1/changes?per_page=1".to_owned());
    while let Some(at) = url {
        let page = get_json(&app, &at).await;
        linked.push(page["items"].clone());
        assert_eq!(page["page"], linked.len());
        url = page["next"].as_str().map(str::to_owned);
    }
    assert!(linked.len() >= 3, "{linked:?}");
    for (number, items) in linked.iter().enumerate() {
        let page = get_json(
            &app,
            &format!("/api/v1/changes?per_page=1&page={}", number + 1),
        )
        .await;
        assert_eq!(&page["items"], items, "page {}", number + 1);
    }
    assert_eq!(
        get(&app, "/api/v1/changes?per_page=1&page=2&cursor=garbage")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&app, "/api/v1/changes?page=0").await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn list_bounds_take_dates_and_bad_parameters_get_json_errors() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    seed(&store).await;
    // A bare date is midnight UTC, as for the DORA window; `next` carries it as a time.
    let by_date = get_json(&app, "/api/v1/changes?since=2026-03-03&limit=1").await;
    let by_time = get_json(&app, "/api/v1/changes?since=2026-03-03T00:00:00Z&limit=1").await;
    assert_eq!(by_date, by_time);
    let next = by_date["next"].as_str().unwrap();
    assert!(
        next.starts_with("/api/v1/changes?since=2026-03-03T00%3A00%3A00Z&limit=1&cursor="),
        "{next}"
    );
    for (url, names) in [
        (
            "/api/v1/changes?since=last-tuesday",
            "since: expected a date",
        ),
        ("/api/v1/deployments?until=2026-13-01", "until:"),
        ("/api/v1/changes?page=abc", "query parameter page:"),
        ("/api/v1/incidents?limit=-1", "query parameter limit:"),
        ("/api/v1/maps/none?version=x", "query parameter version:"),
    ] {
        let (status, body) = get(&app, url).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}");
        let body: serde_json::Value = serde_json::from_str(&body).expect("a JSON error");
        let error = body["error"].as_str().unwrap();
        assert!(error.starts_with(names), "{url}: {error}");
    }
}

#[tokio::test]
async fn dora_is_the_core_report_of_the_same_window() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    seed(&store).await;
    let served = get_json(&app, "/api/v1/dora?since=2026-03-01&until=2026-03-08").await;

    let options = DoraOptions::new(t("2026-03-01T00:00:00Z"), t("2026-03-08T00:00:00Z"));
    let data = store.load(&LoadQuery::for_dora(&options)).await.unwrap();
    let input = DoraInput {
        deployments: &data.deployments,
        changes: &data.changes,
        incidents: &data.incidents,
    };
    let expected = serde_json::to_value(compute(&input, &options).unwrap()).unwrap();
    assert_eq!(served, expected);
    // And the numbers by hand: 4 deployments, d2 failed (caused_by), 1 hotfix of 4.
    assert_eq!(served["deployment_frequency"]["deployments"], 4);
    assert_eq!(served["change_failure_rate"]["failed"], 1);
    assert_eq!(served["rework_rate"]["rate"], 0.25);

    let shop = get_json(
        &app,
        "/api/v1/dora?service=shop&since=2026-03-01&until=2026-03-08",
    )
    .await;
    assert_eq!(shop["service"], "shop");
    // Lead times 2h, 4h, 1h: median 2h.
    assert_eq!(shop["lead_time"]["median_hours"], 2.0);

    let (status, body) = get(&app, "/api/v1/dora?since=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("since:"), "{body}");

    // Bounds near the ends of the time range used to panic in the window arithmetic and
    // drop the connection; they are a plain 400 now.
    for query in [
        "until=-009999-03-03T00:00:00Z",
        "until=9999-12-30T00:00:00Z",
        "since=-009999-01-01&until=2026-03-08",
        "until=1899-12-31T23:59:59Z",
    ] {
        let (status, body) = get(&app, &format!("/api/v1/dora?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body.contains("out of range"), "{query}: {body}");
    }
}

#[tokio::test]
async fn metrics_are_prometheus_gauges_per_service() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    // Recent data, inside the 90-day window /metrics reports.
    let now = Timestamp::now();
    let ago = |hours: i64| (now - jiff::SignedDuration::from_hours(hours)).to_string();
    let batch = Batch {
        deployments: vec![
            deployment("d1", "shop", &ago(30), DeploymentKind::Normal),
            deployment("d2", "shop", &ago(20), DeploymentKind::Rollback),
        ],
        changes: vec![
            change("c-d1", "shop", &ago(36)),
            change("c-d2", "shop", &ago(22)),
        ],
        ..Batch::default()
    };
    store.write("import", &batch).await.unwrap();
    let (status, body) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("# TYPE flowmap_deployments gauge"));
    assert!(
        body.contains("flowmap_deployments{service=\"shop\"} 2\n"),
        "{body}"
    );
    // Lead times 6h and 2h.
    assert!(
        body.contains("flowmap_lead_time_median_hours{service=\"shop\"} 4\n"),
        "{body}"
    );
    assert!(
        body.contains("flowmap_rework_rate{service=\"shop\"} 0.5\n"),
        "{body}"
    );
    // The rollback names no deployment it fixes: nothing failed, nothing to recover.
    assert!(
        body.contains("flowmap_change_fail_rate{service=\"shop\"} 0\n"),
        "{body}"
    );
    assert!(
        !body.contains("flowmap_recovery_time_median_hours{"),
        "{body}"
    );
}

const MAP: &str = "name: Checkout\nsteps:\n  - id: code\n    process: 4h\n  - id: review\n    wait: 1d\n    process: 1h\n";

fn json_request(method: &str, uri: &str, body: Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn maps_crud_with_versions_and_analysis() {
    let db = TestDb::sqlite();
    let (app, _store) = app(&db).await;
    let (status, body) = send(
        &app,
        json_request(
            "POST",
            "/api/v1/maps",
            json!({"id": "checkout", "text": MAP}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(created["version"], 1);
    assert_eq!(created["name"], "Checkout");

    // Creating it again is a conflict; PUT saves a new version.
    let (status, _) = send(
        &app,
        json_request(
            "POST",
            "/api/v1/maps",
            json!({"id": "checkout", "text": MAP}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let v2 = MAP.replace("wait: 1d", "wait: 2d");
    let (status, body) = send(
        &app,
        json_request("PUT", "/api/v1/maps/checkout", json!({"text": v2})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // An invalid map is refused with its diagnostics and saves nothing.
    let (status, body) = send(
        &app,
        json_request(
            "PUT",
            "/api/v1/maps/checkout",
            json!({"text": "name: X\nsteps:\n  - id: a\n    proces: 1h\n"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("checkout.yaml:4"), "{body}");

    let versions = get_json(&app, "/api/v1/maps/checkout/versions").await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);
    let latest = get_json(&app, "/api/v1/maps/checkout").await;
    assert_eq!(latest["version"], 2);
    let first = get_json(&app, "/api/v1/maps/checkout?version=1").await;
    assert_eq!(first["text"], MAP);

    // The analysis is `map analyze --format json`: 4h + 24h + 1h = 29h for version 1,
    // 53h for version 2.
    let analysis = get_json(&app, "/api/v1/maps/checkout/analysis?version=1").await;
    assert_eq!(analysis["lead_time_hours"], 29.0);
    assert_eq!(analysis["bottleneck"], "review");
    let analysis = get_json(&app, "/api/v1/maps/checkout/analysis").await;
    assert_eq!(analysis["lead_time_hours"], 53.0);

    let list = get_json(&app, "/api/v1/maps").await;
    assert_eq!(list["items"][0]["id"], "checkout");
    let delete = Request::delete("/api/v1/maps/checkout")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, delete).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&app, "/api/v1/maps/checkout").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let db = TestDb::sqlite();
    let (app, _store) = app(&db).await;
    let doc = get_json(&app, "/api/v1/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for route in [
        "/api/v1/services",
        "/api/v1/dora",
        "/api/v1/deployments",
        "/api/v1/changes",
        "/api/v1/incidents",
        "/api/v1/deliveries",
        "/api/v1/maps",
        "/api/v1/maps/{id}",
        "/api/v1/maps/{id}/versions",
        "/api/v1/maps/{id}/analysis",
        "/api/v1/maps/{id}/measure",
        "/api/v1/outcomes",
        "/api/v1/outcomes/{id}",
        "/api/v1/outcomes/{id}/versions",
        "/api/v1/outcomes/{id}/status",
        "/api/v1/workshops",
        "/api/v1/workshops/{id}",
        "/api/v1/workshops/{id}/participants",
        "/api/v1/workshops/{id}/notes",
        "/api/v1/workshops/{id}/notes/{note}",
        "/api/v1/workshops/{id}/phase",
        "/api/v1/workshops/{id}/votes",
        "/api/v1/workshops/{id}/outcome",
        "/api/v1/workshops/{id}/map",
        "/api/v1/workshops/{id}/close",
        "/api/v1/workshops/{id}/events",
        "/hooks/github",
        "/hooks/gitlab",
        "/hooks/cdevents",
        "/metrics",
        "/healthz",
    ] {
        assert!(paths.contains_key(route), "{route} is not documented");
    }
    // Every documented path answers something other than "no such route".
    for route in [
        "/api/v1/services",
        "/api/v1/deliveries",
        "/metrics",
        "/healthz",
    ] {
        assert_eq!(get(&app, route).await.0, StatusCode::OK, "{route}");
    }
}

#[tokio::test]
async fn a_save_based_on_an_old_version_is_a_conflict() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    let (status, body) = send(
        &app,
        json_request(
            "POST",
            "/api/v1/maps",
            json!({"id": "checkout", "text": MAP}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let v2 = MAP.replace("wait: 1d", "wait: 2d");
    let put = |base: u32, text: &str| {
        json_request(
            "PUT",
            "/api/v1/maps/checkout",
            json!({"text": text, "base_version": base}),
        )
    };
    // Based on the latest version: saved as version 2.
    let (status, body) = send(&app, put(1, &v2)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A second editor who also started from version 1 is refused, and nothing is saved.
    let (status, body) = send(&app, put(1, MAP)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("version 2"), "{body}");
    let latest = store.map("checkout", None).await.unwrap().unwrap();
    assert_eq!(latest.version, 2);
    assert_eq!(latest.text, v2);
    assert_eq!(latest.saved_by.as_deref(), Some("anonymous"));
}

#[tokio::test]
async fn internal_errors_name_a_request_id_and_no_database_text() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    // The store's pool is closed under the server: every query fails inside the server.
    store.close().await;
    let request = Request::get("/api/v1/services")
        .header("x-request-id", "req-42")
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let error: Value = serde_json::from_str(&body).unwrap();
    let message = error["error"].as_str().unwrap();
    assert!(message.contains("req-42"), "{message}");
    assert!(!message.contains("database"), "{message}");
    assert!(!message.contains("pool"), "{message}");
}

const OUTCOME: &str = "outcome: Fewer failed deployments of the shop
service: shop
metric: change_failure_rate
baseline: 40%
started: 2026-03-01
target: '< 10%'
deadline: 2026-06-01
experiments:
  - id: contract-tests
    constraint: checkout.yaml#review
    started: 2026-03-03
";

#[tokio::test]
async fn outcomes_crud_with_versions_and_status() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    seed(&store).await;
    // The constraint names a map that does not exist yet: refused, located.
    let (status, body) = send(
        &app,
        json_request(
            "POST",
            "/api/v1/outcomes",
            json!({"id": "reliable-shop", "text": OUTCOME}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("reliable-shop.yaml:10:17"), "{body}");
    let (status, _) = send(
        &app,
        json_request(
            "POST",
            "/api/v1/maps",
            json!({"id": "checkout", "text": MAP}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = send(
        &app,
        json_request(
            "POST",
            "/api/v1/outcomes",
            json!({"id": "reliable-shop", "text": OUTCOME}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = send(
        &app,
        json_request(
            "PUT",
            "/api/v1/outcomes/reliable-shop",
            json!({"text": OUTCOME.replace("40%", "35%"), "base_version": 1}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // A save based on version 1 after version 2 exists is a conflict.
    let (status, _) = send(
        &app,
        json_request(
            "PUT",
            "/api/v1/outcomes/reliable-shop",
            json!({"text": OUTCOME, "base_version": 1}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let versions = get_json(&app, "/api/v1/outcomes/reliable-shop/versions").await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);
    assert_eq!(versions["items"][0]["saved_by"], "anonymous");
    let first = get_json(&app, "/api/v1/outcomes/reliable-shop?version=1").await;
    assert_eq!(first["text"], OUTCOME);

    // At 2026-03-05 the 28-day window holds shop's three deployments, one failed (d2):
    // 1/3; baseline 35 % (version 2). Deadline not passed, progress (1/3 − 0.35)/(0.1 −
    // 0.35) = 0.0667, expected 4 days of 92 = 0.043: on track.
    let status = get_json(&app, "/api/v1/outcomes/reliable-shop/status?at=2026-03-05").await;
    assert_eq!(status["metric"], "change_failure_rate");
    assert_eq!(status["unit"], "fraction");
    assert_eq!(status["baseline_value"], 0.35);
    assert!((status["current_value"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert!((status["expected_progress"].as_f64().unwrap() - 4.0 / 92.0).abs() < 1e-12);
    assert_eq!(status["status"], "on_track");
    assert_eq!(status["experiments"][0]["verdict"], "insufficient data");
    assert_eq!(
        get(&app, "/api/v1/outcomes/reliable-shop/status?at=yesterday")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    let list = get_json(&app, "/api/v1/outcomes").await;
    assert_eq!(list["outcomes"][0]["id"], "reliable-shop");
    assert_eq!(list["outcomes"][0]["metric"], "change_failure_rate");
    assert!(list["outcomes"][0]["status"].is_string());
    let delete = Request::delete("/api/v1/outcomes/reliable-shop")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, delete).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        get(&app, "/api/v1/outcomes/reliable-shop").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn measure_is_the_cli_json_of_the_stored_map() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    seed(&store).await;
    let text = "name: Shop\nservice: shop\nsteps:\n  - id: ship\n    process: 1h\n    \
                measure: { process: committed..deployed, ca: change_fail_rate }\n";
    let (status, body) = send(
        &app,
        json_request("POST", "/api/v1/maps", json!({"id": "shop", "text": text})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let measured = get_json(
        &app,
        "/api/v1/maps/shop/measure?since=2026-03-01&until=2026-03-08",
    )
    .await;
    assert_eq!(measured["service"], "shop");
    // c-d1 2 h, c-d2 4 h, c-d3 1 h: median 2 h; d2 failed of three deployments.
    assert_eq!(measured["lead_time"]["n"], 3);
    assert_eq!(measured["lead_time"]["p50_hours"], 2.0);
    assert_eq!(measured["steps"][0]["measured_hours"], 2.0);
    assert_eq!(measured["steps"][0]["flag"], "too little data");
    let ca = measured["steps"][0]["ca"].as_f64().unwrap();
    assert!((ca - 2.0 / 3.0).abs() < 1e-9, "{ca}");
    assert_eq!(measured["estimate"]["lead_time_hours"], 1.0);
    assert_eq!(measured["measured"]["lead_time_hours"], 2.0);
    let (status, _) = get(
        &app,
        "/api/v1/maps/shop/measure?since=2026-03-08&until=2026-03-01",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get(&app, "/api/v1/maps/nope/measure").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn access_control_roles_tokens_and_browser_protections() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    let flowmap = flowmap_app::App::new(store.clone());
    let admin = flowmap_app::Actor::local_user("test");
    let viewer = flowmap
        .create_token(&admin, "viewer", flowmap_app::Role::Viewer, None)
        .await
        .unwrap();
    let editor = flowmap
        .create_token(&admin, "editor", flowmap_app::Role::Editor, None)
        .await
        .unwrap();
    let with = |method: &str, uri: &str, token: Option<&str>, body: Option<Value>| {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("bearer {token}"));
        }
        match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => request.body(Body::empty()).unwrap(),
        }
    };
    let map = json!({"id": "checkout", "text": MAP});

    // /healthz is always open; everything else needs a token now.
    assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);
    let (status, body) = send(
        &app,
        with("PUT", "/api/v1/maps/checkout", None, Some(map.clone())),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        send(&app, with("DELETE", "/api/v1/maps/x", None, None))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&app, "/api/v1/services").await.0,
        StatusCode::UNAUTHORIZED
    );
    let page = app
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/login");

    // Roles: a viewer reads, an editor writes, only an admin reads raw deliveries.
    assert_eq!(
        send(&app, with("GET", "/api/v1/services", Some(&viewer), None))
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = send(
        &app,
        with("POST", "/api/v1/maps", Some(&viewer), Some(map.clone())),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = send(
        &app,
        with("POST", "/api/v1/maps", Some(&editor), Some(map.clone())),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        send(&app, with("GET", "/api/v1/deliveries", Some(&editor), None))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(
            &app,
            with("GET", "/api/v1/services", Some("fm_wrong"), None)
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    // The map version records who saved it, and the audit log has it with the outcome.
    let saved = store.map("checkout", None).await.unwrap().unwrap();
    assert_eq!(saved.saved_by.as_deref(), Some("token:editor"));
    let audit = store.audit_log(10).await.unwrap();
    assert!(
        audit.iter().any(|e| e.actor == "token:editor"
            && e.action == "save map"
            && e.outcome == "saved version 1"),
        "{audit:?}"
    );

    // A revoked token stops working at once.
    flowmap.revoke_token(&admin, "viewer").await.unwrap();
    assert_eq!(
        send(&app, with("GET", "/api/v1/services", Some(&viewer), None))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );

    // DNS rebinding: an unknown Host is refused, loopback names pass.
    let rebound = Request::get("/api/v1/deliveries")
        .header("host", "attacker.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, rebound).await.0, StatusCode::MISDIRECTED_REQUEST);
    let local = Request::get("/healthz")
        .header("host", "localhost:7878")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, local).await.0, StatusCode::OK);

    // Security headers on every answer.
    let response = app
        .clone()
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("frame-ancestors 'none'")
            && !csp.contains("script-src 'self' 'unsafe-inline'"),
        "{csp}"
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["referrer-policy"], "same-origin");

    // Browsers: sign in with a token, get a session cookie; a cross-site POST is refused,
    // and a same-site one needs the session's CSRF token.
    let login = Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", "http://localhost:7878")
        .header("host", "localhost:7878")
        .body(Body::from(format!("token={editor}")))
        .unwrap();
    let response = app.clone().oneshot(login).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let browser_post = |origin: &str| {
        Request::delete("/api/v1/maps/checkout")
            .header("cookie", session.as_str())
            .header("host", "localhost:7878")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(&app, browser_post("https://evil.example")).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = send(&app, browser_post("http://localhost:7878")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token: {body}");
    assert!(body.contains("CSRF"), "{body}");
    // The sign-in also hands the pages' script the session's CSRF token, in a cookie other
    // sites can neither read nor send; with it, the same request passes.
    let csrf = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("flowmap_csrf="))
        .expect("a CSRF cookie")
        .to_owned();
    assert!(
        csrf.contains("SameSite=Strict") && !csrf.contains("HttpOnly"),
        "{csrf}"
    );
    let token = csrf
        .trim_start_matches("flowmap_csrf=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    for request in [
        Request::delete(format!("/api/v1/maps/checkout?csrf={token}")),
        Request::delete("/api/v1/maps/checkout").header("x-csrf-token", token.as_str()),
    ] {
        let request = request
            .header("cookie", session.as_str())
            .header("host", "localhost:7878")
            .header("origin", "http://localhost:7878")
            .body(Body::empty())
            .unwrap();
        let (status, body) = send(&app, request).await;
        assert_ne!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let signed_in = app
        .clone()
        .oneshot(
            Request::get("/")
                .header("cookie", session.as_str())
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    // Logging out ends the session.
    let logout = Request::post("/logout")
        .header("cookie", session.as_str())
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, logout).await.0, StatusCode::SEE_OTHER);
    let after = app
        .clone()
        .oneshot(
            Request::get("/")
                .header("cookie", session.as_str())
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_open_server_refuses_cross_site_posts() {
    let db = TestDb::sqlite();
    let (app, _store) = app(&db).await;
    let request = |origin: &str| {
        Request::post("/api/v1/maps")
            .header("content-type", "application/json")
            .header("host", "127.0.0.1:7878")
            .header("origin", origin)
            .body(Body::from(json!({"id": "m", "text": MAP}).to_string()))
            .unwrap()
    };
    assert_eq!(
        send(&app, request("https://evil.example")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&app, request("http://127.0.0.1:7878")).await.0,
        StatusCode::CREATED
    );
}
