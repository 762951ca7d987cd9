//! The value stream map SVG: snapshots, well-formedness and the layout rules.

use crate::common::{DELIVERY, PAYMENTS_15, RECOVERY_DAG, attr, load, parse_xml};
use flowmap_render::map_svg;

#[test]
fn delivery_example_snapshot() {
    let (map, analysis) = load(DELIVERY);
    insta::assert_snapshot!("delivery_svg", map_svg(&map, &analysis));
}

#[test]
fn dag_with_rework_and_ranges_snapshot() {
    let (map, analysis) = load(RECOVERY_DAG);
    insta::assert_snapshot!("recovery_dag_svg", map_svg(&map, &analysis));
}

#[test]
fn every_fixture_is_well_formed_xml_with_a_viewbox() {
    for text in [DELIVERY, RECOVERY_DAG, PAYMENTS_15] {
        let (map, analysis) = load(text);
        let svg = map_svg(&map, &analysis);
        let doc = parse_xml(&svg);
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(root.attribute("width"), Some("100%"));
        assert!(
            root.attribute("viewBox")
                .is_some_and(|v| v.starts_with("0 0 "))
        );
        // Inline-embeddable: no ids to collide, no stylesheet to leak into a page.
        assert!(doc.descendants().all(|n| n.attribute("id").is_none()));
        assert!(doc.descendants().all(|n| n.tag_name().name() != "style"));
    }
}

#[test]
fn output_is_deterministic() {
    let (map, analysis) = load(PAYMENTS_15);
    assert_eq!(map_svg(&map, &analysis), map_svg(&map, &analysis));
}

/// The top-left corner of each step's box (its last `<rect>`, the border), by step id.
fn boxes(svg: &str) -> Vec<(String, f64, f64)> {
    let doc = parse_xml(svg);
    doc.descendants()
        .filter(|n| n.attribute("data-step").is_some() && n.has_class("step"))
        .map(|g| {
            let rect = g
                .children()
                .rfind(|c| c.has_tag_name("rect"))
                .expect("a step has a border rect");
            (
                g.attribute("data-step").unwrap().to_string(),
                attr(rect, "x"),
                attr(rect, "y"),
            )
        })
        .collect()
}

trait HasClass {
    fn has_class(&self, class: &str) -> bool;
}

impl HasClass for roxmltree::Node<'_, '_> {
    fn has_class(&self, class: &str) -> bool {
        self.attribute("class")
            .is_some_and(|c| c.split(' ').any(|c| c == class))
    }
}

#[test]
fn columns_follow_dag_layers_and_parallel_steps_stack() {
    let (map, analysis) = load(DELIVERY);
    let boxes = boxes(&map_svg(&map, &analysis));
    let at = |id: &str| {
        boxes
            .iter()
            .find(|(s, _, _)| s == id)
            .map(|(_, x, y)| (*x, *y))
            .unwrap()
    };
    // Column c starts at margin 32 + (c + 1) × 240 (gap 96 + box 144) − 144; seven
    // columns are two bands, of four and three.
    assert_eq!(at("refine").0, 128.0);
    assert_eq!(at("code").0, 368.0);
    assert_eq!(at("ci").0, 848.0);
    // qa and security both follow ci: one column (4, the first of the second band),
    // stacked, the critical qa on top.
    assert_eq!(at("qa").0, 128.0);
    assert_eq!(at("security").0, 128.0);
    assert!(at("qa").1 > at("ci").1);
    assert!(at("security").1 > at("qa").1);
    // cab joins both branches one column later; deploy is the last of 7 columns.
    assert_eq!(at("cab").0, 368.0);
    assert_eq!(at("deploy").0, 608.0);
    assert_eq!(at("qa").1, at("cab").1);
}

