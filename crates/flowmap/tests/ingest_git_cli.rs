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
        summary.starts_with("git:shop: 2 commits, 1 deployment, 1 unreleased commit (full read)"),
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
            "git:shop: 2 commits, 1 deployment, 0 unreleased commits (incremental read)"
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

/// A repository whose release tags are plain numbers (`14.1.0`), like ripgrep's, and one
/// merge on main.
fn numbered_releases(dir: &Path) -> std::path::PathBuf {
    let repo = dir.join("rg");
    std::fs::create_dir(&repo).expect("mkdir");
    git(&repo, 0, &["init", "--quiet", "--initial-branch=main"]);
    for (i, tag) in ["13.0.0", "14.0.0", "14.1.0"].iter().enumerate() {
        let clock = (i as i64 + 1) * 86_400;
        let sha = commit(&repo, clock, &format!("Work {i}"));
        git(&repo, clock + 60, &["tag", tag, &sha]);
    }
    git(&repo, 400_000, &["checkout", "--quiet", "-b", "topic"]);
    commit(&repo, 400_100, "Topic work");
    git(&repo, 400_200, &["checkout", "--quiet", "main"]);
    git(
        &repo,
        400_300,
        &["merge", "--quiet", "--no-ff", "-m", "Merge topic", "topic"],
    );
    repo
}

#[test]
fn a_glob_that_matches_no_tag_shows_the_tags_patterns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = numbered_releases(dir.path());
    let db = dir.path().join("flowmap.db");
    let run = flowmap(
        &db,
        &[
            "ingest",
            "git",
            repo.to_str().expect("utf-8"),
            "--deploy-tags",
            "v*",
        ],
    );
    assert!(run.status.success(), "{run:?}");
    let note = String::from_utf8(run.stderr).expect("utf-8");
    assert!(note.contains("no tag matched --deploy-tags 'v*'"), "{note}");
    assert!(note.contains("3 tags, mostly 14.* (2), 13.* (1)"), "{note}");
    assert!(note.contains("Try --deploy-tags '[0-9]*'"), "{note}");

    let without_rule = flowmap(&db, &["ingest", "git", repo.to_str().expect("utf-8")]);
    let note = String::from_utf8(without_rule.stderr).expect("utf-8");
    assert!(note.contains("no deployment rule was given"), "{note}");
    assert!(note.contains("--deploy-merges main"), "{note}");
}

#[test]
fn another_rule_replaces_the_sources_deployments() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = numbered_releases(dir.path());
    let repo_arg = repo.to_str().expect("utf-8");
    let db = dir.path().join("flowmap.db");
    let tags = flowmap(&db, &["ingest", "git", repo_arg, "--deploy-tags", "[0-9]*"]);
    assert!(tags.status.success(), "{tags:?}");
    assert_eq!(load(&db).deployments.len(), 3);

    let merges = flowmap(&db, &["ingest", "git", repo_arg, "--deploy-merges", "main"]);
    assert!(merges.status.success(), "{merges:?}");
    let note = String::from_utf8(merges.stderr).expect("utf-8");
    assert!(
        note.contains("its 3 deployments from that rule were replaced"),
        "{note}"
    );
    let data = load(&db);
    // Only the merge rule's one deployment is left, not 3 + 1.
    assert_eq!(data.deployments.len(), 1, "{:?}", data.deployments);
    assert!(
        data.deployments[0].id.starts_with("merge:"),
        "{:?}",
        data.deployments
    );
    // Every change now ships with the merge or with nothing, never with a tag.
    assert!(
        data.changes.iter().all(|c| c
            .deployment
            .as_deref()
            .is_none_or(|d| d.starts_with("merge:"))),
        "{:?}",
        data.changes
    );
}

