//! Every page in a real headless Chromium at desktop (1280 px) and phone (390 px) width,
//! on the demo organisation (its open workshop in every phase too) and on a nearly empty
//! database: the page never scrolls sideways, nothing sticks out of its card, and no two
//! pieces of text overlap.
//!
//! A screenshot of every page and width is written to `screens/` under Cargo's
//! per-target temporary directory (or to `FLOWMAP_SCREENSHOTS` when set), so a person
//! can look at them too. Skipped like the other browser tests when chromedriver is
//! missing, unless `FLOWMAP_REQUIRE_BROWSER=1`.

use std::path::PathBuf;

use fantoccini::Client;
use flowmap_core::events::Deployment;
use flowmap_store::{Batch, MapFormat, Store};
use jiff::Timestamp;

use crate::browser::{browser, demo_store, serve, start_driver, wait_for_text};
use crate::workshop_browser::click;

/// Finds what is wrong with the page's layout, as sentences; empty when it is fine.
///
/// - the document is wider than the viewport (the page scrolls sideways), or the top
///   navigation is wider than its box (it would scroll sideways on its own);
/// - an element reaches outside its card, table frame or map frame without a scrolling
///   or clipping box in between;
/// - two rendered pieces of text (HTML or SVG) overlap by more than 2 px both ways,
///   each clipped to the scrolling boxes around it.
const LAYOUT_PROBLEMS: &str = r#"
const problems = [];
const vw = document.documentElement.clientWidth;
const sw = document.documentElement.scrollWidth;
const clips = (el) => {
  const s = getComputedStyle(el);
  return s.overflowX !== 'visible' || s.overflowY !== 'visible';
};
const name = (el) => {
  let s = el.tagName.toLowerCase();
  if (el.id) return s + '#' + el.id;
  const c = el.getAttribute('class');
  return c ? s + '.' + c.trim().split(/\s+/).join('.') : s;
};
if (sw > vw + 1) {
  // Name the innermost elements that reach past the viewport with nothing clipping them.
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.getBoundingClientRect().right <= vw + 1) continue;
    let clipped = false;
    // An absolutely placed element escapes the scrolling boxes that do not place it.
    const escapes = getComputedStyle(el).position === 'absolute';
    for (let a = el.parentElement; a && a !== document.body && !escapes; a = a.parentElement) {
      if (clips(a)) { clipped = true; break; }
    }
    if (clipped) continue;
    if ([...el.children].some((c) => c.getBoundingClientRect().right > vw + 1)) continue;
    wide.push(`${name(el)} in ${name(el.parentElement)}`);
    if (wide.length === 3) break;
  }
  problems.push(`the page is ${sw} px wide in a ${vw} px viewport (${wide.join(', ')})`);
}
for (const card of document.querySelectorAll('.card, .table-wrap, .map-picture, main > *')) {
  const c = card.getBoundingClientRect();
  if (c.right > vw + 1) problems.push(`${name(card)} ends at ${Math.round(c.right)} px, past the ${vw} px viewport`);
  for (const el of card.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    let clipped = false;
    for (let a = el.parentElement; a && a !== card.parentElement; a = a.parentElement) {
      if (clips(a)) { clipped = true; break; }
    }
    if (clipped) continue;
    if (r.right > c.right + 1 || r.left < c.left - 1) {
      problems.push(`${name(el)} (${Math.round(r.left)}..${Math.round(r.right)} px) sticks out of ${name(card)} (${Math.round(c.left)}..${Math.round(c.right)} px)`);
      break;
    }
  }
}
const nav = document.querySelector('header.top nav');
if (nav && nav.scrollWidth > nav.clientWidth + 1) {
  problems.push(`the navigation is ${nav.scrollWidth} px wide in a ${nav.clientWidth} px box`);
}
const boxes = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
  const t = walker.currentNode;
  if (!t.data.trim()) continue;
  const p = t.parentElement;
  if (!p || p.closest('title, script, style, textarea, select, option')) continue;
  const style = getComputedStyle(p);
  if (style.visibility === 'hidden' || style.opacity === '0') continue;
  let clip = { left: -1e9, top: -1e9, right: 1e9, bottom: 1e9 };
  for (let a = p; a && a !== document.documentElement; a = a.parentElement) {
    if (a !== p && clips(a)) {
      const r = a.getBoundingClientRect();
      clip = {
        left: Math.max(clip.left, r.left), top: Math.max(clip.top, r.top),
        right: Math.min(clip.right, r.right), bottom: Math.min(clip.bottom, r.bottom),
      };
    }
  }
  const range = document.createRange();
  range.selectNodeContents(t);
  for (const r of range.getClientRects()) {
    const b = {
      left: Math.max(r.left, clip.left), top: Math.max(r.top, clip.top),
      right: Math.min(r.right, clip.right), bottom: Math.min(r.bottom, clip.bottom),
    };
    if (b.right - b.left < 1 || b.bottom - b.top < 1) continue;
    boxes.push({ b, node: t, text: t.data.trim().slice(0, 40) });
  }
}
let overlaps = 0;
for (let i = 0; i < boxes.length && overlaps < 10; i++) {
  for (let j = i + 1; j < boxes.length && overlaps < 10; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.node === b.node) continue;
    const w = Math.min(a.b.right, b.b.right) - Math.max(a.b.left, b.b.left);
    const h = Math.min(a.b.bottom, b.b.bottom) - Math.max(a.b.top, b.b.top);
    if (w > 2 && h > 2) {
      overlaps++;
      problems.push(`text ${JSON.stringify(a.text)} (in ${name(a.node.parentElement)}) overlaps ${JSON.stringify(b.text)} (in ${name(b.node.parentElement)}) at ${Math.round(Math.max(a.b.left, b.b.left))},${Math.round(Math.max(a.b.top, b.b.top))}`);
    }
  }
}
return problems;
"#;

fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("FLOWMAP_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screens"));
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    dir
}

/// Visits every path at both widths; returns every problem found, each naming its page.
async fn check_pages(client: &Client, base: &str, database: &str, paths: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for (width, height) in [(1280_u32, 900_u32), (390, 844)] {
        for path in paths {
            problems.extend(check_page(client, base, database, path, (width, height), None).await);
        }
    }
    problems
}

/// Checks one page at one width, first waiting until the text of `ready` (a selector and
/// what it must show, case aside) is there for a page its script fills in; writes its
/// screenshot as `{database}{path}[-{label}]-{width}.png`.
async fn check_page(
    client: &Client,
    base: &str,
    database: &str,
    path: &str,
    (width, height): (u32, u32),
    ready: Option<(&str, &str)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    client.set_window_size(width, height).await.unwrap();
    client.goto(&format!("{base}{path}")).await.unwrap();
    let mut label = String::new();
    if let Some((css, want)) = ready {
        wait_for_text(client, css, |t| t.eq_ignore_ascii_case(want)).await;
        label = format!("-{want}");
    }
    let found = client.execute(LAYOUT_PROBLEMS, vec![]).await.unwrap();
    for problem in found.as_array().into_iter().flatten() {
        problems.push(format!(
            "{database} {path}{label} at {width} px: {}",
            problem.as_str().unwrap_or_default()
        ));
    }
    // The whole page in one picture: the window as tall as the document.
    let full = client
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await
        .unwrap()
        .as_f64()
        .unwrap_or(f64::from(height));
    let tall = (full as u32).clamp(height, 8000);
    client.set_window_size(width, tall).await.unwrap();
    let png = client.screenshot().await.unwrap();
    let path = path.split('#').next().unwrap_or(path);
    let file = format!(
        "{database}{}{label}-{width}.png",
        path.replace(['/', '?', '&', '='], "_")
    );
    std::fs::write(screenshot_dir().join(file), png).unwrap();
    problems
}

/// The demo's open workshop as its facilitator sees it in each phase, from brainstorm
/// (where the demo leaves it) to the map, and its join page; returns the problems found.
async fn check_workshop(
    client: &Client,
    base: &str,
    workshop: &flowmap_server::demo::DemoWorkshop,
) -> Vec<String> {
    let sizes = [(1280_u32, 900_u32), (390, 844)];
    let mut problems = Vec::new();
    for size in sizes {
        problems.extend(check_page(client, base, "demo", &workshop.join_path, size, None).await);
    }
    for phase in ["brainstorm", "group", "vote", "outcome", "map"] {
        if phase != "brainstorm" {
            client.set_window_size(1280, 900).await.unwrap();
            client
                .goto(&format!("{base}{}", workshop.facilitator_path))
                .await
                .unwrap();
            click(client, &format!("button[data-phase={phase}]")).await;
        }
        for size in sizes {
            let ready = Some(("#ws-phase", phase));
            let page = &workshop.facilitator_path;
            problems.extend(check_page(client, base, "demo", page, size, ready).await);
        }
    }
    problems
}

/// A nearly empty organisation: one service with two deployments and one map saved
/// twice.
async fn nearly_empty(store: &Store) {
    let now = Timestamp::now();
    let day = jiff::SignedDuration::from_hours(24);
    let mut batch = Batch::default();
    for (k, id) in ["d1", "d2"].into_iter().enumerate() {
        batch
            .deployments
            .push(Deployment::new(id, "shop", now - day * (3 + 2 * k as i32)));
    }
    store.write("import", &batch).await.unwrap();
    let text = "name: Shop\nservice: shop\nsteps:\n  - id: build\n    process: 1h\n";
    store.save_map("shop", MapFormat::Yaml, text).await.unwrap();
    let text = format!("{text}  - id: deploy\n    wait: 2h\n    process: 10m\n");
    store
        .save_map("shop", MapFormat::Yaml, &text)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_desktop_and_phone_without_overlapping_text() {
    let Some((_driver, driver_port)) = start_driver().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_store(dir.path(), Timestamp::now()).await;
    let workshop = flowmap_server::demo::load_workshops(&demo).await.unwrap();
    let sparse = Store::open(&dir.path().join("sparse.db").display().to_string())
        .await
        .unwrap();
    nearly_empty(&sparse).await;
    let demo_base = serve(demo).await;
    let sparse_base = serve(sparse).await;

    let profile = tempfile::tempdir().unwrap();
    let client = browser(driver_port, profile.path()).await;
    let mut problems = check_pages(
        &client,
        &demo_base,
        "demo",
        &[
            "/",
            "/services/checkout",
            "/maps",
            "/maps/checkout-delivery",
            "/maps/checkout-delivery/edit",
            "/maps/checkout-delivery/diff?from=1&to=2",
            "/maps/checkout-recovery",
            "/outcomes",
            "/outcomes/checkout-lead-time",
            "/import",
            "/login",
            "/workshops",
        ],
    )
    .await;
    problems.extend(check_workshop(&client, &demo_base, &workshop).await);
    problems.extend(
        check_pages(
            &client,
            &sparse_base,
            "sparse",
            &[
                "/",
                "/services/shop",
                "/maps",
                "/maps/shop",
                "/maps/shop/edit",
                "/maps/shop/diff?from=1&to=2",
                "/outcomes",
                "/import",
            ],
        )
        .await,
    );
    client.close().await.unwrap();
    assert!(
        problems.is_empty(),
        "{} layout problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
