//! GitHub webhook payloads.
//!
//! The event name comes from the `X-GitHub-Event` header. The service is the repository's
//! full name (`owner/name`) unless [`Config::services`] names another.
//!
//! - `push` to the default branch → [`Effect::Push`]: each commit a change (id = sha,
//!   `committed_at` = the commit's timestamp, author, title = subject). Pushes to other
//!   branches, tags and branch deletions are ignored: only the default branch deploys.
//! - `pull_request` → [`Effect::PullRequest`]: opened time, title, author, and when
//!   merged the merge time and merge commit.
//! - `pull_request_review` (submitted) → [`Effect::PullRequest`]: the first review time,
//!   and the approval time when the review approves.
//! - `deployment_status` → [`Effect::Deployment`] for `success` (a deployment) and
//!   `failure`/`error` (a failed deploy run), at the status's `updated_at`; id = the
//!   deployment's id, commit = its sha, started = its `created_at`. A deployment to an
//!   environment named `production`, or flagged `production_environment`, is recorded in
//!   the `production` environment; others keep their name. Pending states are ignored.
//! - `deployment` (created) → ignored: nothing has finished yet; its status events follow.
//! - `workflow_run` (completed) of a workflow listed in [`Config::deploy_workflows`], on
//!   the default branch → [`Effect::Deployment`] in production (success, or failure
//!   for `failure`/`timed_out`); its runs on other branches, and cancelled or skipped runs,
//!   are ignored.
//! - `workflow_run` (completed) of any other workflow → [`Effect::Build`] on any branch:
//!   id `run-{id}`, from `run_started_at` (else `created_at`) to `updated_at`, commit
//!   `head_sha`, name = the workflow's name; success, or failure for
//!   `failure`/`timed_out`; cancelled, skipped and neutral runs are ignored.
//! - `ping` → ignored. Any other event is an error: the hook is subscribed to more than
//!   flowmap reads.

use flowmap_core::events::{Build, Change, Deployment, DeploymentKind, DeploymentStatus};
use serde_json::Value;

use super::{
    Config, Effect, PRODUCTION, Payload, PayloadError, PullRequest, Push, parse_object, subject,
};

/// The events [`parse`] accepts.
pub const EVENTS: &[&str] = &[
    "push",
    "pull_request",
    "pull_request_review",
    "deployment",
    "deployment_status",
    "workflow_run",
    "ping",
];

/// Reads one GitHub webhook body of event type `event` (the `X-GitHub-Event` header).
///
/// ```
/// use flowmap_ingest::webhooks::{github, Config, Effect};
///
/// let body = br#"{"ref": "refs/heads/feature", "after": "abc",
///                 "repository": {"full_name": "acme/shop", "default_branch": "main"}}"#;
/// let effect = github::parse("push", body, &Config::default()).unwrap();
/// assert!(matches!(effect, Effect::Ignored(why) if why.contains("not the default branch")));
/// ```
pub fn parse(event: &str, body: &[u8], config: &Config) -> Result<Effect, PayloadError> {
    if !EVENTS.contains(&event) {
        return Err(PayloadError::new(
            "X-GitHub-Event",
            format!(
                "unsupported event {event:?} (supported: {}); unsubscribe the hook from it",
                EVENTS.join(", ")
            ),
        ));
    }
    let value = parse_object(body)?;
    let p = Payload(&value);
    if event == "ping" {
        return Ok(Effect::Ignored("ping: the hook is set up".into()));
    }
    let repository = p.str("repository.full_name")?;
    let service = config.service(repository);
    match event {
        "push" => push(p, service),
        "pull_request" => pull_request(p, service),
        "pull_request_review" => review(p, service),
        "deployment" => Ok(Effect::Ignored(
            "deployment created: it is recorded when a deployment_status reports its outcome"
                .into(),
        )),
        "deployment_status" => deployment_status(p, service),
        _ => workflow_run(p, service, config),
    }
}

fn push(p: Payload<'_>, service: String) -> Result<Effect, PayloadError> {
    let git_ref = p.str("ref")?;
    let default_branch = p.str("repository.default_branch")?;
    if git_ref != format!("refs/heads/{default_branch}") {
        return Ok(Effect::Ignored(format!(
            "push to {git_ref}: not the default branch ({default_branch})"
        )));
    }
    if p.bool("deleted")? {
        return Ok(Effect::Ignored(format!("push deleted {git_ref}")));
    }
    let head = p.str("after")?.to_owned();
    let mut commits = Vec::new();
    for (i, commit) in p.array("commits")?.iter().enumerate() {
        commits.push(commit_change(commit, i, &service)?);
    }
    Ok(Effect::Push(Push {
        service,
        head,
        commits,
    }))
}

fn commit_change(commit: &Value, index: usize, service: &str) -> Result<Change, PayloadError> {
    let c = Payload(commit);
    let at = |field: &str| format!("commits[{index}].{field}");
    let err = |e: PayloadError| PayloadError::new(&at(&e.field), e.problem);
    let author = match c.opt_str("author.username").map_err(err)? {
        Some(name) if !name.is_empty() => Some(name.to_owned()),
        _ => c.opt_str("author.email").map_err(err)?.map(str::to_owned),
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
        author,
        title: c.opt_str("message").map_err(err)?.and_then(subject),
        reverts: None,
    })
}

