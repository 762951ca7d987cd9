//! The pages in a real headless Chromium, driven through chromedriver (WebDriver):
//! load the overview, open a service, edit a map and watch the picture change; sign in
//! with a token and create a map through a form (the CSRF cookie and script at work),
//! while a page of another origin cannot post through the same browser.
//!
//! Needs `chromedriver` and `chromium` on the PATH; without them the test says so and
//! passes, unless `FLOWMAP_REQUIRE_BROWSER=1` (set by `scripts/test`) makes it fail.

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use flowmap_server::{AppState, ServerConfig};
use flowmap_store::Store;
use hyper_util::client::legacy::connect::HttpConnector;
use jiff::Timestamp;
use serde_json::json;

/// A chromedriver process, killed when dropped.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Starts chromedriver, or `None` when it is not installed (and not required).
pub async fn start_driver() -> Option<(Driver, u16)> {
    let port = free_port();
    let child = match Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(err) => {
            if std::env::var("FLOWMAP_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("FLOWMAP_REQUIRE_BROWSER=1 but chromedriver cannot start: {err}");
            }
            eprintln!("skipping browser test: chromedriver cannot start: {err}");
            return None;
        }
    };
    let driver = Driver(child);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some((driver, port));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on port {port} within 10 s");
}

pub async fn browser(port: u16, profile: &std::path::Path) -> Client {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,900",
        &format!("--user-data-dir={}", profile.display()),
    ];
    let capabilities = json!({ "goog:chromeOptions": { "args": args } });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object literal")
    };
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a browser session")
}

/// A new database in `dir` holding the demo organisation as of `now`.
pub async fn demo_store(dir: &std::path::Path, now: Timestamp) -> Store {
    let store = Store::open(&dir.join("demo.db").display().to_string())
        .await
        .unwrap();
    flowmap_server::demo::load(&store, 1, now).await.unwrap();
    store
}

/// Serves `store` on a free port; returns the base URL.
pub async fn serve(store: Store) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(flowmap_server::serve_on(
        listener,
        AppState::new(store, ServerConfig::default()),
    ));
    base
}

