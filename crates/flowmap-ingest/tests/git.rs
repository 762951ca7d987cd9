//! Git ingest against repositories built here with the git command line.
//!
//! Every expectation comes from git itself (`git log`, `git tag --contains`,
//! `git merge-base --is-ancestor`), never from the code under test: the tests build a
//! history, ask git what the answer is, and compare.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use flowmap_core::events::{Change, Deployment, DeploymentKind, DeploymentStatus};
use flowmap_ingest::git::{
    Batch, DeployRule, GitError, GitOptions, GitState, NoProgress, Outcome, ingest,
};

/// Seconds since the epoch of the first commit: 2023-11-14T22:13:20Z.
const EPOCH: i64 = 1_700_000_000;

/// A repository in a temporary directory, driven through the git CLI with a fixed clock
/// and identity so that every sha is the same on every machine.
struct Repo {
    dir: tempfile::TempDir,
    /// Seconds after `EPOCH` of the next commit or tag; every event advances it an hour.
    clock: i64,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Repo { dir, clock: 0 };
        repo.git(&["init", "--quiet", "--initial-branch=main", "."]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs git with the test clock: the author date is 10 minutes before the committer date.
    fn git(&self, args: &[&str]) -> String {
        let committed = EPOCH + self.clock;
        let output = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "Ada")
            .env("GIT_AUTHOR_EMAIL", "ada@old.example")
            .env("GIT_COMMITTER_NAME", "Grace")
            .env("GIT_COMMITTER_EMAIL", "grace@example.com")
            .env("GIT_AUTHOR_DATE", format!("@{} +0100", committed - 600))
            .env("GIT_COMMITTER_DATE", format!("@{committed} +0000"))
            .output()
            .expect("git runs");
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    fn tick(&mut self) {
        self.clock += 3600;
    }

    /// Commits a change to `file` and returns the new sha.
    fn commit(&mut self, file: &str, subject: &str) -> String {
        self.tick();
        let path = self.path().join(file);
        std::fs::create_dir_all(path.parent().expect("file in a directory")).expect("mkdir");
        let previous = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(&path, format!("{previous}{subject}\n")).expect("write");
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "-m", subject]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn merge(&mut self, branch: &str) -> String {
        self.tick();
        self.git(&[
            "merge",
            "--quiet",
            "--no-ff",
            "-m",
            &format!("Merge {branch}"),
            branch,
        ]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn annotated_tag(&mut self, name: &str, target: &str) {
        self.tick();
        self.git(&["tag", "-a", "-m", name, name, target]);
    }

    fn light_tag(&mut self, name: &str, target: &str) {
        self.git(&["tag", name, target]);
    }

    fn lines(&self, args: &[&str]) -> Vec<String> {
        let out = self.git(args);
        out.lines()
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Every commit `git log --branches --tags` shows.
    fn all_commits(&self) -> BTreeSet<String> {
        self.lines(&["log", "--branches", "--tags", "--format=%H"])
            .into_iter()
            .collect()
    }

    /// Creation time of each tag as git reports it: tagger date, else committer date.
    fn tag_times(&self) -> BTreeMap<String, i64> {
        self.lines(&[
            "for-each-ref",
            "--format=%(refname:short) %(creatordate:unix)",
            "refs/tags",
        ])
        .into_iter()
        // A tag on a tree has no date: it is no deployment either.
        .filter_map(|line| {
            let (name, time) = line.split_once(' ')?;
            Some((name.to_owned(), time.parse().ok()?))
        })
        .collect()
    }

    /// Per commit, the earliest tag matching `glob` that contains it, by `git tag --contains`.
    fn expected_tag_links(&self, glob: &str) -> BTreeMap<String, Option<String>> {
        let times = self.tag_times();
        self.all_commits()
            .into_iter()
            .map(|sha| {
                let tag = self
                    .lines(&["tag", "--contains", &sha, "--list", glob])
                    .into_iter()
                    .min_by_key(|tag| (times[tag], format!("tag:{tag}")))
                    .map(|tag| format!("tag:{tag}"));
                (sha, tag)
            })
            .collect()
    }
}

/// Everything one run sent, keyed by id the way a store keys records by (source, id).
#[derive(Default, Debug, PartialEq)]
struct Sent {
    changes: BTreeMap<String, Change>,
    deployments: BTreeMap<String, Deployment>,
    batches: usize,
}

fn run(repo: &Path, options: &GitOptions, state: Option<&GitState>) -> (Outcome, Sent) {
    let mut sent = Sent::default();
    let outcome = ingest(repo, options, state, &NoProgress, &mut |batch: Batch| {
        sent.batches += 1;
        for change in batch.changes {
            sent.changes.insert(change.id.clone(), change);
        }
        for deployment in batch.deployments {
            sent.deployments.insert(deployment.id.clone(), deployment);
        }
        Ok(())
    })
    .expect("ingest succeeds");
    (outcome, sent)
}

fn options(rule: DeployRule) -> GitOptions {
    GitOptions {
        service: Some("shop".to_owned()),
        rule,
        path: None,
    }
}

fn tags(glob: &str) -> GitOptions {
    options(DeployRule::Tags(glob.to_owned()))
}

fn links(sent: &Sent) -> BTreeMap<String, Option<String>> {
    sent.changes
        .iter()
        .map(|(id, change)| (id.clone(), change.deployment.clone()))
        .collect()
}

fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(seconds).expect("in range")
}

/// main: c1 - c2 (v1.0) - c3 - m1 (v2.0) - revert - c5 (unreleased)
///              \- f1 (v1.1, lightweight) -/
/// plus s1 reachable only from tag v1.5 (its branch deleted), a tag on a tree that matches
/// the glob, and a tag that does not match it.
fn release_history() -> (Repo, BTreeMap<&'static str, String>) {
    let mut repo = Repo::new();
    let mut shas = BTreeMap::new();
    std::fs::write(
        repo.path().join(".mailmap"),
        "Ada Lovelace <ada@example.com> <ada@old.example>\n",
    )
    .expect("mailmap");
    shas.insert("c1", repo.commit("README", "Start"));
    shas.insert("c2", repo.commit("app/main.rs", "Add the app"));
    repo.annotated_tag("v1.0", &shas["c2"]);
    repo.git(&["checkout", "--quiet", "-b", "feature"]);
    shas.insert("f1", repo.commit("app/feature.rs", "Add a feature"));
    repo.light_tag("v1.1", &shas["f1"]);
    repo.git(&["checkout", "--quiet", "-b", "side", &shas["c2"]]);
    shas.insert("s1", repo.commit("app/side.rs", "Side experiment"));
    repo.annotated_tag("v1.5", &shas["s1"]);
    repo.git(&["checkout", "--quiet", "main"]);
    repo.git(&["branch", "--quiet", "-D", "side"]);
    shas.insert("c3", repo.commit("app/main.rs", "Break things"));
    shas.insert("m1", repo.merge("feature"));
    repo.annotated_tag("v2.0", &shas["m1"]);
    repo.tick();
    repo.git(&["revert", "--no-edit", &shas["c3"]]);
    shas.insert("revert", repo.git(&["rev-parse", "HEAD"]));
    shas.insert("c5", repo.commit("docs/notes.md", "Write notes"));
    let tree = repo.git(&["rev-parse", "HEAD^{tree}"]);
    repo.light_tag("v9-tree", &tree);
    repo.light_tag("other", &shas["c5"]);
    (repo, shas)
}

#[test]
fn each_commit_ships_with_the_earliest_tag_that_contains_it() {
    let (repo, shas) = release_history();
    let (outcome, sent) = run(repo.path(), &tags("v*"), None);

    let ids: BTreeSet<String> = sent.changes.keys().cloned().collect();
    assert_eq!(ids, repo.all_commits());
    assert_eq!(ids.len(), 8);
    assert_eq!(links(&sent), repo.expected_tag_links("v*"));
    // Spelled out, for the reader: the side-branch tag v1.1 ships f1 before v2.0 does.
    assert_eq!(
        sent.changes[&shas["f1"]].deployment.as_deref(),
        Some("tag:v1.1")
    );
    assert_eq!(
        sent.changes[&shas["s1"]].deployment.as_deref(),
        Some("tag:v1.5")
    );
    assert_eq!(
        sent.changes[&shas["c3"]].deployment.as_deref(),
        Some("tag:v2.0")
    );
    assert_eq!(sent.changes[&shas["c5"]].deployment, None);

    let names: Vec<&str> = sent.deployments.keys().map(String::as_str).collect();
    assert_eq!(names, ["tag:v1.0", "tag:v1.1", "tag:v1.5", "tag:v2.0"]);
    assert_eq!(outcome.source, "git:shop");
    assert!(outcome.full);
    assert_eq!(outcome.changes, 8);
    assert_eq!(outcome.deployments, 4);
    assert_eq!(outcome.unreleased, 2);
}

#[test]
fn tag_times_follow_git() {
    let (repo, shas) = release_history();
    let (_, sent) = run(repo.path(), &tags("v*"), None);
    let times = repo.tag_times();
    for (id, deployment) in &sent.deployments {
        let name = id.strip_prefix("tag:").expect("tag ids");
        assert_eq!(deployment.finished_at, at(times[name]), "{id}");
    }
    // The lightweight tag takes its commit's committer date: f1 was the 3rd commit event.
    let f1 = &sent.deployments["tag:v1.1"];
    assert_eq!(f1.finished_at, at(EPOCH + 4 * 3600));
    assert_eq!(f1.commit.as_deref(), Some(shas["f1"].as_str()));
    assert_eq!(
        (f1.service.as_str(), f1.environment.as_str()),
        ("shop", "production")
    );
    assert_eq!(
        (f1.status, f1.kind, f1.changes.len()),
        (DeploymentStatus::Success, DeploymentKind::Normal, 0)
    );
}

#[test]
fn commit_fields_match_git_log() {
    let (repo, shas) = release_history();
    let (_, sent) = run(repo.path(), &tags("v*"), None);
    for line in repo.lines(&["log", "--branches", "--tags", "--format=%H %ct %at %aE %s"]) {
        let mut fields = line.splitn(5, ' ');
        let mut next = || fields.next().expect("five fields");
        let (sha, committed, authored, email, subject) = (next(), next(), next(), next(), next());
        let change = &sent.changes[sha];
        assert_eq!(
            change.committed_at,
            at(committed.parse().expect("ct")),
            "{sha}"
        );
        assert_eq!(change.authored_at, Some(at(authored.parse().expect("at"))));
        assert_eq!(change.author.as_deref(), Some(email));
        assert_eq!(change.title.as_deref(), Some(subject));
        assert_eq!(change.service, "shop");
    }
    // The mailmap maps the old address.
    assert_eq!(
        sent.changes[&shas["c1"]].author.as_deref(),
        Some("ada@example.com")
    );
    assert_eq!(
        sent.changes[&shas["revert"]].reverts.as_deref(),
        Some(shas["c3"].as_str())
    );
    let reverts: Vec<&String> = sent
        .changes
        .values()
        .filter_map(|change| change.reverts.as_ref())
        .collect();
    assert_eq!(reverts, [&shas["c3"]]);
}

#[test]
fn the_commit_graph_file_changes_nothing() {
    let (mut repo, _) = release_history();
    let (_, plain) = run(repo.path(), &tags("v*"), None);
    repo.git(&["commit-graph", "write", "--reachable"]);
    let (_, with_graph) = run(repo.path(), &tags("v*"), None);
    assert_eq!(plain.changes, with_graph.changes);
    assert_eq!(plain.deployments, with_graph.deployments);
    // A graph that misses the newest commits is completed from the objects.
    repo.commit("app/late.rs", "After the graph");
    let (_, stale) = run(repo.path(), &tags("v*"), None);
    assert_eq!(stale.changes.len(), plain.changes.len() + 1);
    assert_eq!(links(&stale), repo.expected_tag_links("v*"));
}

#[test]
fn without_a_rule_there_are_changes_only() {
    let (repo, _) = release_history();
    let (outcome, sent) = run(repo.path(), &options(DeployRule::None), None);
    assert_eq!(sent.changes.len(), 8);
    assert!(sent.deployments.is_empty());
    assert!(
        sent.changes
            .values()
            .all(|change| change.deployment.is_none())
    );
    assert_eq!(outcome.unreleased, 8);
}

#[test]
fn the_service_defaults_to_the_directory_name() {
    let (repo, _) = release_history();
    let mut options = tags("v*");
    options.service = None;
    let (outcome, sent) = run(repo.path(), &options, None);
    let name = repo
        .path()
        .file_name()
        .expect("named")
        .to_string_lossy()
        .into_owned();
    assert_eq!(outcome.service, name);
    assert_eq!(outcome.source, format!("git:{name}"));
    assert!(sent.changes.values().all(|change| change.service == name));
}

/// main: c1 - m1 - c3 - m2          (m1 merges a, m2 merges b)
///         \a1/      \-b1-b2-/
fn merge_history() -> (Repo, BTreeMap<&'static str, String>) {
    let mut repo = Repo::new();
    let mut shas = BTreeMap::new();
    shas.insert("c1", repo.commit("README", "Start"));
    repo.git(&["checkout", "--quiet", "-b", "a"]);
    shas.insert("a1", repo.commit("a.txt", "Work a"));
    repo.git(&["checkout", "--quiet", "main"]);
    shas.insert("m1", repo.merge("a"));
    shas.insert("c3", repo.commit("README", "Direct push"));
    repo.git(&["checkout", "--quiet", "-b", "b"]);
    shas.insert("b1", repo.commit("b.txt", "Work b1"));
    shas.insert("b2", repo.commit("b.txt", "Work b2"));
    repo.git(&["checkout", "--quiet", "main"]);
    shas.insert("m2", repo.merge("b"));
    (repo, shas)
}

/// Per commit, the earliest of `deploys` (shas, oldest first) that contains it, by git.
fn expected_deploy_links(
    repo: &Repo,
    deploys: &[String],
    prefix: impl Fn(&str) -> String,
) -> BTreeMap<String, Option<String>> {
    repo.all_commits()
        .into_iter()
        .map(|sha| {
            let deploy = deploys.iter().find(|deploy| {
                Command::new("git")
                    .args(["merge-base", "--is-ancestor", &sha, deploy])
                    .current_dir(repo.path())
                    .status()
                    .expect("git runs")
                    .success()
            });
            (sha, deploy.map(|deploy| prefix(deploy)))
        })
        .collect()
}

#[test]
fn merges_on_the_deploy_branch_are_deployments() {
    let (repo, shas) = merge_history();
    let rule = DeployRule::Merges {
        branch: "main".to_owned(),
        all_commits: false,
    };
    let (outcome, sent) = run(repo.path(), &options(rule), None);
    let mut merges = repo.lines(&["rev-list", "--first-parent", "--merges", "main"]);
    merges.reverse();
    assert_eq!(merges, [shas["m1"].clone(), shas["m2"].clone()]);
    assert_eq!(
        links(&sent),
        expected_deploy_links(&repo, &merges, |sha| format!("merge:{sha}"))
    );
    assert_eq!(outcome.deployments, 2);
    assert_eq!(outcome.unreleased, 0);
    let m2 = &sent.deployments[&format!("merge:{}", shas["m2"])];
    assert_eq!(m2.finished_at, at(EPOCH + 7 * 3600));
}

#[test]
fn every_first_parent_commit_deploys_with_all_commits() {
    let (repo, shas) = merge_history();
    let rule = DeployRule::Merges {
        branch: "main".to_owned(),
        all_commits: true,
    };
    let (_, sent) = run(repo.path(), &options(rule), None);
    let mut chain = repo.lines(&["rev-list", "--first-parent", "main"]);
    chain.reverse();
    let kinds: BTreeMap<String, &str> = [
        ("c1", "commit"),
        ("m1", "merge"),
        ("c3", "commit"),
        ("m2", "merge"),
    ]
    .into_iter()
    .map(|(name, kind)| (shas[name].clone(), kind))
    .collect();
    assert_eq!(
        links(&sent),
        expected_deploy_links(&repo, &chain, |sha| format!("{}:{sha}", kinds[sha]))
    );
    assert_eq!(sent.deployments.len(), 4);
}

#[test]
fn a_missing_deploy_branch_is_an_error() {
    let (repo, _) = merge_history();
    let rule = DeployRule::Merges {
        branch: "release".to_owned(),
        all_commits: false,
    };
    let err = ingest(repo.path(), &options(rule), None, &NoProgress, &mut |_| {
        Ok(())
    })
    .expect_err("no such branch");
    assert_eq!(
        err.to_string(),
        "--deploy-merges release: no such branch (looked for refs/heads/release)"
    );
}

/// Two services in one repository; tags deploy the whole repository.
fn monorepo() -> (Repo, BTreeMap<&'static str, String>) {
    let mut repo = Repo::new();
    let mut shas = BTreeMap::new();
    shas.insert("a1", repo.commit("svc/a/lib.rs", "a one"));
    shas.insert("b1", repo.commit("svc/b/lib.rs", "b one"));
    repo.annotated_tag("r1", &shas["b1"]);
    shas.insert("b2", repo.commit("svc/b/lib.rs", "b two"));
    repo.annotated_tag("r2", &shas["b2"]);
    repo.git(&["checkout", "--quiet", "-b", "topic"]);
    shas.insert("a2", repo.commit("svc/a/lib.rs", "a two"));
    repo.git(&["checkout", "--quiet", "main"]);
    shas.insert("b3", repo.commit("svc/b/lib.rs", "b three"));
    shas.insert("m", repo.merge("topic"));
    repo.annotated_tag("r3", &shas["m"]);
    shas.insert("a3", repo.commit("svc/a/more/deep.rs", "a three"));
    (repo, shas)
}

#[test]
fn a_path_scopes_changes_and_deployments_to_one_service() {
    let (repo, shas) = monorepo();
    let mut options = tags("r*");
    options.path = Some("svc/a".to_owned());
    let (outcome, sent) = run(repo.path(), &options, None);
    let expected: BTreeSet<String> = repo
        .lines(&[
            "log",
            "--branches",
            "--tags",
            "--full-history",
            "--format=%H",
            "--",
            "svc/a",
        ])
        .into_iter()
        .collect();
    let ids: BTreeSet<String> = sent.changes.keys().cloned().collect();
    assert_eq!(ids, expected);
    let names = |list: &[&str]| {
        list.iter()
            .map(|name| shas[name].clone())
            .collect::<BTreeSet<_>>()
    };
    // The merge brings a2's change to svc/a into main, so it touches svc/a too.
    assert_eq!(ids, names(&["a1", "a2", "m", "a3"]));
    // The links are the repository-wide ones, restricted to the service's commits.
    let all = repo.expected_tag_links("r*");
    for (id, link) in links(&sent) {
        assert_eq!(link, all[&id], "{id}");
    }
    // r2 shipped only svc/b, so it is not a deployment of svc/a.
    let deployed: Vec<&str> = sent.deployments.keys().map(String::as_str).collect();
    assert_eq!(deployed, ["tag:r1", "tag:r3"]);
    assert_eq!(outcome.deployments, 2);
    assert_eq!(outcome.unreleased, 1);
}

#[test]
fn a_second_run_reads_only_what_is_new_and_links_earlier_commits() {
    let (mut repo, shas) = release_history();
    let opts = tags("v*");
    let (first, mut stored) = run(repo.path(), &opts, None);
    let state = GitState::from_json(&first.state.to_json()).expect("state round-trips");

    // Nothing new: only the two unreleased commits are read again, and they stay unlinked.
    let (again, sent) = run(repo.path(), &opts, Some(&state));
    assert!(!again.full);
    let ids: BTreeSet<&str> = sent.changes.keys().map(String::as_str).collect();
    assert_eq!(
        ids,
        BTreeSet::from([shas["revert"].as_str(), shas["c5"].as_str()])
    );
    assert!(sent.deployments.is_empty());
    stored.changes.extend(sent.changes);

    // New work and a release that ships the older unreleased commits too.
    let c6 = repo.commit("app/main.rs", "More");
    repo.annotated_tag("v3.0", &c6);
    let c7 = repo.commit("app/main.rs", "Even more");
    let (second, sent) = run(repo.path(), &opts, Some(&again.state));
    assert!(!second.full);
    let ids: BTreeSet<String> = sent.changes.keys().cloned().collect();
    let expected: BTreeSet<String> = [&shas["revert"], &shas["c5"], &c6, &c7]
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(
        sent.changes[&shas["c5"]].deployment.as_deref(),
        Some("tag:v3.0")
    );
    assert_eq!(sent.changes[&c7].deployment, None);
    assert_eq!(sent.deployments.keys().collect::<Vec<_>>(), ["tag:v3.0"]);
    assert_eq!(second.unreleased, 1);

    // Keeping the records of all runs by id, as a store does, gives exactly a full run.
    stored.changes.extend(sent.changes);
    stored.deployments.extend(sent.deployments);
    let (_, fresh) = run(repo.path(), &opts, None);
    assert_eq!(stored.changes, fresh.changes);
    assert_eq!(stored.deployments, fresh.deployments);
    assert_eq!(links(&fresh), repo.expected_tag_links("v*"));
}

#[test]
fn incremental_runs_add_up_to_a_full_run() {
    let (mut repo, _) = merge_history();
    let opts = options(DeployRule::Merges {
        branch: "main".to_owned(),
        all_commits: false,
    });
    let mut stored = Sent::default();
    let (first, sent) = run(repo.path(), &opts, None);
    stored.changes.extend(sent.changes);
    stored.deployments.extend(sent.deployments);
    // Work on a branch, then merge it: the merge ships it.
    repo.git(&["checkout", "--quiet", "-b", "c"]);
    repo.commit("c.txt", "Work c1");
    let (second, sent) = run(repo.path(), &opts, Some(&first.state));
    assert!(!second.full);
    assert_eq!(second.changes, 1);
    stored.changes.extend(sent.changes);
    repo.git(&["checkout", "--quiet", "main"]);
    repo.merge("c");
    let (third, sent) = run(repo.path(), &opts, Some(&second.state));
    assert!(!third.full);
    assert_eq!(
        (third.changes, third.deployments, third.unreleased),
        (2, 1, 0)
    );
    stored.changes.extend(sent.changes);
    stored.deployments.extend(sent.deployments);

    let (_, fresh) = run(repo.path(), &opts, None);
    assert_eq!(stored.changes, fresh.changes);
    assert_eq!(stored.deployments, fresh.deployments);
}

#[test]
fn a_deployment_older_than_known_ones_triggers_a_full_run() {
    let (mut repo, shas) = release_history();
    let opts = tags("v*");
    let (first, _) = run(repo.path(), &opts, None);
    // A lightweight tag on c1 dates from c1's commit: older than every known release, so
    // c1 now ships with it, which an incremental run could not see.
    repo.light_tag("v0.1", &shas["c1"]);
    let (second, sent) = run(repo.path(), &opts, Some(&first.state));
    assert!(second.full);
    assert_eq!(
        sent.changes[&shas["c1"]].deployment.as_deref(),
        Some("tag:v0.1")
    );
    assert_eq!(links(&sent), repo.expected_tag_links("v*"));
}

#[test]
fn a_state_made_with_other_options_is_not_used() {
    let (repo, _) = release_history();
    let (first, _) = run(repo.path(), &tags("v*"), None);
    let (second, sent) = run(repo.path(), &tags("v1*"), Some(&first.state));
    assert!(second.full);
    assert_eq!(links(&sent), repo.expected_tag_links("v1*"));
}

#[test]
fn a_shallow_clone_is_refused() {
    let (repo, _) = release_history();
    let clones = tempfile::tempdir().expect("temp dir");
    let shallow: PathBuf = clones.path().join("shallow");
    let status = Command::new("git")
        .args(["clone", "--quiet", "--depth", "1"])
        .arg(format!("file://{}", repo.path().display()))
        .arg(&shallow)
        .status()
        .expect("git runs");
    assert!(status.success());
    let err =
        ingest(&shallow, &tags("v*"), None, &NoProgress, &mut |_| Ok(())).expect_err("shallow");
    assert!(matches!(err, GitError::Shallow { .. }), "{err}");
    assert!(err.to_string().contains("git fetch --unshallow"), "{err}");
}

#[test]
fn a_missing_commit_object_is_reported_by_sha() {
    let (repo, shas) = release_history();
    let sha = &shas["c2"];
    let object = repo
        .path()
        .join(".git/objects")
        .join(&sha[..2])
        .join(&sha[2..]);
    std::fs::remove_file(object).expect("loose object exists");
    let err =
        ingest(repo.path(), &tags("v*"), None, &NoProgress, &mut |_| Ok(())).expect_err("corrupt");
    assert_eq!(
        err.to_string(),
        format!("object {sha}: not found (is the repository corrupt?)")
    );
}

#[test]
fn a_commit_lost_behind_a_commit_graph_is_reported_by_sha() {
    // The walk then follows parents in the commit-graph file and only reading the commit
    // itself, on a worker thread, finds it gone.
    let (repo, shas) = release_history();
    repo.git(&["commit-graph", "write", "--reachable"]);
    let sha = &shas["c1"];
    let object = repo
        .path()
        .join(".git/objects")
        .join(&sha[..2])
        .join(&sha[2..]);
    std::fs::remove_file(object).expect("loose object exists");
    let err =
        ingest(repo.path(), &tags("v*"), None, &NoProgress, &mut |_| Ok(())).expect_err("corrupt");
    assert_eq!(
        err.to_string(),
        format!("object {sha}: not found (is the repository corrupt?)")
    );
}

#[test]
fn a_directory_that_is_no_repository_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = ingest(dir.path(), &tags("v*"), None, &NoProgress, &mut |_| Ok(()))
        .expect_err("not a repository");
    assert!(matches!(err, GitError::Open { .. }), "{err}");
    assert!(
        err.to_string().contains("cannot open git repository"),
        "{err}"
    );
}

#[test]
fn a_sink_error_stops_the_run() {
    let (repo, _) = release_history();
    let err = ingest(repo.path(), &tags("v*"), None, &NoProgress, &mut |_| {
        Err("disk full".into())
    })
    .expect_err("sink refuses");
    assert_eq!(err.to_string(), "storing records: disk full");
}

/// A generator of numbers below a bound (xorshift), the same for the same seed, so that
/// a failing random history repeats.
fn seeded(seed: u64) -> impl FnMut(usize) -> usize {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move |below| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    }
}

/// A history of branches, merges, deleted branches and tags made in random order (tags
/// on old commits made late, so deployment order is not history order), built by a
/// seeded generator so that a failure repeats.
fn random_history(seed: u64) -> Repo {
    let mut next = seeded(seed);
    let mut repo = Repo::new();
    let mut commits = vec![repo.commit("0.txt", "Root")];
    let mut branches = vec!["main".to_owned()];
    let mut current = 0;
    for step in 1..40 {
        match next(10) {
            0 | 1 => {
                let name = format!("b{step}");
                let from = commits[next(commits.len())].clone();
                repo.git(&["checkout", "--quiet", "-b", &name, &from]);
                branches.push(name);
                current = branches.len() - 1;
            }
            2 if branches.len() > 1 => {
                let other = next(branches.len());
                if other != current {
                    // Every commit adds its own file, so merges never conflict.
                    repo.tick();
                    repo.git(&[
                        "merge",
                        "--quiet",
                        "--no-ff",
                        "-m",
                        &format!("Merge {step}"),
                        &branches[other],
                    ]);
                    commits.push(repo.git(&["rev-parse", "HEAD"]));
                }
            }
            3 => {
                let target = commits[next(commits.len())].clone();
                repo.annotated_tag(&format!("v{step}"), &target);
            }
            4 => {
                let target = commits[next(commits.len())].clone();
                repo.light_tag(&format!("v{step}"), &target);
            }
            5 if current != 0 && next(3) == 0 => {
                // The branch goes; its commits stay reachable only through tags, if at all.
                let target = commits.last().expect("a commit").clone();
                repo.light_tag(&format!("keep{step}"), &target);
                let gone = branches.remove(current);
                current = 0;
                repo.git(&["checkout", "--quiet", &branches[0]]);
                repo.git(&["branch", "--quiet", "-D", &gone]);
            }
            _ => commits.push(repo.commit(&format!("{step}.txt"), &format!("Step {step}"))),
        }
    }
    repo
}

#[test]
fn random_histories_link_every_commit_to_the_earliest_tag_containing_it() {
    for seed in 1..=6 {
        let repo = random_history(seed);
        let (outcome, sent) = run(repo.path(), &tags("v*"), None);
        let expected = repo.expected_tag_links("v*");
        assert_eq!(links(&sent), expected, "seed {seed}");
        let unreleased = expected.values().filter(|tag| tag.is_none()).count();
        assert_eq!(outcome.unreleased, unreleased as u64, "seed {seed}");
        assert_eq!(outcome.changes, expected.len() as u64, "seed {seed}");
        let tagged: BTreeSet<String> = repo
            .tag_times()
            .into_keys()
            .filter(|tag| tag.starts_with('v'))
            .map(|tag| format!("tag:{tag}"))
            .collect();
        let sent_tags: BTreeSet<String> = sent.deployments.keys().cloned().collect();
        assert_eq!(sent_tags, tagged, "seed {seed}");
        // The state lists exactly the unreleased commits, so a next run can link them.
        let (again, resent) = run(repo.path(), &tags("v*"), Some(&outcome.state));
        assert!(!again.full, "seed {seed}");
        assert_eq!(again.unreleased, unreleased as u64, "seed {seed}");
        assert_eq!(resent.changes.len(), unreleased, "seed {seed}");
    }
}

/// A history of `commits` commits on eight branches that fork and merge at random, with
/// a tag on about every `tag_every`-th commit made (annotated ones with tagger times in
/// random order, and lightweight ones), written in one go with `git fast-import`: large
/// enough that the walk's workers meet in every turn. Dense tags make the ingest walk
/// first and link after; sparse ones make it link while it walks.
fn large_random_history(seed: u64, commits: usize, tag_every: usize) -> Repo {
    let mut next = seeded(seed);
    let repo = Repo::new();
    let mut stream = String::new();
    let mut heads: Vec<Option<usize>> = vec![None; 8];
    let mut tags = 0;
    for mark in 1..=commits {
        let branch = next(heads.len());
        // Commit times mostly rise, with some skew, as in real histories.
        let time = EPOCH + (mark as i64) * 600 - next(3000) as i64;
        stream += &format!(
            "commit refs/heads/b{branch}\nmark :{mark}\ncommitter Ada <ada@example.com> {time} +0000\ndata 9\nchange {:02}\n",
            mark % 100
        );
        match heads[branch] {
            Some(parent) => stream += &format!("from :{parent}\n"),
            None if mark > 1 => stream += &format!("from :{}\n", next(mark - 1) + 1),
            None => {}
        }
        let other = heads[next(heads.len())];
        if let Some(other) = other.filter(|other| Some(*other) != heads[branch] && next(4) == 0) {
            stream += &format!("merge :{other}\n");
        }
        stream += &format!("M 644 inline f{mark}\ndata 1\nx\n\n");
        heads[branch] = Some(mark);
        if next(tag_every) == 0 {
            tags += 1;
            let target = next(mark) + 1;
            if next(2) == 0 {
                let tagged = EPOCH + next(commits * 600) as i64;
                stream += &format!(
                    "tag v{tags}\nfrom :{target}\ntagger Ada <ada@example.com> {tagged} +0000\ndata 0\n\n"
                );
            } else {
                stream += &format!("reset refs/tags/v{tags}\nfrom :{target}\n\n");
            }
        }
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(repo.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stream.as_bytes())
        .expect("stream written");
    assert!(child.wait().expect("fast-import ends").success());
    repo
}

/// Per commit, the earliest of `deploys` (time, record id, revision) containing it, found
/// with git alone: in (time, id) order, each deployment claims the commits `git rev-list`
/// lists for its revision that no earlier one claimed.
fn links_by_rev_list(
    repo: &Repo,
    mut deploys: Vec<(i64, String, String)>,
) -> BTreeMap<String, Option<String>> {
    let mut links: BTreeMap<String, Option<String>> = repo
        .all_commits()
        .into_iter()
        .map(|id| (id, None))
        .collect();
    deploys.sort();
    for (_, id, revision) in deploys {
        for commit in repo.lines(&["rev-list", &revision]) {
            let slot = links
                .get_mut(&commit)
                .expect("a deployed commit is reachable");
            if slot.is_none() {
                *slot = Some(id.clone());
            }
        }
    }
    links
}

/// The tags matching `v*` as deployments for [`links_by_rev_list`].
fn tag_deploys(repo: &Repo) -> Vec<(i64, String, String)> {
    repo.tag_times()
        .into_iter()
        .filter(|(name, _)| name.starts_with('v'))
        .map(|(name, time)| (time, format!("tag:{name}"), format!("refs/tags/{name}")))
        .collect()
}

/// The commits on `branch`'s first-parent chain (merges only, unless `all_commits`) as
/// deployments for [`links_by_rev_list`].
fn chain_deploys(repo: &Repo, branch: &str, all_commits: bool) -> Vec<(i64, String, String)> {
    repo.lines(&["log", "--first-parent", "--format=%H %ct %P", branch])
        .into_iter()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let sha = fields.next()?.to_owned();
            let time = fields.next()?.parse().ok()?;
            let merge = fields.count() > 1;
            let kind = if merge { "merge" } else { "commit" };
            (merge || all_commits).then(|| (time, format!("{kind}:{sha}"), sha))
        })
        .collect()
}

