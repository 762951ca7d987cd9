//! The Mermaid export.

use crate::common::{DELIVERY, load};
use flowmap_render::mermaid;

#[test]
fn delivery_example_snapshot() {
    let (map, _) = load(DELIVERY);
    insta::assert_snapshot!("delivery_mermaid", mermaid(&map));
}

#[test]
fn edges_follow_after_and_rework_is_dotted() {
    let (map, _) = load(DELIVERY);
    let chart = mermaid(&map);
    assert!(chart.lines().nth(1) == Some("flowchart LR"));
    // Both branches after ci, and the join into cab.
    assert!(chart.contains("    s3_ci --> s4_qa\n"));
    assert!(chart.contains("    s3_ci --> s5_security\n"));
    assert!(chart.contains("    s4_qa --> s6_cab\n"));
    assert!(chart.contains("    s5_security --> s6_cab\n"));
    assert_eq!(chart.matches(" --> ").count(), 8);
    // Rework with 1 − ca, back to rework_to (or the step itself).
    assert!(chart.contains("    s4_qa -.->|\"25% rework\"| s1_code\n"));
    assert!(chart.contains("    s0_refine -.->|\"15% rework\"| s0_refine\n"));
    assert_eq!(chart.matches(" -.->").count(), 8);
    // Team colours: four teams, each step in its team's class.
    assert_eq!(chart.matches("classDef team").count(), 4);
    assert!(chart.contains("    class s3_ci,s5_security,s7_deploy team2\n"));
}

#[test]
fn node_ids_never_collide_with_keywords_or_hyphens() {
    let text =
        "name: K\nsteps:\n  - id: end\n    process: 1h\n  - id: self-review\n    process: 1h\n";
    let map = flowmap_core::map::parse_map(text, flowmap_core::map::Format::Yaml)
        .unwrap()
        .map;
    let chart = mermaid(&map);
    assert!(chart.contains("s0_end --> s1_self_review"));
}
