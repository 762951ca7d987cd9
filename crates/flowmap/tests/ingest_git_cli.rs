//! `flowmap ingest git …` end to end: a repository built with the git CLI, ingested by the
//! real binary into a real SQLite file, twice.

use std::path::Path;
use std::process::{Command, Output};

use flowmap_store::{Dataset, LoadQuery, Store};

/// Seconds since the epoch of the repository's first commit.
const EPOCH: i64 = 1_700_000_000;

fn git(dir: &Path, clock: i64, args: &[&str]) -> String {
    let date = format!("@{} +0000", EPOCH + clock);
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// Commits at `clock` seconds after `EPOCH` and returns the sha.
fn commit(dir: &Path, clock: i64, subject: &str) -> String {
    git(
        dir,
        clock,
        &["commit", "--quiet", "--allow-empty", "-m", subject],
    );
    git(dir, clock, &["rev-parse", "HEAD"])
}

fn flowmap(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowmap"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("FLOWMAP_DB")
        .output()
        .expect("flowmap runs")
}

fn load(db: &Path) -> Dataset {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = Store::open(&db.display().to_string()).await.expect("open");
        store.load(&LoadQuery::default()).await.expect("load")
    })
}

#[test]
fn ingest_twice_stores_each_commit_once_and_links_new_releases() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("shop");
    std::fs::create_dir(&repo).expect("mkdir");
    let db = dir.path().join("flowmap.db");
    git(&repo, 0, &["init", "--quiet", "--initial-branch=main"]);
    let c1 = commit(&repo, 3600, "First");
    git(&repo, 7200, &["tag", "-a", "-m", "release", "v1", &c1]);
    let c2 = commit(&repo, 10_800, "Second");
    let repo_arg = repo.to_str().expect("utf-8 path");

    let first = flowmap(&db, &["ingest", "git", repo_arg, "--deploy-tags", "v*"]);
    assert!(first.status.success(), "{first:?}");
    let summary = String::from_utf8(first.stdout).expect("utf-8");
    assert!(
        summary.starts_with("git:shop: 2 commits, 1 deployments, 1 unreleased commits (full read)"),
        "{summary}"
    );
    // Piped, the progress bar stays silent.
    assert_eq!(String::from_utf8_lossy(&first.stderr), "");

    let c3 = commit(&repo, 14_400, "Third");
    git(&repo, 18_000, &["tag", "-a", "-m", "release", "v2", &c3]);
    let second = flowmap(&db, &["ingest", "git", repo_arg, "--deploy-tags", "v*"]);
    assert!(second.status.success(), "{second:?}");
    let summary = String::from_utf8(second.stdout).expect("utf-8");
    assert!(
        summary.starts_with(
            "git:shop: 2 commits, 1 deployments, 0 unreleased commits (incremental read)"
        ),
        "{summary}"
    );

    let data = load(&db);
    let links: Vec<(&str, Option<&str>)> = data
        .changes
        .iter()
        .map(|change| (change.id.as_str(), change.deployment.as_deref()))
        .collect();
    assert_eq!(
        links,
        [
            (c1.as_str(), Some("tag:v1")),
            (c2.as_str(), Some("tag:v2")),
            (c3.as_str(), Some("tag:v2")),
        ]
    );
    let deployments: Vec<(&str, i64)> = data
        .deployments
        .iter()
        .map(|d| (d.id.as_str(), d.finished_at.as_second()))
        .collect();
    assert_eq!(
        deployments,
        [("tag:v1", EPOCH + 7200), ("tag:v2", EPOCH + 18_000)]
    );
    assert!(data.changes.iter().all(|change| change.service == "shop"));
}

#[test]
fn a_path_that_is_no_repository_fails_with_exit_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("flowmap.db");
    let not_repo = dir.path().join("empty");
    std::fs::create_dir(&not_repo).expect("mkdir");
    let output = flowmap(
        &db,
        &["ingest", "git", not_repo.to_str().expect("utf-8 path")],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open git repository"), "{stderr}");
}

#[test]
fn deploy_tags_and_deploy_merges_exclude_each_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("flowmap.db");
    let output = flowmap(
        &db,
        &[
            "ingest",
            "git",
            ".",
            "--deploy-tags",
            "v*",
            "--deploy-merges",
            "main",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
}
