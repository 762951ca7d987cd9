//! GitLab's REST API (v4) into changes, deployments and builds.
//!
//! - Merged merge requests (`GET /projects/:id/merge_requests?state=merged`, newest update
//!   first, `updated_after` the window) become changes: `id` = `merge_commit_sha`, else
//!   `squash_commit_sha`, else `sha` (a fast-forward merge lands the head itself);
//!   `title`, `author` = `author.username`, `pr_opened_at` = `created_at`, `merged_at`.
//!   From the notes: `first_review_at` = the earliest note by someone other than the author
//!   that is a comment or an approval; `approved_at` = the latest approval system note
//!   ("approved this merge request") by someone else at or before the merge. From the
//!   commits: `first_commit_at` = the earliest `authored_date`, `committed_at` = the
//!   latest `committed_date`.
//! - Pipelines (`GET /projects/:id/pipelines`) become builds: `success` → success, `failed`
//!   → failure, other states are not builds; `started_at` = `created_at`, `finished_at` =
//!   `updated_at`, `commit` = `sha`, `name` = `name` or else `ref`.
//! - Deployments of each environment: `success` → success, `failed` → failure, other
//!   states are read again on a later run; `started_at` / `finished_at` from the job that
//!   deployed (`deployable`), else `created_at` / `updated_at`; `commit` = `sha`; the
//!   changes it shipped are the merge requests of
//!   `GET /projects/:id/deployments/:deployment_id/merge_requests`.
//!
//! Pages follow `X-Next-Page`; `Retry-After` and `RateLimit-Reset` are honoured by the
//! client.

use flowmap_core::events::{Build, Change, Deployment, DeploymentStatus};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::merged::{Request, read_merged};
use crate::pages::{PageCache, Paging, Shape, fetch, fetch_all, with_query};
use crate::run::{Run, Window};
use crate::{BackfillError, Outcome, PageEtag, Records, SavedState, Sink};

/// What to read from one project.
#[derive(Clone, Debug)]
pub struct GitLabOptions {
    /// `GROUP/PROJECT` (subgroups allowed: `GROUP/SUB/PROJECT`).
    pub project: String,
    /// The service the records belong to [default: the project's name].
    pub service: Option<String>,
    /// Read nothing updated before this time (see the GitHub backfill).
    pub since: Option<Timestamp>,
    /// Deployment environments to read [default: `production`].
    pub environments: Vec<String>,
    /// The API root, e.g. `https://gitlab.example.com/api/v4`.
    pub api_url: String,
}

/// The source records of `GROUP/PROJECT` are stored under.
pub fn source(project: &str) -> String {
    format!("gitlab:{project}")
}

/// Reads the project's history into `sink`, resuming from `saved`.
pub async fn backfill<S: Sink>(
    client: &Client,
    options: &GitLabOptions,
    saved: SavedState,
    sink: &mut S,
) -> Result<Outcome, BackfillError> {
    let name = project_name(&options.project)?;
    let service = options.service.clone().unwrap_or_else(|| name.to_owned());
    let environments = if options.environments.is_empty() {
        vec!["production".to_owned()]
    } else {
        options.environments.clone()
    };
    let project_url = format!(
        "{}/projects/{}",
        options.api_url.trim_end_matches('/'),
        options.project.replace('/', "%2F")
    );
    let mut run = Run::begin(client, sink, saved, source(&options.project), options.since).await?;
    let gitlab = GitLab {
        project_url,
        service,
    };
    gitlab.merge_requests(&mut run).await?;
    gitlab.pipelines(&mut run).await?;
    for environment in &environments {
        gitlab.deployments(&mut run, environment).await?;
    }
    run.finish().await
}

/// The project's own name (the last part of the path), after checking the path.
fn project_name(project: &str) -> Result<&str, BackfillError> {
    let parts: Vec<&str> = project.split('/').collect();
    let valid = parts.len() >= 2
        && parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if !valid {
        return Err(BackfillError::Invalid {
            what: format!("project {project:?}"),
            problem: "expected GROUP/PROJECT of letters, digits, '-', '_' and '.'".into(),
        });
    }
    Ok(parts[parts.len() - 1])
}

struct GitLab {
    project_url: String,
    service: String,
}

