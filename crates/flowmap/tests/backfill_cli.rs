//! `flowmap ingest github|pagerduty` end to end: the real binary against local fake APIs
//! serving the services' documented examples, then `flowmap dora` on what it stored.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use flowmap_backfill::Service;
use flowmap_backfill::testing::{FakeApi, Fault, scenarios};
use serde_json::Value;

const GITHUB_TOKEN: &str = "ghp_CLItoken_0123456789_SECRET";
const PAGERDUTY_TOKEN: &str = "pd_CLItoken_0123456789_SECRET";

fn flowmap(db: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flowmap"));
    command
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("GITHUB_TOKEN")
        .env_remove("PAGERDUTY_TOKEN")
        .env_remove("FLOWMAP_DB");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run flowmap")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ingest_github(db: &Path, api: &FakeApi) -> Output {
    flowmap(
        db,
        &[
            "ingest",
            "github",
            "acme/shop",
            "--environments",
            "production,staging",
            "--api-url",
            &api.url(),
        ],
        &[("GITHUB_TOKEN", GITHUB_TOKEN)],
    )
}

fn ingest_pagerduty(db: &Path, api: &FakeApi) -> Output {
    flowmap(
        db,
        &[
            "ingest",
            "pagerduty",
            "--service-id",
            "PSHOP01",
            "--service",
            "shop",
            "--api-url",
            &api.url(),
        ],
        &[("PAGERDUTY_TOKEN", PAGERDUTY_TOKEN)],
    )
}

