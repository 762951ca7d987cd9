//! Text from a map file is data, never markup: every output escapes it.

use crate::common::{load, parse_xml};
use flowmap_render::{html_report, map_svg, mermaid};
use proptest::prelude::*;

const SCRIPT: &str = "<script>alert(1)</script>";
const SPECIALS: &str = "\"&'<>";

/// A map whose every free-text field carries a script tag and the five special
/// characters, including a drill-down.
const HOSTILE: &str = r#"
name: "<script>alert(1)</script> \"&'<> map"
unit: "<script>alert(1)</script> \"&'<>"
arrivals: 5/week
teams:
  - { id: t1, name: "<script>alert(1)</script> \"&'<> team" }
steps:
  - id: a
    name: "<script>alert(1)</script> \"&'<> first"
    team: t1
    process: 1h..2h
    wait: 1d
    notes: "<script>alert(1)</script> \"&'<> note"
    systems: ["<script>alert(1)</script> \"&'<> system"]
  - id: b
    name: "<script>alert(1)</script> \"&'<> second"
    process: 1h
    wait: 2d
    ca: 80%
    rework_to: a
    steps:
      - id: inner
        name: "<script>alert(1)</script> \"&'<> inner"
        process: 1h
        notes: "<script>alert(1)</script> \"&'<>"
"#;

fn assert_no_raw(output: &str, what: &str) {
    assert!(!output.contains(SCRIPT), "{what} contains a raw script tag");
    assert!(
        !output.contains(SPECIALS),
        "{what} contains raw special characters"
    );
}

#[test]
fn svg_escapes_every_field() {
    let (map, analysis) = load(HOSTILE);
    let svg = map_svg(&map, &analysis);
    assert_no_raw(&svg, "SVG");
    parse_xml(&svg);
    // The text is still there, escaped, for people to read.
    assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;&amp;&#39;&lt;&gt; first"));
    assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;&amp;&#39;&lt;&gt; note"));
    assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;&amp;&#39;&lt;&gt; system"));
}

#[test]
fn html_escapes_every_field_including_drill_downs() {
    let (map, analysis) = load(HOSTILE);
    let html = html_report(&map, &analysis);
    assert_no_raw(&html, "HTML");
    assert!(
        !html.contains("<script"),
        "the report has no scripts at all"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;&amp;&#39;&lt;&gt; inner"));
    assert!(html.contains(
        "<title>&lt;script&gt;alert(1)&lt;/script&gt; &quot;&amp;&#39;&lt;&gt; map — value stream map</title>"
    ));
}

#[test]
fn mermaid_escapes_every_label() {
    let (map, _) = load(HOSTILE);
    let chart = mermaid(&map);
    assert_no_raw(&chart, "Mermaid");
    assert!(chart.contains("#lt;script#gt;alert(1)#lt;/script#gt; #quot;#amp;#39;#lt;#gt; first"));
    // Every label is one quoted string: quotes in it are entities, so each node line has
    // exactly the two quotes that delimit it.
    for line in chart.lines().filter(|l| l.contains("[\"")) {
        assert_eq!(line.matches('"').count(), 2, "{line}");
    }
}

#[test]
fn control_characters_cannot_break_the_xml() {
    let (mut map, _) = load(HOSTILE);
    map.steps[0].name = "bell\u{7} nul\u{0} esc\u{1b}".into();
    let analysis = flowmap_core::map::analyze(&map, &Default::default());
    let svg = map_svg(&map, &analysis);
    parse_xml(&svg);
    assert!(svg.contains("bell\u{FFFD} nul\u{FFFD} esc\u{FFFD}"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the names, the SVG stays well-formed and shows them only escaped.
    #[test]
    fn any_names_give_well_formed_svg(
        map_name in "\\PC{0,40}",
        names in proptest::collection::vec("\\PC{0,60}", 1..6),
        ca in 0.05f64..=1.0,
    ) {
        let (mut map, _) = load(HOSTILE);
        map.name = map_name;
        map.steps.truncate(1);
        map.steps[0].ca = ca;
        map.steps[0].drill_down = None;
        let template = map.steps[0].clone();
        map.steps = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mut step = template.clone();
                step.id = format!("s{i}");
                // The marker never occurs in what the renderer writes itself.
                step.name = format!("Ω<{name}");
                step.rework_to = step.id.clone();
                step.after = if i == 0 { vec![] } else { vec![format!("s{}", i - 1)] };
                step
            })
            .collect();
        let analysis = flowmap_core::map::analyze(&map, &flowmap_core::map::AnalysisOptions { runs: 50, seed: 7 });
        let svg = map_svg(&map, &analysis);
        prop_assert!(roxmltree::Document::parse(&svg).is_ok());
        prop_assert!(!svg.contains("Ω<"));
        prop_assert_eq!(svg.matches("Ω&lt;").count() >= names.len(), true);
        let chart = mermaid(&map);
        prop_assert!(chart.lines().all(|l| !l.contains("[\"") || l.matches('"').count() == 2));
    }
}
