//! Webhook payloads (GitHub, GitLab) turned into what they mean for delivery records.
//!
//! A webhook tells one part of a story at a time: commits were pushed, a pull request was
//! reviewed, a deployment finished. Each parser here is a pure function from one
//! payload to one [`Effect`]; the caller (the server) keeps the state that joins the
//! parts — which pushes a deployment ships, what is known about a pull request so far —
//! and decides what to store. CDEvents need no parser of their own: a CDEvents webhook
//! body is one event for [`crate::cdevents::to_record`].
//!
//! | effect | from GitHub | from GitLab |
//! | --- | --- | --- |
//! | [`Effect::Push`] | `push` to the default branch | `push` (Push Hook) to the default branch |
//! | [`Effect::PullRequest`] | `pull_request`, `pull_request_review` | `merge_request` |
//! | [`Effect::Deployment`] | `deployment_status` (success, failure, error); `workflow_run` of a configured deploy workflow | `deployment` (success, failed) |
//! | [`Effect::Build`] | `workflow_run` (completed: success, failure, timed out) of any other workflow | `pipeline` (success, failed) |
//! | [`Effect::Ignored`] | everything else it understands: other branches, tags, `deployment` (created: nothing has finished yet), pending states, cancelled or skipped runs | running or canceled pipelines and deployments |
//!
//! A payload that is not JSON, or lacks a field its event needs, is a [`PayloadError`]
//! naming the field.

pub mod github;
pub mod gitlab;

use std::collections::BTreeMap;

use flowmap_core::events::{Build, Change, Deployment};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::import::fields::parse_time;
use crate::import::json::describe;

pub use flowmap_core::events::PRODUCTION;

/// How payloads map onto services and deployments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Repository full name (`owner/name`, GitLab's `group/project`) → service name, for
    /// repositories whose service is not simply their full name.
    pub services: BTreeMap<String, String>,
    /// GitHub workflow names whose completed runs on the default branch are production
    /// deployments (for teams that deploy from Actions without GitHub deployments).
    pub deploy_workflows: Vec<String>,
}

impl Config {
    /// The service a repository's events belong to.
    pub fn service(&self, repository: &str) -> String {
        self.services
            .get(repository)
            .cloned()
            .unwrap_or_else(|| repository.to_owned())
    }
}

/// What one webhook delivery means.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Commits pushed to the repository's default branch.
    Push(Push),
    /// What a pull (merge) request event tells about it so far.
    PullRequest(PullRequest),
    /// A deploy run that finished. In production and successful, it ships every
    /// not-yet-deployed push up to the one whose head is its commit.
    Deployment(Deployment),
    /// A CI run (a workflow or pipeline that does not deploy) that finished.
    Build(Build),
    /// A payload understood but carrying nothing to record, with why.
    Ignored(String),
}

/// Commits pushed to a default branch, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Push {
    pub service: String,
    /// The branch head after the push: the sha a deployment of this push names.
    pub head: String,
    /// One change per pushed commit (id = sha), not yet linked to a deployment.
    pub commits: Vec<Change>,
}

/// The timeline of one pull (merge) request, as far as one event tells it.
///
/// Events about the same request are combined with [`PullRequest::merge`]; once it is
/// merged, [`PullRequest::change`] is the change its merge commit stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub service: String,
    /// The request's number within its repository (GitLab's `iid`).
    pub number: u64,
    pub title: Option<String>,
    pub author: Option<String>,
    pub opened_at: Option<Timestamp>,
    pub first_review_at: Option<Timestamp>,
    pub approved_at: Option<Timestamp>,
    pub merged_at: Option<Timestamp>,
    /// The commit the merge put on the target branch.
    pub merge_commit: Option<String>,
}

