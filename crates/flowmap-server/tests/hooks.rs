//! Webhook receivers, fed real GitHub payloads, against SQLite and PostgreSQL.

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

/// A push of two commits to the default branch, built on the real example's envelope.
fn push_body(head: &str, commits: &[(&str, &str)]) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&fixture("github/push.json")).unwrap();
    body["ref"] = json!("refs/heads/master");
    body["deleted"] = json!(false);
    body["after"] = json!(head);
    body["commits"] = commits
        .iter()
        .map(|(id, at)| {
            json!({"id": id, "message": format!("commit {id}"), "timestamp": at,
                                "author": {"name": "Ada", "email": "ada@example.com"}})
        })
        .collect();
    body.to_string().into_bytes()
}

/// The real deployment_status example, deploying `sha` with status `state` at `at`.
fn status_body(deployment_id: u64, sha: &str, state: &str, at: &str) -> Vec<u8> {
    let mut body: Value =
        serde_json::from_slice(&fixture("github/deployment_status.json")).unwrap();
    body["deployment"]["id"] = json!(deployment_id);
    body["deployment"]["sha"] = json!(sha);
    body["deployment_status"]["state"] = json!(state);
    body["deployment_status"]["updated_at"] = json!(at);
    body.to_string().into_bytes()
}

async fn push_then_deploy_links_the_commits(db: TestDb) {
    let (app, _store) = app(&db).await;
    let pushes = [
        push_body(
            "a2",
            &[
                ("a1", "2026-03-02T08:00:00Z"),
                ("a2", "2026-03-02T09:00:00Z"),
            ],
        ),
        push_body("b1", &[("b1", "2026-03-02T10:00:00Z")]),
        push_body("c1", &[("c1", "2026-03-02T11:00:00Z")]),
    ];
    for (i, body) in pushes.iter().enumerate() {
        let (status, reply) = send(&app, github_request("push", &format!("push-{i}"), body)).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
    }
    // Deploys b1 at noon: ships a1, a2, b1 (not c1, pushed after).
    let deploy = status_body(7, "b1", "success", "2026-03-02T12:00:00Z");
    let (status, reply) = send(&app, github_request("deployment_status", "dep-7", &deploy)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert!(reply.contains("3 changes"), "{reply}");

    let page = get_json(&app, "/api/v1/deployments?per_page=100").await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], "7");
    assert_eq!(page["items"][0]["changes"], json!(["a1", "a2", "b1"]));

    // Lead times 4h, 3h, 2h: median 3h.
    let report = get_json(
        &app,
        "/api/v1/dora?service=Codertocat/Hello-World&since=2026-03-01&until=2026-03-08",
    )
    .await;
    assert_eq!(report["lead_time"]["changes"], 3);
    assert_eq!(report["lead_time"]["median_hours"], 3.0);
    assert_eq!(report["deployment_frequency"]["deployments"], 1);

    // A redelivery changes nothing and says so.
    let (status, reply) = send(&app, github_request("deployment_status", "dep-7", &deploy)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(reply.contains("duplicate"), "{reply}");
    // The same event under a new delivery id: the same records.
    let (status, _) = send(
        &app,
        github_request("deployment_status", "dep-7-again", &deploy),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page = get_json(&app, "/api/v1/deployments?per_page=100").await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["changes"], json!(["a1", "a2", "b1"]));
    let changes = get_json(&app, "/api/v1/changes?per_page=100").await;
    assert_eq!(changes["total"], 4);
}

