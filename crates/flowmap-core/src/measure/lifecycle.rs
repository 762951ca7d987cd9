//! Lifecycle points of every item of a stream, from the same links the DORA engine makes.
//!
//! A *delivery* item is a change of the scoped service; a *recovery* item is a failed
//! deployment of that service in the scoped environment. The change → deployment links,
//! the failed deployments, their incidents, fixes and recovery all come from
//! [`dora::links`], the engine's own linking and attribution, so a measured map and
//! `flowmap dora` never disagree about what shipped or what failed.
//!
//! Only the points a map binds are computed, one column (one time or absent per item)
//! each. Builds are joined to changes through the partitioned string join the engine uses
//! ([`KeyIndex`]), milestones through a hash map of the (usually few) milestones with the
//! bound names.

use foldhash::HashMap;
use jiff::{SignedDuration, Timestamp};

use crate::dora::keys::{KeyIndex, Keys};
use crate::dora::{self, DoraError, DoraInput, DoraLinks, DoraOptions};
use crate::events::{Build, Change, Deployment, DeploymentStatus, Incident, Milestone};
use crate::map::Stream;

use super::points::Point;

/// Every event a measurement can read, borrowed.
///
/// As for DORA, give it everything that can matter, not only the window: a change
/// committed before the window can be deployed inside it.
#[derive(Clone, Copy, Debug, Default)]
pub struct MeasureData<'a> {
    pub deployments: &'a [Deployment],
    pub changes: &'a [Change],
    pub incidents: &'a [Incident],
    pub builds: &'a [Build],
    pub milestones: &'a [Milestone],
}

impl<'a> MeasureData<'a> {
    fn dora(&self) -> DoraInput<'a> {
        DoraInput {
            deployments: self.deployments,
            changes: self.changes,
            incidents: self.incidents,
        }
    }
}

/// Whose items: one service, one environment, the DORA attribution window.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemScope {
    pub service: String,
    pub environment: String,
    pub attribution_window: SignedDuration,
}

/// The items of a stream with one column of times per requested point.
#[derive(Clone, Debug, Default)]
pub struct Items<'a> {
    /// Item ids: change ids, or failed deployment ids.
    pub ids: Vec<&'a str>,
    columns: Vec<(Point, Vec<Option<Timestamp>>)>,
    /// Successful deployments of the scope finished in the window, and how many of them
    /// failed: the change fail rate the map's `ca: change_fail_rate` binds to.
    pub deployments_in_window: usize,
    pub failed_in_window: usize,
}

impl Items<'_> {
    /// The times of `point`, one per item; `None` for a point that was not requested.
    pub fn column(&self, point: &Point) -> Option<&[Option<Timestamp>]> {
        self.columns
            .iter()
            .find(|(p, _)| p == point)
            .map(|(_, c)| c.as_slice())
    }

    /// The change fail rate in the window, when there were deployments.
    pub fn change_fail_rate(&self) -> Option<f64> {
        (self.deployments_in_window > 0)
            .then(|| self.failed_in_window as f64 / self.deployments_in_window as f64)
    }
}

fn link_options(
    scope: &ItemScope,
    environment: &str,
    since: Timestamp,
    until: Timestamp,
) -> DoraOptions {
    let mut options = DoraOptions::new(since, until);
    options.services = vec![scope.service.clone()];
    options.environments = vec![environment.to_owned()];
    options.attribution_window = scope.attribution_window;
    options
}

/// The items of `stream` in `scope` with the times of `points` (repeats are computed
/// once), and the change fail rate over [since, until).
///
/// # Errors
///
/// When the window is empty or the attribution window negative.
pub fn lifecycle<'a>(
    data: &MeasureData<'a>,
    scope: &ItemScope,
    stream: Stream,
    points: &[Point],
    since: Timestamp,
    until: Timestamp,
) -> Result<Items<'a>, DoraError> {
    let links = dora::links(
        &data.dora(),
        &link_options(scope, &scope.environment, since, until),
    )?;
    let in_window = |t: Timestamp| since <= t && t < until;
    let deployments_in_window = data
        .deployments
        .iter()
        .filter(|d| {
            d.status == DeploymentStatus::Success
                && d.service == scope.service
                && d.environment == scope.environment
                && in_window(d.finished_at)
        })
        .count();
    let failed_in_window = links
        .failed
        .iter()
        .filter(|f| in_window(data.deployments[f.deployment].finished_at))
        .count();
    let mut wanted: Vec<Point> = points.to_vec();
    wanted.sort();
    wanted.dedup();
    let mut items = match stream {
        Stream::Delivery => delivery(data, scope, &links, &wanted, since, until)?,
        Stream::Recovery => recovery(data, scope, &links, &wanted),
    };
    items.deployments_in_window = deployments_in_window;
    items.failed_in_window = failed_in_window;
    Ok(items)
}

