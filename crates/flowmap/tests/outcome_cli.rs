//! `flowmap outcome …`, `flowmap map constraints` and `flowmap capabilities` end to end
//! with the real binary.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

struct Workspace {
    dir: tempfile::TempDir,
}

const MAP: &str = "name: Checkout
steps:
  - { id: code, process: 4h }
  - { id: manual-qa, wait: 2d, process: 3h, ca: 75%, rework_to: code }
  - { id: deploy, wait: 4h, process: 1h, capabilities: [deployment-automation] }
";

/// Lead time 48 h for every change deployed before 2026-03-16, 24 h from then on; one
/// deployment a day at 12:00 from 2026-02-02 to 2026-04-12 (70 days).
fn events() -> (String, String) {
    let mut deployments = String::from("id,service,status,finished_at,changes\n");
    let mut changes = String::from("id,service,committed_at\n");
    let first = jiff::Timestamp::from_second(1_769_990_400 + 12 * 3600).unwrap(); // 2026-02-02T12:00Z
    let switch = "2026-03-16T00:00:00Z".parse::<jiff::Timestamp>().unwrap();
    for day in 0..70 {
        let at = first + jiff::SignedDuration::from_hours(24 * day);
        let lead = if at < switch { 48 } else { 24 };
        let committed = at - jiff::SignedDuration::from_hours(lead);
        deployments.push_str(&format!("d{day},checkout,success,{at},c{day}\n"));
        changes.push_str(&format!("c{day},checkout,{committed}\n"));
    }
    (deployments, changes)
}

const OUTCOME: &str = "outcome: Changes reach production within a day
service: checkout
metric: lead_time
baseline: 2026-02-02..2026-03-02
target: '<= 1d'
deadline: 2026-06-01
experiments:
  - id: smaller-prs
    constraint: checkout.yaml#manual-qa
    capability: test-automation
    started: 2026-03-16
    ended: 2026-04-13
";

