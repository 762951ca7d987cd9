//! The HTML report: self-contained, complete, and each map's tables present.

use crate::common::{DELIVERY, PAYMENTS_15, load};
use flowmap_render::html_report;

#[test]
fn has_no_external_references() {
    for text in [DELIVERY, PAYMENTS_15] {
        let (map, analysis) = load(text);
        let html = html_report(&map, &analysis);
        assert!(!html.contains("https://"));
        // The only http:// is the SVG namespace name, which is never fetched.
        let namespaces = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
        assert_eq!(html.matches("http://").count(), namespaces);
        for reference in [
            "src=", "href=", "url(", "@import", "<link", "<script", "<iframe",
        ] {
            assert!(!html.contains(reference), "found {reference}");
        }
        assert!(html.contains("<style>"), "CSS is inline");
    }
}

#[test]
fn contains_the_map_summary_steps_and_simulation() {
    let (map, analysis) = load(DELIVERY);
    let html = html_report(&map, &analysis);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert_eq!(html.matches("<svg").count(), 1);
    assert!(html.contains("<h1>Checkout service — delivery</h1>"));
    // Summary: lead time 308.83 h (12.9 days, in two units), activity ratio 4.1 %, five
    // handoffs.
    assert!(html.contains("<span class=\"value\">1w 6d</span>"));
    assert!(html.contains("<span class=\"value\">4.1%</span>"));
    assert!(html.contains("<th scope=\"row\">Handoffs</th><td><span class=\"value\">5</span>"));
    // One row per step, the bottleneck marked.
    assert_eq!(html.matches("<tr class=\"bottleneck\">").count(), 1);
    assert_eq!(html.matches("<span class=\"id\">").count(), 8);
    assert!(html.contains(
        "<span class=\"name\">Change approval</span> <span class=\"badge\">bottleneck</span>"
    ));
    // Review: wait 1d..3d (midpoint 2d), process 30m (48.5 h in two units), 80 % C&A.
    assert!(html.contains("<td class=\"num\" title=\"midpoint 2d\">1d..3d</td><td class=\"num\">30m</td><td class=\"num\" title=\"48.5 h\">2d 1h</td><td class=\"num\">80%</td>"));
    // Arrivals are known, so queue columns are shown: 30/week at refine waits 3.5 d on
    // average: 30/168 × 1.176 passes × 84 h = 17.65 items.
    assert!(html.contains(">Queued</th>"));
    assert!(html.contains("<td class=\"num\">17.65</td>"));
    // Ranges, so the simulation percentiles are there.
    assert!(html.contains("<h2>Simulated lead time</h2>"));
    assert!(html.contains("<th scope=\"row\">p85</th>"));
    assert!(html.contains("Meets Thursdays; emergency changes bypass it."));
}

#[test]
fn drill_downs_get_their_own_map_and_tables() {
    let (map, analysis) = load(PAYMENTS_15);
    let html = html_report(&map, &analysis);
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(html.contains("<h2>Drill-down: Implement</h2>"));
    assert!(html.contains("<h3>Steps</h3>"));
    assert!(html.contains("<span class=\"name\">Write code and tests</span>"));
}
