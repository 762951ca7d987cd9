//! GitHub's REST API into changes, deployments and builds.
//!
//! - Merged pull requests (`GET /repos/{o}/{r}/pulls?state=closed&sort=updated&direction=desc`,
//!   paged until `updated_at` falls before the window) become changes: `id` =
//!   `merge_commit_sha`, `title`, `author` = `user.login`, `pr_opened_at` = `created_at`,
//!   `merged_at`; from the reviews of people other than the author that were submitted
//!   (not `PENDING`), `first_review_at` = the earliest and `approved_at` = the latest
//!   `APPROVED` at or before the merge; from the commits, `first_commit_at` = the earliest
//!   author date and `committed_at` = the latest committer date.
//! - Deployments of each environment, with their statuses: the earliest `success`,
//!   `failure` or `error` status decides (`success` → success, else failure) and gives
//!   `finished_at`; `started_at` = the deployment's `created_at`; `commit` = `sha`. A
//!   deployment with no such status yet is still running: it is re-read on later runs.
//! - What each successful deployment shipped: in `finished_at` order, the first ships its
//!   own commit and each later one the commits of `compare/{previous sha}...{sha}` that no
//!   earlier one in the run shipped. Later runs compare with the last deployment shipped.
//! - Completed Actions runs become builds (`success` → success, `failure`/`timed_out` →
//!   failure, other conclusions skipped), or deployments to the first environment when
//!   their workflow is named in `deploy_workflows`.

use std::collections::HashSet;

use flowmap_core::events::{Build, Change, Deployment, DeploymentKind, DeploymentStatus};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::merged::{Request, read_merged};
use crate::pages::{PageCache, Paging, Shape, fetch, fetch_all};
use crate::run::{ListCursor, Run, encode};
use crate::{BackfillError, Outcome, PageEtag, Records, SavedState, Sink};

/// What to read from one repository.
#[derive(Clone, Debug)]
pub struct GitHubOptions {
    /// `OWNER/REPO`.
    pub repo: String,
    /// The service the records belong to [default: the repository's name].
    pub service: Option<String>,
    /// Read nothing updated before this time (on the first run; later runs read what
    /// changed since the last one, or further back when `since` is earlier than before).
    pub since: Option<Timestamp>,
    /// Deployment environments to read [default: `production`].
    pub environments: Vec<String>,
    /// Workflows whose runs are deployments (to the first environment), not builds.
    pub deploy_workflows: Vec<String>,
    /// The API root, e.g. `https://api.github.com` or a GitHub Enterprise `…/api/v3`.
    pub api_url: String,
}

/// The source records of `OWNER/REPO` are stored under.
pub fn source(repo: &str) -> String {
    format!("github:{repo}")
}

/// Actions runs created this long before the window are still read: a run that started
/// before the last sync may have completed after it.
const RUN_LOOKBACK: SignedDuration = SignedDuration::from_hours(24);

/// Reads the repository's history into `sink`, resuming from `saved`.
pub async fn backfill<S: Sink>(
    client: &Client,
    options: &GitHubOptions,
    saved: SavedState,
    sink: &mut S,
) -> Result<Outcome, BackfillError> {
    let (_, name) = split_repo(&options.repo)?;
    let service = options.service.clone().unwrap_or_else(|| name.to_owned());
    let environments = if options.environments.is_empty() {
        vec!["production".to_owned()]
    } else {
        options.environments.clone()
    };
    let repo_url = format!(
        "{}/repos/{}",
        options.api_url.trim_end_matches('/'),
        options.repo
    );
    let mut run = Run::begin(client, sink, saved, source(&options.repo), options.since).await?;
    let github = GitHub {
        repo_url,
        service,
        environments,
        deploy_workflows: options.deploy_workflows.iter().cloned().collect(),
    };
    github.pulls(&mut run).await?;
    for environment in &github.environments {
        github.list_deployments(&mut run, environment).await?;
    }
    github.actions_runs(&mut run).await?;
    for environment in &github.environments {
        github.ship_deployments(&mut run, environment).await?;
    }
    run.finish().await
}

/// `OWNER/REPO` checked: two non-empty parts of GitHub's name characters.
fn split_repo(repo: &str) -> Result<(&str, &str), BackfillError> {
    let invalid = |problem: &str| BackfillError::Invalid {
        what: format!("repository {repo:?}"),
        problem: problem.into(),
    };
    let (owner, name) = repo
        .split_once('/')
        .ok_or_else(|| invalid("expected OWNER/REPO"))?;
    let valid = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !valid(owner) || !valid(name) {
        return Err(invalid(
            "expected OWNER/REPO of letters, digits, '-', '_' and '.'",
        ));
    }
    Ok((owner, name))
}

