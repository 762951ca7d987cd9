//! `flowmap dora` end to end: import files with the real binary, then read the metrics back
//! as JSON and as text.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// A database holding two weeks of a small service `api` (and one deployment of `web`):
    ///
    /// - `d1` (2 March 10:00) ships `c1` (24 h) and `c2` (6 h); incident `i1` starts an hour
    ///   later and is resolved at 13:00: failed, recovered in 3 h;
    /// - `d2` (4 March 10:00) ships `c3` (12 h); hotfix `d3` fixes it at 12:00: failed,
    ///   recovered in 2 h;
    /// - `r1` is a failed run listing `c4`, which therefore ships with nothing;
    /// - `s1` is a staging deployment, not counted in production.
    fn with_history() -> Workspace {
        let ws = Workspace {
            dir: tempfile::tempdir().unwrap(),
        };
        ws.write(
            "deployments.csv",
            "id,service,environment,status,finished_at,changes,kind,fixes\n\
             d1,api,production,success,2026-03-02T10:00:00Z,c1;c2,normal,\n\
             d2,api,production,success,2026-03-04T10:00:00Z,c3,normal,\n\
             d3,api,production,success,2026-03-04T12:00:00Z,,hotfix,d2\n\
             r1,api,production,failure,2026-03-05T10:00:00Z,c4,normal,\n\
             s1,api,staging,success,2026-03-02T08:00:00Z,c1,normal,\n\
             w1,web,production,success,2026-03-03T10:00:00Z,w-c1,normal,\n",
        );
        ws.write(
            "changes.csv",
            "id,service,committed_at\n\
             c1,api,2026-03-01T10:00:00Z\n\
             c2,api,2026-03-02T04:00:00Z\n\
             c3,api,2026-03-03T22:00:00Z\n\
             c4,api,2026-03-05T09:00:00Z\n\
             w-c1,web,2026-03-03T08:00:00Z\n",
        );
        ws.write(
            "incidents.csv",
            "id,service,started_at,resolved_at\n\
             i1,api,2026-03-02T11:00:00Z,2026-03-02T13:00:00Z\n",
        );
        let out = ws.flowmap(&["import", "deployments.csv", "changes.csv", "incidents.csv"]);
        assert!(
            out.status.success(),
            "import failed: {}",
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

    fn dora_json(&self, extra: &[&str]) -> Value {
        let mut args = vec![
            "dora",
            "--since",
            "2026-03-02",
            "--until",
            "2026-03-16T00:00:00Z",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = self.flowmap(&args);
        assert!(
            out.status.success(),
            "dora failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

#[test]
fn one_service_as_json() {
    let ws = Workspace::with_history();
    let r = ws.dora_json(&["--service", "api", "--explain"]);
    assert_eq!(r["service"], "api");
    assert_eq!(r["environment"], "production");
    assert_eq!(r["since"], "2026-03-02T00:00:00Z");
    assert_eq!(r["until"], "2026-03-16T00:00:00Z");

    let f = &r["deployment_frequency"];
    assert_eq!(f["deployments"], 3);
    assert_eq!(f["per_week"], 1.5);
    // Deployment days 2 and 4 March.
    assert_eq!(f["deploy_days_per_week"], 1.0);
    assert_eq!(f["deploy_days_per_week_median"], 1.0);
    assert_eq!(f["level"], "high");

    // Lead times 24 h, 6 h, 12 h.
    assert_eq!(r["lead_time"]["changes"], 3);
    assert_eq!(r["lead_time"]["median_hours"], 12.0);
    assert_eq!(r["lead_time"]["level"], "elite");

    assert_eq!(r["change_failure_rate"]["failed"], 2);
    assert_eq!(r["change_failure_rate"]["rate"], 2.0 / 3.0);
    assert_eq!(r["change_failure_rate"]["level"], "low");

    assert_eq!(r["recovery_time"]["failures"], 2);
    assert_eq!(r["recovery_time"]["recovered"], 2);
    assert_eq!(r["recovery_time"]["median_hours"], 2.5);
    assert_eq!(r["recovery_time"]["level"], "high");

    assert_eq!(r["rework_rate"]["rework"], 1);
    assert_eq!(r["quick_check"]["lead_time"], 8.0);
    assert!(r["quick_check"]["overall"].is_number());

    let explain = &r["explain"];
    assert_eq!(explain["failed_runs"][0]["deployment"], "r1");
    assert_eq!(explain["orphan_changes"][0]["change"], "c4");
    assert_eq!(
        explain["failed_deployments"][1]["reasons"][0]["rule"],
        "fixed_by"
    );
}

#[test]
fn all_services_pool_and_list_each() {
    let ws = Workspace::with_history();
    let r = ws.dora_json(&[]);
    assert!(r["service"].is_null());
    assert_eq!(r["deployment_frequency"]["deployments"], 4);
    // Lead times 2 h (web) and 6 h, 12 h, 24 h (api): median 9 h.
    assert_eq!(r["lead_time"]["median_hours"], 9.0);
    let services: Vec<&str> = r["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["api", "web"]);
    assert_eq!(r["services"][1]["lead_time"]["median_hours"], 2.0);
    assert!(r["services"][1]["recovery_time"]["median_hours"].is_null());

    // Staging alone: one deployment shipping c1 after 22 h.
    let r = ws.dora_json(&["--service", "api", "--env", "staging"]);
    assert_eq!(r["environment"], "staging");
    assert_eq!(r["deployment_frequency"]["deployments"], 1);
    assert_eq!(r["lead_time"]["median_hours"], 22.0);
}

#[test]
fn text_output_is_a_table_with_levels_and_evidence() {
    let ws = Workspace::with_history();
    let out = ws.flowmap(&[
        "dora",
        "--since",
        "2026-03-02",
        "--until",
        "2026-03-16",
        "--explain",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("levels LT/DF/CFR/RT"), "{text}");
    assert!(text.contains("elite/high/low/high"), "{text}");
    assert!(
        text.contains("Failed deploy runs (not counted) (1):"),
        "{text}"
    );
    assert!(text.contains("hotfix d3 fixes it"), "{text}");
}

#[test]
fn bad_arguments_are_usage_errors() {
    let ws = Workspace::with_history();
    let out = ws.flowmap(&["dora", "--since", "2026-03-02T10:00:00"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));

    let out = ws.flowmap(&["dora", "--since", "2026-03-16", "--until", "2026-03-02"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the window is empty"));

    // Out-of-range bounds exited 101 (a panic in the window arithmetic).
    for bound in ["--until=-009999-03-03T00:00:00Z", "--since=9999-12-30"] {
        let out = ws.flowmap(&["dora", bound]);
        assert_eq!(out.status.code(), Some(2), "{bound}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("out of range"), "{bound}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
