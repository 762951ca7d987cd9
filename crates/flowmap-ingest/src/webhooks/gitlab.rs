//! GitLab webhook payloads.
//!
//! The event is read from the body's `object_kind` (GitLab also names it in the
//! `X-Gitlab-Event` header). The service is the project's `path_with_namespace`
//! (`group/project`) unless [`Config::services`] names another.
//!
//! - `push` to the default branch → [`Effect::Push`] (each commit a change: id, timestamp,
//!   author name, title); other branches and deletions are ignored.
//! - `merge_request` → [`Effect::PullRequest`] keyed by the request's `iid`: opened time
//!   and title; `approved` sets the first review and approval time, `merge` the merge time
//!   and merge commit (both at the event's `updated_at`, GitLab's time of the action).
//! - `deployment` → [`Effect::Deployment`] for `success` and `failed`, at
//!   `status_changed_at`; id = `deployment_id`, commit = the sha at the end of
//!   `commit_url`; tier `production` (or environment `production`) is recorded as
//!   `production`. Other statuses are ignored.
//! - `pipeline` → [`Effect::Build`] for `success` and `failed`: id `pipeline-{id}`, from
//!   `created_at` to `finished_at`, commit `sha`, name `name` (else `ref`). GitLab reports
//!   deployments separately, so a pipeline is never a deployment. Other statuses are
//!   ignored.

use flowmap_core::events::{Build, Change, Deployment, DeploymentKind, DeploymentStatus};
use serde_json::Value;

use super::{
    Config, Effect, PRODUCTION, Payload, PayloadError, PullRequest, Push, parse_object, subject,
};

/// The `object_kind`s [`parse`] accepts.
pub const KINDS: &[&str] = &["push", "merge_request", "deployment", "pipeline"];

/// Reads one GitLab webhook body.
///
/// ```
/// use flowmap_ingest::webhooks::{gitlab, Config, Effect};
///
/// let body = br#"{"object_kind": "pipeline", "project": {"path_with_namespace": "acme/shop"},
///                 "object_attributes": {"status": "running"}}"#;
/// assert!(matches!(gitlab::parse(body, &Config::default()), Ok(Effect::Ignored(_))));
/// let err = gitlab::parse(br#"{"object_kind": "wiki_page"}"#, &Config::default()).unwrap_err();
/// assert_eq!(err.field, "object_kind");
/// ```
pub fn parse(body: &[u8], config: &Config) -> Result<Effect, PayloadError> {
    let value = parse_object(body)?;
    let p = Payload(&value);
    let kind = p.str("object_kind")?;
    if !KINDS.contains(&kind) {
        return Err(PayloadError::new(
            "object_kind",
            format!(
                "unsupported event {kind:?} (supported: {}); unsubscribe the hook from it",
                KINDS.join(", ")
            ),
        ));
    }
    let service = config.service(p.str("project.path_with_namespace")?);
    match kind {
        "push" => push(p, service),
        "merge_request" => merge_request(p, service),
        "deployment" => deployment(p, service),
        _ => pipeline(p, service),
    }
}

fn pipeline(p: Payload<'_>, service: String) -> Result<Effect, PayloadError> {
    let status = match p.str("object_attributes.status")? {
        "success" => DeploymentStatus::Success,
        "failed" => DeploymentStatus::Failure,
        other => return Ok(Effect::Ignored(format!("pipeline {other}: not finished"))),
    };
    let name = match p.opt_str("object_attributes.name")? {
        Some(name) if !name.is_empty() => name,
        _ => p.str("object_attributes.ref")?,
    };
    Ok(Effect::Build(Build {
        id: format!("pipeline-{}", p.u64("object_attributes.id")?),
        service,
        status,
        started_at: p.time("object_attributes.created_at")?,
        finished_at: p.time("object_attributes.finished_at")?,
        commit: Some(p.str("object_attributes.sha")?.to_owned()),
        changes: Vec::new(),
        name: Some(name.to_owned()),
    }))
}