struct GitHub {
    repo_url: String,
    service: String,
    environments: Vec<String>,
    deploy_workflows: HashSet<String>,
}

// --- The fields read, as the REST API documents them. Extracts of pages are these
// structs serialized again, so a 304 answer gives back exactly what was read.

#[derive(Clone, Debug, Serialize, Deserialize)]
struct User {
    login: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct PullItem {
    number: u64,
    title: String,
    user: Option<User>,
    created_at: Timestamp,
    updated_at: Timestamp,
    merged_at: Option<Timestamp>,
    merge_commit_sha: Option<String>,
}

impl Request for PullItem {
    fn updated_at(&self) -> Timestamp {
        self.updated_at
    }

    fn merged(&self) -> bool {
        self.merged_at.is_some()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Review {
    user: Option<User>,
    state: String,
    submitted_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct GitPerson {
    date: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct CommitDetail {
    author: Option<GitPerson>,
    committer: Option<GitPerson>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct CommitItem {
    sha: String,
    commit: CommitDetail,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct DeploymentItem {
    id: u64,
    sha: String,
    created_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct StatusItem {
    state: String,
    created_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RunItem {
    id: u64,
    name: Option<String>,
    head_sha: String,
    created_at: Timestamp,
    run_started_at: Option<Timestamp>,
    updated_at: Timestamp,
    conclusion: Option<String>,
}

// --- Saved progress.

/// A deployment that has finished (or a deploy workflow run), waiting for the shipping step.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Finished {
    id: String,
    sha: String,
    success: bool,
    started_at: Option<Timestamp>,
    finished_at: Timestamp,
}

/// A deployment seen without a final status.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Running {
    id: u64,
    sha: String,
    created_at: Timestamp,
}

/// Everything remembered about one environment's deployments.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct EnvironmentCursor {
    list: ListCursor,
    /// The highest deployment id whose listing is complete: deployment ids only grow, so
    /// later runs stop at it.
    high_water: u64,
    /// The highest id seen by the run under way (becomes `high_water` when its list ends).
    run_high: u64,
    /// Whether the run under way has re-read the deployments that were running.
    rechecked: bool,
    running: Vec<Running>,
    finished: Vec<Finished>,
    /// The commit of the last deployment shipped: the next one is compared with it.
    last_shipped: Option<String>,
    /// Workflow runs already taken as deployments (run id, created), to skip on re-reads.
    workflow_runs: Vec<(u64, Timestamp)>,
}

fn pulls_resource() -> String {
    "pulls".into()
}

fn environment_resource(environment: &str) -> String {
    format!("deployments:{environment}")
}

fn runs_resource() -> String {
    "actions/runs".into()
}

impl GitHub {
    /// Merged pull requests, page by page, newest update first.
    async fn pulls<S: Sink>(&self, run: &mut Run<'_, S>) -> Result<(), BackfillError> {
        let first = format!(
            "{}/pulls?state=closed&sort=updated&direction=desc&per_page=100",
            self.repo_url
        );
        read_merged(
            run,
            &pulls_resource(),
            &first,
            Paging::Link,
            async |client, cache, pull: &PullItem| self.change(client, cache, pull).await,
        )
        .await
    }

    /// One merged pull request as a change, from its reviews and commits.
    async fn change(
        &self,
        client: &Client,
        cache: &PageCache,
        pull: &PullItem,
    ) -> Result<(Option<Change>, Vec<PageEtag>), BackfillError> {
        let (Some(merged_at), Some(sha)) = (pull.merged_at, pull.merge_commit_sha.as_ref()) else {
            client.notice(&format!(
                "pull request #{} is merged but has no merge_commit_sha; skipped",
                pull.number
            ));
            return Ok((None, Vec::new()));
        };
        let base = format!("{}/pulls/{}", self.repo_url, pull.number);
        let (reviews, mut etags) = fetch_all::<Review>(
            client,
            cache,
            &format!("{base}/reviews?per_page=100"),
            Shape::Array,
            Paging::Link,
        )
        .await?;
        let (commits, commit_etags) = fetch_all::<CommitItem>(
            client,
            cache,
            &format!("{base}/commits?per_page=100"),
            Shape::Array,
            Paging::Link,
        )
        .await?;
        etags.extend(commit_etags);
        let author = pull.user.as_ref().map(|user| user.login.clone());
        let (first_review_at, approved_at) = review_times(&reviews, author.as_deref(), merged_at);
        let first_commit_at = commits
            .iter()
            .filter_map(|c| c.commit.author.as_ref().map(|a| a.date))
            .min();
        let committed_at = commits
            .iter()
            .filter_map(|c| c.commit.committer.as_ref().map(|c| c.date))
            .max()
            .unwrap_or(merged_at);
        let mut change = Change::new(sha.clone(), self.service.clone(), committed_at);
        change.first_commit_at = first_commit_at;
        change.pr_opened_at = Some(pull.created_at);
        change.first_review_at = first_review_at;
        change.approved_at = approved_at;
        change.merged_at = Some(merged_at);
        change.author = author;
        change.title = Some(pull.title.clone());
        Ok((Some(change), etags))
    }

    /// New deployments of `environment` with their final statuses; running ones are kept
    /// to be re-read.
    async fn list_deployments<S: Sink>(
        &self,
        run: &mut Run<'_, S>,
        environment: &str,
    ) -> Result<(), BackfillError> {
        let resource = environment_resource(environment);
        let mut cursor: EnvironmentCursor = run.cursor(&resource).unwrap_or_default();
        let key = run.window.key();
        if cursor.list.run != key {
            cursor.list = ListCursor::at(
                &run.window,
                Some(format!(
                    "{}/deployments?environment={}&per_page=100",
                    self.repo_url,
                    encode_query(environment)
                )),
            );
            if run.window.extends {
                // Reaching further back: every deployment from `since` on is read and
                // shipped again in order, so the older ones join the timeline correctly.
                cursor.high_water = 0;
                cursor.last_shipped = None;
            }
            cursor.run_high = cursor.high_water;
            cursor.rechecked = false;
        }
        if !cursor.rechecked {
            let running = std::mem::take(&mut cursor.running);
            let (etags, still) = self.statuses(run, &mut cursor, running).await?;
            cursor.running = still;
            cursor.rechecked = true;
            run.save(
                Records::default(),
                vec![(resource.clone(), Some(encode(&cursor)))],
                etags,
            )
            .await?;
        }
        while let Some(url) = cursor.list.next.clone() {
            let page =
                fetch::<DeploymentItem>(run.client, &run.etags, &url, Shape::Array, Paging::Link)
                    .await?;
            let mut fresh = Vec::new();
            let mut stop = page.items.is_empty();
            for item in page.items {
                if item.id <= cursor.high_water || run.window.before(item.created_at) {
                    stop = true;
                    continue;
                }
                // Already waiting for its final status, or already read by this run.
                let known = |id: &str| cursor.finished.iter().any(|f| f.id == id);
                if cursor.running.iter().any(|r| r.id == item.id) || known(&item.id.to_string()) {
                    continue;
                }
                cursor.run_high = cursor.run_high.max(item.id);
                fresh.push(Running {
                    id: item.id,
                    sha: item.sha,
                    created_at: item.created_at,
                });
            }
            let (mut etags, still) = self.statuses(run, &mut cursor, fresh).await?;
            etags.extend(page.etag);
            cursor.running.extend(still);
            cursor.list.next = if stop { None } else { page.next };
            if cursor.list.next.is_none() {
                cursor.high_water = cursor.run_high;
            }
            run.save(
                Records::default(),
                vec![(resource.clone(), Some(encode(&cursor)))],
                etags,
            )
            .await?;
        }
        Ok(())
    }

    /// Reads the statuses of `deployments`: finished ones join `cursor.finished`, the rest
    /// are returned.
    async fn statuses<S: Sink>(
        &self,
        run: &Run<'_, S>,
        cursor: &mut EnvironmentCursor,
        deployments: Vec<Running>,
    ) -> Result<(Vec<PageEtag>, Vec<Running>), BackfillError> {
        let client = run.client;
        let cache = &run.etags;
        let read = client
            .read_each(deployments, |deployment| async move {
                let url = format!(
                    "{}/deployments/{}/statuses?per_page=100",
                    self.repo_url, deployment.id
                );
                let (statuses, etags) =
                    fetch_all::<StatusItem>(client, cache, &url, Shape::Array, Paging::Link)
                        .await?;
                Ok((deployment, statuses, etags))
            })
            .await?;
        let mut etags = Vec::new();
        let mut still = Vec::new();
        for (deployment, statuses, saved) in read {
            etags.extend(saved);
            match final_status(&statuses) {
                Some((success, finished_at)) => cursor.finished.push(Finished {
                    id: deployment.id.to_string(),
                    sha: deployment.sha,
                    success,
                    started_at: Some(deployment.created_at),
                    finished_at,
                }),
                None => still.push(deployment),
            }
        }
        Ok((etags, still))
    }

    /// Completed Actions runs: builds, or deployments of the deploy workflows.
    async fn actions_runs<S: Sink>(&self, run: &mut Run<'_, S>) -> Result<(), BackfillError> {
        let first = format!(
            "{}/actions/runs?status=completed&per_page=100",
            self.repo_url
        );
        let mut next = run.resume_list(&runs_resource(), &first);
        let deploy_resource = environment_resource(&self.environments[0]);
        while let Some(url) = next {
            let page = fetch::<RunItem>(
                run.client,
                &run.etags,
                &url,
                Shape::Field("workflow_runs"),
                Paging::Link,
            )
            .await?;
            let lookback = run.window.threshold.map(|t| t - RUN_LOOKBACK);
            let reaches_back = page
                .items
                .iter()
                .any(|item| lookback.is_some_and(|lookback| item.created_at < lookback));
            let stop = reaches_back
                || page.items.is_empty()
                || (page.unchanged && url == first && !run.window.extends);
            let mut builds = Vec::new();
            let mut environment: EnvironmentCursor =
                run.cursor(&deploy_resource).unwrap_or_default();
            let mut deploys_changed = false;
            for item in page
                .items
                .iter()
                .filter(|item| !run.window.before(item.updated_at))
            {
                let success = match item.conclusion.as_deref() {
                    Some("success") => true,
                    Some("failure" | "timed_out") => false,
                    _ => continue,
                };
                let started_at = item.run_started_at.unwrap_or(item.created_at);
                let is_deploy = item
                    .name
                    .as_ref()
                    .is_some_and(|name| self.deploy_workflows.contains(name));
                if is_deploy {
                    if environment
                        .workflow_runs
                        .iter()
                        .any(|(id, _)| *id == item.id)
                    {
                        continue;
                    }
                    environment.workflow_runs.push((item.id, item.created_at));
                    environment.finished.push(Finished {
                        id: format!("run-{}", item.id),
                        sha: item.head_sha.clone(),
                        success,
                        started_at: Some(started_at),
                        finished_at: item.updated_at,
                    });
                    deploys_changed = true;
                } else {
                    let mut build = Build::new(
                        item.id.to_string(),
                        self.service.clone(),
                        started_at,
                        item.updated_at,
                    );
                    build.status = status(success);
                    build.commit = Some(item.head_sha.clone());
                    build.name = item.name.clone();
                    builds.push(build);
                }
            }
            next = if stop { None } else { page.next };
            let cursor = ListCursor::at(&run.window, next.clone());
            let mut cursors = vec![(runs_resource(), Some(encode(&cursor)))];
            if deploys_changed {
                // Runs long before the window can no longer be met again.
                if let Some(lookback) = lookback {
                    let horizon = lookback - RUN_LOOKBACK;
                    environment
                        .workflow_runs
                        .retain(|(_, created)| *created >= horizon);
                }
                cursors.push((deploy_resource.clone(), Some(encode(&environment))));
            }
            run.save(
                Records {
                    builds,
                    ..Records::default()
                },
                cursors,
                page.etag.into_iter().collect(),
            )
            .await?;
        }
        Ok(())
    }

    /// Writes the finished deployments of `environment` in `finished_at` order, each with
    /// the commits it shipped.
    async fn ship_deployments<S: Sink>(
        &self,
        run: &mut Run<'_, S>,
        environment: &str,
    ) -> Result<(), BackfillError> {
        let resource = environment_resource(environment);
        let mut cursor: EnvironmentCursor = run.cursor(&resource).unwrap_or_default();
        cursor
            .finished
            .sort_by(|a, b| (a.finished_at, &a.id).cmp(&(b.finished_at, &b.id)));
        // Commits shipped by this run's deployments, so a redeploy ships nothing twice.
        let mut shipped: HashSet<String> = HashSet::new();
        while !cursor.finished.is_empty() {
            let finished = cursor.finished.remove(0);
            let mut deployment = Deployment::new(
                finished.id.clone(),
                self.service.clone(),
                finished.finished_at,
            );
            deployment.environment = environment.to_owned();
            deployment.status = status(finished.success);
            deployment.started_at = finished.started_at;
            deployment.commit = Some(finished.sha.clone());
            deployment.kind = DeploymentKind::Normal;
            let mut etags = Vec::new();
            if finished.success {
                let commits = match &cursor.last_shipped {
                    None => vec![finished.sha.clone()],
                    Some(previous) if *previous == finished.sha => Vec::new(),
                    Some(previous) => {
                        let url = format!(
                            "{}/compare/{previous}...{}?per_page=100",
                            self.repo_url, finished.sha
                        );
                        let (commits, saved) = fetch_all::<CommitItem>(
                            run.client,
                            &run.etags,
                            &url,
                            Shape::Field("commits"),
                            Paging::Link,
                        )
                        .await?;
                        etags = saved;
                        commits.into_iter().map(|commit| commit.sha).collect()
                    }
                };
                deployment.changes = commits
                    .into_iter()
                    .filter(|sha| shipped.insert(sha.clone()))
                    .collect();
                cursor.last_shipped = Some(finished.sha);
            }
            run.save(
                Records {
                    deployments: vec![deployment],
                    ..Records::default()
                },
                vec![(resource.clone(), Some(encode(&cursor)))],
                etags,
            )
            .await?;
        }
        Ok(())
    }
}

/// `first_review_at` and `approved_at` from a pull request's reviews: only reviews by
/// someone other than the author, submitted and not pending, count; the approval is the
/// latest `APPROVED` review at or before the merge.
fn review_times(
    reviews: &[Review],
    author: Option<&str>,
    merged_at: Timestamp,
) -> (Option<Timestamp>, Option<Timestamp>) {
    // A review by a deleted account (no user) is someone else's.
    let by_other = |review: &Review| match (author, review.user.as_ref()) {
        (Some(author), Some(user)) => user.login != author,
        _ => true,
    };
    let counted = reviews
        .iter()
        .filter(|review| review.state != "PENDING" && by_other(review));
    let mut first = None;
    let mut approved = None;
    for review in counted {
        let Some(at) = review.submitted_at else {
            continue;
        };
        first = Some(first.map_or(at, |first: Timestamp| first.min(at)));
        if review.state == "APPROVED" && at <= merged_at {
            approved = Some(approved.map_or(at, |approved: Timestamp| approved.max(at)));
        }
    }
    (first, approved)
}

/// The earliest final status (`success`, `failure` or `error`): success or not, and when.
fn final_status(statuses: &[StatusItem]) -> Option<(bool, Timestamp)> {
    statuses
        .iter()
        .filter(|status| matches!(status.state.as_str(), "success" | "failure" | "error"))
        .min_by_key(|status| status.created_at)
        .map(|status| (status.state == "success", status.created_at))
}

fn status(success: bool) -> DeploymentStatus {
    if success {
        DeploymentStatus::Success
    } else {
        DeploymentStatus::Failure
    }
}

/// Percent-encodes a query value (environment names may hold spaces).
fn encode_query(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn review(login: &str, state: &str, submitted: Option<&str>) -> Review {
        Review {
            user: Some(User {
                login: login.into(),
            }),
            state: state.into(),
            submitted_at: submitted.map(at),
        }
    }

    #[test]
    fn reviews_by_others_count_and_the_last_approval_before_the_merge_wins() {
        let merged = at("2026-03-05T12:00:00Z");
        let reviews = [
            review("author", "COMMENTED", Some("2026-03-01T09:00:00Z")),
            review("ana", "PENDING", None),
            review("ana", "CHANGES_REQUESTED", Some("2026-03-02T10:00:00Z")),
            review("bo", "APPROVED", Some("2026-03-03T10:00:00Z")),
            review("ana", "APPROVED", Some("2026-03-04T10:00:00Z")),
            review("cy", "APPROVED", Some("2026-03-06T10:00:00Z")),
        ];
        assert_eq!(
            review_times(&reviews, Some("author"), merged),
            (
                Some(at("2026-03-02T10:00:00Z")),
                Some(at("2026-03-04T10:00:00Z"))
            )
        );
        assert_eq!(
            review_times(&reviews[..2], Some("author"), merged),
            (None, None)
        );
    }

    #[test]
    fn the_earliest_final_status_decides() {
        let statuses = [
            StatusItem {
                state: "in_progress".into(),
                created_at: at("2026-03-01T10:00:00Z"),
            },
            StatusItem {
                state: "error".into(),
                created_at: at("2026-03-01T10:05:00Z"),
            },
            StatusItem {
                state: "success".into(),
                created_at: at("2026-03-01T10:09:00Z"),
            },
        ];
        assert_eq!(
            final_status(&statuses),
            Some((false, at("2026-03-01T10:05:00Z")))
        );
        assert_eq!(final_status(&statuses[..1]), None);
    }

    #[test]
    fn repository_names_are_checked() {
        assert!(split_repo("octocat/Hello-World").is_ok());
        for bad in ["octocat", "/x", "a/", "a/b/c", "a b/c"] {
            assert!(split_repo(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn environment_names_are_encoded() {
        assert_eq!(encode_query("prod eu/1"), "prod%20eu%2F1");
    }
}
