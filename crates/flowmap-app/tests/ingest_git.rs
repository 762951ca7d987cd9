//! `App::ingest_git` on both backends, over repositories built with the git CLI: a first
//! ingest (plain inserts) stores exactly what the upserts store, and ingesting again
//! changes nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use flowmap_app::{Actor, App};
use flowmap_core::events::Deployment;
use flowmap_ingest::git::{DeployRule, GitOptions, NoProgress};
use flowmap_store::testing::TestDb;
use flowmap_store::{Batch, Dataset, LoadQuery, SourceSummary, Store};
use jiff::Timestamp;

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

/// A repository named `shop` with a mainline, merged feature branches, a revert, release
/// tags and commits after the last release: more commits than one batch of inserts.
fn repository(dir: &Path) -> PathBuf {
    let repo = dir.join("shop");
    std::fs::create_dir(&repo).expect("mkdir");
    git(&repo, 0, &["init", "--quiet", "--initial-branch=main"]);
    git(
        &repo,
        0,
        &["commit", "--quiet", "--allow-empty", "-m", "Start"],
    );
    let mut clock = 0;
    for round in 0..6 {
        git(
            &repo,
            clock,
            &["checkout", "--quiet", "-b", "feature", "main"],
        );
        for k in 0..25 {
            clock += 60;
            let subject = format!("Feature {round}.{k}");
            git(
                &repo,
                clock,
                &["commit", "--quiet", "--allow-empty", "-m", &subject],
            );
        }
        git(&repo, clock, &["checkout", "--quiet", "main"]);
        for k in 0..15 {
            clock += 60;
            let subject = format!("Main {round}.{k}");
            git(
                &repo,
                clock,
                &["commit", "--quiet", "--allow-empty", "-m", &subject],
            );
        }
        clock += 60;
        git(
            &repo,
            clock,
            &[
                "merge",
                "--quiet",
                "--no-ff",
                "-m",
                "Merge feature",
                "feature",
            ],
        );
        git(&repo, clock, &["branch", "--quiet", "-D", "feature"]);
        if round < 5 {
            clock += 600;
            let tag = format!("v{round}");
            git(&repo, clock, &["tag", "-a", "-m", "release", &tag]);
        }
    }
    clock += 60;
    let reverted = git(&repo, clock, &["rev-parse", "HEAD~1"]);
    let body = format!("This reverts commit {reverted}.");
    let args = [
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "Revert",
        "-m",
        &body,
    ];
    git(&repo, clock, &args);
    repo
}

fn tags() -> GitOptions {
    GitOptions {
        service: None,
        rule: DeployRule::Tags("v*".into()),
        path: None,
    }
}

async fn ingest(store: &Store, repo: &Path) -> flowmap_app::ingest::Ingested {
    App::new(store.clone())
        .ingest_git(
            &Actor::local_user("test"),
            repo.to_owned(),
            tags(),
            Arc::new(NoProgress),
        )
        .await
        .expect("ingest")
}

async fn everything(store: &Store) -> Dataset {
    let mut data = store.load(&LoadQuery::default()).await.expect("load");
    data.changes.sort_by(|a, b| a.id.cmp(&b.id));
    data.deployments.sort_by(|a, b| a.id.cmp(&b.id));
    data
}

/// Record counts per source, without the update times.
async fn counts(store: &Store) -> Vec<(String, u64, u64)> {
    let sources: Vec<SourceSummary> = store.sources().await.expect("sources");
    sources
        .into_iter()
        .map(|s| (s.name, s.changes, s.deployments))
        .collect()
}

async fn a_first_ingest_stores_what_the_upserts_store(first: Store, upserted: Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = repository(dir.path());

    // A source that holds nothing: the first load.
    let version = first.data_version().await.expect("version");
    let ingested = ingest(&first, &repo).await;
    assert!(ingested.outcome.full);
    assert_eq!(ingested.outcome.changes, 1 + 6 * 41 + 1);
    assert_eq!(ingested.outcome.deployments, 5);
    assert_eq!(ingested.outcome.unreleased, 42);
    assert_eq!(first.data_version().await.expect("version"), version + 1);
    let stored = everything(&first).await;
    assert_eq!(stored.changes.len(), 248);
    assert_eq!(stored.deployments.len(), 5);
    let reverts: Vec<_> = stored
        .changes
        .iter()
        .filter(|c| c.reverts.is_some())
        .collect();
    assert_eq!(reverts.len(), 1);
    assert_eq!(reverts[0].title.as_deref(), Some("Revert"));
    assert_eq!(counts(&first).await, [("git:shop".to_owned(), 248, 5)]);

    // The same history through the upserts: the source already holds a record, so the
    // first load is refused and every record is merged with what is stored.
    let placeholder = Deployment::new(
        "placeholder",
        "shop",
        Timestamp::from_second(EPOCH).expect("time"),
    );
    let batch = Batch {
        deployments: vec![placeholder],
        ..Batch::default()
    };
    upserted.write("git:shop", &batch).await.expect("write");
    let through_upserts = ingest(&upserted, &repo).await;
    assert_eq!(through_upserts.outcome.changes, ingested.outcome.changes);
    let mut merged = everything(&upserted).await;
    merged.deployments.retain(|d| d.id != "placeholder");
    assert_eq!(merged, stored);

    // Ingesting again reads only what is new (nothing) and changes nothing.
    let again = ingest(&first, &repo).await;
    assert!(!again.outcome.full);
    assert_eq!(everything(&first).await, stored);
    assert_eq!(counts(&first).await, [("git:shop".to_owned(), 248, 5)]);

    // An unreadable state makes the next run read the whole history again; the source
    // holds records, so they are upserted, and nothing changes either.
    first
        .set_meta("git:shop:state", "not json")
        .await
        .expect("meta");
    let full = ingest(&first, &repo).await;
    assert!(full.outcome.full);
    assert_eq!(full.warnings.len(), 1, "{:?}", full.warnings);
    assert_eq!(everything(&first).await, stored);
    assert_eq!(counts(&first).await, [("git:shop".to_owned(), 248, 5)]);
}

#[tokio::test]
async fn sqlite_first_ingest_stores_what_the_upserts_store() {
    let (a, b) = (TestDb::sqlite(), TestDb::sqlite());
    let first = Store::open(&a.location()).await.expect("open");
    let upserted = Store::open(&b.location()).await.expect("open");
    a_first_ingest_stores_what_the_upserts_store(first, upserted).await;
}

#[tokio::test]
async fn postgres_first_ingest_stores_what_the_upserts_store() {
    let (Some(a), Some(b)) = (TestDb::postgres().await, TestDb::postgres().await) else {
        return;
    };
    let first = Store::open(&a.location()).await.expect("open");
    let upserted = Store::open(&b.location()).await.expect("open");
    a_first_ingest_stores_what_the_upserts_store(first.clone(), upserted.clone()).await;
    first.close().await;
    upserted.close().await;
}