/// Earliest milestone named `name` per item id (of the service, or of no stated service).
fn milestones_named<'a>(
    milestones: &'a [Milestone],
    name: &str,
    service: &str,
) -> HashMap<&'a str, Timestamp> {
    let mut earliest: HashMap<&str, Timestamp> = HashMap::default();
    for m in milestones {
        if m.name == name && m.service.as_deref().is_none_or(|s| s == service) {
            let at = earliest.entry(&m.item).or_insert(m.at);
            *at = (*at).min(m.at);
        }
    }
    earliest
}

fn delivery<'a>(
    data: &MeasureData<'a>,
    scope: &ItemScope,
    links: &DoraLinks,
    points: &[Point],
    since: Timestamp,
    until: Timestamp,
) -> Result<Items<'a>, DoraError> {
    let changes: Vec<usize> = data
        .changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.service == scope.service)
        .map(|(i, _)| i)
        .collect();
    let deployment = |ci: usize| links.shipped(ci, 0).map(|d| &data.deployments[d]);
    let builds = points
        .iter()
        .any(|p| matches!(p, Point::BuildStarted | Point::BuildFinished))
        .then(|| change_builds(data, scope, &changes, links));
    let mut columns = Vec::new();
    for point in points {
        let field = |get: fn(&Change) -> Option<Timestamp>| -> Vec<Option<Timestamp>> {
            changes.iter().map(|&ci| get(&data.changes[ci])).collect()
        };
        let column = match point {
            Point::FirstCommit => field(|c| c.first_commit_at),
            Point::Authored => field(|c| c.authored_at),
            Point::Committed => field(|c| Some(c.committed_at)),
            Point::PrOpened => field(|c| c.pr_opened_at),
            Point::FirstReview => field(|c| c.first_review_at),
            Point::Approved => field(|c| c.approved_at),
            Point::Merged => field(|c| c.merged_at),
            Point::BuildStarted | Point::BuildFinished => {
                let builds = builds.as_deref().unwrap_or_default();
                let started = *point == Point::BuildStarted;
                builds
                    .iter()
                    .map(|b| {
                        b.map(|b| {
                            let b = &data.builds[b];
                            if started { b.started_at } else { b.finished_at }
                        })
                    })
                    .collect()
            }
            Point::DeployStarted => changes
                .iter()
                .map(|&ci| deployment(ci).and_then(|d| d.started_at))
                .collect(),
            Point::Deployed => changes
                .iter()
                .map(|&ci| deployment(ci).map(|d| d.finished_at))
                .collect(),
            Point::DeployedAt(env) if *env == scope.environment => changes
                .iter()
                .map(|&ci| deployment(ci).map(|d| d.finished_at))
                .collect(),
            Point::DeployedAt(env) => {
                let there = dora::links(&data.dora(), &link_options(scope, env, since, until))?;
                changes
                    .iter()
                    .map(|&ci| {
                        there
                            .shipped(ci, 0)
                            .map(|d| data.deployments[d].finished_at)
                    })
                    .collect()
            }
            Point::Event(name) => {
                let earliest = milestones_named(data.milestones, name, &scope.service);
                changes
                    .iter()
                    .map(|&ci| earliest.get(data.changes[ci].id.as_str()).copied())
                    .collect()
            }
            // Recovery points never parse in a delivery map; a caller asking anyway gets
            // an absent point for every item.
            Point::Failed
            | Point::IncidentStarted
            | Point::Detected
            | Point::Acknowledged
            | Point::FixDeployed
            | Point::Recovered => vec![None; changes.len()],
        };
        columns.push((point.clone(), column));
    }
    Ok(Items {
        ids: changes
            .iter()
            .map(|&ci| data.changes[ci].id.as_str())
            .collect(),
        columns,
        ..Items::default()
    })
}

/// The earliest-finishing build among two (ties by input order).
fn earlier(builds: &[Build], a: u32, b: u32) -> u32 {
    if builds[b as usize].finished_at < builds[a as usize].finished_at {
        b
    } else {
        a
    }
}

/// What a key can find among the builds: the earliest that lists it or ran on it as its
/// commit, and the earliest that ran on it as its commit.
#[derive(Clone, Copy)]
struct BuildKey {
    any: Option<u32>,
    commit: Option<u32>,
}

