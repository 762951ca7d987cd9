//! `flowmap map measure` and `flowmap map from-data` end to end with the real binary:
//! import changes, deployments, builds and milestones, then measure a map against them.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// Six changes of `api`, each opened 1 h after its commit, reviewed 3 h later, merged
    /// 1 h after that and deployed 4 h after the merge; builds of every change; a QA
    /// milestone on the first change; one failed deployment recovered in 2 h.
    fn with_history() -> Workspace {
        let ws = Workspace {
            dir: tempfile::tempdir().unwrap(),
        };
        let mut changes =
            String::from("id,service,committed_at,pr_opened_at,first_review_at,merged_at\n");
        let mut deployments = String::from("id,service,status,finished_at,changes\n");
        let mut builds = String::from("id,service,status,started_at,finished_at,commit\n");
        for i in 0..6 {
            let day = 2 + i;
            changes.push_str(&format!(
                "c{i},api,2026-03-{day:02}T08:00:00Z,2026-03-{day:02}T09:00:00Z,2026-03-{day:02}T12:00:00Z,2026-03-{day:02}T13:00:00Z\n"
            ));
            deployments.push_str(&format!(
                "d{i},api,success,2026-03-{day:02}T17:00:00Z,c{i}\n"
            ));
            builds.push_str(&format!(
                "b{i},api,success,2026-03-{day:02}T13:10:00Z,2026-03-{day:02}T13:40:00Z,c{i}\n"
            ));
        }
        ws.write("changes.csv", &changes);
        ws.write("deployments.csv", &deployments);
        ws.write("builds.csv", &builds);
        ws.write(
            "milestones.csv",
            "item,name,at,service\nc0,qa_passed,2026-03-02T15:00:00Z,api\n",
        );
        ws.write(
            "incidents.csv",
            "id,service,started_at,detected_at,acknowledged_at,resolved_at,caused_by\n\
             i1,api,2026-03-03T18:00:00Z,2026-03-03T18:10:00Z,2026-03-03T18:20:00Z,2026-03-03T19:00:00Z,d1\n",
        );
        let out = ws.flowmap(&[
            "import",
            "changes.csv",
            "deployments.csv",
            "builds.csv",
            "milestones.csv",
            "incidents.csv",
        ]);
        assert!(
            out.status.success(),
            "import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("builds.csv: builds: 6 inserted"), "{said}");
        assert!(
            said.contains("milestones.csv: milestones: 1 inserted"),
            "{said}"
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

const MAP: &str = "\
name: API delivery
service: api
steps:
  - id: review
    wait: 1h
    process: 1h
    measure: { wait: pr_opened..first_review, process: first_review..merged }
  - id: build
    process: 30m
    measure: { process: build_started..build_finished }
  - id: qa
    process: 1h
    measure: { process: merged..event:qa_passed }
  - id: deploy
    process: 4h
    measure: { process: merged..deployed, ca: change_fail_rate }
";

const WINDOW: [&str; 4] = ["--since", "2026-03-01", "--until", "2026-03-15"];

#[test]
fn measure_json_has_every_field_with_hand_computed_values() {
    let ws = Workspace::with_history();
    ws.write("api.yaml", MAP);
    let mut args = vec!["map", "measure", "api.yaml", "--format", "json"];
    args.extend(WINDOW);
    let out = ws.flowmap(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "name",
        "service",
        "environment",
        "since",
        "until",
        "lead_time",
        "steps",
        "estimate",
        "measured",
    ] {
        assert!(json.get(field).is_some(), "missing {field}");
    }
    assert_eq!(json["service"], "api");
    assert_eq!(json["since"], "2026-03-01T00:00:00Z");
    // committed 08:00 → deployed 17:00: 9 h for all six.
    assert_eq!(json["lead_time"]["n"], 6);
    assert_eq!(json["lead_time"]["p50_hours"], 9.0);
    let review = &json["steps"][0];
    for field in [
        "id",
        "estimate_hours",
        "measured_hours",
        "ratio",
        "flag",
        "wait",
        "process",
        "ca",
    ] {
        assert!(review.get(field).is_some(), "missing steps[0].{field}");
    }
    for field in [
        "from",
        "to",
        "n",
        "p50_hours",
        "p85_hours",
        "mean_hours",
        "missing",
        "anomalies",
        "wip",
        "wip_age_p50_hours",
        "wip_oldest",
    ] {
        assert!(
            review["wait"].get(field).is_some(),
            "missing segment field {field}"
        );
    }
    // wait 3 h + process 1 h against an estimate of 2 h: ×2, under-estimated.
    assert_eq!(review["estimate_hours"], 2.0);
    assert_eq!(review["measured_hours"], 4.0);
    assert_eq!(review["ratio"], 2.0);
    assert_eq!(review["flag"], "under-estimated");
    assert_eq!(json["steps"][1]["measured_hours"], 0.5);
    assert_eq!(json["steps"][1]["flag"], "ok");
    // One QA milestone: too little data.
    assert_eq!(json["steps"][2]["flag"], "too little data");
    // 1 of 6 deployments failed.
    let ca = json["steps"][3]["ca"].as_f64().unwrap();
    assert!((ca - 5.0 / 6.0).abs() < 1e-9);
    assert_eq!(json["measured"]["bottleneck"], "review");
    assert_eq!(json["estimate"]["bottleneck"], "review");
    assert!(json["measured"]["steps"][0]["wait_hours"] == 3.0);
}

#[test]
fn measure_text_svg_and_html() {
    let ws = Workspace::with_history();
    ws.write("api.yaml", MAP);
    let mut args = vec!["map", "measure", "api.yaml", "-o", "api.svg", "--explain"];
    args.extend(WINDOW);
    let out = ws.flowmap(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("under-estimated"), "{text}");
    assert!(text.contains("pr_opened..first_review"), "{text}");
    assert!(text.contains("negative segments"), "{text}");
    let svg = std::fs::read_to_string(ws.path("api.svg")).unwrap();
    assert!(svg.contains(">est 2h · data 4h, n=6<"), "{svg}");
    assert!(svg.contains(">under-estimated<"), "{svg}");
    assert!(svg.contains("WIP 0"));
    let mut args = vec!["map", "measure", "api.yaml", "-o", "api.html"];
    args.extend(WINDOW);
    assert!(ws.flowmap(&args).status.success());
    let html = std::fs::read_to_string(ws.path("api.html")).unwrap();
    assert!(html.contains("As drawn") && html.contains("As measured"));
}

#[test]
fn measure_without_a_service_or_with_a_bad_binding_exits_1() {
    let ws = Workspace::with_history();
    ws.write(
        "noservice.yaml",
        "name: x\nsteps:\n  - id: a\n    measure: { process: merged..deployed }\n",
    );
    let out = ws.flowmap(&["map", "measure", "noservice.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no service to measure"));
    ws.write(
        "bad.yaml",
        "name: x\nsteps:\n  - id: a\n    measure: { process: merged..recovered }\n",
    );
    let out = ws.flowmap(&["map", "measure", "bad.yaml", "--service", "api"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:4:25:")
            && err.contains("`recovered` is a point of the recovery stream"),
        "{err}"
    );
}

#[test]
fn from_data_writes_maps_that_pass_check() {
    let ws = Workspace::with_history();
    for stream in ["delivery", "recovery"] {
        let file = format!("{stream}.yaml");
        let mut args = vec![
            "map",
            "from-data",
            "--stream",
            stream,
            "--service",
            "api",
            "-o",
            &file,
        ];
        args.extend(WINDOW);
        let out = ws.flowmap(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let check = ws.flowmap(&["map", "check", &file]);
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    let delivery = std::fs::read_to_string(ws.path("delivery.yaml")).unwrap();
    // pickup p50 3 h, review... (no approved), build 30m, deploy build_finished..deployed 3h20m.
    assert!(delivery.contains("wait: 3h"), "{delivery}");
    assert!(delivery.contains("process: 30m"), "{delivery}");
    assert!(
        delivery.contains("process: build_finished..deployed"),
        "{delivery}"
    );
    assert!(delivery.contains("n=6"), "{delivery}");
}

#[test]
fn measure_text_shows_drill_down_steps_with_their_estimates() {
    let ws = Workspace::with_history();
    ws.write(
        "drill.yaml",
        "\
name: API delivery
service: api
steps:
  - id: review
    wait: 1h
    process: 1h
    measure: { wait: pr_opened..first_review, process: first_review..merged }
  - id: release
    steps:
      - id: approve
        process: 2h
      - id: ship
        process: 3h
        measure: { process: merged..deployed }
",
    );
    let mut args = vec!["map", "measure", "drill.yaml"];
    args.extend(WINDOW);
    let out = ws.flowmap(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |id: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no line for {id}:\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    // The drill-down's own estimate is its sub-steps' total; nothing of it is bound.
    assert_eq!(line("release"), "release est 5h data - - not measured");
    // A sub-step that binds nothing shows the estimate the map draws.
    assert_eq!(line("approve"), "approve est 2h data - - not measured");
    // merged 13:00 → deployed 17:00: 4 h against 3 h.
    assert!(
        line("ship").starts_with("ship est 3h data 4h ×1.33 ok"),
        "{text}"
    );
    // Sub-steps are indented under their step.
    assert!(text.contains("\n    ship "), "{text}");
}