fn push(p: Payload<'_>, service: String) -> Result<Effect, PayloadError> {
    let git_ref = p.str("ref")?;
    let default_branch = p.str("project.default_branch")?;
    if git_ref != format!("refs/heads/{default_branch}") {
        return Ok(Effect::Ignored(format!(
            "push to {git_ref}: not the default branch ({default_branch})"
        )));
    }
    let head = p.str("after")?;
    if head.bytes().all(|b| b == b'0') {
        return Ok(Effect::Ignored(format!("push deleted {git_ref}")));
    }
    let mut commits = Vec::new();
    for (i, commit) in p.array("commits")?.iter().enumerate() {
        commits.push(commit_change(commit, i, &service)?);
    }
    Ok(Effect::Push(Push {
        service,
        head: head.to_owned(),
        commits,
    }))
}

fn commit_change(commit: &Value, index: usize, service: &str) -> Result<Change, PayloadError> {
    let c = Payload(commit);
    let err =
        |e: PayloadError| PayloadError::new(&format!("commits[{index}].{}", e.field), e.problem);
    let title = match c.opt_str("title").map_err(err)? {
        Some(title) if !title.is_empty() => Some(title.to_owned()),
        _ => c.opt_str("message").map_err(err)?.and_then(subject),
    };
    Ok(Change {
        id: c.str("id").map_err(err)?.to_owned(),
        service: service.to_owned(),
        committed_at: c.time("timestamp").map_err(err)?,
        authored_at: None,
        first_commit_at: None,
        pr_opened_at: None,
        first_review_at: None,
        approved_at: None,
        merged_at: None,
        deployment: None,
        author: c.opt_str("author.name").map_err(err)?.map(str::to_owned),
        title,
        reverts: None,
    })
}

fn merge_request(p: Payload<'_>, service: String) -> Result<Effect, PayloadError> {
    let mut pr = PullRequest::new(&service, p.u64("object_attributes.iid")?);
    pr.title = p.opt_str("object_attributes.title")?.map(str::to_owned);
    pr.opened_at = Some(p.time("object_attributes.created_at")?);
    let action = p.opt_str("object_attributes.action")?.unwrap_or_default();
    if action == "open" {
        pr.author = p.opt_str("user.username")?.map(str::to_owned);
    }
    if action == "approved" || action == "approval" {
        let at = p.time("object_attributes.updated_at")?;
        pr.first_review_at = Some(at);
        pr.approved_at = Some(at);
    }
    if action == "merge" {
        pr.merged_at = Some(p.time("object_attributes.updated_at")?);
        pr.merge_commit = Some(p.str("object_attributes.merge_commit_sha")?.to_owned());
    }
    Ok(Effect::PullRequest(pr))
}

fn deployment(p: Payload<'_>, service: String) -> Result<Effect, PayloadError> {
    let status = match p.str("status")? {
        "success" => DeploymentStatus::Success,
        "failed" => DeploymentStatus::Failure,
        other => {
            return Ok(Effect::Ignored(format!("deployment {other}: not finished")));
        }
    };
    let named = p.str("environment")?;
    let tier = p.opt_str("environment_tier")?.unwrap_or_default();
    let environment = if named == PRODUCTION || tier == PRODUCTION {
        PRODUCTION.to_owned()
    } else {
        named.to_owned()
    };
    let commit_url = p.str("commit_url")?;
    let sha = commit_url
        .rsplit('/')
        .next()
        .filter(|sha| sha.len() >= 7 && sha.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| {
            PayloadError::new(
                "commit_url",
                format!("no commit sha at the end of {commit_url:?}"),
            )
        })?;
    Ok(Effect::Deployment(Deployment {
        id: p.u64("deployment_id")?.to_string(),
        service,
        environment,
        status,
        started_at: None,
        finished_at: p.time("status_changed_at")?,
        commit: Some(sha.to_owned()),
        changes: Vec::new(),
        kind: DeploymentKind::Normal,
        fixes: None,
    }))
}
