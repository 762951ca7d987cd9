//! What [`compute`](super::compute) returns: the numbers, their levels and scores, and the
//! evidence behind them.
//!
//! These types serialize to the `flowmap dora --format json` contract (SPEC §9): the field
//! names are a public interface. Durations are hours, ratios are fractions in [0, 1], times
//! are RFC 3339 UTC, and a number without data is `null`, never a zero pretending to be a
//! measurement.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::levels::Level;
use super::quick_check::{QuickCheck, QuickCheckBenchmark};
use crate::events::DeploymentKind;

/// The DORA report for one window.
///
/// With exactly one service selected, the metric fields describe that service and
/// `services` is absent. Otherwise `service` is `null`, the metric fields pool every
/// selected service (as one system: its deployments, changes and failures together), and
/// `services` holds the same metrics for each service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DoraReport {
    /// The service, or `null` for the pooled totals of several.
    pub service: Option<String>,
    /// The environments joined with `,` in the order given (`"production"` by default).
    pub environment: String,
    /// The same environments as a list.
    pub environments: Vec<String>,
    pub since: Timestamp,
    pub until: Timestamp,
    pub attribution_window_hours: f64,
    /// The benchmark the `level` fields come from (`dora-2023`).
    pub levels_benchmark: String,
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Per-service metrics when no single service was selected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<ServiceMetrics>>,
    /// The benchmark the Quick Check scores are compared with.
    pub quick_check_benchmark: QuickCheckBenchmark,
    /// The evidence, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explain>,
}

/// One service's entry in [`DoraReport::services`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceMetrics {
    pub service: String,
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// The five metrics with their levels and Quick Check scores, for one service or a pool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub deployment_frequency: DeploymentFrequency,
    pub lead_time: LeadTime,
    pub change_failure_rate: ChangeFailureRate,
    pub recovery_time: RecoveryTime,
    pub rework_rate: ReworkRate,
    /// Failed deployments per week: the volume entering the recovery stream
    /// (= change fail rate × deployments per week).
    pub recovery_volume_per_week: f64,
    pub quick_check: QuickCheck,
    /// The same numbers per ISO week, for trends.
    pub weekly: Vec<Week>,
    /// Plain-language remarks on missing or doubtful data behind these numbers.
    pub notes: Vec<String>,
}

/// How often the service reached production.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentFrequency {
    /// Successful deployments finished in the window.
    pub deployments: u64,
    /// `deployments ÷ window days × 7`.
    pub per_week: f64,
    /// Distinct UTC days with a deployment `÷ window days × 7`.
    pub deploy_days_per_week: f64,
    /// Median of the distinct deployment days in each complete ISO week inside the window
    /// (weeks without deployments count as 0); `null` when no whole week fits.
    pub deploy_days_per_week_median: Option<f64>,
    /// How many complete ISO weeks the median is taken over.
    pub complete_weeks: u64,
    /// By deployment days per week.
    pub level: Level,
}

/// Change lead time: commit to running in the environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeadTime {
    /// Changes shipped by a deployment in the window, with a lead time ≥ 0.
    pub changes: u64,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    pub level: Option<Level>,
    /// Changes committed after their deployment finished: excluded and listed in
    /// `explain.negative_lead_times`.
    pub negative_excluded: u64,
}

/// Change fail rate: the share of deployments that failed in production.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeFailureRate {
    pub deployments: u64,
    pub failed: u64,
    pub rate: Option<f64>,
    pub level: Option<Level>,
}

/// Failed deployment recovery time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecoveryTime {
    /// Failed deployments in the window.
    pub failures: u64,
    /// Of those, the ones recovered (all their incidents resolved, or fixed).
    pub recovered: u64,
    /// `failures − recovered`: counted, listed, never timed.
    pub unrecovered: u64,
    /// Median over the recovered failures.
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    pub level: Option<Level>,
}

/// Deployment rework rate: the share of deployments that were hotfixes or rollbacks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReworkRate {
    pub deployments: u64,
    pub rework: u64,
    pub rate: Option<f64>,
}

/// One ISO week of the window (the first and last may be partial).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Week {
    /// ISO week, e.g. `2026-W09`.
    pub week: String,
    /// Monday 00:00 UTC.
    pub start: Timestamp,
    /// Whether the whole week lies inside the window.
    pub complete: bool,
    pub deployments: u64,
    pub deploy_days: u64,
    pub changes: u64,
    pub lead_time_median_hours: Option<f64>,
    /// Failed deployments that week: the recovery stream's volume.
    pub failed: u64,
    pub rework: u64,
    pub recovery_median_hours: Option<f64>,
}