/// Waits up to 10 s for `element`'s text to satisfy `want`; returns the last text seen.
pub async fn wait_for_text(client: &Client, css: &str, want: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            last = element.text().await.unwrap_or_default();
            if want(&last) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never showed what was wanted; last text: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_service_and_map_editor_in_chromium() {
    let Some((_driver, driver_port)) = start_driver().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path(), Timestamp::now()).await;
    let base = serve(store).await;

    let profile = tempfile::tempdir().unwrap();
    let client = browser(driver_port, profile.path()).await;

    // The overview lists every demo service with its metrics.
    client.goto(&format!("{base}/")).await.unwrap();
    let rows = client
        .find_all(Locator::Css("#services tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 6);
    let table = client
        .find(Locator::Css("#services"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(table.contains("legacy-billing"), "{table}");

    // Open a service by clicking its link.
    client
        .find(Locator::LinkText("checkout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let heading = wait_for_text(&client, "#service-name", |t| t == "checkout").await;
    assert_eq!(heading, "checkout");
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/services/checkout")
    );
    let charts = client.find_all(Locator::Css(".chart svg")).await.unwrap();
    assert_eq!(
        charts.len(),
        6,
        "four weekly charts, the lead time histogram and where the delivery time goes"
    );
    let deployments = client
        .find_all(Locator::Css("#deployments tbody tr"))
        .await
        .unwrap();
    assert!(!deployments.is_empty());

    // Edit a map: the preview follows the typing.
    client
        .goto(&format!("{base}/maps/checkout-recovery/edit"))
        .await
        .unwrap();
    let before = client
        .find(Locator::Css("#map-picture"))
        .await
        .unwrap()
        .html(true)
        .await
        .unwrap();
    assert!(!before.contains("Extra check"));
    let text = client.find(Locator::Css("#map-text")).await.unwrap();
    text.send_keys("  - id: extra\n    name: Extra check\n    wait: 5d\n")
        .await
        .unwrap();
    wait_for_text(&client, "#map-picture", |t| t.contains("Extra check")).await;
    // The new step waits longest: it is the bottleneck now.
    wait_for_text(&client, "#map-numbers", |t| t.contains("Extra check")).await;

    // Save: a new version, showing the new picture.
    client
        .find(Locator::Css("#save"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&client, ".sub", |t| t.contains("version 2")).await;
    let saved = client
        .find(Locator::Css("#map-picture"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(saved.contains("Extra check"), "{saved}");

    // A mistake shows the validation error inline, naming the line.
    client
        .find(Locator::Css("#edit-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let text = client.find(Locator::Css("#map-text")).await.unwrap();
    text.send_keys("    proces: 1h\n").await.unwrap();
    let errors = wait_for_text(&client, "#map-errors", |t| t.contains("proces")).await;
    assert!(errors.contains("did you mean `process`"), "{errors}");

    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_list_and_journey_in_chromium_at_desktop_and_phone_width() {
    let Some((_driver, driver_port)) = start_driver().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path(), Timestamp::now()).await;
    let base = serve(store).await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(driver_port, profile.path()).await;
    client.set_window_size(1280, 900).await.unwrap();

    // The list shows both demo outcomes with a status each.
    client.goto(&format!("{base}/outcomes")).await.unwrap();
    let rows = client
        .find_all(Locator::Css("#outcomes tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let statuses = client
        .find_all(Locator::Css("#outcomes .status"))
        .await
        .unwrap();
    assert_eq!(statuses.len(), 2);

    // Open the checkout outcome: the journey, its two experiments and the map versions.
    client
        .find(Locator::LinkText(
            "Checkout changes reach production within 6 hours",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&client, ".outcome h1", |t| t.contains("within 6 hours")).await;
    let spans = client
        .find_all(Locator::Css(".journey svg rect.experiment"))
        .await
        .unwrap();
    assert_eq!(spans.len(), 2);
    let markers = client
        .find_all(Locator::Css(".journey svg .map-version"))
        .await
        .unwrap();
    assert_eq!(markers.len(), 3, "three versions of the checkout map");
    let weeks = client
        .find_all(Locator::Css(".journey svg circle.week"))
        .await
        .unwrap();
    assert!(weeks.len() >= 50, "{} weeks", weeks.len());
    let experiments = client
        .find(Locator::Css("table.experiments"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(experiments.contains("smaller-prs"), "{experiments}");
    assert!(experiments.contains("improved"), "{experiments}");
    assert!(experiments.contains("lead time fell by"), "{experiments}");

    // On a phone the page does not scroll sideways: the journey scrolls inside its frame.
    client.set_window_size(390, 844).await.unwrap();
    let widths = client
        .execute(
            "const f = document.querySelector('.journey');\
             return [document.documentElement.scrollWidth, window.innerWidth, f.scrollWidth, f.clientWidth];",
            vec![],
        )
        .await
        .unwrap();
    let widths: Vec<f64> = widths
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(widths[0] <= widths[1] + 1.0, "page {widths:?}");
    assert!(
        widths[2] > widths[3],
        "the journey scrolls in its frame: {widths:?}"
    );

    client.close().await.unwrap();
}

/// A page of another origin that posts a new map to `target` when its button is clicked.
async fn foreign_page(target: String) -> String {
    let html = format!(
        "<!doctype html><html><body><h1>Win a prize</h1>\
         <form method=\"post\" action=\"{target}/maps\" enctype=\"multipart/form-data\">\
         <input name=\"id\" value=\"planted\"><textarea name=\"text\">name: Planted\nsteps:\n  - id: a\n    process: 1h\n</textarea>\
         <button id=\"go\" type=\"submit\">Claim</button></form></body></html>"
    );
    let page = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, page).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_forms_work_and_a_foreign_page_cannot_post() {
    let Some((_driver, driver_port)) = start_driver().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("auth.db").display().to_string())
        .await
        .unwrap();
    // A token exists, so every request needs authentication, even on loopback.
    let secret = flowmap_app::App::new(store.clone())
        .create_token(
            &flowmap_app::Actor::local_user("admin"),
            "ada",
            flowmap_app::Role::Editor,
            None,
        )
        .await
        .unwrap();
    let base = serve(store.clone()).await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(driver_port, profile.path()).await;

    // Not signed in: the maps page sends the browser to the sign-in page.
    client.goto(&format!("{base}/maps")).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/login")
    );
    let token = client
        .find(Locator::Css("input[name=token]"))
        .await
        .unwrap();
    token.send_keys(&secret).await.unwrap();
    client
        .find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&client, "main", |t| !t.contains("Sign in")).await;

    // Signed in: the new-map form carries the session's CSRF token (added by
    // static/csrf.js) and creates the map.
    client.goto(&format!("{base}/maps")).await.unwrap();
    let action = client
        .find(Locator::Css("form[action^='/maps']"))
        .await
        .unwrap()
        .attr("action")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(action.starts_with("/maps?csrf="), "{action}");
    client
        .find(Locator::Css("#new-id"))
        .await
        .unwrap()
        .send_keys("made-in-browser")
        .await
        .unwrap();
    let text = client.find(Locator::Css("#new-text")).await.unwrap();
    text.clear().await.unwrap();
    text.send_keys("name: Made in a browser\nsteps:\n  - id: code\n    process: 1h\n")
        .await
        .unwrap();
    client
        .find(Locator::XPath("//button[text()='Create map']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let mut path = String::new();
    for _ in 0..100 {
        path = client.current_url().await.unwrap().path().to_owned();
        if path != "/maps" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = client.source().await.unwrap();
    assert_eq!(path, "/maps/made-in-browser", "{page}");
    let made = store.map("made-in-browser", None).await.unwrap().unwrap();
    assert_eq!(made.saved_by.as_deref(), Some("token:ada"));

    // A page on another origin posts through the same signed-in browser: refused.
    let foreign = foreign_page(base.clone()).await;
    client.goto(&format!("{foreign}/")).await.unwrap();
    client
        .find(Locator::Css("#go"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let refusal = wait_for_text(&client, "body", |t| t.contains("refused")).await;
    assert!(refusal.contains("cross-site request refused"), "{refusal}");
    assert!(store.map("planted", None).await.unwrap().is_none());

    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_editor_numbers_lines_keeps_the_last_good_picture_and_jumps_to_errors() {
    let Some((_driver, driver_port)) = start_driver().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = demo_store(dir.path(), Timestamp::now()).await;
    let base = serve(store).await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(driver_port, profile.path()).await;
    client.set_window_size(1280, 900).await.unwrap();
    client
        .goto(&format!("{base}/maps/checkout-delivery/edit"))
        .await
        .unwrap();

    // One number per line of the text, and the picture gets most of the width.
    let measured = client
        .execute(
            "const t = document.getElementById('map-text');\
             return [t.value.split('\\n').length,\
                     document.getElementById('map-lines').textContent.trim().split('\\n').length,\
                     document.getElementById('map-picture').getBoundingClientRect().width,\
                     document.querySelector('.editor').getBoundingClientRect().width];",
            vec![],
        )
        .await
        .unwrap();
    let measured: Vec<f64> = measured
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(measured[0], measured[1], "a number for every line");
    assert!(
        measured[2] >= 0.55 * measured[3],
        "the picture's share of the width: {measured:?}"
    );

    // A mistake: the problem shows under the editor, the last good picture stays.
    let text = client.find(Locator::Css("#map-text")).await.unwrap();
    text.send_keys("    proces: 1h\n").await.unwrap();
    let errors = wait_for_text(&client, "#editor-problems #map-errors", |t| {
        t.contains("proces")
    })
    .await;
    assert!(errors.contains("did you mean `process`"), "{errors}");
    let state = client
        .execute(
            "return [!!document.querySelector('#preview-body #map-picture svg'),\
                     document.getElementById('preview-body').classList.contains('stale'),\
                     !document.getElementById('stale-note').hidden];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        state,
        json!([true, true, true]),
        "the last good picture stays"
    );

    // Clicking the problem selects its line in the editor.
    let link = client
        .find(Locator::Css("#map-errors a.jump"))
        .await
        .unwrap();
    let line: usize = link
        .attr("data-line")
        .await
        .unwrap()
        .expect("the problem names its line")
        .parse()
        .unwrap();
    link.click().await.unwrap();
    let selected = client
        .execute(
            "const t = document.getElementById('map-text');\
             return [document.activeElement === t,\
                     t.value.slice(0, t.selectionStart).split('\\n').length,\
                     t.value.slice(t.selectionStart, t.selectionEnd)];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(selected[0], json!(true), "the editor has the focus");
    assert_eq!(selected[1].as_u64(), Some(line as u64), "{selected:?}");
    assert!(
        selected[2].as_str().unwrap_or_default().contains("proces"),
        "{selected:?}"
    );

    // Taking the mistake out brings a fresh picture and clears the problem.
    client
        .execute(
            "const t = document.getElementById('map-text');\
             t.value = t.value.replace('    proces: 1h\\n', '');\
             t.dispatchEvent(new Event('input'));",
            vec![],
        )
        .await
        .unwrap();
    for _ in 0..100 {
        let fresh = client
            .execute(
                "return !document.getElementById('preview-body').classList.contains('stale')\
                 && !document.getElementById('map-errors');",
                vec![],
            )
            .await
            .unwrap();
        if fresh == json!(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let numbers = wait_for_text(&client, "#preview-body", |t| t.contains("Lead time")).await;
    assert!(!numbers.is_empty());
    assert!(
        client.find(Locator::Css("#map-errors")).await.is_err(),
        "the problem is gone"
    );

    client.close().await.unwrap();
}

/// `[document scrollWidth, window innerWidth, element scrollWidth, element clientWidth]`
/// of the element `css`.
async fn widths(client: &Client, css: &str) -> Vec<f64> {
    let script = format!(
        "const e = document.querySelector('{css}');\
         return [document.documentElement.scrollWidth, window.innerWidth, e.scrollWidth, e.clientWidth];"
    );
    let value = client.execute(&script, vec![]).await.unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_as_drawn_and_as_measured_with_a_window_and_the_service_breakdown() {
    let Some((_driver, driver_port)) = start_driver().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let now = Timestamp::now();
    let store = demo_store(dir.path(), now).await;
    let app = flowmap_app::App::new(store.clone());
    let base = serve(store).await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(driver_port, profile.path()).await;
    client.set_window_size(1280, 900).await.unwrap();

    // The checkout map, drawn and measured over the default window.
    client
        .goto(&format!("{base}/maps/checkout-delivery"))
        .await
        .unwrap();
    let captions: Vec<String> = {
        let mut out = Vec::new();
        for c in client
            .find_all(Locator::Css(".map-pictures figcaption"))
            .await
            .unwrap()
        {
            out.push(c.text().await.unwrap());
        }
        out
    };
    assert_eq!(captions.len(), 2, "{captions:?}");
    assert_eq!(captions[0], "As drawn");
    assert!(
        captions[1].starts_with("As measured (checkout, "),
        "{captions:?}"
    );
    // Stacked at desktop width, each the full width: the measured picture is below the
    // drawn one, and the step names in both stay legible (side by side they were ~6 px).
    let rect = |css: &'static str| {
        let client = client.clone();
        async move {
            client
                .find(Locator::Css(css))
                .await
                .unwrap()
                .rectangle()
                .await
                .unwrap()
        }
    };
    let (drawn, measured_box) = (rect("#map-picture").await, rect("#measured-picture").await);
    assert!(
        measured_box.1 >= drawn.1 + drawn.3 && (measured_box.0 - drawn.0).abs() < 1.0,
        "drawn {drawn:?}, measured {measured_box:?}"
    );
    // The rendered size of the pictures' body text (13 units in the drawing).
    let sizes = client
        .execute(
            "return ['#map-picture', '#measured-picture'].map(id => {\
               const svg = document.querySelector(id + ' svg');\
               const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;\
               return 13 * scale; });",
            vec![],
        )
        .await
        .unwrap();
    for size in sizes.as_array().unwrap() {
        assert!(size.as_f64().unwrap() >= 11.0, "text at {sizes} px");
    }
    let measured = client
        .find(Locator::Css("#measured-picture"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(measured.contains("est "), "{measured}");
    let table = client
        .find(Locator::Css("#measured-table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for flag in [
        "not measured",
        "ok",
        "under-estimated",
        "over-estimated",
        "too little data",
    ] {
        assert!(table.contains(flag), "no {flag} in {table}");
    }

    // The window picker: the last 30 days.
    let day = |t: Timestamp| t.strftime("%Y-%m-%d").to_string();
    let since = day(now - jiff::SignedDuration::from_hours(30 * 24));
    let until = day(now);
    client
        .execute(
            "document.querySelector('#measure-window [name=since]').value = arguments[0];\
             document.querySelector('#measure-window [name=until]').value = arguments[1];",
            vec![json!(since), json!(until)],
        )
        .await
        .unwrap();
    client
        .find(Locator::Css("#measure-window button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let caption = wait_for_text(
        &client,
        ".map-pictures figure:nth-child(2) figcaption",
        |t| t.contains(&since),
    )
    .await;
    assert_eq!(
        caption,
        format!("As measured (checkout, {since} to {until})")
    );
    let url = client.current_url().await.unwrap();
    assert!(
        url.query()
            .is_some_and(|q| q.contains(&format!("since={since}"))),
        "{url}"
    );

    // On a phone the page does not scroll sideways; the measured table scrolls in its box.
    client.set_window_size(390, 844).await.unwrap();
    let w = widths(&client, "#measured-table .table-wrap").await;
    assert!(w[0] <= w[1] + 1.0, "page {w:?}");
    assert!(w[2] > w[3], "the table scrolls inside its box: {w:?}");

    // The service page: where the delivery time goes, week by week, and the work in
    // progress with the oldest items.
    client.set_window_size(1280, 900).await.unwrap();
    client
        .goto(&format!("{base}/services/checkout"))
        .await
        .unwrap();
    let segments = client
        .find_all(Locator::Css("#time-breakdown svg rect.segment"))
        .await
        .unwrap();
    assert!(segments.len() >= 12 * 4, "{} segments", segments.len());
    let legend = client
        .find(Locator::Css("#time-breakdown svg"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for step in ["code", "pickup", "review", "merge", "build", "deploy"] {
        assert!(legend.contains(step), "no {step} in the legend: {legend}");
    }
    client.set_window_size(390, 844).await.unwrap();
    let w = widths(&client, "#time-breakdown").await;
    assert!(w[0] <= w[1] + 1.0, "page {w:?}");

    // The self-contained report `map measure -o OUT.html` writes: on a phone, too, only
    // the measured table's box scrolls sideways.
    let stored = app.map("checkout-delivery", None).await.unwrap();
    let map = flowmap_core::map::parse_map(&stored.text, stored.format)
        .unwrap()
        .map;
    let request = flowmap_app::measure::MeasureRequest {
        service: None,
        environment: "production".into(),
        since: now - jiff::SignedDuration::from_hours(90 * 24),
        until: now,
        attribution_window: flowmap_core::dora::DEFAULT_ATTRIBUTION_WINDOW,
        analysis: flowmap_core::map::AnalysisOptions { runs: 0, seed: 1 },
        explain: false,
    };
    let report = app.reports().measure(map.clone(), request).await.unwrap();
    let file = dir.path().join("measured.html");
    std::fs::write(&file, flowmap_render::measured_html_report(&map, &report)).unwrap();
    client
        .goto(&format!("file://{}", file.display()))
        .await
        .unwrap();
    let w = widths(&client, ".table-wrap:has(> table.measured)").await;
    assert!(w[0] <= w[1] + 1.0, "report page {w:?}");
    assert!(
        w[2] > w[3],
        "the report's table scrolls inside its box: {w:?}"
    );

    client.close().await.unwrap();
}