#[test]
fn sources_are_listed_and_deleted_only_when_confirmed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = numbered_releases(dir.path());
    let db = dir.path().join("flowmap.db");
    let listed_empty = flowmap(&db, &["source", "list"]);
    assert_eq!(listed_empty.status.code(), Some(1), "{listed_empty:?}");
    assert!(!db.exists(), "a read must not create the database");

    let ingest = flowmap(
        &db,
        &[
            "ingest",
            "git",
            repo.to_str().expect("utf-8"),
            "--deploy-tags",
            "1*",
        ],
    );
    assert!(ingest.status.success(), "{ingest:?}");
    let list = flowmap(&db, &["source", "list"]);
    let text = String::from_utf8(list.stdout).expect("utf-8");
    let row = text
        .lines()
        .find(|l| l.starts_with("git:rg "))
        .unwrap_or_else(|| panic!("{text}"));
    let numbers: Vec<&str> = row.split_whitespace().skip(1).take(3).collect();
    // 3 tags; 5 commits (3 tagged, the topic commit and the merge); no incidents.
    assert_eq!(numbers, ["3", "5", "0"], "{text}");

    let unconfirmed = flowmap(&db, &["source", "delete", "git:rg"]);
    assert_eq!(unconfirmed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unconfirmed.stderr).contains("--yes"));
    assert_eq!(load(&db).changes.len(), 5);

    let misspelt = flowmap(&db, &["source", "delete", "git:gr", "--yes"]);
    assert_eq!(misspelt.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&misspelt.stderr).contains("did you mean \"git:rg\"?"));

    let deleted = flowmap(&db, &["source", "delete", "git:rg", "--yes"]);
    assert!(deleted.status.success(), "{deleted:?}");
    assert_eq!(
        String::from_utf8_lossy(&deleted.stdout),
        "git:rg: deleted 3 deployments, 5 changes and 0 incidents\n"
    );
    assert_eq!(load(&db), Dataset::default());
}

#[test]
fn dora_says_where_the_data_is_and_refuses_unknown_services() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = numbered_releases(dir.path());
    let db = dir.path().join("flowmap.db");
    let missing = flowmap(&db, &["dora"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("flowmap ingest git PATH"));
    assert!(!db.exists(), "dora must not create the database");

    let ingest = flowmap(
        &db,
        &[
            "ingest",
            "git",
            repo.to_str().expect("utf-8"),
            "--deploy-tags",
            "1*",
        ],
    );
    assert!(ingest.status.success(), "{ingest:?}");
    // The history is from 2023; the default window is the 90 days before now.
    let report = flowmap(&db, &["dora"]);
    assert!(report.status.success(), "{report:?}");
    let hint = String::from_utf8(report.stderr).expect("utf-8");
    // First change 2023-11-15T22:13:20Z + 1 day; last tag at + 3 days and a minute.
    assert!(
        hint.contains("flowmap dora --since 2023-11-15 --until 2023-11-20"),
        "{hint}"
    );
    let there = flowmap(
        &db,
        &["dora", "--since", "2023-11-15", "--until", "2023-11-20"],
    );
    let text = String::from_utf8(there.stdout).expect("utf-8");
    assert!(
        text.lines()
            .any(|l| l.starts_with("rg ") && l.contains(" 3 ")),
        "{text}"
    );

    let unknown = flowmap(&db, &["dora", "--service", "gr"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr),
        "error: no service \"gr\": did you mean \"rg\"?\n"
    );
    // A misspelt environment is refused the same way, not reported as an empty window.
    let unknown = flowmap(&db, &["dora", "--env", "prodution"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr),
        "error: no environment \"prodution\": did you mean \"production\"?\n"
    );
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = numbered_releases(dir.path());
    let db = dir.path().join("flowmap.db");
    flowmap(
        &db,
        &[
            "ingest",
            "git",
            repo.to_str().expect("utf-8"),
            "--deploy-tags",
            "1*",
        ],
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowmap"))
        .arg("--db")
        .arg(&db)
        .args([
            "dora",
            "--format",
            "json",
            "--explain",
            "--since",
            "2020-01-01",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("flowmap runs");
    // The reader goes away before reading anything.
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("flowmap ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(141), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}