fn pull_request(p: Payload<'_>, service: String) -> Result<Effect, PayloadError> {
    let mut pr = request_basics(p, service)?;
    if p.bool("pull_request.merged")? {
        pr.merged_at = p.opt_time("pull_request.merged_at")?;
        pr.merge_commit = p
            .opt_str("pull_request.merge_commit_sha")?
            .map(str::to_owned);
    }
    Ok(Effect::PullRequest(pr))
}

fn review(p: Payload<'_>, service: String) -> Result<Effect, PayloadError> {
    let action = p.str("action")?;
    if action != "submitted" {
        return Ok(Effect::Ignored(format!("pull_request_review {action}")));
    }
    let mut pr = request_basics(p, service)?;
    let submitted_at = p.time("review.submitted_at")?;
    pr.first_review_at = Some(submitted_at);
    if p.str("review.state")?.eq_ignore_ascii_case("approved") {
        pr.approved_at = Some(submitted_at);
    }
    Ok(Effect::PullRequest(pr))
}

fn request_basics(p: Payload<'_>, service: String) -> Result<PullRequest, PayloadError> {
    let mut pr = PullRequest::new(&service, p.u64("pull_request.number")?);
    pr.title = p.opt_str("pull_request.title")?.map(str::to_owned);
    pr.author = p.opt_str("pull_request.user.login")?.map(str::to_owned);
    pr.opened_at = Some(p.time("pull_request.created_at")?);
    Ok(pr)
}

fn deployment_status(p: Payload<'_>, service: String) -> Result<Effect, PayloadError> {
    let state = p.str("deployment_status.state")?;
    let status = match state {
        "success" => DeploymentStatus::Success,
        "failure" | "error" => DeploymentStatus::Failure,
        other => {
            return Ok(Effect::Ignored(format!(
                "deployment_status {other}: not finished"
            )));
        }
    };
    let named = match p.opt_str("deployment_status.environment")? {
        Some(name) if !name.is_empty() => name,
        _ => p.str("deployment.environment")?,
    };
    let environment = if named == PRODUCTION || p.bool("deployment.production_environment")? {
        PRODUCTION.to_owned()
    } else {
        named.to_owned()
    };
    Ok(Effect::Deployment(Deployment {
        id: p.u64("deployment.id")?.to_string(),
        service,
        environment,
        status,
        started_at: p.opt_time("deployment.created_at")?,
        finished_at: p.time("deployment_status.updated_at")?,
        commit: Some(p.str("deployment.sha")?.to_owned()),
        changes: Vec::new(),
        kind: DeploymentKind::Normal,
        fixes: None,
    }))
}

/// A completed run of a workflow that does not deploy: a build, on any branch.
fn workflow_build(p: Payload<'_>, service: String, name: &str) -> Result<Effect, PayloadError> {
    let status = match p.str("workflow_run.conclusion")? {
        "success" => DeploymentStatus::Success,
        "failure" | "timed_out" => DeploymentStatus::Failure,
        other => {
            return Ok(Effect::Ignored(format!(
                "workflow run concluded {other}: neither built nor failed"
            )));
        }
    };
    let started_at = match p.opt_time("workflow_run.run_started_at")? {
        Some(at) => at,
        None => p.time("workflow_run.created_at")?,
    };
    Ok(Effect::Build(Build {
        id: format!("run-{}", p.u64("workflow_run.id")?),
        service,
        status,
        started_at,
        finished_at: p.time("workflow_run.updated_at")?,
        commit: Some(p.str("workflow_run.head_sha")?.to_owned()),
        changes: Vec::new(),
        name: (!name.is_empty()).then(|| name.to_owned()),
    }))
}

fn workflow_run(p: Payload<'_>, service: String, config: &Config) -> Result<Effect, PayloadError> {
    let action = p.str("action")?;
    if action != "completed" {
        return Ok(Effect::Ignored(format!(
            "workflow_run {action}: not finished"
        )));
    }
    let name = match p.opt_str("workflow_run.name")? {
        Some(name) if !name.is_empty() => name,
        _ => p.opt_str("workflow.name")?.unwrap_or_default(),
    };
    if !config.deploy_workflows.iter().any(|w| w == name) {
        return workflow_build(p, service, name);
    }
    let branch = p.str("workflow_run.head_branch")?;
    let default_branch = p.str("repository.default_branch")?;
    if branch != default_branch {
        return Ok(Effect::Ignored(format!(
            "workflow run on {branch}: not the default branch ({default_branch})"
        )));
    }
    let status = match p.str("workflow_run.conclusion")? {
        "success" => DeploymentStatus::Success,
        "failure" | "timed_out" => DeploymentStatus::Failure,
        other => {
            return Ok(Effect::Ignored(format!(
                "workflow run concluded {other}: neither deployed nor failed"
            )));
        }
    };
    Ok(Effect::Deployment(Deployment {
        id: format!("run-{}", p.u64("workflow_run.id")?),
        service,
        environment: PRODUCTION.to_owned(),
        status,
        started_at: p.opt_time("workflow_run.run_started_at")?,
        finished_at: p.time("workflow_run.updated_at")?,
        commit: Some(p.str("workflow_run.head_sha")?.to_owned()),
        changes: Vec::new(),
        kind: DeploymentKind::Normal,
        fixes: None,
    }))
}
