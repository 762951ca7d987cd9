//! `flowmap ingest github|pagerduty` end to end: the real binary against local fake APIs
//! serving the services' documented examples, then `flowmap dora` and `flowmap map
//! measure` on what it stored.

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

/// The measured value stream of the same story, window 1–16 March:
///
/// - review wait (`pr_opened..first_review`): #2 09:00 → 12:00 on 03-04 = 3 h; #4 03-09
///   09:00 → 03-10 10:00 = 25 h; #1 has no review (it waits, not measured): n = 2,
///   p50 = mean = 14 h.
/// - review (`first_review..approved`): #2 03-04 12:00 → 03-05 14:00 = 26 h; #4 approved
///   with its first review = 0 h: n = 2, p50 = 13 h.
/// - build (`build_started..build_finished`): #2's build is run 9001 on its merge commit,
///   15:05 → 15:15 = 1/6 h; #4's is run 9004 on its merge commit, 09:00 → 10:00 = 1 h; #1
///   has no successful build of its commit or of its deployment's commit: n = 2, p50 =
///   7/12 h.
/// - deploy (`merged..deployed`): #1 03-02 08:00 → 101 13:00 = 5 h; #2 03-05 15:00 → 103
///   03-06 12:00 = 21 h; #4 03-10 11:00 → 104 03-11 10:00 = 23 h: n = 3, p50 = 21 h, mean
///   49/3 h.
const MAP: &str = "name: shop delivery
service: shop
steps:
  - id: review
    wait: 1d
    process: 2h
    measure:
      wait: pr_opened..first_review
      process: first_review..approved
  - id: build
    process: 30m
    measure: { process: build_started..build_finished }
  - id: deploy
    process: 1h
    measure: { process: merged..deployed }
";

fn assert_shop_measure(db: &Path, dir: &Path) {
    let map = dir.join("shop.yaml");
    std::fs::write(&map, MAP).unwrap();
    let out = flowmap(
        db,
        &[
            "map",
            "measure",
            map.to_str().unwrap(),
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
    let report: Value = serde_json::from_slice(&out.stdout).expect("measure JSON");
    let step = |id: &str| {
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|step| step["id"] == id)
            .unwrap_or_else(|| panic!("no step {id}: {report}"))
            .clone()
    };
    let review = step("review");
    assert_eq!(review["wait"]["n"], 2);
    close(&review["wait"]["p50_hours"], 14.0);
    close(&review["wait"]["mean_hours"], 14.0);
    assert_eq!(review["process"]["n"], 2);
    close(&review["process"]["p50_hours"], 13.0);
    let build = step("build");
    assert_eq!(build["process"]["n"], 2);
    close(&build["process"]["p50_hours"], 7.0 / 12.0);
    let deploy = step("deploy");
    assert_eq!(deploy["process"]["n"], 3);
    close(&deploy["process"]["p50_hours"], 21.0);
    close(&deploy["process"]["mean_hours"], 49.0 / 3.0);
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
    tokio::task::block_in_place(|| assert_shop_measure(&db, dir.path()));

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
    // Killed once it says it is waiting: everything before the runs list is saved.
    let stderr = child.stderr.take().unwrap();
    let (said, heard) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if said.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = heard
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the run says it waits for the rate limit");
        if line.contains("rate limited (HTTP 429)") {
            assert!(line.contains("waiting 600s"), "{line}");
            break;
        }
    }
    child.kill().unwrap();
    let killed = tokio::task::block_in_place(|| child.wait().unwrap());
    assert!(!killed.success());
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
