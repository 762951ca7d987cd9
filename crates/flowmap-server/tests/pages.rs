//! The pages, rendered over the demo organisation and read as HTML.

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use jiff::Timestamp;

async fn demo_app(db: &TestDb) -> axum::Router {
    let (app, store) = app(db).await;
    flowmap_server::demo::load(&store, 1, Timestamp::now())
        .await
        .unwrap();
    app
}

fn form(uri: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    Request::post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.join("&")))
        .unwrap()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn multipart(uri: &str, parts: &[(&str, Option<&str>, &str)]) -> Request<Body> {
    let boundary = "flowmap-test-boundary";
    let mut body = String::new();
    for (name, file, value) in parts {
        body.push_str(&format!("--{boundary}\r\n"));
        match file {
            Some(file) => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )),
            None => body.push_str(&format!(
                "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
            )),
        }
        body.push_str(value);
        body.push_str("\r\n");
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    Request::post(uri)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn overview_and_service_pages_show_the_numbers() {
    let db = TestDb::sqlite();
    let app = demo_app(&db).await;
    let (status, html) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    for service in [
        "checkout",
        "search",
        "catalog",
        "payments",
        "mobile-api",
        "legacy-billing",
    ] {
        assert!(
            html.contains(&format!("href=\"/services/{service}\"")),
            "{service}"
        );
    }
    assert_eq!(html.matches("class=\"flowmap-sparkline\"").count(), 6);
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/static/style.css\">"));

    let (status, html) = get(&app, "/services/checkout").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Deployment frequency"));
    assert!(html.contains("Recovery stream volume"));
    assert!(html.contains("median "), "the histogram marks the median");
    assert!(html.contains("p90 "));
    assert!(html.contains("<table id=\"deployments\""));

    let (status, css) = get(&app, "/static/style.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(css.contains("@media (max-width: 600px)"));
}

#[tokio::test]
async fn empty_database_explains_how_to_get_data() {
    let db = TestDb::sqlite();
    let (app, _store) = app(&db).await;
    let (status, html) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No delivery data yet"));
}

#[tokio::test]
async fn service_names_are_escaped() {
    let db = TestDb::sqlite();
    let (app, _store) = app(&db).await;
    let (status, html) = get(&app, "/services/%3Cscript%3E").await;
    // No such service: a 404 page that names it, escaped.
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("<script>"));
    assert!(
        html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
        "{html}"
    );
}

#[tokio::test]
async fn unknown_services_are_404_with_the_nearest_name() {
    let db = TestDb::sqlite();
    let app = demo_app(&db).await;
    let (status, html) = get(&app, "/services/chekout").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("did you mean &#34;checkout&#34;?"), "{html}");
    let (status, body) = get(&app, "/api/v1/dora?service=nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("known services"), "{body}");
    // A misspelt environment is a 404 too, on the overview, a service page and the API.
    for path in [
        "/?env=prodution",
        "/services/checkout?env=prodution",
        "/api/v1/dora?env=prodution",
    ] {
        let (status, body) = get(&app, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(body.contains("no environment"), "{path}: {body}");
        assert!(body.contains("did you mean"), "{path}: {body}");
    }
    // With nothing close, the known environments are listed.
    let (status, body) = get(&app, "/api/v1/dora?env=production,eu").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body.contains(r#"no environment \"eu\"; known environments: \"production\""#),
        "{body}"
    );
}

#[tokio::test]
async fn every_dora_page_has_a_window_picker_in_the_url() {
    let db = TestDb::sqlite();
    let app = demo_app(&db).await;
    for path in ["/", "/services/checkout"] {
        let (status, html) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            html.contains("Showing <strong>the last 90 days ("),
            "{path}"
        );
        assert!(html.contains("name=\"since\""), "{path}");
        assert!(html.contains("All data"), "{path}");
    }
    // A chosen window is stated and kept in the form.
    let (_, html) = get(&app, "/services/checkout?since=2026-01-05&until=2026-02-02").await;
    assert!(
        html.contains("2026-01-05 to 2026-02-01 · production"),
        "{html}"
    );
    assert!(html.contains("value=\"2026-01-05\""));
    // Long before the demo's data: the page says where the data is and links to it.
    let (_, html) = get(&app, "/?since=2001-01-01&until=2001-02-01").await;
    assert!(
        html.contains("Nothing was deployed or shipped in this window"),
        "{html}"
    );
    assert!(html.contains("Show that range"));
}