/// The evidence behind every number (`--explain`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Explain {
    /// Every deployment counted in the window.
    pub deployments: Vec<DeploymentEvidence>,
    /// Every change whose lead time is counted.
    pub changes: Vec<ChangeEvidence>,
    /// Every failed deployment in the window, with why it counts and how it recovered.
    pub failed_deployments: Vec<FailedDeployment>,
    /// The failed deployments that have not recovered.
    pub unrecovered_failures: Vec<UnrecoveredFailure>,
    /// Deploy runs that failed in the window: neither deployments nor failures.
    pub failed_runs: Vec<FailedRun>,
    /// Change ids that deployments in the window list but the change data lacks.
    pub unknown_changes: Vec<UnknownChange>,
    /// Changes committed after the deployment that shipped them finished.
    pub negative_lead_times: Vec<NegativeLeadTime>,
    /// Changes committed in the window that no deployment in the environments ships.
    pub orphan_changes: Vec<OrphanChange>,
    /// Incidents that started in the window and are attributed to no deployment.
    pub unattributed_incidents: Vec<UnattributedIncident>,
    /// Hotfix or rollback `fixes` links that were not followed, and why.
    pub ignored_fixes: Vec<IgnoredFix>,
    /// Deployments in the window that are the first of their service and environment in
    /// the data: the changes they ship may carry history from before tracking began.
    pub first_deployments: Vec<FirstDeployment>,
}

/// A deployment counted in the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentEvidence {
    pub deployment: String,
    pub service: String,
    pub environment: String,
    pub finished_at: Timestamp,
    pub kind: DeploymentKind,
    /// Changes whose lead time counts through this deployment.
    pub changes: u64,
    pub failed: bool,
}

/// A change whose lead time is counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvidence {
    pub change: String,
    pub service: String,
    pub environment: String,
    pub deployment: String,
    pub committed_at: Timestamp,
    pub deployed_at: Timestamp,
    pub lead_time_hours: f64,
}

/// A failed deployment and its evidence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailedDeployment {
    pub deployment: String,
    pub service: String,
    pub environment: String,
    pub finished_at: Timestamp,
    pub kind: DeploymentKind,
    /// Why it counts as failed; one entry per piece of evidence.
    pub reasons: Vec<FailureReason>,
    pub recovered: bool,
    /// When service was restored: the last incident's resolution, or the fix deployment.
    pub recovered_at: Option<Timestamp>,
    /// `null` when not recovered, or when the recorded times put recovery before the
    /// deployment (see `anomaly`).
    pub recovery_hours: Option<f64>,
    /// A contradiction in the data that kept this recovery out of the statistics.
    pub anomaly: Option<String>,
}

/// One reason a deployment counts as failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum FailureReason {
    /// An incident names this deployment in `caused_by`.
    CausedBy { incident: String },
    /// An incident of the service started within the attribution window after this
    /// deployment finished and before the next deployment finished.
    IncidentInWindow {
        incident: String,
        hours_after_deployment: f64,
    },
    /// A later hotfix or rollback deployment names this one in `fixes`.
    FixedBy {
        deployment: String,
        kind: DeploymentKind,
    },
}

/// A failed deployment that has not recovered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnrecoveredFailure {
    pub deployment: String,
    pub service: String,
    pub environment: String,
    pub finished_at: Timestamp,
    pub reason: String,
    /// Its incidents without `resolved_at`.
    pub open_incidents: Vec<String>,
}

/// A deploy run that failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailedRun {
    pub deployment: String,
    pub service: String,
    pub environment: String,
    pub finished_at: Timestamp,
    pub kind: DeploymentKind,
}

/// A change with a negative lead time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NegativeLeadTime {
    pub change: String,
    pub service: String,
    pub environment: String,
    pub deployment: String,
    pub committed_at: Timestamp,
    pub deployed_at: Timestamp,
    pub lead_time_hours: f64,
}

/// A change id a deployment lists that is not in the change data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnknownChange {
    pub change: String,
    pub service: String,
    pub deployment: String,
}

/// A change that no deployment ships.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrphanChange {
    pub change: String,
    pub service: String,
    pub committed_at: Timestamp,
    pub reason: String,
}

/// An incident attributed to no deployment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnattributedIncident {
    pub incident: String,
    pub service: String,
    pub started_at: Timestamp,
    pub reason: String,
}

/// A `fixes` link that was not followed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IgnoredFix {
    pub deployment: String,
    pub service: String,
    pub environment: String,
    pub fixes: String,
    pub reason: String,
}

/// The first deployment of a service and environment in the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FirstDeployment {
    pub deployment: String,
    pub service: String,
    pub environment: String,
    pub finished_at: Timestamp,
    /// Changes it ships whose lead time is counted.
    pub changes: u64,
    pub earliest_committed_at: Option<Timestamp>,
    pub longest_lead_time_hours: Option<f64>,
}
