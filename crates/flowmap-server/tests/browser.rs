//! The pages in a real headless Chromium, driven through chromedriver (WebDriver):
//! load the overview, open a service, edit a map and watch the picture change.
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
pub(crate) struct Driver(Child);

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
pub(crate) async fn start_driver() -> Option<(Driver, u16)> {
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

pub(crate) async fn browser(port: u16, profile: &std::path::Path) -> Client {
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

/// Waits up to 10 s for `element`'s text to satisfy `want`; returns the last text seen.
pub(crate) async fn wait_for_text(
    client: &Client,
    css: &str,
    want: impl Fn(&str) -> bool,
) -> String {
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
    let store = Store::open(&dir.path().join("demo.db").display().to_string())
        .await
        .unwrap();
    flowmap_server::demo::load(&store, 1, Timestamp::now())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(flowmap_server::serve_on(
        listener,
        AppState::new(store, ServerConfig::default()),
    ));

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
        5,
        "four weekly charts and the lead time histogram"
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
    let store = Store::open(&dir.path().join("demo.db").display().to_string())
        .await
        .unwrap();
    flowmap_server::demo::load(&store, 1, Timestamp::now())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(flowmap_server::serve_on(
        listener,
        AppState::new(store, ServerConfig::default()),
    ));
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
