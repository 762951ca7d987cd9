//! Every formula of SPEC §3 on maps small enough to compute by hand.

use flowmap_core::map::{Analysis, AnalysisOptions, Format, Map, analyze, parse_map};

fn yaml(text: &str) -> Map {
    match parse_map(text, Format::Yaml) {
        Ok(parsed) => parsed.map,
        Err(errors) => panic!("test map is invalid: {errors:#?}"),
    }
}

fn run(text: &str) -> Analysis {
    analyze(&yaml(text), &AnalysisOptions::default())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

macro_rules! assert_close {
    ($a:expr, $b:expr) => {
        assert!(
            close($a, $b),
            "{} = {}, expected {}",
            stringify!($a),
            $a,
            $b
        )
    };
}

const LINEAR: &str = "
name: Linear
steps:
  - { id: a, wait: 1h, process: 2h, ca: 50% }
  - { id: b, wait: 3h, process: 1h, ca: 0.8 }
  - { id: c, process: 4h }
";

#[test]
fn linear_map_totals() {
    let a = run(LINEAR);
    // LT = (1 + 2) + (3 + 1) + (0 + 4) = 11; PT = 2 + 1 + 4 = 7.
    assert_close!(a.lead_time_hours, 11.0);
    assert_close!(a.process_time_hours, 7.0);
    assert_close!(a.wait_time_hours, 4.0);
    assert_close!(a.activity_ratio, 7.0 / 11.0);
    assert_close!(a.rolled_ca, 0.5 * 0.8);
    assert_eq!(a.critical_path, ["a", "b", "c"]);
    assert_eq!(a.bottleneck, "b");
    // b and c both take 4h; the first in list order wins.
    assert_eq!(a.longest_step, "b");
    assert_eq!(a.handoffs, 0);
    assert!(a.simulation.is_none());
}

#[test]
fn linear_map_rework_is_one_over_ca() {
    let a = run(LINEAR);
    let passes: Vec<f64> = a.steps.iter().map(|s| s.expected_passes).collect();
    assert_close!(passes[0], 2.0);
    assert_close!(passes[1], 1.25);
    assert_close!(passes[2], 1.0);
    // 2·3 + 1.25·4 + 1·4
    assert_close!(a.expected_lead_time_hours, 15.0);
}

#[test]
fn explicit_rework_targets_solve_the_linear_system() {
    // v_a = 1 + 0.2·v_a + 0.5·v_b and v_b = 0.8·v_a, so v_a = 2.5 and v_b = 2.
    let a = run("
name: Rework
steps:
  - { id: a, process: 1h, ca: 80% }
  - { id: b, process: 2h, ca: 50%, rework_to: a }
");
    assert_close!(a.steps[0].expected_passes, 2.5);
    assert_close!(a.steps[1].expected_passes, 2.0);
    assert_close!(a.expected_lead_time_hours, 2.5 * 1.0 + 2.0 * 2.0);

    // Rework from the last step back to the first re-does the middle step as well:
    // v_a = 1 + 0.5·v_c, v_b = v_a, v_c = v_b, so every step is done twice on average.
    let b = run("
name: Back to start
steps:
  - { id: a, process: 1h }
  - { id: b, process: 1h }
  - { id: c, process: 1h, ca: 50%, rework_to: a }
");
    for step in &b.steps {
        assert_close!(step.expected_passes, 2.0);
    }
    assert_close!(b.expected_lead_time_hours, 6.0);
}

const DAG: &str = "
name: Branches
teams: [{ id: dev }, { id: ops }]
steps:
  - { id: a, team: dev, process: 1h }
  - { id: b, team: dev, wait: 1h, process: 5h, after: [a] }
  - { id: c, team: ops, process: 2h, after: [a], ca: 50% }
  - { id: d, team: ops, process: 1h, after: [b, c], ca: 90% }
";

#[test]
fn dag_critical_path_and_handoffs() {
    let a = run(DAG);
    // a finishes at 1, b at 7, c at 3, d at max(7, 3) + 1 = 8.
    assert_eq!(a.critical_path, ["a", "b", "d"]);
    assert_close!(a.lead_time_hours, 8.0);
    assert_close!(a.process_time_hours, 7.0);
    assert_close!(a.wait_time_hours, 1.0);
    // c is not on the critical path, so its 50% does not roll up.
    assert_close!(a.rolled_ca, 0.9);
    // a→c (dev→ops) and b→d (dev→ops); a→b and c→d stay within a team.
    assert_eq!(a.handoffs, 2);
    let on_path: Vec<bool> = a.steps.iter().map(|s| s.on_critical_path).collect();
    assert_eq!(on_path, [true, true, false, true]);
}

#[test]
fn dag_expected_lead_time_uses_the_longest_weighted_path() {
    let a = run(DAG);
    // The chain runs in list order a → b → c → d whatever `after` says: c reworks itself
    // (v_c = v_b + 0.5·v_c = 2) and d does too (v_d = 0.5·v_c + 0.1·v_d = 1/0.9).
    assert_close!(a.steps[2].expected_passes, 2.0);
    assert_close!(a.steps[3].expected_passes, 1.0 / 0.9);
    // Weighted: a = 1, b = 6, c = 2·2 = 4, d = 1/0.9. Longest: a→b→d = 7 + 1/0.9.
    assert_close!(a.expected_lead_time_hours, 7.0 + 1.0 / 0.9);
}

#[test]
fn ranges_count_as_their_midpoint() {
    let a = run("
name: Ranges
steps:
  - { id: a, wait: 1d..3d, process: 2h..6h }
");
    assert_close!(a.lead_time_hours, 48.0 + 4.0);
    assert_close!(a.process_time_hours, 4.0);
    assert!(a.simulation.is_some());
}

#[test]
fn littles_law_queues() {
    let a = run("
name: Queues
arrivals: 7/week
steps:
  - { id: a, wait: 2d, process: 12h, ca: 50% }
  - { id: b, process: 1h }
");
    // λ = 7 per 168 h = 1/24 per hour; v_a = 2.
    let lambda = 1.0 / 24.0;
    assert_close!(a.arrivals_per_hour.unwrap(), lambda);
    assert_close!(a.steps[0].queue_waiting.unwrap(), lambda * 2.0 * 48.0);
    assert_close!(a.steps[0].queue_in_process.unwrap(), lambda * 2.0 * 12.0);
    assert_close!(a.steps[1].queue_waiting.unwrap(), 0.0);
    assert_close!(a.steps[1].queue_in_process.unwrap(), lambda);

    let without = run(LINEAR);
    assert!(without.steps[0].queue_waiting.is_none());
}

#[test]
fn arrivals_per_day_and_month() {
    let per_day = run("{name: x, arrivals: 12/day, steps: [{id: a}]}");
    assert_close!(per_day.arrivals_per_hour.unwrap(), 0.5);
    let per_month = run("{name: x, arrivals: 72/month, steps: [{id: a}]}");
    assert_close!(per_month.arrivals_per_hour.unwrap(), 0.1);
}

#[test]
fn zero_lead_time_has_zero_activity_ratio() {
    let a = run("{name: empty, steps: [{id: a}, {id: b}]}");
    assert_close!(a.lead_time_hours, 0.0);
    assert_close!(a.activity_ratio, 0.0);
    // All waits are 0: the first step is the bottleneck by the tie rule.
    assert_eq!(a.bottleneck, "a");
}

const DRILL_DOWN: &str = "
name: Drill
steps:
  - { id: code, process: 4h }
  - id: ci
    name: CI build
    steps:
      - { id: checkout, process: 5m }
      - { id: unit, process: 20m }
      - { id: lint, process: 5m, after: [checkout] }
      - { id: integration, wait: 10m, process: 30m, after: [unit] }
      - { id: analysis, process: 15m, after: [checkout] }
  - { id: deploy, process: 1h }
";

#[test]
fn drill_down_defaults_to_its_sub_map_totals() {
    let map = yaml(DRILL_DOWN);
    let ci = &map.steps[1];
    // Critical path checkout → unit → integration: 5m + 20m + (10m + 30m).
    assert_close!(ci.process.point(), 55.0 / 60.0);
    assert_close!(ci.wait.point(), 10.0 / 60.0);
    let a = analyze(&map, &AnalysisOptions::default());
    assert_close!(a.lead_time_hours, 4.0 + 65.0 / 60.0 + 1.0);
    let sub = a.steps[1].drill_down.as_ref().expect("ci has a drill-down");
    assert_eq!(sub.critical_path, ["checkout", "unit", "integration"]);
    assert_eq!(sub.name, "CI build");
}

#[test]
fn drill_down_explicit_values_win_with_a_warning() {
    let parsed = parse_map(
        "
name: Drill
steps:
  - id: ci
    process: 2h
    steps:
      - { id: unit, process: 20m }
",
        Format::Yaml,
    )
    .unwrap();
    assert_close!(parsed.map.steps[0].process.point(), 2.0);
    assert_eq!(parsed.warnings.len(), 1);
    assert_eq!(parsed.warnings[0].pos.line, 5);
    assert!(parsed.warnings[0].message.contains("differs"));
}

#[test]
fn simulation_is_reproducible_and_sensible() {
    let text = "
name: Sim
steps:
  - { id: a, wait: 1h..3h, process: 1h }
  - { id: b, wait: 0, process: 2h..4h, ca: 90% }
";
    let map = yaml(text);
    let options = AnalysisOptions {
        runs: 5_000,
        seed: 7,
    };
    let first = analyze(&map, &options).simulation.unwrap();
    let second = analyze(&map, &options).simulation.unwrap();
    assert_eq!(first, second);
    let other_seed = analyze(
        &map,
        &AnalysisOptions {
            runs: 5_000,
            seed: 8,
        },
    )
    .simulation
    .unwrap();
    assert_ne!(first.p50_hours, other_seed.p50_hours);
    assert!(first.p50_hours <= first.p85_hours && first.p85_hours <= first.p95_hours);
    // Without rework a run takes 4h..8h; one pass of rework adds at least 2h.
    assert!(first.p50_hours > 4.0 && first.p50_hours < 8.5, "{first:?}");
    assert_eq!(first.critical_frequency["a"], 1.0);
    assert_eq!(first.runs, 5_000);
}

#[test]
fn simulation_counts_how_often_each_branch_is_critical() {
    // b takes 1h..3h and c exactly 2h: each is critical about half the time.
    let a = analyze(
        &yaml(
            "
name: Race
steps:
  - { id: a, process: 1h }
  - { id: b, process: 1h..3h, after: [a] }
  - { id: c, process: 2h, after: [a] }
",
        ),
        &AnalysisOptions {
            runs: 20_000,
            seed: 1,
        },
    );
    let sim = a.simulation.unwrap();
    assert!((sim.critical_frequency["b"] - 0.5).abs() < 0.02, "{sim:?}");
    assert!((sim.critical_frequency["c"] - 0.5).abs() < 0.02, "{sim:?}");
    assert!((sim.p50_hours - 3.0).abs() < 0.05);
}

#[test]
fn yaml_toml_and_json_give_the_same_map() {
    let yaml_map = yaml(
        "
name: Same
teams: [{ id: dev, name: Developers }]
steps:
  - { id: code, team: dev, process: 4h, wait: 1d..2d, ca: 90% }
  - { id: review, process: 30m, ca: 0.8, rework_to: code }
",
    );
    let toml_map = parse_map(
        r#"
name = "Same"
teams = [{ id = "dev", name = "Developers" }]

[[steps]]
id = "code"
team = "dev"
process = "4h"
wait = "1d..2d"
ca = "90%"

[[steps]]
id = "review"
process = "30m"
ca = 0.8
rework_to = "code"
"#,
        Format::Toml,
    )
    .unwrap()
    .map;
    let json_map = parse_map(
        r#"{"name": "Same", "teams": [{"id": "dev", "name": "Developers"}],
            "steps": [{"id": "code", "team": "dev", "process": "4h", "wait": "1d..2d", "ca": "90%"},
                      {"id": "review", "process": "30m", "ca": 0.8, "rework_to": "code"}]}"#,
        Format::Json,
    )
    .unwrap()
    .map;
    let strip = |mut m: Map| {
        for s in &mut m.steps {
            s.pos = Default::default();
        }
        m
    };
    assert_eq!(strip(yaml_map.clone()), strip(toml_map));
    assert_eq!(strip(yaml_map), strip(json_map));
}

/// A map of `cas.len()` steps of 1h process each, every one sending rejected work back to
/// the first step, written as YAML so that it goes through the parser too.
fn all_back_to_first(cas: &[f64]) -> String {
    let mut text = String::from("name: Back to the start\nsteps:\n");
    for (i, ca) in cas.iter().enumerate() {
        text.push_str(&format!(
            "  - {{ id: s{i}, process: 1h, ca: {ca}, rework_to: s0 }}\n"
        ));
    }
    text
}

#[track_caller]
fn assert_relative(actual: f64, expected: f64) {
    assert!(
        ((actual - expected) / expected).abs() < 1e-12,
        "{actual} is not {expected}"
    );
}

#[test]
fn rework_to_the_first_step_has_a_closed_form() {
    // Every step k sends work back to step 0, so to finish, work must get through steps
    // k..n without a rejection: vₖ = 1 / Π_{i ≥ k} caᵢ. With one ca c that is c^-(n-k):
    // 24 steps at 20% pass the last step 5 times and the first 5²⁴ ≈ 5.96e16 times.
    for (n, ca) in [(24, 0.2), (10, 0.01), (3, 0.5), (50, 0.9), (200, 0.999)] {
        let a = run(&all_back_to_first(&vec![ca; n]));
        for (k, step) in a.steps.iter().enumerate() {
            assert_relative(step.expected_passes, ca.powi(-((n - k) as i32)));
        }
        let expected_lead: f64 = (0..n).map(|k| ca.powi(-((n - k) as i32))).sum();
        assert_relative(a.expected_lead_time_hours, expected_lead);
        assert!(a.expected_lead_time_hours.is_finite() && a.expected_lead_time_hours > 0.0);
    }
    let twenty_four = run(&all_back_to_first(&[0.2; 24]));
    assert_relative(twenty_four.steps[23].expected_passes, 5.0);
    assert_relative(twenty_four.steps[0].expected_passes, 5f64.powi(24));
    let ten = run(&all_back_to_first(&[0.01; 10]));
    assert_relative(ten.steps[9].expected_passes, 100.0);

    // Different ca on every step: the product runs from each step to the end.
    let cas = [0.9, 0.5, 0.25, 0.8, 0.6];
    let a = run(&all_back_to_first(&cas));
    for (k, step) in a.steps.iter().enumerate() {
        assert_relative(step.expected_passes, 1.0 / cas[k..].iter().product::<f64>());
    }
}

#[test]
fn nested_and_crossing_loops_match_the_balance_equations() {
    // Flow balance (c and d send work back to a, a and b to themselves):
    // v_a = 1 + 0.1·v_a + 0.4·v_c + 0.4·v_d, v_b = 0.9·v_a + 0.5·v_b, v_c = 0.5·v_b,
    // v_d = 0.6·v_c. So v_b = 1.8·v_a, v_c = 0.9·v_a, v_d = 0.54·v_a and
    // v_a = 1 + (0.1 + 0.36 + 0.216)·v_a, v_a = 1 / 0.324.
    let a = run("
name: Loops
steps:
  - { id: a, process: 1h, ca: 90% }
  - { id: b, process: 1h, ca: 50% }
  - { id: c, process: 1h, ca: 60%, rework_to: a }
  - { id: d, process: 1h, ca: 0.6, rework_to: a }
");
    let va = 1.0 / 0.324;
    let expected = [va, 1.8 * va, 0.9 * va, 0.54 * va];
    for (step, v) in a.steps.iter().zip(expected) {
        assert_relative(step.expected_passes, v);
    }
}

/// A map built directly (the parser limits maps to fewer steps): `n` steps of 1h, each
/// sending rejected work `reach` steps back.
fn long_map(n: usize, ca: f64, reach: usize) -> Map {
    let mut map = yaml("name: Long\nsteps:\n  - { id: s0, process: 1h }\n");
    let template = map.steps[0].clone();
    map.steps = (0..n)
        .map(|i| {
            let mut step = template.clone();
            step.id = format!("s{i}");
            step.ca = ca;
            step.rework_to = format!("s{}", i.saturating_sub(reach));
            step.after = if i == 0 {
                vec![]
            } else {
                vec![format!("s{}", i - 1)]
            };
            step
        })
        .collect();
    map
}

#[test]
fn rework_on_very_long_maps_is_fast_and_exact() {
    for n in [8_000, 60_000] {
        // Every step sends work back to step 0 with a tiny rejection rate: the closed form
        // above still holds.
        let ca = 0.99999;
        let started = std::time::Instant::now();
        let a = analyze(&long_map(n, ca, n), &AnalysisOptions::default());
        let elapsed = started.elapsed();
        for k in [0, n / 2, n - 1] {
            let expected = ca.powi(-((n - k) as i32));
            assert!(
                ((a.steps[k].expected_passes - expected) / expected).abs() < 1e-9,
                "step {k}: {} vs {expected}",
                a.steps[k].expected_passes
            );
        }
        // The dense solver took 66 s for 8 000 steps; the sweep takes milliseconds.
        assert!(elapsed.as_secs_f64() < 5.0, "{n} steps took {elapsed:?}");

        // Many overlapping loops (each step back 100 steps): every pass count is finite,
        // positive and at least 1/ca.
        let a = analyze(&long_map(n, 0.999, 100), &AnalysisOptions::default());
        assert!(
            a.steps
                .iter()
                .all(|s| s.expected_passes.is_finite() && s.expected_passes >= 1.0 / 0.999 - 1e-12)
        );
    }
}

#[test]
fn heavy_rework_caps_the_simulation_and_says_so() {
    // One step at 0.000001%: 1e8 expected passes per run. Uncapped this ran for hours.
    let started = std::time::Instant::now();
    let a = run("name: Hostile\nsteps:\n  - { id: a, process: 1m..2m, ca: 0.000001% }\n");
    let elapsed = started.elapsed();
    assert_relative(a.steps[0].expected_passes, 1e8);
    let sim = a.simulation.expect("ranges give a simulation");
    assert!(sim.capped);
    assert_eq!(sim.runs, 1);
    assert_eq!(sim.requested_runs, Some(10_000));
    assert!(
        sim.note
            .as_deref()
            .unwrap_or_default()
            .contains("lower bounds")
    );
    assert!(sim.p50_hours.is_finite() && sim.p50_hours > 0.0);
    // Five million passes: about 0.1 s optimised; unoptimised test builds are slower.
    assert!(elapsed.as_secs_f64() < 30.0, "took {elapsed:?}");

    // Moderate rework: some runs fit, and the note says how many.
    let a = run("name: Slow\nsteps:\n  - { id: a, process: 1m..2m, ca: 0.01% }\n");
    let sim = a.simulation.expect("ranges give a simulation");
    assert!(sim.capped && sim.runs > 1 && sim.runs < 10_000, "{sim:?}");
    assert!(
        sim.note
            .as_deref()
            .unwrap_or_default()
            .contains(&format!("{} of 10000 runs", sim.runs))
    );

    // An ordinary map is not capped.
    let a = run("name: Fine\nsteps:\n  - { id: a, process: 1m..2m, ca: 50% }\n");
    let sim = a.simulation.expect("ranges give a simulation");
    assert!(!sim.capped && sim.runs == 10_000 && sim.note.is_none());
}
