//! The outcome page: the journey picture and the self-contained report.

use flowmap_core::dora::{DoraInput, parse_window_bound};
use flowmap_core::events::{Change, Deployment};
use flowmap_core::map::Format;
use flowmap_core::outcome::{OutcomeData, parse_outcome, status, weekly_series};
use flowmap_render::outcome::{MapMarker, OutcomeView, journey_svg, outcome_report};
use jiff::{SignedDuration, Timestamp};

fn t(s: &str) -> Timestamp {
    parse_window_bound(s).unwrap()
}

const OUTCOME: &str = "outcome: Ship <script>alert(1)</script> faster
service: checkout
metric: lead_time
baseline: 2026-06-01..2026-08-01
target: '<= 1d'
deadline: 2026-11-01
concerns:
  - { text: Reviews wait & wait, category: process, votes: 3 }
experiments:
  - id: small-prs
    hypothesis: Smaller PRs get reviewed sooner
    started: 2026-08-10
    ended: 2026-09-10
  - id: pairing
    started: 2026-09-20
";

/// A deployment a day with one change; lead time 40 h until 2026-08-10, then 20 h.
fn events() -> (Vec<Deployment>, Vec<Change>) {
    let mut deployments = Vec::new();
    let mut changes = Vec::new();
    for day in 0..140i64 {
        let at = t("2026-06-01T12:00:00Z") + SignedDuration::from_hours(24 * day);
        let lead = if at < t("2026-08-10") { 40 } else { 20 } + day % 5;
        let mut d = Deployment::new(format!("d{day}"), "checkout", at);
        d.changes = vec![format!("c{day}")];
        deployments.push(d);
        changes.push(Change::new(
            format!("c{day}"),
            "checkout",
            at - SignedDuration::from_hours(lead),
        ));
    }
    (deployments, changes)
}

#[test]
fn the_journey_draws_weeks_experiments_lines_and_map_versions() {
    let (deployments, changes) = events();
    let data = OutcomeData {
        events: DoraInput {
            deployments: &deployments,
            changes: &changes,
            incidents: &[],
        },
        steps: None,
    };
    let no_maps = |_: &str, _: &str| Err::<(), String>("none".into());
    let outcome = parse_outcome(OUTCOME, Format::Yaml, &no_maps).unwrap();
    let at = t("2026-10-01");
    let result = status(&outcome, &data, at, None);
    let weeks = weekly_series(&outcome, &data, t("2026-06-01"), at);
    let maps = [
        MapMarker {
            at: t("2026-06-05"),
            label: "checkout v1".into(),
            lead_time_hours: 52.0,
        },
        MapMarker {
            at: t("2026-09-01"),
            label: "checkout v2".into(),
            lead_time_hours: 30.0,
        },
    ];
    let view = OutcomeView {
        outcome: &outcome,
        status: &result,
        weeks: &weeks,
        maps: &maps,
    };
    let svg = journey_svg(&view);
    let doc = roxmltree::Document::parse(&svg).expect("the journey is well-formed XML");
    let count = |class: &str| {
        doc.descendants()
            .filter(|n| n.attribute("class") == Some(class))
            .count()
    };
    assert_eq!(count("experiment"), 2);
    assert_eq!(count("map-version"), 2);
    // 2026-06-01 is a Monday; up to 2026-10-01 that is 18 weeks (the last one cut short),
    // each with deployments.
    assert_eq!(weeks.len(), 18);
    assert_eq!(count("week"), 18);
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(texts.iter().any(|t| t.starts_with("target <= 1d")));
    assert!(texts.iter().any(|t| t.starts_with("baseline ")));
    assert!(texts.contains(&"deadline 2026-11-01"));
    assert!(texts.contains(&"small-prs · improved"));
    assert!(texts.contains(&"checkout v2 · 1d 6h"));

    let page = outcome_report(&view);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.contains("<script"), "text from the file is escaped");
    assert!(page.contains("Ship &lt;script&gt;"));
    assert!(page.contains("Reviews wait &amp; wait"));
    assert!(
        !page.contains("http://")
            || page.matches("http://").count()
                == page.matches("http://www.w3.org/2000/svg").count()
    );
    assert!(!page.contains("https://"));
    assert!(page.contains("lead time fell by 20 h"));
}
