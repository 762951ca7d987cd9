//! Live workshops through the JSON API: the whole session from creating to closing, what
//! keys may do, hostile text, 50 participants at once with an event-stream client counting
//! every event, and two server replicas on one PostgreSQL.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use flowmap_server::{AppState, ServerConfig};
use flowmap_store::Store;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::*;

pub const MAP: &str = "name: Checkout\nsteps:\n  - id: code\n    name: Code\n    process: 1d..3d\n  - id: review\n    name: Review\n    wait: 2d\n    process: 1h\n  - id: deploy\n    name: Deploy\n    process: 30m\n    ca: 80%\n";

pub const OUTCOME: &str = "outcome: Checkout changes reach production within a day\nmandate: Ship checkout changes the same day\nmetric: lead_time\nbaseline: 3d\ntarget: '<= 1d'\ndeadline: 2027-06-01\nconcerns:\n  - { text: Reviews wait, category: process, votes: 4 }\nbenefits: [Fixes the same day]\nobstacles: [Release freeze]\nnext_steps: [Review rota]\n";

/// A JSON call with an optional workshop key; answers the status and the JSON body.
pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let (status, text) = send(app, request).await;
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// Creates a workshop; answers its id, facilitator key and join code.
pub async fn create(app: &Router, title: &str) -> (String, String, String) {
    let (status, created) = call(
        app,
        "POST",
        "/api/v1/workshops",
        None,
        Some(json!({ "title": title, "mandate": "Ship checkout changes the same day", "stream": "checkout" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let join_url = created["join_url"].as_str().unwrap();
    assert!(
        join_url.contains(&format!("/workshops/{id}/join?code=")),
        "{join_url}"
    );
    let code = join_url.rsplit("code=").next().unwrap().to_owned();
    let key = created["facilitator_key"].as_str().unwrap().to_owned();
    (id, key, code)
}

pub async fn join(app: &Router, id: &str, code: &str, name: &str) -> String {
    let (status, joined) = call(
        app,
        "POST",
        &format!("/api/v1/workshops/{id}/participants"),
        None,
        Some(json!({ "name": name, "join": code })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{joined}");
    joined["participant_key"].as_str().unwrap().to_owned()
}

async fn ok(app: &Router, method: &str, uri: &str, key: &str, body: Value) -> Value {
    let (status, answer) = call(app, method, uri, Some(key), Some(body)).await;
    assert!(status.is_success(), "{method} {uri}: {status} {answer}");
    answer
}

#[tokio::test]
async fn a_whole_workshop_through_the_api() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    let (id, fac, code) = create(&app, "Checkout <script>alert(1)</script>").await;
    let (_, _, other_code) = create(&app, "Another team").await;
    let base = format!("/api/v1/workshops/{id}");

    // A wrong code, or another workshop's code, admits nobody.
    for wrong in ["nope", other_code.as_str()] {
        let (status, _) = call(
            &app,
            "POST",
            &format!("{base}/participants"),
            None,
            Some(json!({ "name": "Eve", "join": wrong })),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let bo = join(&app, &id, &code, "Bo").await;
    let cy = join(&app, &id, &code, "Cy").await;

    // Participants cannot act as the facilitator.
    for (uri, body) in [
        (format!("{base}/phase"), json!({ "phase": "brainstorm" })),
        (format!("{base}/close"), json!({})),
    ] {
        let (status, answer) = call(&app, "POST", &uri, Some(&bo), Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}: {answer}");
    }
    ok(
        &app,
        "POST",
        &format!("{base}/phase"),
        &fac,
        json!({ "phase": "brainstorm", "seconds": 90 }),
    )
    .await;
    let state = ok(&app, "GET", &base, &bo, Value::Null).await;
    let left = state["countdown_ends"].as_i64().unwrap() - state["server_time"].as_i64().unwrap();
    assert!((89_000..=90_000).contains(&left), "{left}");

    let hostile = "<img src=x onerror=alert(1)> & \"quotes\"";
    let note = ok(
        &app,
        "POST",
        &format!("{base}/notes"),
        &bo,
        json!({ "text": hostile }),
    )
    .await;
    assert_eq!(note["text"], hostile);
    let bo_note = note["id"].as_i64().unwrap();
    let cy_note = ok(
        &app,
        "POST",
        &format!("{base}/notes"),
        &cy,
        json!({ "text": "QA is booked a week ahead" }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    ok(
        &app,
        "POST",
        &format!("{base}/notes"),
        &fac,
        json!({ "text": "Releases wait for Friday" }),
    )
    .await;

    // Own notes only; the facilitator may edit any.
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("{base}/notes/{bo_note}"),
        Some(&cy),
        Some(json!({ "text": "hijacked" })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &app,
        "DELETE",
        &format!("{base}/notes/{bo_note}"),
        Some(&cy),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    ok(
        &app,
        "PATCH",
        &format!("{base}/notes/{cy_note}"),
        &cy,
        json!({ "text": "Manual QA is booked a week ahead" }),
    )
    .await;

    // A key of another workshop, or none, is not a key here.
    let (third, other_fac, _) = create(&app, "Third").await;
    // Nor is a participant key valid in another workshop.
    let (status, _) = call(
        &app,
        "GET",
        &format!("/api/v1/workshops/{third}"),
        Some(&bo),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(
        &app,
        "POST",
        &format!("/api/v1/workshops/{third}/phase"),
        Some(&bo),
        Some(json!({ "phase": "vote" })),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for key in [Some(other_fac.as_str()), None, Some("fmw_made_up")] {
        let (status, _) = call(&app, "GET", &base, key, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}");
        let (status, _) = call(
            &app,
            "POST",
            &format!("{base}/notes"),
            key,
            Some(json!({ "text": "x" })),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}");
    }

    ok(
        &app,
        "POST",
        &format!("{base}/phase"),
        &fac,
        json!({ "phase": "group" }),
    )
    .await;
    let state = ok(&app, "GET", &base, &fac, Value::Null).await;
    for (note, category) in state["notes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(["process", "testing", "process"])
    {
        ok(
            &app,
            "PATCH",
            &format!("{base}/notes/{}", note["id"]),
            &fac,
            json!({ "category": category }),
        )
        .await;
    }
    let state = ok(&app, "GET", &base, &bo, Value::Null).await;
    assert_eq!(state["categories"], json!(["process", "testing"]));

    ok(
        &app,
        "POST",
        &format!("{base}/phase"),
        &fac,
        json!({ "phase": "vote" }),
    )
    .await;
    ok(
        &app,
        "POST",
        &format!("{base}/votes"),
        &bo,
        json!({ "category": "process", "dots": 2 }),
    )
    .await;
    let (status, answer) = call(
        &app,
        "POST",
        &format!("{base}/votes"),
        Some(&bo),
        Some(json!({ "category": "testing", "dots": 2 })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    ok(
        &app,
        "POST",
        &format!("{base}/votes"),
        &bo,
        json!({ "category": "testing", "dots": 1 }),
    )
    .await;
    ok(
        &app,
        "POST",
        &format!("{base}/votes"),
        &cy,
        json!({ "category": "process", "dots": 3 }),
    )
    .await;
    let (status, _) = call(
        &app,
        "POST",
        &format!("{base}/votes"),
        Some(&fac),
        Some(json!({ "category": "process", "dots": 1 })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the facilitator has no dots");
    // The tally is hidden until the facilitator leaves the vote phase.
    let state = ok(&app, "GET", &base, &fac, Value::Null).await;
    assert!(state.get("votes").is_none(), "{state}");
    let state = ok(&app, "GET", &base, &bo, Value::Null).await;
    assert_eq!(state["you"]["votes"], json!({ "process": 2, "testing": 1 }));
    ok(
        &app,
        "POST",
        &format!("{base}/phase"),
        &fac,
        json!({ "phase": "outcome" }),
    )
    .await;
    let state = ok(&app, "GET", &base, &cy, Value::Null).await;
    assert_eq!(state["votes"], json!({ "process": 5, "testing": 1 }));

    // Documents must be valid; participants write them too.
    let (status, answer) = call(
        &app,
        "PUT",
        &format!("{base}/outcome"),
        Some(&bo),
        Some(json!({ "format": "yaml", "text": "outcome: x\n" })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    ok(
        &app,
        "PUT",
        &format!("{base}/outcome"),
        &bo,
        json!({ "format": "yaml", "text": OUTCOME }),
    )
    .await;
    ok(
        &app,
        "POST",
        &format!("{base}/phase"),
        &fac,
        json!({ "phase": "map" }),
    )
    .await;
    let (status, answer) = call(
        &app,
        "PUT",
        &format!("{base}/map"),
        Some(&cy),
        Some(json!({ "format": "yaml", "text": "steps: 3" })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    ok(
        &app,
        "PUT",
        &format!("{base}/map"),
        &cy,
        json!({ "format": "yaml", "text": MAP }),
    )
    .await;
    let (status, preview) = get_with_key(&app, &format!("/workshops/{id}/preview"), &bo).await;
    assert_eq!(status, StatusCode::OK);
    assert!(preview.contains("<svg"), "{preview}");

    let closed = ok(&app, "POST", &format!("{base}/close"), &fac, json!({})).await;
    assert_eq!(
        closed,
        json!({ "outcome": { "id": "checkout", "version": 1 }, "map": { "id": "checkout", "version": 1 } })
    );
    let saved_map = store.map("checkout", None).await.unwrap().unwrap();
    assert_eq!(saved_map.text, MAP);
    assert_eq!(saved_map.saved_by.as_deref(), Some("anonymous"));
    assert_eq!(
        store.outcome("checkout", None).await.unwrap().unwrap().text,
        OUTCOME
    );

    // Closed: read-only, and the link admits nobody.
    let (status, _) = call(
        &app,
        "POST",
        &format!("{base}/participants"),
        None,
        Some(json!({ "name": "Late", "join": code })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &app,
        "PUT",
        &format!("{base}/map"),
        Some(&fac),
        Some(json!({ "text": MAP })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let state = ok(&app, "GET", &base, &bo, Value::Null).await;
    assert_eq!(state["phase"], "closed");
    assert!(state.get("join_url").is_none());
    let (status, file) = get_with_key(&app, &format!("/workshops/{id}/export/map"), &bo).await;
    assert_eq!((status, file.as_str()), (StatusCode::OK, MAP));

    // The list, and the hostile title escaped on the page.
    let list = get_json(&app, "/api/v1/workshops").await;
    assert_eq!(list["workshops"].as_array().unwrap().len(), 3);
    let third_state = store.workshop(&third).await.unwrap().unwrap();
    assert_eq!(
        third_state.workshop.phase, "mandate",
        "untouched by Bo's key"
    );
    let (status, page) = get(&app, "/workshops").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Checkout &#60;script&#62;alert(1)&#60;/script&#62;")
            || page.contains("Checkout &lt;script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert(1)"));
}

async fn get_with_key(app: &Router, uri: &str, key: &str) -> (StatusCode, String) {
    send(
        app,
        Request::get(uri)
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn workshop_keys_work_with_access_control_on_and_pages_need_no_account() {
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let app = flowmap_server::router(AppState::new(store.clone(), ServerConfig::default()));
    let (id, fac, code) = create(&app, "Open while it was open").await;
    // From now on tokens exist: API calls need a token, workshop keys still work.
    let app_token = flowmap_app::App::new(store.clone());
    app_token
        .create_token(
            &flowmap_app::Actor::local_user("root"),
            "ci",
            flowmap_app::Role::Viewer,
            None,
        )
        .await
        .unwrap();
    let (status, _) = call(&app, "GET", "/api/v1/workshops", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let bo = join(&app, &id, &code, "Bo").await;
    ok(
        &app,
        "POST",
        &format!("/api/v1/workshops/{id}/phase"),
        &fac,
        json!({ "phase": "brainstorm" }),
    )
    .await;
    ok(
        &app,
        "POST",
        &format!("/api/v1/workshops/{id}/notes"),
        &bo,
        json!({ "text": "works" }),
    )
    .await;
    let (status, _) = get(&app, &format!("/workshops/{id}/join?code={code}")).await;
    assert_eq!(status, StatusCode::OK);
    // A cross-site page cannot post for a participant.
    let request = Request::post(format!("/api/v1/workshops/{id}/participants"))
        .header("origin", "https://evil.example")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Body::from(json!({ "name": "x", "join": code }).to_string()))
        .unwrap();
    assert_eq!(send(&app, request).await.0, StatusCode::FORBIDDEN);
}

/// Reads an event stream: every event's number, kind, data and arrival time.
/// The last item is the event's `at` (when its write held the workshop, epoch ms) and
/// the wall-clock time it arrived (epoch ms): the write → event latency.
type Received = Arc<Mutex<Vec<(u64, String, Value, Instant, (i64, i64))>>>;

async fn listen(app: &Router, id: &str, key: &str, after: u64) -> Received {
    let request = Request::get(format!("/api/v1/workshops/{id}/events?after={after}"))
        .header("authorization", format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let received: Received = Arc::default();
    let sink = received.clone();
    let mut body = response.into_body().into_data_stream();
    tokio::spawn(async move {
        let mut buffer = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let data = block.lines().find_map(|l| l.strip_prefix("data: "));
                if let Some(data) = data {
                    let event: Value = serde_json::from_str(data).unwrap();
                    let seq = event["seq"].as_u64().unwrap();
                    let kind = event["kind"].as_str().unwrap().to_owned();
                    let arrived = jiff::Timestamp::now().as_millisecond();
                    let at = event["at"].as_i64().unwrap();
                    sink.lock().unwrap().push((
                        seq,
                        kind,
                        event["data"].clone(),
                        Instant::now(),
                        (at, arrived),
                    ));
                }
            }
        }
    });
    received
}

async fn wait_until(received: &Received, seq: u64) {
    for _ in 0..200 {
        if received.lock().unwrap().iter().any(|e| e.0 >= seq) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("event {seq} never arrived");
}

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_participants_at_once_nothing_lost_or_doubled() {
    let db = TestDb::sqlite();
    let (app, _store) = app(&db).await;
    let (id, fac, code) = create(&app, "Fifty").await;
    let base = format!("/api/v1/workshops/{id}");
    let mut keys = Vec::new();
    for i in 0..50 {
        keys.push(join(&app, &id, &code, &format!("P{i}")).await);
    }
    ok(
        &app,
        "POST",
        &format!("{base}/phase"),
        &fac,
        json!({ "phase": "brainstorm" }),
    )
    .await;
    let start = ok(&app, "GET", &base, &fac, Value::Null).await["version"]
        .as_u64()
        .unwrap();
    let received = listen(&app, &id, &fac, start).await;

    // Each participant adds three notes, then files them under one of five categories.
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let mut tasks = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let (app, key, base, sent) = (app.clone(), key.clone(), base.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let mut notes = Vec::new();
            for n in 0..3 {
                let asked = Instant::now();
                let note = ok(
                    &app,
                    "POST",
                    &format!("{base}/notes"),
                    &key,
                    json!({ "text": format!("P{i} note {n}") }),
                )
                .await;
                let seq = note["id"].as_u64().unwrap();
                sent.lock().unwrap().insert(seq, asked);
                notes.push(seq);
            }
            notes
        }));
    }
    let mut notes = Vec::new();
    for task in tasks {
        notes.push(task.await.unwrap());
    }
    ok(
        &app,
        "POST",
        &format!("{base}/phase"),
        &fac,
        json!({ "phase": "group" }),
    )
    .await;
    let mut tasks = Vec::new();
    for (i, (key, own)) in keys.iter().zip(&notes).enumerate() {
        let (app, key, base, own) = (app.clone(), key.clone(), base.clone(), own.clone());
        tasks.push(tokio::spawn(async move {
            for note in own {
                ok(
                    &app,
                    "PATCH",
                    &format!("{base}/notes/{note}"),
                    &key,
                    json!({ "category": format!("c{}", i % 5) }),
                )
                .await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Every participant places all three dots (2 + 1) and tries a fourth, refused.
    ok(
        &app,
        "POST",
        &format!("{base}/phase"),
        &fac,
        json!({ "phase": "vote" }),
    )
    .await;
    let mut tasks = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let (app, key, base) = (app.clone(), key.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            ok(
                &app,
                "POST",
                &format!("{base}/votes"),
                &key,
                json!({ "category": format!("c{}", i % 5), "dots": 2 }),
            )
            .await;
            ok(
                &app,
                "POST",
                &format!("{base}/votes"),
                &key,
                json!({ "category": format!("c{}", (i + 1) % 5), "dots": 1 }),
            )
            .await;
            let (status, _) = call(
                &app,
                "POST",
                &format!("{base}/votes"),
                Some(&key),
                Some(json!({ "category": format!("c{}", (i + 2) % 5), "dots": 1 })),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    ok(
        &app,
        "POST",
        &format!("{base}/phase"),
        &fac,
        json!({ "phase": "outcome" }),
    )
    .await;
    let end = ok(&app, "GET", &base, &fac, Value::Null).await;
    let last = end["version"].as_u64().unwrap();
    wait_until(&received, last).await;

    // Nothing lost, nothing doubled: exactly the events start+1..=last, once each.
    let events = received.lock().unwrap().clone();
    let seqs: Vec<u64> = events.iter().map(|e| e.0).collect();
    assert_eq!(seqs, (start + 1..=last).collect::<Vec<_>>());
    let count = |kind: &str| events.iter().filter(|e| e.1 == kind).count();
    assert_eq!(count("note_added"), 150);
    assert_eq!(count("note_changed"), 150);
    assert_eq!(count("votes"), 100);
    assert_eq!(count("phase"), 3);

    // The notes the stream saw are the notes every screen shows.
    let mut from_events: BTreeMap<i64, Value> = BTreeMap::new();
    for (_, kind, data, _, _) in &events {
        if kind == "note_added" || kind == "note_changed" {
            from_events.insert(data["id"].as_i64().unwrap(), data["category"].clone());
        }
    }
    let mut screens = Vec::new();
    for key in [&fac, &keys[0], &keys[49]] {
        let mut state = ok(&app, "GET", &base, key, Value::Null).await;
        let shown: BTreeMap<i64, Value> = state["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["id"].as_i64().unwrap(), n["category"].clone()))
            .collect();
        assert_eq!(shown, from_events);
        for volatile in ["you", "server_time", "join_url"] {
            state.as_object_mut().unwrap().remove(volatile);
        }
        for note in state["notes"].as_array_mut().unwrap() {
            note.as_object_mut().unwrap().remove("mine");
        }
        screens.push(state);
    }
    assert_eq!(screens[0], screens[1]);
    assert_eq!(screens[1], screens[2]);
    // 50 participants × 3 dots: 30 on each of the five categories.
    assert_eq!(
        screens[0]["votes"],
        json!({ "c0": 30, "c1": 30, "c2": 30, "c3": 30, "c4": 30 })
    );

    // Latencies of the 150 notes written at once: from the write (when it held the
    // workshop) to its event at the stream client, and from the request's start (which
    // adds the wait for the other writers) to the event.
    let sent = sent.lock().unwrap();
    let notes: Vec<_> = events.iter().filter(|e| e.1 == "note_added").collect();
    let write_to_event: Vec<f64> = notes.iter().map(|e| (e.4.1 - e.4.0) as f64).collect();
    let request_to_event: Vec<f64> = notes
        .iter()
        .map(|e| e.3.duration_since(sent[&e.0]).as_secs_f64() * 1000.0)
        .collect();
    let (p50, p99) = (
        percentile(write_to_event.clone(), 50.0),
        percentile(write_to_event, 99.0),
    );
    let (r50, r99) = (
        percentile(request_to_event.clone(), 50.0),
        percentile(request_to_event, 99.0),
    );
    println!(
        "workshop load: 150 concurrent note writes by 50 participants; write→event p50 {p50:.0} ms, p99 {p99:.0} ms; request start→event p50 {r50:.0} ms, p99 {r99:.0} ms"
    );
    assert!(p99 < 1000.0, "write→event p99 {p99} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_postgres_see_one_workshop() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let replica = || async {
        let store = Store::open(&db.location()).await.unwrap();
        flowmap_server::router(AppState::new(store, ServerConfig::default()))
    };
    let (a, b) = (replica().await, replica().await);
    let (id, fac, code) = create(&a, "Two replicas").await;
    let base = format!("/api/v1/workshops/{id}");
    let bo = join(&b, &id, &code, "Bo").await;
    ok(
        &b,
        "POST",
        &format!("{base}/phase"),
        &fac,
        json!({ "phase": "brainstorm" }),
    )
    .await;
    let start = ok(&a, "GET", &base, &bo, Value::Null).await["version"]
        .as_u64()
        .unwrap();
    let received = listen(&a, &id, &bo, start).await;
    let mut sent = HashMap::new();
    for n in 0..40 {
        let asked = Instant::now();
        let note = ok(
            &b,
            "POST",
            &format!("{base}/notes"),
            &bo,
            json!({ "text": format!("from b {n}") }),
        )
        .await;
        sent.insert(note["id"].as_u64().unwrap(), asked);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let last = *sent.keys().max().unwrap();
    wait_until(&received, last).await;
    let events = received.lock().unwrap().clone();
    assert_eq!(
        events.iter().map(|e| e.0).collect::<Vec<_>>(),
        (start + 1..=last).collect::<Vec<_>>()
    );
    let latencies: Vec<f64> = events
        .iter()
        .map(|e| e.3.duration_since(sent[&e.0]).as_secs_f64() * 1000.0)
        .collect();
    let p50 = percentile(latencies.clone(), 50.0);
    let p99 = percentile(latencies, 99.0);
    println!(
        "workshop replicas: write on one replica → event on the other, p50 {p50:.1} ms, p99 {p99:.1} ms"
    );
    assert!(p99 < 1000.0, "p99 {p99} ms");
    let on_a = ok(&a, "GET", &base, &fac, Value::Null).await;
    let on_b = ok(&b, "GET", &base, &fac, Value::Null).await;
    assert_eq!(on_a["notes"], on_b["notes"]);
    assert_eq!(on_a["notes"].as_array().unwrap().len(), 40);
}

#[tokio::test]
async fn the_demo_has_a_finished_workshop_and_an_open_one() {
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    flowmap_server::demo::load(&store, 1, jiff::Timestamp::now())
        .await
        .unwrap();
    let open = flowmap_server::demo::load_workshops(&store).await.unwrap();
    let workshops = store.workshops().await.unwrap();
    let phases: Vec<&str> = workshops.iter().map(|w| w.phase.as_str()).collect();
    assert_eq!(phases.len(), 2);
    assert!(
        phases.contains(&"closed") && phases.contains(&"brainstorm"),
        "{phases:?}"
    );
    let closed = workshops.iter().find(|w| w.phase == "closed").unwrap();
    assert_eq!(closed.saved_map, Some(("search-delivery".into(), 1)));
    assert_eq!(closed.saved_outcome, Some(("search-delivery".into(), 1)));
    assert!(
        store
            .outcome("search-delivery", None)
            .await
            .unwrap()
            .is_some()
    );
    // The open workshop starts from the stream's saved map; its facilitator link works.
    let app = flowmap_server::router(AppState::new(store.clone(), ServerConfig::default()));
    let (id, key) = open
        .facilitator_path
        .trim_start_matches("/workshops/")
        .split_once("#key=")
        .unwrap();
    let state = ok(
        &app,
        "GET",
        &format!("/api/v1/workshops/{id}"),
        key,
        Value::Null,
    )
    .await;
    assert_eq!(state["notes"].as_array().unwrap().len(), 2);
    assert_eq!(state["map"]["format"], "yaml");
    assert!(
        open.join_path
            .starts_with(&format!("/workshops/{id}/join?code="))
    );
}