impl PullRequest {
    /// Combines what two events told about the same request: first-occurrence times keep
    /// the earliest value, everything else the newest known one.
    ///
    /// ```
    /// use flowmap_ingest::webhooks::PullRequest;
    ///
    /// let t = |s: &str| Some(s.parse().unwrap());
    /// let review = PullRequest { first_review_at: t("2026-03-02T10:00:00Z"), ..PullRequest::new("shop", 7) };
    /// let merge = PullRequest {
    ///     first_review_at: t("2026-03-02T12:00:00Z"),
    ///     merged_at: t("2026-03-02T15:00:00Z"),
    ///     merge_commit: Some("c0ffee".into()),
    ///     ..PullRequest::new("shop", 7)
    /// };
    /// let both = review.merge(merge);
    /// assert_eq!(both.first_review_at, t("2026-03-02T10:00:00Z"));
    /// assert_eq!(both.change().unwrap().id, "c0ffee");
    /// ```
    pub fn merge(self, newer: PullRequest) -> PullRequest {
        fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        PullRequest {
            service: newer.service,
            number: newer.number,
            title: newer.title.or(self.title),
            author: newer.author.or(self.author),
            opened_at: earliest(self.opened_at, newer.opened_at),
            first_review_at: earliest(self.first_review_at, newer.first_review_at),
            approved_at: earliest(self.approved_at, newer.approved_at),
            merged_at: earliest(self.merged_at, newer.merged_at),
            merge_commit: newer.merge_commit.or(self.merge_commit),
        }
    }

    /// A request known only by its service and number.
    pub fn new(service: &str, number: u64) -> PullRequest {
        PullRequest {
            service: service.to_owned(),
            number,
            title: None,
            author: None,
            opened_at: None,
            first_review_at: None,
            approved_at: None,
            merged_at: None,
            merge_commit: None,
        }
    }

    /// The change the merged request stands for: its merge commit, carrying the request's
    /// times. `None` until the request is merged.
    ///
    /// Its `committed_at` is the merge time; stored in merge mode beside the pushed
    /// commit of the same sha, the earlier commit time is kept.
    pub fn change(&self) -> Option<Change> {
        let merged_at = self.merged_at?;
        Some(Change {
            id: self.merge_commit.clone()?,
            service: self.service.clone(),
            committed_at: merged_at,
            authored_at: None,
            first_commit_at: None,
            pr_opened_at: self.opened_at,
            first_review_at: self.first_review_at,
            approved_at: self.approved_at,
            merged_at: Some(merged_at),
            deployment: None,
            author: self.author.clone(),
            title: self.title.clone(),
            reverts: None,
        })
    }
}

/// Why a payload cannot be read: the field (dotted JSON path) and the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct PayloadError {
    pub field: String,
    pub problem: String,
}

impl PayloadError {
    pub(crate) fn new(field: &str, problem: impl Into<String>) -> PayloadError {
        PayloadError {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Parses a body as a JSON object.
pub(crate) fn parse_object(body: &[u8]) -> Result<Value, PayloadError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| PayloadError::new("body", format!("not JSON: {e}")))?;
    if !value.is_object() {
        return Err(PayloadError::new(
            "body",
            format!("expected a JSON object, found {}", describe(&value)),
        ));
    }
    Ok(value)
}

/// Reads dotted paths out of a payload; every accessor names the path in its error.
#[derive(Clone, Copy)]
pub(crate) struct Payload<'v>(pub &'v Value);

