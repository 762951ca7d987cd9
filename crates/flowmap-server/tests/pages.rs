//! The pages, rendered over the demo organisation and read as HTML.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
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
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<script>"));
    assert!(
        html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
        "{html}"
    );
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

/// Two hostile previews (a map whose rework needs 10⁸ passes per simulated run; one such
/// preview used to simulate for about three hours on the async threads) are in flight,
/// and `/healthz` still answers at once; both previews finish, capped and saying so.
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