#[test]
fn bottleneck_is_marked_and_rework_is_labelled() {
    let (map, analysis) = load(DELIVERY);
    assert_eq!(analysis.bottleneck, "cab");
    let svg = map_svg(&map, &analysis);
    let doc = parse_xml(&svg);
    let bottlenecks: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_class("bottleneck"))
        .collect();
    assert_eq!(bottlenecks.len(), 1);
    assert_eq!(bottlenecks[0].attribute("data-step"), Some("cab"));
    assert!(
        bottlenecks[0]
            .descendants()
            .any(|n| n.text() == Some("BOTTLENECK"))
    );
    assert!(
        bottlenecks[0]
            .descendants()
            .any(|n| n.attribute("stroke") == Some("#dc2626")
                && n.attribute("stroke-width") == Some("3"))
    );
    // One dashed loop per step with %C&A below 100 %, labelled with 1 − ca.
    let loops: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_class("rework"))
        .collect();
    assert_eq!(loops.len(), 8);
    let review = loops
        .iter()
        .find(|n| n.attribute("data-from") == Some("review"))
        .unwrap();
    assert_eq!(review.attribute("data-to"), Some("code"));
    assert!(review.descendants().any(|n| n.text() == Some("20% rework")));
    assert!(
        svg.contains(">25% rework to Write code<"),
        "QA at 75 % C&A sends 25 % back, to the band before"
    );
}

#[test]
fn ladder_and_summary_show_the_analysis() {
    let (map, analysis) = load(DELIVERY);
    let svg = map_svg(&map, &analysis);
    // Critical path lead time: 85 + 10 + 48.5 + 0.83 + 51 + 108.5 + 5 = 308.83 h, shown
    // in two units (12.9 days); process time 12 h 40 min exactly.
    assert!(svg.contains(">1w 6d<"));
    assert!(svg.contains(">12h 40m<"));
    // Activity ratio 12.67 / 308.83 = 4.1 %; five handoffs.
    assert!(svg.contains(">4.1%<"));
    assert!(svg.contains(">5<"));
    // Simulation percentiles are shown because the map has ranges.
    assert!(svg.contains("p50 ") && svg.contains("p85 ") && svg.contains("p95 "));
    assert!(svg.contains("10,000 runs, seed 1"));
    // Every wait on the critical path is written on the ladder, bottleneck in red.
    assert!(svg.contains("fill=\"#991b1b\" text-anchor=\"middle\">3d..6d<"));
}

#[test]
fn wide_maps_wrap_into_bands_with_connectors() {
    let (map, analysis) = load(PAYMENTS_15);
    let svg = map_svg(&map, &analysis);
    let boxes = boxes(&svg);
    assert_eq!(boxes.len(), 15);
    // 12 columns become three bands of 4: the viewBox stays 2 × 32 + 4 × 240 + 156 wide.
    assert!(svg.contains("viewBox=\"0 0 1180 "));
    let y_of = |id: &str| boxes.iter().find(|(s, _, _)| s == id).unwrap().2;
    assert!(y_of("integration") > y_of("build"));
    // The flow from build continues in the next band through connector 1.
    assert_eq!(svg.matches(">1</text>").count(), 3);
    assert!(svg.contains("10% rework to Implement"));
}

#[test]
fn long_names_are_cut_with_the_full_text_in_a_tooltip() {
    let (map, analysis) = load(RECOVERY_DAG);
    let svg = map_svg(&map, &analysis);
    let doc = parse_xml(&svg);
    let timeline = doc
        .descendants()
        .find(|n| n.attribute("data-step") == Some("timeline") && n.has_class("step"))
        .unwrap();
    let title = timeline
        .children()
        .find(|n| n.has_tag_name("title"))
        .unwrap();
    assert!(
        title
            .text()
            .unwrap()
            .starts_with("Write the incident timeline for the postmortem and the status page")
    );
    let shown: Vec<&str> = timeline
        .children()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    assert!(shown.iter().any(|t| t.ends_with('…')), "{shown:?}");
    assert!(!shown.iter().any(|t| t.contains("status page")));
}