/// Deployment statuses delivered out of order: the newest by its time stays.
async fn a_late_older_status_does_not_overwrite_a_newer_one(db: TestDb) {
    let (app, _store) = app(&db).await;
    let success = status_body(8, "b1", "success", "2026-03-02T12:05:00Z");
    let (status, reply) = send(&app, github_request("deployment_status", "s-2", &success)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    // The failure GitHub sent five minutes earlier arrives now.
    let failure = status_body(8, "b1", "failure", "2026-03-02T12:00:00Z");
    let (status, reply) = send(&app, github_request("deployment_status", "s-1", &failure)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let page = get_json(&app, "/api/v1/deployments?per_page=100").await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["status"], "success", "{page}");
    assert_eq!(page["items"][0]["finished_at"], "2026-03-02T12:05:00Z");
    // A later failure (a redeploy that broke) does replace it.
    let broke = status_body(8, "b1", "failure", "2026-03-02T12:30:00Z");
    let (status, _) = send(&app, github_request("deployment_status", "s-3", &broke)).await;
    assert_eq!(status, StatusCode::OK);
    let page = get_json(&app, "/api/v1/deployments?per_page=100").await;
    assert_eq!(page["items"][0]["status"], "failure", "{page}");
}

/// A CDEvents incident event about `incident-123` (`detected` or `resolved`) at `at`.
fn incident_event(
    id: &str,
    predicate: &str,
    at: &str,
    title: &str,
    severity: &str,
) -> Request<Body> {
    let event = json!({
        "context": {
            "id": id,
            "source": "/monitoring/prod1",
            "type": format!("dev.cdevents.incident.{predicate}.0.3.0"),
            "timestamp": at,
        },
        "subject": {
            "id": "incident-123",
            "content": { "description": title, "service": { "id": "checkout" } },
        },
        "customData": { "severity": severity },
    });
    Request::post("/hooks/cdevents")
        .header("authorization", format!("Bearer {CDEVENTS_TOKEN}"))
        .body(Body::from(event.to_string()))
        .unwrap()
}

/// Incident events delivered out of order: the newest event's title and severity stay,
/// the older one still contributes its earlier start.
async fn a_late_older_incident_event_does_not_overwrite_a_newer_one(db: TestDb) {
    let (app, _store) = app(&db).await;
    let escalated = || {
        incident_event(
            "e-2",
            "detected",
            "2026-03-02T12:20:00Z",
            "Checkout down",
            "sev1",
        )
    };
    let (status, reply) = send(&app, escalated()).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    // The first detection, twenty minutes older, arrives now.
    let first = incident_event(
        "e-1",
        "detected",
        "2026-03-02T12:00:00Z",
        "Slow checkout",
        "sev3",
    );
    let (status, reply) = send(&app, first).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let page = get_json(&app, "/api/v1/incidents?per_page=100").await;
    assert_eq!(page["total"], 1, "{page}");
    let incident = &page["items"][0];
    assert_eq!(incident["title"], "Checkout down", "{page}");
    assert_eq!(incident["severity"], "sev1", "{page}");
    assert_eq!(incident["started_at"], "2026-03-02T12:00:00Z", "{page}");
    // A newer event (the resolution) does change it; what it lacks is kept.
    let resolved = incident_event("e-3", "resolved", "2026-03-02T13:00:00Z", "ignored", "sev2");
    let (status, reply) = send(&app, resolved).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let page = get_json(&app, "/api/v1/incidents?per_page=100").await;
    let incident = &page["items"][0];
    assert_eq!(incident["severity"], "sev2", "{page}");
    assert_eq!(incident["title"], "Checkout down", "{page}");
    assert_eq!(incident["resolved_at"], "2026-03-02T13:00:00Z", "{page}");
    // A redelivery of the older escalation changes nothing.
    let (_, reply) = send(&app, escalated()).await;
    assert!(reply.contains("duplicate"), "{reply}");
    let again = get_json(&app, "/api/v1/incidents?per_page=100").await;
    assert_eq!(again, page);
}

async fn bad_payload_is_rejected_and_kept(db: TestDb) {
    let (app, _store) = app(&db).await;
    let (status, reply) = send(&app, github_request("push", "bad-1", b"{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(reply.contains("body: not JSON"), "{reply}");
    let (status, reply) = send(&app, github_request("issues", "bad-2", b"{}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(reply.contains("unsupported event"), "{reply}");

    let kept = get_json(&app, "/api/v1/deliveries?rejected=true").await;
    let items = kept["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let bad1 = items.iter().find(|d| d["delivery_id"] == "bad-1").unwrap();
    assert_eq!(bad1["body"], "{not json");
    assert_eq!(bad1["status"], "rejected");
}

/// A signed delivery whose data the store refuses (a NUL byte reached PostgreSQL as a 500
/// with the raw database error) is kept as rejected, with the field named, on both.
async fn signed_but_invalid_data_is_rejected_and_kept(db: TestDb) {
    let (app, store) = app(&db).await;
    let mut body: Value =
        serde_json::from_slice(&push_body("n1", &[("n1", "2026-03-02T08:00:00Z")])).unwrap();
    body["commits"][0]["message"] = json!("fix\u{0}it");
    let body = body.to_string().into_bytes();
    let (status, reply) = send(&app, github_request("push", "nul-1", &body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    assert!(reply.contains("title: contains a NUL byte"), "{reply}");
    assert!(!reply.to_lowercase().contains("database"), "{reply}");
    assert_eq!(store.delivery_counts().await.unwrap(), (0, 1));
    let kept = get_json(&app, "/api/v1/deliveries?rejected=true").await;
    assert_eq!(kept["items"][0]["delivery_id"], "nul-1");
    let changes = get_json(&app, "/api/v1/changes?per_page=1").await;
    assert_eq!(changes["total"], 0);
}

/// GitHub's form-encoded deliveries (`payload=<JSON>`, signed as sent) are accepted.
async fn form_encoded_github_deliveries_are_accepted(db: TestDb) {
    let (app, _store) = app(&db).await;
    let json = push_body("f1", &[("f1", "2026-03-02T08:00:00Z")]);
    let mut form = b"payload=".to_vec();
    for &b in &json {
        if b.is_ascii_alphanumeric() {
            form.push(b);
        } else {
            form.extend(format!("%{b:02X}").bytes());
        }
    }
    let request = Request::post("/hooks/github")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-github-event", "push")
        .header("x-github-delivery", "form-1")
        .header("x-hub-signature-256", sign(&form))
        .body(Body::from(form.clone()))
        .unwrap();
    let (status, reply) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let changes = get_json(&app, "/api/v1/changes?per_page=1").await;
    assert_eq!(changes["total"], 1);
}

/// Concurrent deliveries and redeliveries: each stored exactly once.
async fn concurrent_deliveries_are_stored_exactly_once(db: TestDb) {
    let (app, store) = app(&db).await;
    let mut tasks = Vec::new();
    for client in 0..20 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let n = client * 10 + i;
                let body = push_body(
                    &format!("h{n}"),
                    &[(&format!("h{n}"), "2026-03-02T08:00:00Z")],
                );
                // Each delivery twice: the second is a redelivery.
                for _ in 0..2 {
                    let (status, reply) = send(
                        &app,
                        github_request("push", &format!("delivery-{n}"), &body),
                    )
                    .await;
                    assert_eq!(status, StatusCode::OK, "{reply}");
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(store.delivery_counts().await.unwrap(), (200, 0));
    let changes = get_json(&app, "/api/v1/changes?per_page=1").await;
    assert_eq!(changes["total"], 200);
}

/// Two replicas (two servers, each with its own connections and report cache) on one
/// database: deliveries posted alternately to both, each redelivered to the other, are
/// stored exactly once; and a write through one shows on the other's overview at once
/// (the data version in the database invalidates the other's cache).
async fn two_replicas_share_one_database(db: TestDb) {
    let (a, store) = app(&db).await;
    let (b, _) = app(&db).await;
    let replicas = [&a, &b];
    for n in 0..60 {
        let body = push_body(
            &format!("r{n}"),
            &[(&format!("r{n}"), "2026-03-02T08:00:00Z")],
        );
        for turn in 0..2 {
            let replica = replicas[(n + turn) % 2];
            let (status, reply) =
                send(replica, github_request("push", &format!("rep-{n}"), &body)).await;
            assert_eq!(status, StatusCode::OK, "{reply}");
        }
    }
    assert_eq!(store.delivery_counts().await.unwrap(), (60, 0));
    for replica in replicas {
        let changes = get_json(replica, "/api/v1/changes?per_page=1").await;
        assert_eq!(changes["total"], 60);
    }

    let overview = "/?since=2026-03-01&until=2026-03-08";
    let (status, before) = get(&b, overview).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        get(&b, overview).await.1,
        before,
        "served again, from the cache"
    );
    let deploy = status_body(9, "r59", "success", "2026-03-02T12:00:00Z");
    let (status, reply) = send(&a, github_request("deployment_status", "rep-dep", &deploy)).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let written = std::time::Instant::now();
    let (_, after) = get(&b, overview).await;
    assert!(written.elapsed() < std::time::Duration::from_secs(2));
    assert_ne!(
        after, before,
        "the other replica's overview shows the deployment"
    );
    // What a replica that never cached anything serves.
    let (fresh, _) = app(&db).await;
    assert_eq!(get(&fresh, overview).await.1, after);
}

on_both_backends!(
    two_replicas_share_one_database,
    push_then_deploy_links_the_commits,
    a_late_older_status_does_not_overwrite_a_newer_one,
    a_late_older_incident_event_does_not_overwrite_a_newer_one,
    bad_payload_is_rejected_and_kept,
    signed_but_invalid_data_is_rejected_and_kept,
    form_encoded_github_deliveries_are_accepted,
    concurrent_deliveries_are_stored_exactly_once,
);

macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    let Some(db) = super::TestDb::postgres().await else { return };
                    super::$test(db).await;
                }
            )*
        }
    };
}
use on_both_backends;

#[tokio::test]
async fn every_real_github_example_is_accepted() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    let examples = [
        ("push", "push.json", "ignored"),
        ("deployment", "deployment.json", "ignored"),
        ("deployment_status", "deployment_status.json", "accepted"),
        ("pull_request", "pull_request.opened.json", "accepted"),
        (
            "pull_request",
            "pull_request.ready_for_review.json",
            "accepted",
        ),
        ("pull_request", "pull_request.closed.json", "accepted"),
        (
            "pull_request_review",
            "pull_request_review.submitted.json",
            "accepted",
        ),
        // A completed workflow run that is not a deploy workflow is a build.
        ("workflow_run", "workflow_run.completed.json", "accepted"),
    ];
    for (i, (event, file, expected)) in examples.iter().enumerate() {
        let body = fixture(&format!("github/{file}"));
        let (status, reply) = send(&app, github_request(event, &format!("d{i}"), &body)).await;
        assert_eq!(status, StatusCode::OK, "{file}: {reply}");
        let reply: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["status"], *expected, "{file}: {reply}");
    }
    assert_eq!(store.delivery_counts().await.unwrap(), (8, 0));
    // The deployment_status example deploys an unknown sha: recorded, shipping nothing.
    let page = get_json(&app, "/api/v1/deployments?per_page=100").await;
    assert_eq!(
        page["items"][0]["commit"],
        "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
    );
    assert_eq!(page["items"][0]["changes"], json!([]));
}

#[tokio::test]
async fn signatures_are_checked_before_anything_else() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    let body = fixture("github/push.json");

    let mut unsigned = github_request("push", "u1", &body);
    unsigned.headers_mut().remove("x-hub-signature-256");
    let (status, reply) = send(&app, unsigned).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(reply.contains("missing"), "{reply}");

    let mut forged = github_request("push", "u2", &body);
    forged.headers_mut().insert(
        "x-hub-signature-256",
        "sha256=0000000000000000000000000000000000000000000000000000000000000000"
            .parse()
            .unwrap(),
    );
    assert_eq!(send(&app, forged).await.0, StatusCode::UNAUTHORIZED);

    // A signature of a different body does not carry over.
    let mut tampered = github_request("push", "u3", b"{}");
    tampered
        .headers_mut()
        .insert("x-hub-signature-256", sign(&body).parse().unwrap());
    assert_eq!(send(&app, tampered).await.0, StatusCode::UNAUTHORIZED);

    // Nothing unauthenticated is stored.
    assert_eq!(store.delivery_counts().await.unwrap(), (0, 0));
}

