//! A whole workshop in three headless Chromium sessions — the facilitator at projector
//! width and two participants at phone width, each with its own browser profile: notes
//! appear on the others' screens, the countdown agrees, hostile text stays text, the dots
//! tally exactly, and what is saved at close is what was edited.
//!
//! Skipped (passing) without chromedriver unless `FLOWMAP_REQUIRE_BROWSER=1`. With
//! `FLOWMAP_SCREENSHOT_DIR` set, each screen is saved there as a PNG along the way.

use std::time::Duration;

use fantoccini::Client;
use flowmap_store::Store;
use serde_json::{Value, json};

use crate::browser::{browser, serve, start_driver, wait_for_text};
use crate::workshops::{MAP, OUTCOME};

const HOSTILE: &str = "<img src=x onerror=\"window.pwned=1\"> & <b>bold</b>";

/// Clicks the element once it exists and is enabled (in the page, as a script: the
/// sticky header may cover a button WebDriver scrolls to the top edge).
pub async fn click(client: &Client, css: &str) {
    let script = "const b = document.querySelector(arguments[0]);\
                  if (!b || b.disabled) return false; b.click(); return true;";
    for _ in 0..100 {
        if js(client, script, vec![json!(css)]).await == json!(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} could not be clicked");
}

async fn js(client: &Client, script: &str, args: Vec<Value>) -> Value {
    client.execute(script, args).await.expect("script runs")
}

/// Waits up to 10 s for `script` (returning a value) to return `want`.
async fn wait_for(client: &Client, script: &str, want: Value) {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = js(client, script, vec![]).await;
        if last == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{script} never returned {want}; last {last}");
}

async fn shot(client: &Client, name: &str) {
    if let Ok(dir) = std::env::var("FLOWMAP_SCREENSHOT_DIR") {
        let png = client.screenshot().await.expect("screenshot");
        std::fs::write(format!("{dir}/{name}.png"), png).expect("screenshot written");
    }
}

async fn add_note(client: &Client, text: &str) {
    js(
        client,
        "document.getElementById('note-text').value = arguments[0];",
        vec![json!(text)],
    )
    .await;
    click(client, "#note-form button").await;
}

const NOTE_TEXTS: &str = "return Array.from(document.querySelectorAll('#ws-notes .ws-note-text')).map(e => e.textContent).sort();";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workshop_in_three_browsers() {
    let Some((_driver, driver_port)) = start_driver().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ws.db").display().to_string())
        .await
        .unwrap();
    let base = serve(store.clone()).await;
    let profiles: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let fac = browser(driver_port, profiles[0].path()).await;
    let ann = browser(driver_port, profiles[1].path()).await;
    let ben = browser(driver_port, profiles[2].path()).await;
    ann.set_window_size(390, 844).await.unwrap();
    ben.set_window_size(390, 844).await.unwrap();

    // The facilitator starts the workshop from the form and lands on it with the key.
    fac.goto(&format!("{base}/workshops")).await.unwrap();
    js(
        &fac,
        "const f = document.getElementById('new-workshop');\
         f.elements['title'].value = 'Checkout outcome'; f.elements['mandate'].value = 'Ship the same day';\
         f.elements['stream'].value = 'checkout'; f.submit();",
        vec![],
    )
    .await;
    let join_url = wait_for_text(&fac, "#ws-join-url", |t| t.contains("/join?code=")).await;
    let id = store.workshops().await.unwrap()[0].id.clone();
    assert!(join_url.starts_with(&format!("{base}/workshops/{id}/join")));

    for (client, name) in [(&ann, "Ann"), (&ben, "Ben")] {
        client.goto(&join_url).await.unwrap();
        js(
            client,
            "document.getElementById('join-name').value = arguments[0];",
            vec![json!(name)],
        )
        .await;
        click(client, "#join-form button").await;
        wait_for_text(client, "#ws-you", |t| t.contains(name)).await;
    }
    wait_for_text(&fac, "#ws-count", |t| t.starts_with("2 joined")).await;

    // Brainstorm with a 2-minute countdown; every screen shows the same time left.
    js(
        &fac,
        "document.getElementById('ws-minutes').value = '2';",
        vec![],
    )
    .await;
    click(&fac, "button[data-phase=brainstorm]").await;
    for client in [&fac, &ann, &ben] {
        wait_for_text(client, "#ws-phase", |t| {
            t.eq_ignore_ascii_case("brainstorm")
        })
        .await;
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let seconds =
        "return parseInt(document.getElementById('ws-timer').getAttribute('data-seconds'), 10);";
    let mut shown = Vec::new();
    for client in [&fac, &ann, &ben] {
        shown.push(js(client, seconds, vec![]).await.as_i64().unwrap());
    }
    let (min, max) = (shown.iter().min().unwrap(), shown.iter().max().unwrap());
    assert!(max - min <= 1 && *max <= 120 && *min >= 110, "{shown:?}");

    // Notes appear on the others' screens; hostile text stays text.
    add_note(&ann, HOSTILE).await;
    add_note(&ben, "Manual QA is booked a week ahead").await;
    add_note(&fac, "Releases wait for Friday").await;
    let all = json!([
        HOSTILE,
        "Manual QA is booked a week ahead",
        "Releases wait for Friday"
    ]);
    let mut sorted: Vec<String> = serde_json::from_value(all).unwrap();
    sorted.sort();
    for client in [&fac, &ann, &ben] {
        wait_for(client, NOTE_TEXTS, json!(sorted)).await;
        assert_eq!(
            js(client, "return [document.querySelectorAll('#ws-notes img, #ws-notes b').length, window.pwned === undefined];", vec![]).await,
            json!([0, true])
        );
    }
    shot(&fac, "workshop-facilitator-brainstorm").await;
    shot(&ann, "workshop-participant-brainstorm").await;
    // Ben cannot edit Ann's note: his screen offers edit only on his own.
    assert_eq!(
        js(
            &ben,
            "return document.querySelectorAll('#ws-notes button.link').length;",
            vec![]
        )
        .await,
        json!(2)
    );

    // Group: the facilitator files every note.
    click(&fac, "button[data-phase=group]").await;
    wait_for_text(&ann, "#ws-phase", |t| t.eq_ignore_ascii_case("group")).await;
    let notes = js(
        &fac,
        "return Array.from(document.querySelectorAll('#ws-notes .ws-note')).map(n => [n.getAttribute('data-note'), n.querySelector('.ws-note-text').textContent]);",
        vec![],
    )
    .await;
    for pair in notes.as_array().unwrap() {
        let (note, text) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        let category = if text.starts_with("Manual QA") {
            "testing"
        } else {
            "process"
        };
        js(
            &fac,
            "const i = document.querySelector('[data-note=\"' + arguments[0] + '\"] .ws-category');\
             i.value = arguments[1]; i.dispatchEvent(new Event('change'));",
            vec![json!(note), json!(category)],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let columns = "return Array.from(document.querySelectorAll('#ws-notes .ws-column h3')).map(h => h.textContent);";
    for client in [&fac, &ann, &ben] {
        wait_for(client, columns, json!(["process", "testing"])).await;
    }

    // Vote: Ann puts 2 dots on process and 1 on testing, Ben 3 on process.
    click(&fac, "button[data-phase=vote]").await;
    let plus = |category: &str| format!(".ws-vote[data-category=\"{category}\"] .ws-vote-plus");
    let count = |category: &str| {
        format!(
            "return document.querySelector('.ws-vote[data-category=\"{category}\"] .ws-vote-count').textContent;"
        )
    };
    for (client, category, times) in [
        (&ann, "process", 2),
        (&ann, "testing", 1),
        (&ben, "process", 3),
    ] {
        for n in 1..=times {
            click(client, &plus(category)).await;
            wait_for(client, &count(category), json!(n.to_string())).await;
        }
    }
    // All three dots used: every + is disabled.
    assert_eq!(
        js(
            &ben,
            "return Array.from(document.querySelectorAll('.ws-vote-plus')).every(b => b.disabled);",
            vec![]
        )
        .await,
        json!(true)
    );
    shot(&ben, "workshop-participant-vote").await;
    // The tally is revealed when the facilitator moves on.
    assert_eq!(
        js(
            &fac,
            "return document.getElementById('ws-tally').hidden;",
            vec![]
        )
        .await,
        json!(true)
    );
    click(&fac, "button[data-phase=outcome]").await;
    let tally = "return Array.from(document.querySelectorAll('#ws-tally-list li')).map(l => [l.getAttribute('data-category'), parseInt(l.getAttribute('data-dots'), 10)]);";
    for client in [&fac, &ann, &ben] {
        wait_for(client, tally, json!([["process", 5], ["testing", 1]])).await;
    }

    // The draft the page offers is a valid outcome built from the winning category.
    let draft = js(
        &fac,
        "return document.getElementById('outcome-text').value;",
        vec![],
    )
    .await;
    assert!(
        draft
            .as_str()
            .unwrap()
            .starts_with("outcome: \"Restate: process\""),
        "{draft}"
    );
    click(&fac, "#outcome-save").await;
    wait_for_text(&fac, "#outcome-status", |t| t == "saved").await;
    // Outcome written by the facilitator, seen by everyone.
    js(
        &fac,
        "const a = document.getElementById('outcome-text'); a.value = arguments[0]; a.dispatchEvent(new Event('input'));",
        vec![json!(OUTCOME)],
    )
    .await;
    click(&fac, "#outcome-save").await;
    wait_for_text(&fac, "#outcome-status", |t| t == "saved").await;
    for client in [&ann, &ben] {
        wait_for(
            client,
            "return document.getElementById('outcome-text').value;",
            json!(OUTCOME),
        )
        .await;
    }

    // Map drawn by a participant; every screen redraws the picture and its numbers.
    click(&fac, "button[data-phase=map]").await;
    wait_for_text(&ann, "#ws-phase", |t| t.eq_ignore_ascii_case("map")).await;
    js(
        &ann,
        "const a = document.getElementById('map-text'); a.value = arguments[0]; a.dispatchEvent(new Event('input'));",
        vec![json!(MAP)],
    )
    .await;
    click(&ann, "#map-save").await;
    for client in [&fac, &ann, &ben] {
        wait_for(
            client,
            "return !!document.querySelector('#ws-preview svg') && document.getElementById('ws-preview').textContent.includes('Review');",
            json!(true),
        )
        .await;
    }
    wait_for(
        &fac,
        "return document.getElementById('map-text').value;",
        json!(MAP),
    )
    .await;
    shot(&fac, "workshop-facilitator-map").await;
    shot(&ben, "workshop-participant-map").await;

    // Close (asked twice): every screen shows what was saved; the store has it.
    click(&fac, "#ws-close").await;
    click(&fac, "#ws-close").await;
    for client in [&fac, &ann, &ben] {
        wait_for_text(client, "#ws-saved", |t| {
            t == "Saved outcome checkout version 1 and map checkout version 1."
        })
        .await;
    }
    assert_eq!(
        store.map("checkout", None).await.unwrap().unwrap().text,
        MAP
    );
    assert_eq!(
        store.outcome("checkout", None).await.unwrap().unwrap().text,
        OUTCOME
    );
    shot(&ann, "workshop-participant-closed").await;
    for client in [fac, ann, ben] {
        client.close().await.unwrap();
    }
}
