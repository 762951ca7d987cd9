//! Which deployments failed, why, and when they recovered (SPEC §5).
//!
//! A deployment is failed when
//! 1. an incident names it in `caused_by`;
//! 2. an incident of its service without `caused_by` starts within the attribution window
//!    after it finished and before the next deployment of that service (in the same
//!    environment) finished: the incident belongs to the latest deployment with
//!    `finished_at ≤ started_at`, if `started_at − finished_at < window`;
//! 3. a later hotfix or rollback deployment names it in `fixes`.
//!
//! An explicit `caused_by` wins over timing: such an incident is never also attributed by
//! the window rule, and when it names no successful deployment in scope it stays
//! unattributed (and is reported), because guessing would hide a data problem.

use jiff::{SignedDuration, Timestamp};

use crate::events::Incident;

use super::scope::{Dep, NONE, Scope};

/// One piece of evidence that a deployment failed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cause {
    CausedBy(u32),
    InWindow {
        incident: u32,
        after: SignedDuration,
    },
    FixedBy(u32),
}

/// Why an incident that started in scope is attributed to no deployment.
pub(crate) enum Unattributed<'a> {
    /// `caused_by` names no successful deployment of the service in the environments.
    CausedByUnknown(&'a str),
    /// No deployment of the service finished before it started.
    NoDeploymentBefore,
    /// The latest deployment before it finished too long before.
    BeyondWindow { pos: u32, after: SignedDuration },
}

/// Why a deployment's `fixes` was not followed.
pub(crate) enum FixIgnored {
    /// A normal deployment: only hotfixes and rollbacks mark failures.
    NotRework,
    /// Names no successful deployment of the service in the environments.
    Unknown,
    /// Names a deployment that did not finish before it.
    NotLater,
}

pub(crate) struct Failures<'a> {
    /// Per deployment position: the evidence it failed (empty = not failed).
    pub(crate) causes: Vec<Vec<Cause>>,
    /// (incident index, reason) for in-scope incidents attributed to nothing.
    pub(crate) unattributed: Vec<(u32, Unattributed<'a>)>,
    /// (deployment position, reason).
    pub(crate) ignored_fixes: Vec<(u32, FixIgnored)>,
}

pub(crate) fn attribute<'a>(
    scope: &Scope<'a>,
    incidents: &'a [Incident],
    window: SignedDuration,
) -> Failures<'a> {
    let deps = &scope.deps;
    let mut causes: Vec<Vec<Cause>> = vec![Vec::new(); deps.len()];
    let mut unattributed = Vec::new();

    for (ii, incident) in incidents.iter().enumerate() {
        let service = scope.incident_service[ii];
        if service == NONE {
            continue;
        }
        let ii = ii as u32;
        if let Some(id) = incident.caused_by.as_deref() {
            match scope.deployment(service, id) {
                Some(pos) => causes[pos as usize].push(Cause::CausedBy(ii)),
                None => unattributed.push((ii, Unattributed::CausedByUnknown(id))),
            }
            continue;
        }
        let mut attributed = false;
        let mut nearest: Option<(u32, SignedDuration)> = None;
        for env in 0..scope.envs.len() as u32 {
            let timeline = scope.timeline(service, env);
            let slice = &deps[timeline.start as usize..timeline.end as usize];
            let before = slice.partition_point(|d| d.finished_at <= incident.started_at);
            if before == 0 {
                continue;
            }
            let pos = timeline.start + before as u32 - 1;
            let after = incident
                .started_at
                .duration_since(deps[pos as usize].finished_at);
            if after < window {
                causes[pos as usize].push(Cause::InWindow {
                    incident: ii,
                    after,
                });
                attributed = true;
            } else if nearest.is_none_or(|(_, a)| after < a) {
                nearest = Some((pos, after));
            }
        }
        if !attributed {
            let reason = match nearest {
                Some((pos, after)) => Unattributed::BeyondWindow { pos, after },
                None => Unattributed::NoDeploymentBefore,
            };
            unattributed.push((ii, reason));
        }
    }

    let mut ignored_fixes = Vec::new();
    for (pos, dep) in deps.iter().enumerate() {
        let Some(target) = dep.d.fixes.as_deref() else {
            continue;
        };
        let pos = pos as u32;
        if !dep.d.kind.is_rework() {
            ignored_fixes.push((pos, FixIgnored::NotRework));
            continue;
        }
        match scope.deployment(dep.service, target) {
            Some(t) if deps[t as usize].finished_at < dep.finished_at => {
                causes[t as usize].push(Cause::FixedBy(pos));
            }
            Some(_) => ignored_fixes.push((pos, FixIgnored::NotLater)),
            None => ignored_fixes.push((pos, FixIgnored::Unknown)),
        }
    }

    Failures {
        causes,
        unattributed,
        ignored_fixes,
    }
}

/// How a failed deployment recovered.
pub(crate) enum Recovery {
    /// Service restored `hours` after the deployment finished.
    Recovered { at: Timestamp, hours: f64 },
    /// The data says service was restored before the deployment finished (an incident
    /// resolved before it): counted as recovered, left out of the statistics.
    Anomalous { at: Timestamp },
    /// Not yet recovered: these incidents are unresolved (empty: neither an incident nor
    /// a fix says it ended).
    Open { open: Vec<u32> },
}

/// Recovery of a failed deployment: the latest `resolved_at` of its incidents; without
/// incidents, the first deployment that fixes it. Any unresolved incident keeps it open,
/// even when a fix was deployed (SPEC §5).
pub(crate) fn recovery(
    dep: &Dep,
    causes: &[Cause],
    incidents: &[Incident],
    deps: &[Dep],
) -> Recovery {
    let mut had_incident = false;
    let mut last_resolved: Option<Timestamp> = None;
    let mut open = Vec::new();
    let mut first_fix: Option<Timestamp> = None;
    for cause in causes {
        match *cause {
            Cause::CausedBy(i) | Cause::InWindow { incident: i, .. } => {
                had_incident = true;
                match incidents[i as usize].resolved_at {
                    Some(r) => last_resolved = last_resolved.max(Some(r)),
                    None => open.push(i),
                }
            }
            Cause::FixedBy(p) => {
                let at = deps[p as usize].finished_at;
                first_fix = Some(first_fix.map_or(at, |f| f.min(at)));
            }
        }
    }
    let end = if had_incident {
        if !open.is_empty() {
            return Recovery::Open { open };
        }
        last_resolved
    } else {
        first_fix
    };
    let Some(at) = end else {
        return Recovery::Open { open };
    };
    let took = at.duration_since(dep.finished_at);
    if took.is_negative() {
        Recovery::Anomalous { at }
    } else {
        Recovery::Recovered {
            at,
            hours: took.as_secs_f64() / 3600.0,
        }
    }
}