impl Workspace {
    fn new() -> Workspace {
        let ws = Workspace {
            dir: tempfile::tempdir().unwrap(),
        };
        ws.write("checkout.yaml", MAP);
        ws.write("outcome.yaml", OUTCOME);
        let (deployments, changes) = events();
        ws.write("deployments.csv", &deployments);
        ws.write("changes.csv", &changes);
        let out = ws.flowmap(&["import", "deployments.csv", "changes.csv"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ws
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    fn flowmap(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_flowmap"))
            .arg("--db")
            .arg(self.path("flowmap.db"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("FLOWMAP_DB")
            .output()
            .unwrap()
    }
}

#[test]
fn check_reports_every_problem_located_and_exits_1() {
    let ws = Workspace::new();
    let out = ws.flowmap(&["outcome", "check", "outcome.yaml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ws.write(
        "bad.yaml",
        &OUTCOME
            .replace("metric: lead_time", "metric: lead_tim")
            .replace("checkout.yaml#manual-qa", "checkout.yaml#qa"),
    );
    let out = ws.flowmap(&["outcome", "check", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.yaml:3:9: unknown metric `lead_tim`: did you mean `lead_time`?"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "bad.yaml:9:17: `constraint` `checkout.yaml#qa`: map `checkout.yaml` has no step `qa`"
        ),
        "{stderr}"
    );
}

#[test]
fn status_json_has_the_documented_fields() {
    let ws = Workspace::new();
    let out = ws.flowmap(&[
        "outcome",
        "status",
        "outcome.yaml",
        "--at",
        "2026-04-13",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["metric"], "lead_time");
    assert_eq!(json["unit"], "hours");
    assert_eq!(json["baseline_value"], 48.0);
    // [2026-03-16, 2026-04-13): every change took 24 h.
    assert_eq!(json["current_value"], 24.0);
    assert_eq!(json["target"]["op"], "<=");
    assert_eq!(json["target"]["value"], 24.0);
    assert_eq!(json["met"], true);
    assert_eq!(json["progress"], 1.0);
    assert_eq!(json["status"], "met");
    let experiment = &json["experiments"][0];
    for field in [
        "id", "metric", "before", "after", "shift", "ci_low", "ci_high", "p_value", "verdict",
        "sentence",
    ] {
        assert!(experiment.get(field).is_some(), "missing {field}");
    }
    assert_eq!(experiment["before"]["n"], 28);
    assert_eq!(experiment["after"]["n"], 28);
    assert_eq!(experiment["shift"], -24.0);
    assert_eq!(experiment["verdict"], "improved");
    assert_eq!(
        experiment["sentence"],
        "lead time fell by 24 h (95 % CI 24 h to 24 h; p < 0.001; 28 → 28 changes)"
    );
}

#[test]
fn report_writes_one_self_contained_page() {
    let ws = Workspace::new();
    let out = ws.flowmap(&[
        "outcome",
        "report",
        "outcome.yaml",
        "-o",
        "out.html",
        "--at",
        "2026-04-13",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(ws.path("out.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<svg"));
    assert!(page.contains("smaller-prs · improved"));
    assert!(!page.contains("<script") && !page.contains("https://"));
}

#[test]
fn constraints_rank_steps_and_capabilities_list_the_catalogue() {
    let ws = Workspace::new();
    let out = ws.flowmap(&["map", "constraints", "checkout.yaml", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Expected lead time: 4 h / 0.75 (code is redone) + (48 + 3) h / 0.75 + 5 h = 78.33 h.
    let expected = json["expected_lead_time_hours"].as_f64().unwrap();
    assert!(
        (expected - (4.0 / 0.75 + 51.0 / 0.75 + 5.0)).abs() < 1e-9,
        "{expected}"
    );
    assert_eq!(json["ranking"][0], "manual-qa");
    let qa = &json["steps"][0];
    for field in [
        "id",
        "wait_halved_hours",
        "process_halved_hours",
        "ca_perfect_hours",
        "ca_perfect_rolled_ca",
        "capabilities",
        "suggested_capabilities",
    ] {
        assert!(qa.get(field).is_some(), "missing {field}");
    }
    assert_eq!(qa["suggested_capabilities"][0], "test-automation");
    let out = ws.flowmap(&["capabilities", "--format", "json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 34);
}

#[test]
fn constraints_of_the_measured_map_use_the_data() {
    let ws = Workspace::new();
    ws.write(
        "measured.yaml",
        "name: Checkout\nservice: checkout\nsteps:\n  - { id: code, process: 4h }\n  - id: ship\n    process: 1h\n    measure: { process: committed..deployed }\n",
    );
    let out = ws.flowmap(&[
        "map",
        "constraints",
        "measured.yaml",
        "--measured",
        "--since",
        "2026-03-16",
        "--until",
        "2026-04-13",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every change in the window took 24 h from commit to deployment: the measured `ship`
    // step takes 24 h instead of the written 1 h, and halving it saves 12 h.
    assert_eq!(json["expected_lead_time_hours"], 28.0);
    assert_eq!(json["ranking"][0], "ship");
    assert_eq!(json["steps"][0]["process_halved_hours"], 12.0);
    // Without --measured the file's estimates rank: 5 h in all.
    let out = ws.flowmap(&["map", "constraints", "measured.yaml", "--format", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["expected_lead_time_hours"], 5.0);
}

/// A map whose `review` step binds the wait for a first review, and an outcome on it.
const REVIEW_MAP: &str = "name: Review
service: checkout
steps:
  - id: code
    process: 4h
  - id: review
    wait: 4h
    measure: { wait: pr_opened..first_review }
";

const REVIEW_OUTCOME: &str = "outcome: Reviews start within two hours
metric: step:review.yaml#review
baseline: 2026-02-02..2026-03-02
target: '<= 2h'
deadline: 2026-06-01
experiments:
  - id: review-rota
    constraint: review.yaml#review
    started: 2026-03-16
    ended: 2026-04-13
";

#[test]
fn a_step_metric_is_measured_from_the_bound_points() {
    let ws = Workspace::new();
    // One pull request a day, first reviewed at 12:00: 6 h after it opened before
    // 2026-03-16, 2 h after from then on.
    let mut reviews = String::from("id,service,committed_at,pr_opened_at,first_review_at\n");
    let first = jiff::Timestamp::from_second(1_769_990_400 + 12 * 3600).unwrap(); // 2026-02-02T12:00Z
    let switch = "2026-03-16T00:00:00Z".parse::<jiff::Timestamp>().unwrap();
    for day in 0..70 {
        let reviewed = first + jiff::SignedDuration::from_hours(24 * day);
        let wait = if reviewed < switch { 6 } else { 2 };
        let opened = reviewed - jiff::SignedDuration::from_hours(wait);
        let committed = opened - jiff::SignedDuration::from_hours(1);
        reviews.push_str(&format!(
            "r{day},checkout,{committed},{opened},{reviewed}\n"
        ));
    }
    ws.write("reviews.csv", &reviews);
    ws.write("review.yaml", REVIEW_MAP);
    ws.write("review-outcome.yaml", REVIEW_OUTCOME);
    let out = ws.flowmap(&["import", "--kind", "changes", "reviews.csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ws.flowmap(&[
        "outcome",
        "status",
        "review-outcome.yaml",
        "--at",
        "2026-04-13",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["metric"], "step:review.yaml#review");
    assert_eq!(json["unit"], "hours");
    // The map's `service:` scopes the step: 6 h in February, 2 h in the last 28 days.
    assert_eq!(json["baseline_value"], 6.0);
    assert_eq!(json["current_value"], 2.0);
    assert_eq!(json["met"], true);
    assert_eq!(json["status"], "met");
    let experiment = &json["experiments"][0];
    // Before: the 28 days right before 2026-03-16; after: 2026-03-16 to 2026-04-13.
    assert_eq!(experiment["before"]["n"], 28);
    assert_eq!(experiment["after"]["n"], 28);
    assert_eq!(experiment["before"]["value"], 6.0);
    assert_eq!(experiment["after"]["value"], 2.0);
    assert_eq!(experiment["shift"], -4.0);
    assert_eq!(experiment["verdict"], "improved");
    assert_eq!(
        experiment["sentence"],
        "the time of step review fell by 4 h (95 % CI 4 h to 4 h; p < 0.001; 28 → 28 items)"
    );

    // The report's journey has the step week by week.
    let out = ws.flowmap(&[
        "outcome",
        "report",
        "review-outcome.yaml",
        "--at",
        "2026-04-13",
        "-o",
        "review.html",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(ws.path("review.html")).unwrap();
    // Ten weeks from the baseline's start, each with its median wait.
    assert_eq!(page.matches("<circle class=\"week\"").count(), 10, "{page}");
    assert!(
        page.contains(": 6h</title>") && page.contains(": 2h</title>"),
        "{page}"
    );
}
