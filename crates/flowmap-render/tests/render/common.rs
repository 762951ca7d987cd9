//! Shared helpers of the render tests: the fixture maps and an XML reader for the SVG.

use flowmap_core::map::{Analysis, AnalysisOptions, Format, Map, analyze, parse_map};

pub const DELIVERY: &str = include_str!("../../../../examples/delivery.yaml");
pub const RECOVERY_DAG: &str = include_str!("../fixtures/recovery-dag.yaml");
pub const PAYMENTS_15: &str = include_str!("../fixtures/payments-15.yaml");

/// Parses a YAML map (panicking with the diagnostics if the fixture is broken) and
/// analyses it with the default, seeded options.
pub fn load(text: &str) -> (Map, Analysis) {
    let map = parse_map(text, Format::Yaml)
        .unwrap_or_else(|errors| panic!("fixture does not parse: {errors:?}"))
        .map;
    let analysis = analyze(&map, &AnalysisOptions::default());
    (map, analysis)
}

/// Parses `svg` as XML, failing the test with the parser's message when it is not
/// well-formed.
pub fn parse_xml(svg: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("SVG is not well-formed XML: {e}"))
}

/// The numeric value of an attribute.
pub fn attr(node: roxmltree::Node<'_, '_>, name: &str) -> f64 {
    node.attribute(name)
        .unwrap_or_else(|| panic!("<{}> has no {name}", node.tag_name().name()))
        .parse()
        .expect("attribute is a number")
}
