//! Delivery events: what really happened (SPEC §4).
//!
//! These are plain values. Where they came from (a file, git, a webhook) and where they
//! are kept is the business of `flowmap-ingest` and `flowmap-store`; the metric math in
//! [`crate::dora`] only ever sees slices of them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The environment deployments to production are recorded under: the default of every
/// source and of every report.
pub const PRODUCTION: &str = "production";

/// Whether a deploy run reached its environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentStatus {
    Success,
    Failure,
}

/// Why a deployment was made: ordinary delivery, or remediation of an earlier one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentKind {
    #[default]
    Normal,
    Hotfix,
    Rollback,
}

impl DeploymentStatus {
    /// `success` or `failure`: the name in files, JSON and pages.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Success => "success",
            DeploymentStatus::Failure => "failure",
        }
    }
}

impl DeploymentKind {
    /// `normal`, `hotfix` or `rollback`: the name in files, JSON and pages.
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentKind::Normal => "normal",
            DeploymentKind::Hotfix => "hotfix",
            DeploymentKind::Rollback => "rollback",
        }
    }

    /// Hotfixes and rollbacks are rework: unplanned deployments that repair production.
    pub fn is_rework(self) -> bool {
        matches!(self, DeploymentKind::Hotfix | DeploymentKind::Rollback)
    }
}

/// One deploy run of a service to an environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub service: String,
    /// `production` unless the source says otherwise.
    pub environment: String,
    pub status: DeploymentStatus,
    pub started_at: Option<Timestamp>,
    pub finished_at: Timestamp,
    /// The commit this deployment shipped, when known.
    pub commit: Option<String>,
    /// Ids of the changes this deployment lists as shipped.
    pub changes: Vec<String>,
    pub kind: DeploymentKind,
    /// Id of the deployment a hotfix or rollback remediates.
    pub fixes: Option<String>,
}

impl Deployment {
    /// A successful, normal deployment to `production` that lists no changes: the common
    /// case, to adjust field by field.
    pub fn new(id: impl Into<String>, service: impl Into<String>, finished_at: Timestamp) -> Self {
        Deployment {
            id: id.into(),
            service: service.into(),
            environment: PRODUCTION.into(),
            status: DeploymentStatus::Success,
            started_at: None,
            finished_at,
            commit: None,
            changes: Vec::new(),
            kind: DeploymentKind::Normal,
            fixes: None,
        }
    }
}

/// One change: a commit or a pull request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// A commit sha or a pull request id.
    pub id: String,
    pub service: String,
    pub committed_at: Timestamp,
    pub authored_at: Option<Timestamp>,
    pub first_commit_at: Option<Timestamp>,
    pub pr_opened_at: Option<Timestamp>,
    pub first_review_at: Option<Timestamp>,
    pub approved_at: Option<Timestamp>,
    pub merged_at: Option<Timestamp>,
    /// Id of the deployment that shipped this change, when the source knows it.
    pub deployment: Option<String>,
    pub author: Option<String>,
    pub title: Option<String>,
    /// The change this one reverts (from git's "This reverts commit X").
    pub reverts: Option<String>,
}

impl Change {
    /// A change known only by its id, service and commit time; every optional field empty.
    pub fn new(id: impl Into<String>, service: impl Into<String>, committed_at: Timestamp) -> Self {
        Change {
            id: id.into(),
            service: service.into(),
            committed_at,
            authored_at: None,
            first_commit_at: None,
            pr_opened_at: None,
            first_review_at: None,
            approved_at: None,
            merged_at: None,
            deployment: None,
            author: None,
            title: None,
            reverts: None,
        }
    }
}

/// One production incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub service: String,
    pub started_at: Timestamp,
    pub detected_at: Option<Timestamp>,
    pub acknowledged_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// Id of the deployment that caused it, when known.
    pub caused_by: Option<String>,
    pub severity: Option<String>,
    pub title: Option<String>,
}

impl Incident {
    /// An incident known only by its id, service and start; every optional field empty.
    pub fn new(id: impl Into<String>, service: impl Into<String>, started_at: Timestamp) -> Self {
        Incident {
            id: id.into(),
            service: service.into(),
            started_at,
            detected_at: None,
            acknowledged_at: None,
            resolved_at: None,
            caused_by: None,
            severity: None,
            title: None,
        }
    }
}

/// One CI pipeline run (SPEC §11): a workflow or pipeline that built and tested changes.
/// A pipeline that deploys is a [`Deployment`], never a build.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Build {
    pub id: String,
    pub service: String,
    /// Builds share the deployments' success/failure vocabulary.
    pub status: DeploymentStatus,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    /// The commit the build ran on, when known.
    pub commit: Option<String>,
    /// Ids of the changes this build lists.
    pub changes: Vec<String>,
    /// The workflow or pipeline name.
    pub name: Option<String>,
}

impl Build {
    /// A successful build of no listed changes: the common case, to adjust field by field.
    pub fn new(
        id: impl Into<String>,
        service: impl Into<String>,
        started_at: Timestamp,
        finished_at: Timestamp,
    ) -> Self {
        Build {
            id: id.into(),
            service: service.into(),
            status: DeploymentStatus::Success,
            started_at,
            finished_at,
            commit: None,
            changes: Vec::new(),
            name: None,
        }
    }
}

/// A named point in an item's life that no git or pull-request event covers (SPEC §11):
/// "manual QA passed", "change advisory board approved", as a ticket system records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Milestone {
    /// A change id or an incident id.
    pub item: String,
    /// `[a-z0-9_-]+`, the `NAME` of an `event:NAME` lifecycle point.
    pub name: String,
    pub at: Timestamp,
    /// The item's service, when the source knows it.
    pub service: Option<String>,
}
