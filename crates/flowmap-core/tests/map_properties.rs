//! Properties that hold for every map, and a parser that never panics.

use flowmap_core::map::{AnalysisOptions, Format, analyze, parse_map};
use proptest::prelude::*;

/// One generated step: wait and process (minutes, with an optional range width), ca in
/// percent, a rework target and predecessors given as offsets back from this step.
#[derive(Clone, Debug)]
struct GenStep {
    wait: (u32, u32),
    process: (u32, u32),
    ca_percent: u32,
    rework_back: usize,
    after_back: Vec<usize>,
    team: Option<usize>,
}

fn gen_step() -> impl Strategy<Value = GenStep> {
    (
        (0u32..5000, 0u32..3),
        (0u32..5000, 0u32..3),
        20u32..=100,
        0usize..4,
        proptest::collection::vec(1usize..4, 0..3),
        proptest::option::of(0usize..3),
    )
        .prop_map(
            |(wait, process, ca_percent, rework_back, after_back, team)| GenStep {
                wait,
                process,
                ca_percent,
                rework_back,
                after_back,
                team,
            },
        )
}

fn estimate(minutes: (u32, u32)) -> String {
    match minutes.1 {
        0 => format!("{}m", minutes.0),
        width => format!("{}m..{}m", minutes.0, minutes.0 + width * 90),
    }
}

/// Writes a valid map in YAML from generated steps.
fn map_yaml(steps: &[GenStep]) -> String {
    let mut out = String::from("name: generated\nteams: [{id: t0}, {id: t1}, {id: t2}]\nsteps:\n");
    for (i, s) in steps.iter().enumerate() {
        out += &format!(
            "  - id: s{i}\n    wait: {}\n    process: {}\n    ca: {}%\n    rework_to: s{}\n",
            estimate(s.wait),
            estimate(s.process),
            s.ca_percent,
            i.saturating_sub(s.rework_back)
        );
        let after: Vec<String> = s
            .after_back
            .iter()
            .filter(|&&back| back <= i)
            .map(|back| format!("s{}", i - back))
            .collect();
        if !s.after_back.is_empty() {
            out += &format!("    after: [{}]\n", after.join(", "));
        }
        if let Some(team) = s.team {
            out += &format!("    team: t{team}\n");
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn analysis_invariants_hold_for_any_valid_map(steps in proptest::collection::vec(gen_step(), 1..12)) {
        let text = map_yaml(&steps);
        let parsed = parse_map(&text, Format::Yaml);
        prop_assert!(parsed.is_ok(), "generated map rejected: {:?}\n{}", parsed.err(), text);
        let map = parsed.unwrap().map;
        let a = analyze(&map, &AnalysisOptions { runs: 200, seed: 3 });
        prop_assert!((0.0..=1.0).contains(&a.activity_ratio), "activity ratio {}", a.activity_ratio);
        prop_assert!((0.0..=1.0).contains(&a.rolled_ca));
        prop_assert!(a.expected_lead_time_hours >= a.lead_time_hours - 1e-6 * a.lead_time_hours.max(1.0),
            "expected {} < lead {}", a.expected_lead_time_hours, a.lead_time_hours);
        for step in &a.steps {
            prop_assert!(step.expected_passes >= 1.0 - 1e-9, "{} passes {}", step.id, step.expected_passes);
        }
        // The passes satisfy the chain's flow balance: what enters step i (the start,
        // work moving on from i − 1, work sent back to i) is what passes through it.
        for (i, step) in a.steps.iter().enumerate() {
            let mut inflow = if i == 0 { 1.0 } else { map.steps[i - 1].ca * a.steps[i - 1].expected_passes };
            for (j, later) in map.steps.iter().enumerate().skip(i) {
                if later.rework_to == step.id {
                    inflow += (1.0 - later.ca) * a.steps[j].expected_passes;
                }
            }
            prop_assert!((inflow - step.expected_passes).abs() <= 1e-9 * step.expected_passes,
                "step {}: inflow {} vs passes {}", step.id, inflow, step.expected_passes);
        }
        prop_assert!(a.process_time_hours <= a.lead_time_hours + 1e-9);
        prop_assert!(a.handoffs <= steps.len() * 3);
        prop_assert_eq!(a.critical_path.first().map(String::as_str).map(|id| map.steps.iter().any(|s| s.id == id)), Some(true));
        if let Some(sim) = &a.simulation {
            prop_assert!(sim.p50_hours <= sim.p85_hours && sim.p85_hours <= sim.p95_hours);
            prop_assert!(sim.critical_frequency.values().all(|f| (0.0..=1.0).contains(f)));
        }
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in "\\PC{0,300}") {
        for format in [Format::Yaml, Format::Toml, Format::Json] {
            let _ = parse_map(&text, format);
        }
    }

    #[test]
    fn parsing_map_shaped_noise_never_panics(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("name: x".to_string()),
                Just("steps:".to_string()),
                Just("  - id: a".to_string()),
                Just("  - id: b".to_string()),
                Just("    after: [a, b, c]".to_string()),
                Just("    rework_to: b".to_string()),
                Just("    ca: 0%".to_string()),
                Just("    steps:".to_string()),
                Just("      - id: a".to_string()),
                "    [a-z_]{1,9}: [-0-9a-z.%]{0,8}",
                "[ -~]{0,20}",
            ],
            0..20,
        )
    ) {
        let _ = parse_map(&lines.join("\n"), Format::Yaml);
    }
}