#[tokio::test]
async fn webhook_without_a_configured_secret_refuses_everything() {
    let db = TestDb::sqlite();
    let store = flowmap_store::Store::open(&db.location()).await.unwrap();
    let app = flowmap_server::router(flowmap_server::AppState::new(
        store,
        flowmap_server::ServerConfig::default(),
    ));
    let (status, reply) = send(&app, github_request("push", "x", b"{}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(reply.contains("FLOWMAP_GITHUB_SECRET"), "{reply}");
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    let body = vec![b' '; flowmap_server::MAX_BODY_BYTES + 1];
    let (status, _) = send(&app, github_request("push", "big", &body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(store.delivery_counts().await.unwrap(), (0, 0));
}

#[tokio::test]
async fn gitlab_token_and_push() {
    let db = TestDb::sqlite();
    let (app, _store) = app(&db).await;
    let body = fixture("gitlab/push.json");
    let request = |token: Option<&str>| {
        let mut builder = Request::post("/hooks/gitlab")
            .header("x-gitlab-event", "Push Hook")
            .header("x-gitlab-event-uuid", "uuid-1");
        if let Some(token) = token {
            builder = builder.header("x-gitlab-token", token);
        }
        builder.body(Body::from(body.clone())).unwrap()
    };
    assert_eq!(send(&app, request(None)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(&app, request(Some("wrong"))).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, reply) = send(&app, request(Some(GITLAB_TOKEN))).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert!(
        reply.contains("push of 2 commits to mike/diaspora"),
        "{reply}"
    );
    let (_, reply) = send(&app, request(Some(GITLAB_TOKEN))).await;
    assert!(reply.contains("duplicate"), "{reply}");
    let changes = get_json(&app, "/api/v1/changes?service=mike/diaspora&per_page=100").await;
    assert_eq!(changes["total"], 2);
}

#[tokio::test]
async fn cdevents_need_the_bearer_token() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    let body = fixture("cdevents/service_deployed.json");
    let request = |auth: &str| {
        Request::post("/hooks/cdevents")
            .header("authorization", auth)
            .body(Body::from(body.clone()))
            .unwrap()
    };
    assert_eq!(
        send(&app, request("Bearer nope")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The scheme is case-insensitive (RFC 9110): `bearer` is as good as `Bearer`.
    let (status, reply) = send(&app, request(&format!("bearer {CDEVENTS_TOKEN}"))).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let page = get_json(&app, "/api/v1/deployments?service=mySubject123").await;
    assert_eq!(page["items"][0]["environment"], "test123");
    // Kept for audit beside the record.
    let raw = store
        .raw_records(
            "cdevents",
            flowmap_store::RecordKind::Deployment,
            "271069a8-fc18-44f1-b38f-9d70a1695819",
        )
        .await
        .unwrap();
    assert_eq!(raw.len(), 1);
    // Redelivery (same context.id) is a duplicate.
    let (_, reply) = send(&app, request(&format!("Bearer {CDEVENTS_TOKEN}"))).await;
    assert!(reply.contains("duplicate"), "{reply}");

    let bad = Request::post("/hooks/cdevents")
        .header("authorization", format!("Bearer {CDEVENTS_TOKEN}"))
        .body(Body::from(
            r#"{"context": {"id": "x", "type": "dev.cdevents.foo.bar.0.1.0"}}"#,
        ))
        .unwrap();
    let (status, reply) = send(&app, bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(reply.contains("context.type"), "{reply}");
}