#[tokio::test]
async fn map_pages_view_edit_preview_and_export() {
    let db = TestDb::sqlite();
    let app = demo_app(&db).await;
    let (status, html) = get(&app, "/maps").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Checkout service — recovery"));

    let (status, html) = get(&app, "/maps/checkout-recovery").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<svg"));
    assert!(html.contains("version 1"));

    // The live preview: a picture for a valid map, located errors for a broken one.
    let (status, html) = send(
        &app,
        form(
            "/maps/preview",
            &[("text", "name: P\nsteps:\n  - id: a\n    wait: 2h\n")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"map-picture\""));
    let (_, html) = send(
        &app,
        form(
            "/maps/preview",
            &[("text", "name: P\nsteps:\n  - id: a\n    wiat: 2h\n")],
        ),
    )
    .await;
    assert!(html.contains("id=\"map-errors\""));
    assert!(html.contains("map.yaml:4"), "{html}");

    // Saving an invalid map keeps the editor open with the errors and stores nothing.
    let (status, html) = send(
        &app,
        form("/maps/checkout-recovery/edit", &[("text", "name: X\n")]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"map-errors\""));
    assert!(html.contains("name: X"), "the text typed is kept");
    // A valid save redirects to the new version.
    let new_text = "name: Smaller\nsteps:\n  - id: a\n    wait: 2h\n";
    let (status, _) = send(
        &app,
        form("/maps/checkout-recovery/edit", &[("text", new_text)]),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = get(&app, "/maps/checkout-recovery").await;
    assert!(html.contains("version 2"));

    // Export gives the file back as saved, ready to download.
    let request = Request::get("/maps/checkout-recovery/export")
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.clone(), request)
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"checkout-recovery.yaml\""
    );
    let (_, text) = get(&app, "/maps/checkout-recovery/export?version=2").await;
    assert_eq!(text, new_text);
}

