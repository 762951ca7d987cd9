//! `flowmap map …` end to end: the real binary on the shipped examples and on bad files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn flowmap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowmap"))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("run flowmap")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const EXAMPLES: &[&str] = &[
    "examples/delivery.yaml",
    "examples/delivery-future.yaml",
    "examples/recovery.yaml",
    "examples/ci-drill-down.toml",
];

#[test]
fn every_example_passes_the_check() {
    let mut args = vec!["map", "check"];
    args.extend_from_slice(EXAMPLES);
    let out = flowmap(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).matches(": ok (").count(), EXAMPLES.len());
}

#[test]
fn analyze_json_has_the_spec_fields() {
    let out = flowmap(&[
        "map",
        "analyze",
        "examples/delivery.yaml",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "name",
        "stream",
        "lead_time_hours",
        "process_time_hours",
        "wait_time_hours",
        "activity_ratio",
        "rolled_ca",
        "handoffs",
        "bottleneck",
        "expected_lead_time_hours",
        "critical_path",
        "steps",
        "simulation",
    ] {
        assert!(json.get(field).is_some(), "missing {field}");
    }
    let step = &json["steps"][0];
    for field in [
        "id",
        "wait_hours",
        "process_hours",
        "lead_time_hours",
        "ca",
        "expected_passes",
        "queue_waiting",
        "queue_in_process",
    ] {
        assert!(step.get(field).is_some(), "missing steps[].{field}");
    }
    for field in ["runs", "seed", "p50_hours", "p85_hours", "p95_hours"] {
        assert!(
            json["simulation"].get(field).is_some(),
            "missing simulation.{field}"
        );
    }
    assert_eq!(json["stream"], "delivery");
    // The change board waits 3d..6d, the longest wait of the example.
    assert_eq!(json["bottleneck"], "cab");
}

#[test]
fn analyze_is_reproducible_for_a_seed() {
    let run = |seed: &str| {
        stdout(&flowmap(&[
            "map",
            "analyze",
            "examples/recovery.yaml",
            "--format",
            "json",
            "--runs",
            "2000",
            "--seed",
            seed,
        ]))
    };
    assert_eq!(run("5"), run("5"));
    assert_ne!(run("5"), run("6"));
}

#[test]
fn analyze_text_is_a_table_for_people() {
    let out = flowmap(&["map", "analyze", "examples/delivery.yaml"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("Lead time"), "{text}");
    assert!(text.contains("BOTTLENECK"), "{text}");
    assert!(text.contains("Simulation"), "{text}");
}

#[test]
fn render_writes_each_format_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    for (name, marker) in [
        ("map.svg", "<svg"),
        ("map.html", "<html"),
        ("map.mmd", "flowchart LR"),
    ] {
        let path = dir.path().join(name);
        let out = flowmap(&[
            "map",
            "render",
            "examples/ci-drill-down.toml",
            "-o",
            path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(marker), "{name} lacks {marker}");
    }
    let out = flowmap(&[
        "map",
        "render",
        "examples/delivery.yaml",
        "-o",
        dir.path().join("map.png").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(".svg, .html or .mmd"));
}

#[test]
fn diff_compares_current_and_future() {
    let out = flowmap(&[
        "map",
        "diff",
        "examples/delivery.yaml",
        "examples/delivery-future.yaml",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lead = json["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "lead_time_hours")
        .unwrap();
    assert!(
        lead["delta"].as_f64().unwrap() < 0.0,
        "the future state is faster"
    );
    let steps = json["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s["change"] == "removed" && s["id"] == "cab")
    );
    assert!(
        steps
            .iter()
            .any(|s| s["change"] == "changed" && s["id"] == "review")
    );
}

#[test]
fn diff_text_speaks_to_people() {
    let out = flowmap(&[
        "map",
        "diff",
        "examples/delivery.yaml",
        "examples/delivery-future.yaml",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    // Labels, not JSON keys; ratios in percentage points; counts as whole numbers.
    assert!(!text.contains("_hours"), "{text}");
    assert!(!text.contains("rolled_ca"), "{text}");
    // Activity ratio 4.1% → 23.6%: +19.5 points; rolled %C&A 38.9% → 69.4%: +30.5.
    assert!(text.contains("(+19.5 pp)"), "{text}");
    assert!(text.contains("(+30.5 pp)"), "{text}");
    assert!(text.contains("handoffs") && text.contains("(-3)"), "{text}");
    assert!(text.contains("(-2)"), "two steps fewer: {text}");
    assert!(stderr(&out).is_empty());

    let mixed = flowmap(&[
        "map",
        "diff",
        "examples/delivery.yaml",
        "examples/recovery.yaml",
    ]);
    assert!(mixed.status.success());
    assert!(
        stderr(&mixed).contains("a delivery map and examples/recovery.yaml a recovery map"),
        "{}",
        stderr(&mixed)
    );
}

#[test]
fn invalid_maps_exit_1_with_every_error_located() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "name: Bad\nsteps:\n  - id: a\n    wiat: 1h\n  - id: b\n    ca: 150%\n",
    )
    .unwrap();
    let out = flowmap(&["map", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let file = bad.to_str().unwrap();
    assert!(
        err.contains(&format!("{file}:4:5: unknown field `wiat`")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:6:9: `ca` must be between")),
        "{err}"
    );
}

#[test]
fn unknown_extensions_and_missing_files_are_clear_errors() {
    let out = flowmap(&["map", "check", "README.md"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("README.md: cannot tell the map format"));
    let out = flowmap(&["map", "analyze", "no/such/map.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no/such/map.yaml: cannot read"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(flowmap(&["map", "analyze"]).status.code(), Some(2));
    assert_eq!(
        flowmap(&["map", "analyze", "examples/delivery.yaml", "--runs", "0"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn terminal_escapes_in_map_names_are_printed_escaped() {
    let dir = tempfile::tempdir().unwrap();
    // OSC 8 forges a link, `ESC [ 2 J` clears the screen; JSON can carry both.
    let map = dir.path().join("evil.json");
    std::fs::write(
        &map,
        r#"{"name": "\u001b]8;;https://evil.example\u0007Checkout",
            "steps": [{"id": "code", "name": "\u001b[2JWrite code", "process": "1h"},
                      {"id": "ship", "process": "1h", "after": ["code"]}]}"#,
    )
    .unwrap();
    let out = flowmap(&["map", "analyze", map.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(
        text.starts_with("\\u{1b}]8;;https://evil.example\\u{7}Checkout"),
        "{text}"
    );

    // An error that quotes the bad value quotes it escaped.
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        r#"{"name": "x", "steps": [{"id": "a", "process": "1h", "after": ["\u001b[2Jb"]}]}"#,
    )
    .unwrap();
    let out = flowmap(&["map", "check", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("\\u{1b}[2Jb"), "{text}");
}
