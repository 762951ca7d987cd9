//! The links the engine makes, for callers that need them item by item: which deployment
//! shipped each change, and which deployments failed, with their incidents, fixes and
//! recovery. Measured value streams (`crate::measure`) read their lifecycle points from
//! here, so a map measured against the data and `flowmap dora` always agree on what
//! shipped a change and what failed.
//!
//! [`links`] runs exactly the engine's linking and attribution ([`linking`] and
//! [`failures`]) and only translates its positions back into input indices.

use jiff::Timestamp;

use super::assemble::Window;
use super::calendar::{NANOS_PER_DAY, WeekGrid};
use super::failures::{self, Cause, Recovery};
use super::linking;
use super::scope::{NONE, Scope};
use super::{DoraError, DoraInput, DoraOptions};

/// What the engine linked, in terms of the input slices' indices.
#[derive(Clone, Debug, PartialEq)]
pub struct DoraLinks {
    /// The environments in the options' order (repeats removed): `env` in
    /// [`DoraLinks::shipped`] indexes this list.
    pub environments: Vec<String>,
    n_env: usize,
    /// `shipped[change * n_env + env]`: input index of the deployment that shipped the
    /// change to that environment, or [`NONE`].
    shipped: Vec<u32>,
    /// Every failed deployment in scope, at any time, in (service, environment,
    /// `finished_at`, id) order.
    pub failed: Vec<FailedDeploymentLinks>,
}

/// One failed deployment and what the engine attributed to it.
#[derive(Clone, Debug, PartialEq)]
pub struct FailedDeploymentLinks {
    /// Index of the failed deployment in [`DoraInput::deployments`].
    pub deployment: usize,
    /// Indices in [`DoraInput::incidents`] of the incidents attributed to it (by
    /// `caused_by` or by the attribution window), in the order found.
    pub incidents: Vec<usize>,
    /// Indices in [`DoraInput::deployments`] of the hotfix and rollback deployments that
    /// name it in `fixes` and finished after it.
    pub fixes: Vec<usize>,
    /// The end of its recovery time: the latest resolution of its incidents, or its first
    /// fix; `None` while it is not recovered. A recovery the data places before the
    /// failure is kept here (the engine leaves it out of the statistics as an anomaly).
    pub recovered_at: Option<Timestamp>,
}

impl DoraLinks {
    /// Index in [`DoraInput::deployments`] of the deployment that shipped change `change`
    /// (an index in [`DoraInput::changes`]) to environment `env` (an index in
    /// [`DoraLinks::environments`]).
    pub fn shipped(&self, change: usize, env: usize) -> Option<usize> {
        let pos = *self.shipped.get(change * self.n_env + env)?;
        (pos != NONE).then_some(pos as usize)
    }
}

/// The engine's change → deployment links and failure attribution for `options` (its
/// services, environments and attribution window; the window bounds only check that the
/// options are valid, since links do not depend on them).
///
/// # Errors
///
/// As [`compute`](super::compute) for contradictory options (the Quick Check choice is not
/// read).
pub fn links(input: &DoraInput<'_>, options: &DoraOptions) -> Result<DoraLinks, DoraError> {
    if options.since >= options.until {
        return Err(DoraError::EmptyWindow {
            since: options.since,
            until: options.until,
        });
    }
    if options.attribution_window.is_negative() {
        return Err(DoraError::NegativeAttributionWindow(
            options.attribution_window,
        ));
    }
    if options.environments.is_empty() {
        return Err(DoraError::NoEnvironment);
    }
    let window = Window {
        since: options.since,
        until: options.until,
        days: options.until.duration_since(options.since).as_nanos() as f64 / NANOS_PER_DAY,
        grid: WeekGrid::new(options.since, options.until),
    };
    let mut scope = Scope::new(input, options, &window);
    let linked = linking::link(&mut scope, input);
    let attributed = failures::attribute(&scope, input.incidents, options.attribution_window);

    let n_env = scope.envs.len();
    let mut shipped = vec![NONE; input.changes.len() * n_env];
    for change in 0..input.changes.len() {
        if linked.change_service[change] == NONE {
            continue;
        }
        for env in 0..n_env {
            if let Some(pos) = linked.shipped(change, env) {
                shipped[change * n_env + env] = scope.deps[pos as usize].input;
            }
        }
    }

    let mut failed = Vec::new();
    for (pos, causes) in attributed.causes.iter().enumerate() {
        if causes.is_empty() {
            continue;
        }
        let dep = &scope.deps[pos];
        let mut incidents = Vec::new();
        let mut fixes = Vec::new();
        for cause in causes {
            match *cause {
                Cause::CausedBy(i) | Cause::InWindow { incident: i, .. } => {
                    incidents.push(i as usize)
                }
                Cause::FixedBy(p) => fixes.push(scope.deps[p as usize].input as usize),
            }
        }
        let recovered_at = match failures::recovery(dep, causes, input.incidents, &scope.deps) {
            Recovery::Recovered { at, .. } | Recovery::Anomalous { at } => Some(at),
            Recovery::Open { .. } => None,
        };
        failed.push(FailedDeploymentLinks {
            deployment: dep.input as usize,
            incidents,
            fixes,
            recovered_at,
        });
    }

    Ok(DoraLinks {
        environments: scope.envs.iter().map(|e| (*e).to_owned()).collect(),
        n_env,
        shipped,
        failed,
    })
}
