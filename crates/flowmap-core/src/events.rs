//! Delivery events: what really happened (SPEC §4).
//!
//! These are plain values. Where they came from (a file, git, a webhook) and where they
//! are kept is the business of `flowmap-ingest` and `flowmap-store`; the metric math in
//! [`crate::dora`] only ever sees slices of them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

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

impl DeploymentKind {
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