// --- The fields read, as the v4 API documents them.

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Account {
    username: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct MergeRequestItem {
    iid: u64,
    title: String,
    author: Option<Account>,
    created_at: Timestamp,
    updated_at: Timestamp,
    merged_at: Option<Timestamp>,
    merge_commit_sha: Option<String>,
    squash_commit_sha: Option<String>,
    sha: Option<String>,
}

impl Request for MergeRequestItem {
    fn updated_at(&self) -> Timestamp {
        self.updated_at
    }

    fn merged(&self) -> bool {
        self.merged_at.is_some()
    }
}

impl MergeRequestItem {
    /// The commit the merge put on the target branch: the change's id.
    fn landed(&self) -> Option<&String> {
        self.merge_commit_sha
            .as_ref()
            .or(self.squash_commit_sha.as_ref())
            .or(self.sha.as_ref())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Note {
    body: String,
    author: Option<Account>,
    created_at: Timestamp,
    system: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct CommitItem {
    authored_date: Timestamp,
    committed_date: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct PipelineItem {
    id: u64,
    sha: String,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    name: Option<String>,
    status: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Deployable {
    started_at: Option<Timestamp>,
    finished_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct DeploymentItem {
    id: u64,
    sha: String,
    status: String,
    created_at: Timestamp,
    updated_at: Timestamp,
    deployable: Option<Deployable>,
}

/// The first page of a list ordered by update, newest first, from the window on.
fn updated_list(url: &str, window: &Window) -> Result<String, BackfillError> {
    let mut params = vec![
        ("order_by", "updated_at".to_owned()),
        ("sort", "desc".to_owned()),
        ("per_page", "100".to_owned()),
    ];
    if let Some(threshold) = window.threshold {
        params.push(("updated_after", threshold.to_string()));
    }
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    with_query(url, &params)
}

impl GitLab {
    async fn merge_requests<S: Sink>(&self, run: &mut Run<'_, S>) -> Result<(), BackfillError> {
        let resource = "merge_requests";
        let first = updated_list(
            &format!("{}/merge_requests?state=merged", self.project_url),
            &run.window,
        )?;
        read_merged(
            run,
            resource,
            &first,
            Paging::NextPageHeader,
            async |client, cache, mr: &MergeRequestItem| self.change(client, cache, mr).await,
        )
        .await
    }

    async fn change(
        &self,
        client: &Client,
        cache: &PageCache,
        mr: &MergeRequestItem,
    ) -> Result<(Option<Change>, Vec<PageEtag>), BackfillError> {
        let (Some(merged_at), Some(sha)) = (mr.merged_at, mr.landed()) else {
            client.notice(&format!(
                "merge request !{} is merged but names no commit; skipped",
                mr.iid
            ));
            return Ok((None, Vec::new()));
        };
        let base = format!("{}/merge_requests/{}", self.project_url, mr.iid);
        let (notes, mut etags) = fetch_all::<Note>(
            client,
            cache,
            &format!("{base}/notes?sort=asc&order_by=created_at&per_page=100"),
            Shape::Array,
            Paging::NextPageHeader,
        )
        .await?;
        let (commits, commit_etags) = fetch_all::<CommitItem>(
            client,
            cache,
            &format!("{base}/commits?per_page=100"),
            Shape::Array,
            Paging::NextPageHeader,
        )
        .await?;
        etags.extend(commit_etags);
        let author = mr.author.as_ref().map(|account| account.username.clone());
        let (first_review_at, approved_at) = note_times(&notes, author.as_deref(), merged_at);
        let committed_at = commits
            .iter()
            .map(|commit| commit.committed_date)
            .max()
            .unwrap_or(merged_at);
        let mut change = Change::new(sha.clone(), self.service.clone(), committed_at);
        change.first_commit_at = commits.iter().map(|commit| commit.authored_date).min();
        change.pr_opened_at = Some(mr.created_at);
        change.first_review_at = first_review_at;
        change.approved_at = approved_at;
        change.merged_at = Some(merged_at);
        change.author = author;
        change.title = Some(mr.title.clone());
        Ok((Some(change), etags))
    }

    async fn pipelines<S: Sink>(&self, run: &mut Run<'_, S>) -> Result<(), BackfillError> {
        let resource = "pipelines".to_owned();
        let first = updated_list(&format!("{}/pipelines", self.project_url), &run.window)?;
        let mut next = run.resume_list(&resource, &first);
        while let Some(url) = next {
            let page = fetch::<PipelineItem>(
                run.client,
                &run.etags,
                &url,
                Shape::Array,
                Paging::NextPageHeader,
            )
            .await?;
            let reaches_back = page
                .items
                .iter()
                .any(|pipeline| run.window.before(pipeline.updated_at));
            let stop = reaches_back || (page.unchanged && url == first && !run.window.extends);
            let mut builds = Vec::new();
            for pipeline in &page.items {
                let status = match pipeline.status.as_str() {
                    "success" => DeploymentStatus::Success,
                    "failed" => DeploymentStatus::Failure,
                    _ => continue,
                };
                if run.window.before(pipeline.updated_at) {
                    continue;
                }
                let mut build = Build::new(
                    pipeline.id.to_string(),
                    self.service.clone(),
                    pipeline.created_at,
                    pipeline.updated_at,
                );
                build.status = status;
                build.commit = Some(pipeline.sha.clone());
                build.name = pipeline.name.clone().or_else(|| pipeline.git_ref.clone());
                builds.push(build);
            }
            next = if stop { None } else { page.next };
            let records = Records {
                builds,
                ..Records::default()
            };
            run.save_list_page(
                &resource,
                records,
                page.etag.into_iter().collect(),
                next.clone(),
            )
            .await?;
        }
        Ok(())
    }

    async fn deployments<S: Sink>(
        &self,
        run: &mut Run<'_, S>,
        environment: &str,
    ) -> Result<(), BackfillError> {
        let resource = format!("deployments:{environment}");
        let listed = with_query(
            &format!("{}/deployments", self.project_url),
            &[("environment", environment)],
        )?;
        let first = updated_list(&listed, &run.window)?;
        let mut next = run.resume_list(&resource, &first);
        while let Some(url) = next {
            let page = fetch::<DeploymentItem>(
                run.client,
                &run.etags,
                &url,
                Shape::Array,
                Paging::NextPageHeader,
            )
            .await?;
            let reaches_back = page
                .items
                .iter()
                .any(|deployment| run.window.before(deployment.updated_at));
            let stop = reaches_back || (page.unchanged && url == first && !run.window.extends);
            let mut etags: Vec<PageEtag> = page.etag.into_iter().collect();
            let mut deployments = Vec::new();
            // An unchanged page was written when first read, but only its items inside that
            // run's window: a run reaching further back reads them all.
            if !page.unchanged || run.window.extends {
                let finished: Vec<&DeploymentItem> = page
                    .items
                    .iter()
                    .filter(|item| {
                        matches!(item.status.as_str(), "success" | "failed")
                            && !run.window.before(item.updated_at)
                    })
                    .collect();
                let client = run.client;
                let cache = &run.etags;
                let read = client
                    .read_each(finished, |item| {
                        self.deployment(client, cache, item, environment)
                    })
                    .await?;
                for (deployment, saved) in read {
                    deployments.push(deployment);
                    etags.extend(saved);
                }
            }
            next = if stop { None } else { page.next };
            let records = Records {
                deployments,
                ..Records::default()
            };
            run.save_list_page(&resource, records, etags, next.clone())
                .await?;
        }
        Ok(())
    }

    async fn deployment(
        &self,
        client: &Client,
        cache: &PageCache,
        item: &DeploymentItem,
        environment: &str,
    ) -> Result<(Deployment, Vec<PageEtag>), BackfillError> {
        let success = item.status == "success";
        let job = item.deployable.as_ref();
        let finished_at = job
            .and_then(|job| job.finished_at)
            .unwrap_or(item.updated_at);
        let mut deployment =
            Deployment::new(item.id.to_string(), self.service.clone(), finished_at);
        deployment.environment = environment.to_owned();
        deployment.status = if success {
            DeploymentStatus::Success
        } else {
            DeploymentStatus::Failure
        };
        deployment.started_at = Some(
            job.and_then(|job| job.started_at)
                .unwrap_or(item.created_at),
        );
        deployment.commit = Some(item.sha.clone());
        let mut etags = Vec::new();
        if success {
            let (shipped, saved) = fetch_all::<MergeRequestItem>(
                client,
                cache,
                &format!(
                    "{}/deployments/{}/merge_requests?per_page=100",
                    self.project_url, item.id
                ),
                Shape::Array,
                Paging::NextPageHeader,
            )
            .await?;
            etags = saved;
            deployment.changes = shipped
                .iter()
                .filter_map(|mr| mr.landed().cloned())
                .collect();
        }
        Ok((deployment, etags))
    }
}

/// The note GitLab writes when someone approves a merge request.
const APPROVAL_NOTE: &str = "approved this merge request";

/// `first_review_at` and `approved_at` from a merge request's notes (see the module docs).
fn note_times(
    notes: &[Note],
    author: Option<&str>,
    merged_at: Timestamp,
) -> (Option<Timestamp>, Option<Timestamp>) {
    let by_other = |note: &Note| match (author, note.author.as_ref()) {
        (Some(author), Some(account)) => account.username != author,
        _ => true,
    };
    let is_approval = |note: &Note| note.system && note.body.trim() == APPROVAL_NOTE;
    let mut first = None;
    let mut approved = None;
    for note in notes.iter().filter(|note| by_other(note)) {
        let approval = is_approval(note);
        if !note.system || approval {
            first = Some(first.map_or(note.created_at, |first: Timestamp| {
                first.min(note.created_at)
            }));
        }
        if approval && note.created_at <= merged_at {
            approved = Some(approved.map_or(note.created_at, |approved: Timestamp| {
                approved.max(note.created_at)
            }));
        }
    }
    (first, approved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn note(who: &str, body: &str, system: bool, when: &str) -> Note {
        Note {
            body: body.into(),
            author: Some(Account {
                username: who.into(),
            }),
            created_at: at(when),
            system,
        }
    }

    #[test]
    fn comments_and_approvals_by_others_are_reviews() {
        let merged = at("2026-03-05T12:00:00Z");
        let notes = [
            note("author", "added 1 commit", true, "2026-03-01T08:00:00Z"),
            note("author", "please look", false, "2026-03-01T09:00:00Z"),
            note("ana", "assigned to @bo", true, "2026-03-01T09:30:00Z"),
            note("bo", "looks good", false, "2026-03-02T10:00:00Z"),
            note(
                "ana",
                "approved this merge request",
                true,
                "2026-03-03T10:00:00Z",
            ),
            note(
                "cy",
                "approved this merge request",
                true,
                "2026-03-06T10:00:00Z",
            ),
        ];
        assert_eq!(
            note_times(&notes, Some("author"), merged),
            (
                Some(at("2026-03-02T10:00:00Z")),
                Some(at("2026-03-03T10:00:00Z"))
            )
        );
        // An approval with no comment before it is the first review.
        assert_eq!(
            note_times(&notes[4..5], Some("author"), merged),
            (
                Some(at("2026-03-03T10:00:00Z")),
                Some(at("2026-03-03T10:00:00Z"))
            )
        );
    }

    #[test]
    fn the_landed_commit_prefers_the_merge_commit() {
        let mut mr = MergeRequestItem {
            iid: 1,
            title: "t".into(),
            author: None,
            created_at: at("2026-03-01T00:00:00Z"),
            updated_at: at("2026-03-01T00:00:00Z"),
            merged_at: None,
            merge_commit_sha: Some("m".into()),
            squash_commit_sha: Some("s".into()),
            sha: Some("h".into()),
        };
        assert_eq!(mr.landed().map(String::as_str), Some("m"));
        mr.merge_commit_sha = None;
        assert_eq!(mr.landed().map(String::as_str), Some("s"));
        mr.squash_commit_sha = None;
        assert_eq!(mr.landed().map(String::as_str), Some("h"));
    }

    #[test]
    fn project_paths_are_checked() {
        assert_eq!(project_name("gitlab-org/gitlab").unwrap(), "gitlab");
        assert_eq!(project_name("a/b/c").unwrap(), "c");
        for bad in ["gitlab", "a//b", "/a", "a b/c"] {
            assert!(project_name(bad).is_err(), "{bad}");
        }
    }
}