#[tokio::test]
async fn maps_are_created_from_text_or_imported_from_files() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    let toml = "name = \"From TOML\"\n[[steps]]\nid = \"a\"\nwait = \"1h\"\n";
    let (status, _) = send(
        &app,
        multipart(
            "/maps",
            &[("id", None, "imported"), ("file", Some("vsm.toml"), toml)],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stored = store.map("imported", None).await.unwrap().unwrap();
    assert_eq!(stored.format, flowmap_store::MapFormat::Toml);
    assert_eq!(stored.text, toml);

    let (status, html) = send(
        &app,
        multipart(
            "/maps",
            &[
                ("id", None, "typed"),
                ("text", None, "name: T\nsteps: []\n"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("class=\"errors\""));
    assert_eq!(store.map("typed", None).await.unwrap(), None);

    let (status, html) = send(
        &app,
        multipart(
            "/maps",
            &[("id", None, "Bad Id"), ("text", None, "name: T\n")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("a-z, 0-9"));
}

#[tokio::test]
async fn uploads_over_the_limit_get_413_and_import_nothing() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    let mut csv = String::from("id,service,committed_at\n");
    while csv.len() <= flowmap_server::MAX_BODY_BYTES {
        csv.push_str("c1,shop,2026-03-01T12:00:00Z\n");
    }
    for uri in ["/import", "/maps"] {
        let (status, body) = send(
            &app,
            multipart(
                uri,
                &[("id", None, "big"), ("file", Some("changes.csv"), &csv)],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{uri}: {body}");
    }
    assert!(
        store
            .load(&Default::default())
            .await
            .unwrap()
            .changes
            .is_empty()
    );
}

/// A CDEvents file whose deploy-run events are out of order: the newest by time wins;
/// importing the same file again changes nothing and counts nothing as updated.
#[tokio::test]
async fn import_keeps_the_newest_event_and_a_replay_is_a_no_op() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    let event = |predicate: &str, at: &str| {
        let mut event: serde_json::Value =
            serde_json::from_slice(&fixture("cdevents/pipelinerun_finished.json")).unwrap();
        event["context"]["type"] = format!("dev.cdevents.pipelinerun.{predicate}.0.3.0").into();
        event["context"]["id"] = format!("{predicate}-event").into();
        event["context"]["timestamp"] = at.into();
        event["customData"] = serde_json::json!({"environment": "production"});
        event.to_string()
    };
    // The run's `finished` (a failure at 14:27) is written before its `started` (14:00).
    let file = format!(
        "{}\n{}\n",
        event("finished", "2023-03-20T14:27:05Z"),
        event("started", "2023-03-20T14:00:00Z")
    );
    let upload = || multipart("/import", &[("file", Some("cdevents.ndjson"), &file)]);
    let (status, html) = send(&app, upload()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("deployments: 1 inserted, 1 updated, 0 unchanged"),
        "{html}"
    );
    let data = store.load(&Default::default()).await.unwrap();
    let run = &data.deployments[0];
    assert_eq!(
        (
            run.status.as_str(),
            run.started_at.map(|t| t.to_string()),
            run.finished_at.to_string()
        ),
        (
            "failure",
            Some("2023-03-20T14:00:00Z".to_owned()),
            "2023-03-20T14:27:05Z".to_owned()
        )
    );
    let (status, html) = send(&app, upload()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("deployments: 0 inserted, 0 updated, 2 unchanged"),
        "{html}"
    );
}

#[tokio::test]
async fn import_page_reports_every_row() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    let csv = "id,service,committed_at\nc1,shop,2026-03-01T12:00:00Z\nc2,shop,yesterday\nc3,shop,2026-03-01T13:00:00Z\n";
    let (status, html) = send(
        &app,
        multipart("/import", &[("file", Some("changes.csv"), csv)]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("nothing imported: 1 invalid row ("), "{html}");
    assert!(html.contains("changes.csv:3: committed_at:"), "{html}");
    assert!(
        store
            .load(&Default::default())
            .await
            .unwrap()
            .changes
            .is_empty()
    );

    let (status, html) = send(
        &app,
        multipart(
            "/import",
            &[
                ("file", Some("changes.csv"), csv),
                ("skip_invalid", None, "1"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("changes: 2 inserted, 0 updated, 0 unchanged"),
        "{html}"
    );
    assert!(html.contains("1 invalid row skipped"));

    let (status, html) = send(
        &app,
        multipart("/import", &[("file", Some("export.csv"), csv)]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("cannot tell what the file holds"));
    let (status, html) = send(
        &app,
        multipart(
            "/import",
            &[
                ("file", Some("export.csv"), csv),
                ("kind", None, "changes"),
                ("skip_invalid", None, "1"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("changes: 0 inserted, 0 updated, 2 unchanged"),
        "{html}"
    );
}

#[tokio::test]
async fn import_page_takes_a_source_offers_templates_and_counts_rows_and_problems_alike() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    // Row 3 has two problems (no service, a bad time); row 4 has one.
    let csv =
        "id,service,committed_at\nc1,shop,2026-03-01T12:00:00Z\nc2,,yesterday\nc3,shop,soon\n";
    let (status, html) = send(
        &app,
        multipart(
            "/import",
            &[
                ("file", Some("changes.csv"), csv),
                ("source", None, "spreadsheet"),
                ("skip_invalid", None, "1"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("imported into source &#34;spreadsheet&#34;, 2 invalid rows skipped"),
        "{html}"
    );
    assert!(html.contains("3 problems in 2 rows"), "{html}");
    assert!(
        html.contains("value=\"spreadsheet\""),
        "the form keeps the source"
    );
    let sources = store.sources().await.unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(
        (sources[0].name.as_str(), sources[0].changes),
        ("spreadsheet", 1)
    );

    let (status, body) = get(&app, "/import/templates/deployments.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("id,service,"), "{body}");
    assert_eq!(body.lines().count(), 1);
    let (status, _) = get(&app, "/import/templates/secrets.csv").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, form) = get(&app, "/import").await;
    for kind in ["deployments", "changes", "incidents"] {
        assert!(
            form.contains(&format!("/import/templates/{kind}.csv")),
            "{kind}"
        );
    }
}

/// Runs git in `dir` with author and committer time `at`.
fn git_at(dir: &std::path::Path, at: Timestamp, args: &[&str]) {
    let date = format!("@{} +0000", at.as_second());
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {output:?}");
}

#[tokio::test]
async fn a_repository_ingested_with_default_options_shows_on_the_overview() {
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("tinyrepo");
    std::fs::create_dir(&repo).unwrap();
    let now = Timestamp::now();
    let day = jiff::SignedDuration::from_hours(24);
    let first = now - day * 20;
    git_at(&repo, first, &["init", "--quiet", "--initial-branch=main"]);
    for k in 0..4 {
        git_at(
            &repo,
            first + day * (k * 5),
            &[
                "commit",
                "--quiet",
                "--allow-empty",
                "-m",
                &format!("Change {k}"),
            ],
        );
    }
    let ingested = flowmap_app::App::new(store.clone())
        .ingest_git(
            &flowmap_app::Actor::local_user("test"),
            repo.clone(),
            // What `flowmap ingest git PATH` does with no flags.
            flowmap_ingest::git::GitOptions {
                service: None,
                rule: flowmap_ingest::git::DeployRule::None,
                path: None,
            },
            std::sync::Arc::new(flowmap_ingest::git::NoProgress),
        )
        .await
        .unwrap();
    assert_eq!(ingested.outcome.changes, 4);
    assert_eq!(ingested.outcome.deployments, 0);

    let (status, html) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    // The service is listed with what is known: no deployments, nothing pretending to
    // be a measurement, and where its data lies.
    assert!(html.contains("href=\"/services/tinyrepo\""), "{html}");
    assert!(html.contains(">none <span class=\"badge low\">"), "{html}");
    let first_day = first.strftime("%Y-%m-%d").to_string();
    let last_day = (first + day * 15).strftime("%Y-%m-%d").to_string();
    assert!(
        html.contains(&format!("Data from {first_day} to {last_day}")),
        "{html}"
    );
    let (status, service) = get(&app, "/services/tinyrepo").await;
    assert_eq!(status, StatusCode::OK);
    assert!(service.contains("0 deployments"), "{service}");
}

#[tokio::test]
async fn a_map_page_shows_the_map_as_drawn_and_as_measured() {
    use flowmap_core::events::{Change, Deployment};
    let db = TestDb::sqlite();
    let (app, store) = app(&db).await;
    let at = |s: &str| s.parse::<Timestamp>().unwrap();
    let mut batch = flowmap_store::Batch::default();
    for i in 0..6 {
        let day = 2 + i;
        let mut change = Change::new(
            format!("c{i}"),
            "shop",
            at(&format!("2026-03-{day:02}T08:00:00Z")),
        );
        change.merged_at = Some(at(&format!("2026-03-{day:02}T09:00:00Z")));
        batch.changes.push(change);
        let mut deployment = Deployment::new(
            format!("d{i}"),
            "shop",
            at(&format!("2026-03-{day:02}T17:00:00Z")),
        );
        deployment.changes = vec![format!("c{i}")];
        batch.deployments.push(deployment);
    }
    store.write("import", &batch).await.unwrap();
    let text = "name: Shop\nservice: shop\nsteps:\n  - id: deploy\n    process: 1h\n    measure: { process: merged..deployed }\n";
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/maps")
        .header("content-type", "application/json")
        .body(Body::from(
            serde_json::json!({"id": "shop", "text": text}).to_string(),
        ))
        .unwrap();
    let (status, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, page) = get(&app, "/maps/shop?since=2026-03-01&until=2026-03-15").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("As drawn") && page.contains("As measured"),
        "{page}"
    );
    // 8 h from merge to deployment against an estimate of 1 h, six times.
    assert!(page.contains("est 1h · data 8h, n=6"), "{page}");
    assert!(page.contains("data-flag=\"under-estimated\""), "{page}");
    assert!(
        page.contains("value=\"2026-03-01\""),
        "the window picker keeps the window"
    );
    // A bad window is explained on the page.
    let (status, page) = get(&app, "/maps/shop?since=2026-03-15&until=2026-03-01").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"measure-problem\""), "{page}");
    // A map without a service asks for one in the page's words, not the command line's.
    let text = "name: Loose\nsteps:\n  - id: deploy\n    process: 1h\n";
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/maps")
        .header("content-type", "application/json")
        .body(Body::from(
            serde_json::json!({"id": "loose", "text": text}).to_string(),
        ))
        .unwrap();
    let (status, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, page) = get(&app, "/maps/loose?since=2026-03-01&until=2026-03-15").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"measure-problem\""), "{page}");
    assert!(page.contains("add `service:` to the map"), "{page}");
    assert!(!page.contains("--service"), "{page}");
}

#[tokio::test]
async fn map_history_compares_two_versions() {
    let db = TestDb::sqlite();
    let app = demo_app(&db).await;
    // The demo's checkout map has three versions; the map page links each to its changes.
    let (status, page) = get(&app, "/maps/checkout-delivery").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("/maps/checkout-delivery/diff?from=2&amp;to=3"),
        "{page}"
    );
    // Version 2 shortened the review wait from 1d..3d (2d) to 4h..1d (14h).
    let (status, page) = get(&app, "/maps/checkout-delivery/diff?from=1&to=2").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Version 1 against version 2"), "{page}");
    assert!(page.contains("changed review: wait 2d → 14h"), "{page}");
    assert!(page.contains("class=\"num better\""), "{page}");
    assert!(page.contains("<svg"), "the newer version's picture");
    assert_eq!(
        get(&app, "/maps/checkout-delivery/diff?from=1&to=9")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn outcome_pages_list_and_draw_the_demo_outcomes() {
    let db = TestDb::sqlite();
    let app = demo_app(&db).await;
    let (status, page) = get(&app, "/outcomes").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("/outcomes/checkout-lead-time"), "{page}");
    assert!(page.contains("/outcomes/search-reliability"), "{page}");
    let (status, page) = get(&app, "/outcomes/search-reliability").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("canary-releases · inconclusive"), "{page}");
    assert!(
        page.contains("no clear change in change fail rate"),
        "{page}"
    );
    assert_eq!(
        get(&app, "/outcomes/nothing").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_previews_do_not_stop_healthz() {
    let db = TestDb::sqlite();
    let (app, _store) = app(&db).await;
    let hostile = "name: H\nsteps:\n  - { id: a, process: 1m..2m, ca: 0.000001% }\n";
    let previews: Vec<_> = (0..2)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(
                async move { send(&app, form("/maps/preview", &[("text", hostile)])).await },
            )
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    let (status, _) = get(&app, "/healthz").await;
    let waited = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert!(
        waited < std::time::Duration::from_secs(1),
        "/healthz took {waited:?}"
    );
    for preview in previews {
        let (status, html) = tokio::time::timeout(std::time::Duration::from_secs(120), preview)
            .await
            .expect("the preview finishes within its work budget")
            .unwrap();
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"map-picture\""), "{html}");
    }
    eprintln!("/healthz answered in {waited:?} with two hostile previews in flight");
}

#[tokio::test]
async fn a_map_page_has_its_steps_drill_downs_downloads_and_service() {
    let db = TestDb::sqlite();
    let app = demo_app(&db).await;
    // The drill-down example: its steps table and the CI sub-map with its own picture.
    let (status, page) = get(&app, "/maps/ci-drill-down").await;
    assert_eq!(status, StatusCode::OK);
    let details = page
        .split("id=\"map-details\"")
        .nth(1)
        .expect("the map's details");
    assert!(details.contains("<h2>Steps</h2>"), "{details}");
    assert!(details.contains("<table class=\"steps\">"), "{details}");
    assert!(details.contains("Drill-down: "), "{details}");
    assert_eq!(details.matches("<svg").count(), 1, "the sub-map's picture");
    for format in ["svg", "html"] {
        assert!(
            page.contains(&format!(
                "/maps/ci-drill-down/export?version=1&amp;format={format}"
            )),
            "{format}"
        );
        let request = Request::get(format!("/maps/ci-drill-down/export?format={format}"))
            .body(Body::empty())
            .unwrap();
        let response = tower::ServiceExt::oneshot(app.clone(), request)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-disposition"],
            format!("attachment; filename=\"ci-drill-down.{format}\"").as_str()
        );
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        let opening = if format == "svg" {
            "<svg"
        } else {
            "<!DOCTYPE html>"
        };
        assert!(body.starts_with(opening), "{format}: {}", &body[..40]);
    }
    let (status, _) = get(&app, "/maps/ci-drill-down/export?format=pdf").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A map that names its service links to it, and the service page links back.
    let text = "name: Checkout flow\nservice: checkout\nsteps:\n  - id: build\n    process: 1h\n";
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/maps")
        .header("content-type", "application/json")
        .body(Body::from(
            serde_json::json!({"id": "checkout-flow", "text": text}).to_string(),
        ))
        .unwrap();
    let (status, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, page) = get(&app, "/maps/checkout-flow").await;
    assert!(
        page.contains("<a id=\"map-service\" href=\"/services/checkout\">checkout</a>"),
        "{page}"
    );
    let (_, page) = get(&app, "/services/checkout").await;
    assert!(
        page.contains("<a href=\"/maps/checkout-flow\">Checkout flow</a>"),
        "{page}"
    );
    let (_, page) = get(&app, "/services/search").await;
    assert!(!page.contains("id=\"service-maps\""), "{page}");
}

/// The text a person reads in `html`: tags dropped, entities of quotes decoded, white
/// space collapsed.
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A message said twice: a part repeated after `: `, or one sentence appearing twice.
fn doubled(text: &str) -> Option<String> {
    let parts: Vec<&str> = text.split(": ").map(str::trim).collect();
    for pair in parts.windows(2) {
        if pair[0].len() >= 8 && pair[1].starts_with(pair[0]) {
            return Some(pair[0].to_owned());
        }
    }
    let mut seen = std::collections::HashSet::new();
    for sentence in text
        .split(". ")
        .map(|s| s.trim().trim_end_matches('.'))
        .filter(|s| s.len() >= 16)
    {
        if !seen.insert(sentence) {
            return Some(sentence.to_owned());
        }
    }
    None
}

#[test]
fn the_doubling_check_finds_a_message_said_twice() {
    assert!(doubled("invalid window: invalid window: since is after until").is_some());
    assert!(doubled("The file has 3 bad rows. Fix them first. The file has 3 bad rows.").is_some());
    assert_eq!(
        doubled("unknown service \"nope\": did you mean \"checkout\"?"),
        None
    );
}

#[tokio::test]
async fn pages_speak_plainly_no_json_paths_and_no_doubled_messages() {
    let db = TestDb::sqlite();
    let app = demo_app(&db).await;
    // Notes on every service page: words, not pointers into the JSON report.
    let (_, overview) = get(&app, "/").await;
    let services: Vec<String> = overview
        .split("href=\"/services/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next().map(str::to_owned))
        .collect();
    assert!(services.len() >= 6, "{services:?}");
    let mut notes_seen = 0;
    for service in &services {
        for window in ["", "?since=2020-01-01"] {
            let (status, page) = get(&app, &format!("/services/{service}{window}")).await;
            assert_eq!(status, StatusCode::OK, "{service}");
            if let Some(notes) = page.split("<ul class=\"notes\">").nth(1) {
                let notes = notes.split("</ul>").next().unwrap_or_default();
                notes_seen += notes.matches("<li>").count();
                assert!(!notes.contains("explain."), "{service}: {notes}");
                assert!(!notes.contains("[]"), "{service}: {notes}");
            }
        }
    }
    assert!(notes_seen > 0, "the demo's pages carry notes");

    // Error pages and refused forms say each thing once.
    for uri in [
        "/services/nope",
        "/services/checkout?since=yesterday",
        "/services/checkout?since=2026-03-15&until=2026-03-01",
        "/maps/nope",
        "/maps/checkout-delivery/diff?from=1&to=9",
        "/maps/checkout-delivery/export?format=pdf",
        "/outcomes/nope",
        "/import/templates/secrets.csv",
    ] {
        let (status, page) = get(&app, uri).await;
        assert!(status.is_client_error(), "{uri}: {status}");
        let text = visible_text(&page);
        assert_eq!(doubled(&text), None, "{uri}: {text}");
    }
    let csv = "id,servce,finished_at\nd1,shop,2026-03-01T12:00:00Z\nd2,shop,never\n";
    let (_, page) = send(
        &app,
        multipart("/import", &[("file", Some("deployments.csv"), csv)]),
    )
    .await;
    let text = visible_text(&page);
    assert_eq!(doubled(&text), None, "{text}");
    assert!(text.contains("did you mean"), "{text}");

    // The Prometheus help text states the window the gauges cover: the one default.
    let (_, metrics) = get(&app, "/metrics").await;
    let days = flowmap_core::dora::DEFAULT_WINDOW.as_hours() / 24;
    for help in metrics.lines().filter(|l| l.starts_with("# HELP")) {
        assert!(help.contains(&format!("last {days} days")), "{help}");
    }
}

#[test]
fn the_docs_and_page_templates_stand_on_their_own() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for dir in ["docs", "crates/flowmap-server/templates"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    files.push(root.join("README.md"));
    files.push(root.join("crates/flowmap-server/src/openapi.json"));
    assert!(files.len() > 10, "{files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lower = text.to_lowercase();
        for word in [
            "spec.md",
            "the spec",
            "spec §",
            "specification §",
            "error: error",
        ] {
            assert!(!lower.contains(word), "{}: {word}", file.display());
        }
        assert!(
            !text.contains("(explain."),
            "{}: a JSON path",
            file.display()
        );
        if file.extension().is_some_and(|e| e == "html") {
            assert_eq!(doubled(&visible_text(&text)), None, "{}", file.display());
        }
    }
}