fn dora(db: &Path) -> Value {
    let out = flowmap(
        db,
        &[
            "dora",
            "--service",
            "shop",
            "--since",
            "2026-03-01",
            "--until",
            "2026-03-16",
            "--format",
            "json",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).expect("dora JSON")
}

fn close(actual: &Value, expected: f64) {
    let actual = actual.as_f64().unwrap_or(f64::NAN);
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

/// The DORA numbers of the GitHub story (`scenarios::github_shop`) with the PagerDuty
/// incident (`scenarios::pagerduty_shop`), window 1–16 March 2026 (15 days):
///
/// - production deployments: 101 (03-02 13:00), 103 (03-06 12:00), 104 (03-11 10:00); 102
///   failed to deploy and does not count: 3 deployments, 3 ÷ 15 × 7 = 1.4 a week, on 3
///   distinct days = 1.4 days a week; complete ISO weeks 2–8 March (2 days) and 9–15
///   March (1 day): median 1.5.
/// - lead times: A1 committed 03-01 08:00 → 101: 29 h; B2 committed 03-05 09:00 → 103:
///   27 h; C4 committed 03-09 08:30 → 104: 49.5 h. Median 29 h; p90 = 29 + 0.8 × 20.5 =
///   45.4 h.
/// - the incident starts 03-06 14:00, 2 h after 103 and before 104: 103 failed, 1 of 3;
///   resolved 16:00: recovered in 4 h.
fn assert_shop_numbers(report: &Value) {
    let frequency = &report["deployment_frequency"];
    assert_eq!(frequency["deployments"], 3);
    close(&frequency["per_week"], 1.4);
    close(&frequency["deploy_days_per_week"], 1.4);
    close(&frequency["deploy_days_per_week_median"], 1.5);
    let lead = &report["lead_time"];
    assert_eq!(lead["changes"], 3);
    close(&lead["median_hours"], 29.0);
    close(&lead["p90_hours"], 45.4);
    let failures = &report["change_failure_rate"];
    assert_eq!(failures["deployments"], 3);
    assert_eq!(failures["failed"], 1);
    close(&failures["rate"], 1.0 / 3.0);
    let recovery = &report["recovery_time"];
    assert_eq!(recovery["failures"], 1);
    assert_eq!(recovery["recovered"], 1);
    close(&recovery["median_hours"], 4.0);
    assert_eq!(report["rework_rate"]["rework"], 0);
}

fn assert_no_token_in(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for token in [GITHUB_TOKEN, PAGERDUTY_TOKEN] {
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "a token is stored in the database"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_from_github_and_pagerduty_gives_the_hand_computed_dora_numbers() {
    let github = FakeApi::start(Service::GitHub, GITHUB_TOKEN, 2).await;
    scenarios::github_shop(&github);
    let pagerduty = FakeApi::start(Service::PagerDuty, PAGERDUTY_TOKEN, 2).await;
    scenarios::pagerduty_shop(&pagerduty);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flowmap.db");

    let out = tokio::task::block_in_place(|| ingest_github(&db, &github));
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.starts_with("github:acme/shop: 3 changes, 5 deployments, 3 builds"),
        "{stdout}"
    );
    assert!(
        stdout.contains("22 requests (0 unchanged, 0 retried"),
        "{stdout}"
    );
    assert!(stdout.contains("(full run)"), "{stdout}");
    assert!(!text(&out).contains(GITHUB_TOKEN));
    let out = tokio::task::block_in_place(|| ingest_pagerduty(&db, &pagerduty));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with("pagerduty:PSHOP01: 0 changes, 0 deployments, 0 builds, 1 incidents"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains(PAGERDUTY_TOKEN));

    let report = tokio::task::block_in_place(|| dora(&db));
    assert_shop_numbers(&report);

    // A second run only asks whether the first pages changed.
    let out = tokio::task::block_in_place(|| ingest_github(&db, &github));
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("4 requests (4 unchanged"), "{stdout}");
    assert!(stdout.contains("0 new, 0 updated"), "{stdout}");
    assert!(stdout.contains("(incremental run)"), "{stdout}");
    assert_eq!(tokio::task::block_in_place(|| dora(&db)), report);
    assert_no_token_in(dir.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_while_it_waits_resumes_where_it_stopped() {
    let github = FakeApi::start(Service::GitHub, GITHUB_TOKEN, 2).await;
    scenarios::github_shop(&github);
    let pagerduty = FakeApi::start(Service::PagerDuty, PAGERDUTY_TOKEN, 2).await;
    scenarios::pagerduty_shop(&pagerduty);
    // The runs list asks for a long wait: the process is killed during it, after the pull
    // requests and deployments are saved.
    github.fail_next(
        "/repos/acme/shop/actions/runs",
        Fault::RetryAfter { secs: 600 },
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flowmap.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowmap"))
        .arg("--db")
        .arg(&db)
        .args([
            "ingest",
            "github",
            "acme/shop",
            "--environments",
            "production,staging",
            "--api-url",
        ])
        .arg(github.url())
        .env("GITHUB_TOKEN", GITHUB_TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !github.seen().iter().any(|seen| seen.status == 429) {
        assert!(
            Instant::now() < deadline,
            "the run never reached the runs list"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    let killed = tokio::task::block_in_place(|| child.wait_with_output().unwrap());
    assert!(!killed.status.success());
    assert!(String::from_utf8_lossy(&killed.stderr).contains("rate limited (HTTP 429)"));
    let before = github.seen().len();

    let out = tokio::task::block_in_place(|| ingest_github(&db, &github));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("resuming the run of github:acme/shop"),
        "{}",
        text(&out)
    );
    let resumed = github.seen().len() - before;
    // Left to read: the runs (2 pages) and the shipping compares (3).
    assert_eq!(resumed, 5, "{}", text(&out));
    let out = tokio::task::block_in_place(|| ingest_pagerduty(&db, &pagerduty));
    assert!(out.status.success(), "{}", text(&out));
    assert_shop_numbers(&tokio::task::block_in_place(|| dora(&db)));
}

#[test]
fn tokens_are_required_and_a_refused_one_is_named_not_shown() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flowmap.db");
    let out = flowmap(
        &db,
        &[
            "ingest",
            "github",
            "acme/shop",
            "--api-url",
            "http://127.0.0.1:9",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("GITHUB_TOKEN is not set"),
        "{}",
        text(&out)
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let github = runtime.block_on(FakeApi::start(Service::GitHub, GITHUB_TOKEN, 2));
    let wrong = "ghp_wrong_token_never_printed";
    let out = flowmap(
        &db,
        &["ingest", "github", "acme/shop", "--api-url", &github.url()],
        &[("GITHUB_TOKEN", wrong)],
    );
    assert_eq!(out.status.code(), Some(1));
    let shown = text(&out);
    assert!(
        shown.contains("refused the token in GITHUB_TOKEN"),
        "{shown}"
    );
    assert!(!shown.contains(wrong));
    assert_eq!(github.seen().len(), 1);

    let out = flowmap(
        &db,
        &["ingest", "github", "acme", "--api-url", &github.url()],
        &[("GITHUB_TOKEN", wrong)],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("expected OWNER/REPO"), "{}", text(&out));
    let out = flowmap(
        &db,
        &["ingest", "github", "acme/shop", "--since", "yesterday"],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed flag is a usage error"
    );
}