impl<'v> Payload<'v> {
    /// The value at `path`, `None` when absent or null.
    pub fn get(&self, path: &str) -> Result<Option<&'v Value>, PayloadError> {
        let mut value = self.0;
        for key in path.split('.') {
            match value {
                Value::Object(map) => match map.get(key) {
                    Some(next) => value = next,
                    None => return Ok(None),
                },
                Value::Null => return Ok(None),
                other => {
                    return Err(PayloadError::new(
                        path,
                        format!("expected an object on the way, found {}", describe(other)),
                    ));
                }
            }
        }
        Ok((!value.is_null()).then_some(value))
    }

    pub fn opt_str(&self, path: &str) -> Result<Option<&'v str>, PayloadError> {
        match self.get(path)? {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(PayloadError::new(
                path,
                format!("expected text, found {}", describe(other)),
            )),
        }
    }

    pub fn str(&self, path: &str) -> Result<&'v str, PayloadError> {
        self.opt_str(path)?
            .filter(|text| !text.is_empty())
            .ok_or_else(|| PayloadError::new(path, "missing"))
    }

    pub fn u64(&self, path: &str) -> Result<u64, PayloadError> {
        match self.get(path)? {
            None => Err(PayloadError::new(path, "missing")),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
                PayloadError::new(path, format!("expected a whole number, found {n}"))
            }),
            Some(other) => Err(PayloadError::new(
                path,
                format!("expected a number, found {}", describe(other)),
            )),
        }
    }

    pub fn bool(&self, path: &str) -> Result<bool, PayloadError> {
        match self.get(path)? {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(PayloadError::new(
                path,
                format!("expected true or false, found {}", describe(other)),
            )),
        }
    }

    pub fn array(&self, path: &str) -> Result<&'v [Value], PayloadError> {
        match self.get(path)? {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(PayloadError::new(
                path,
                format!("expected an array, found {}", describe(other)),
            )),
        }
    }

    /// An RFC 3339 time, or (GitLab) `2026-03-01 12:00:00 UTC` / `… +0100`.
    pub fn opt_time(&self, path: &str) -> Result<Option<Timestamp>, PayloadError> {
        self.opt_str(path)?
            .filter(|text| !text.is_empty())
            .map(|text| {
                parse_webhook_time(text).map_err(|problem| PayloadError::new(path, problem))
            })
            .transpose()
    }

    pub fn time(&self, path: &str) -> Result<Timestamp, PayloadError> {
        self.opt_time(path)?
            .ok_or_else(|| PayloadError::new(path, "missing"))
    }
}

/// RFC 3339, or the `YYYY-MM-DD HH:MM:SS UTC` and `YYYY-MM-DD HH:MM:SS +HHMM` forms GitLab
/// writes in some hooks. A time without an offset is an error, never a guess.
fn parse_webhook_time(text: &str) -> Result<Timestamp, String> {
    if let Some(civil) = text.strip_suffix(" UTC") {
        return Timestamp::strptime("%Y-%m-%d %H:%M:%S %z", format!("{civil} +0000"))
            .map_err(|e| format!("{text:?} is not a time like 2026-03-01 12:00:00 UTC ({e})"));
    }
    if text.len() > 20 && text.as_bytes()[10] == b' ' {
        return Timestamp::strptime("%Y-%m-%d %H:%M:%S %z", text)
            .map_err(|e| format!("{text:?} is not a time like 2026-03-01 12:00:00 +0100 ({e})"));
    }
    parse_time(text)
}

/// The first line of a commit message: its subject.
pub(crate) fn subject(message: &str) -> Option<String> {
    let line = message.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_time_forms_parse_to_the_same_instant() {
        let want: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
        assert_eq!(parse_webhook_time("2026-03-01 12:00:00 UTC"), Ok(want));
        assert_eq!(parse_webhook_time("2026-03-01 13:00:00 +0100"), Ok(want));
        assert_eq!(parse_webhook_time("2026-03-01T08:00:00-04:00"), Ok(want));
        assert!(parse_webhook_time("2026-03-01 12:00:00").is_err());
    }

    #[test]
    fn paths_name_the_field_that_is_wrong() {
        let value = serde_json::json!({"a": {"b": 3}, "s": "x"});
        let p = Payload(&value);
        assert_eq!(
            p.str("a.b").unwrap_err().to_string(),
            "a.b: expected text, found a number"
        );
        assert_eq!(p.str("a.c").unwrap_err().to_string(), "a.c: missing");
        assert_eq!(
            p.u64("s.t").unwrap_err().to_string(),
            "s.t: expected an object on the way, found a string"
        );
        assert_eq!(p.u64("a.b"), Ok(3));
    }
}