/// Each change's build: the earliest-finishing successful build of its service that lists
/// it or whose `commit` is the change's id; failing that, the earliest-finishing
/// successful build whose `commit` is that of the deployment that shipped the change in
/// the scoped environment.
fn change_builds(
    data: &MeasureData<'_>,
    scope: &ItemScope,
    changes: &[usize],
    links: &DoraLinks,
) -> Vec<Option<usize>> {
    let builds = data.builds;
    let usable = || {
        builds
            .iter()
            .enumerate()
            .filter(|(_, b)| b.status == DeploymentStatus::Success && b.service == scope.service)
    };
    let (mut count, mut bytes) = (0, 0);
    for (_, b) in usable() {
        count += b.changes.len() + usize::from(b.commit.is_some());
        bytes += b.changes.iter().map(String::len).sum::<usize>();
        bytes += b.commit.as_ref().map_or(0, String::len);
    }
    let mut keys = Keys::new(count, bytes);
    for (i, b) in usable() {
        let i = i as u32;
        for id in &b.changes {
            keys.push(
                0,
                id,
                BuildKey {
                    any: Some(i),
                    commit: None,
                },
            );
        }
        if let Some(commit) = &b.commit {
            keys.push(
                0,
                commit,
                BuildKey {
                    any: Some(i),
                    commit: Some(i),
                },
            );
        }
    }
    let either = |a: Option<u32>, b: Option<u32>| match (a, b) {
        (Some(a), Some(b)) => Some(earlier(builds, a, b)),
        (a, b) => a.or(b),
    };
    let index = KeyIndex::build(keys, |a: BuildKey, b: BuildKey| BuildKey {
        any: either(a.any, b.any),
        commit: either(a.commit, b.commit),
    });

    let mut found: Vec<Option<usize>> = vec![None; changes.len()];
    let mut probes = index.probes::<u32>(changes.len());
    for (item, &ci) in changes.iter().enumerate() {
        probes.push(0, &data.changes[ci].id, item as u32);
    }
    index.probe(probes, |item, key| {
        found[item as usize] = key.any.map(|b| b as usize);
    });
    let mut fallback = index.probes::<u32>(changes.len());
    for (item, &ci) in changes.iter().enumerate() {
        if found[item].is_some() {
            continue;
        }
        let commit = links
            .shipped(ci, 0)
            .and_then(|d| data.deployments[d].commit.as_deref());
        if let Some(commit) = commit {
            fallback.push(0, commit, item as u32);
        }
    }
    index.probe(fallback, |item, key| {
        found[item as usize] = key.commit.map(|b| b as usize);
    });
    found
}

fn recovery<'a>(
    data: &MeasureData<'a>,
    scope: &ItemScope,
    links: &DoraLinks,
    points: &[Point],
) -> Items<'a> {
    let failed = &links.failed;
    let earliest_incident = |f: &dora::FailedDeploymentLinks,
                             get: fn(&Incident) -> Option<Timestamp>|
     -> Option<Timestamp> {
        f.incidents
            .iter()
            .filter_map(|&i| get(&data.incidents[i]))
            .min()
    };
    let mut columns = Vec::new();
    for point in points {
        let column: Vec<Option<Timestamp>> = match point {
            Point::Failed => failed
                .iter()
                .map(|f| Some(data.deployments[f.deployment].finished_at))
                .collect(),
            Point::IncidentStarted => failed
                .iter()
                .map(|f| earliest_incident(f, |i| Some(i.started_at)))
                .collect(),
            Point::Detected => failed
                .iter()
                .map(|f| earliest_incident(f, |i| i.detected_at))
                .collect(),
            Point::Acknowledged => failed
                .iter()
                .map(|f| earliest_incident(f, |i| i.acknowledged_at))
                .collect(),
            Point::FixDeployed => failed
                .iter()
                .map(|f| {
                    f.fixes
                        .iter()
                        .map(|&d| data.deployments[d].finished_at)
                        .min()
                })
                .collect(),
            Point::Recovered => failed.iter().map(|f| f.recovered_at).collect(),
            Point::Event(name) => {
                let earliest = milestones_named(data.milestones, name, &scope.service);
                failed
                    .iter()
                    .map(|f| {
                        f.incidents
                            .iter()
                            .filter_map(|&i| earliest.get(data.incidents[i].id.as_str()).copied())
                            .min()
                    })
                    .collect()
            }
            // Delivery points never parse in a recovery map.
            _ => vec![None; failed.len()],
        };
        columns.push((point.clone(), column));
    }
    Items {
        ids: failed
            .iter()
            .map(|f| data.deployments[f.deployment].id.as_str())
            .collect(),
        columns,
        ..Items::default()
    }
}