#[test]
fn large_random_histories_link_like_git_with_and_without_a_commit_graph() {
    for (seed, tag_every) in [(11, 15), (12, 150)] {
        let repo = large_random_history(seed, 2000, tag_every);
        let merges = DeployRule::Merges {
            branch: "b0".to_owned(),
            all_commits: false,
        };
        let every = DeployRule::Merges {
            branch: "b0".to_owned(),
            all_commits: true,
        };
        let mut rules = vec![
            (tags("v*"), tag_deploys(&repo)),
            (options(merges), chain_deploys(&repo, "b0", false)),
        ];
        // One seed is enough for a deployment per chain commit (a `rev-list` each).
        if seed == 11 {
            rules.push((options(every), chain_deploys(&repo, "b0", true)));
        }
        for (rule, deploys) in &rules {
            let expected = links_by_rev_list(&repo, deploys.clone());
            assert_eq!(expected.len(), 2000, "seed {seed}");
            let (outcome, sent) = run(repo.path(), rule, None);
            assert_eq!(links(&sent), expected, "seed {seed}, {:?}", rule.rule);
            let unreleased = expected.values().filter(|link| link.is_none()).count();
            assert_eq!(outcome.unreleased, unreleased as u64, "seed {seed}");
            assert_eq!(outcome.deployments, deploys.len() as u64, "seed {seed}");
            assert!(
                deploys.len() > 5 && unreleased > 0,
                "seed {seed}: a history worth testing"
            );
        }
        let (_, plain) = run(repo.path(), &rules[0].0, None);
        repo.git(&["commit-graph", "write", "--reachable"]);
        let (_, with_graph) = run(repo.path(), &rules[0].0, None);
        assert_eq!(with_graph.changes, plain.changes, "seed {seed}");
        assert_eq!(with_graph.deployments, plain.deployments, "seed {seed}");
    }
}
