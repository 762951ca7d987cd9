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

use jiff::{SignedDuration, Timestamp};

use crate::dora::keys::{KeyIndex, Keys, key_hash};
use crate::dora::{self, DoraError, DoraInput, DoraLinks, DoraOptions};
use crate::events::{Build, Change, Deployment, DeploymentStatus, Incident, Milestone};
use crate::map::Stream;

use super::points::Point;
use super::segment::{ABSENT, Micros, micros, timestamp};

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
    columns: Vec<(Point, Vec<Micros>)>,
    /// Successful deployments of the scope finished in the window, and how many of them
    /// failed: the change fail rate the map's `ca: change_fail_rate` binds to.
    pub deployments_in_window: usize,
    pub failed_in_window: usize,
}

impl Items<'_> {
    /// The times of `point`, one per item ([`ABSENT`] where the item lacks it); `None`
    /// for a point that was not requested.
    pub fn times(&self, point: &Point) -> Option<&[Micros]> {
        self.columns
            .iter()
            .find(|(p, _)| p == point)
            .map(|(_, c)| c.as_slice())
    }

    /// [`Items::times`] as times.
    pub fn column(&self, point: &Point) -> Option<Vec<Option<Timestamp>>> {
        Some(self.times(point)?.iter().map(|&t| timestamp(t)).collect())
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

/// The earliest milestone named `name` (of `service`, or of no stated service) of each
/// of `items`, through the partitioned join.
fn milestone_times(
    milestones: &[Milestone],
    name: &str,
    service: &str,
    items: &[&str],
    hashes: &[u64],
) -> Vec<Micros> {
    let named = || {
        milestones
            .iter()
            .filter(|m| m.name == name && m.service.as_deref().is_none_or(|s| s == service))
    };
    let (count, bytes) = named().fold((0, 0), |(n, b), m| (n + 1, b + m.item.len()));
    let mut keys = Keys::new(count, bytes);
    for m in named() {
        keys.push(0, &m.item, m.at.as_microsecond());
    }
    let index = KeyIndex::build(keys, Micros::min);
    let mut times = vec![ABSENT; items.len()];
    let mut probes = index.probes::<u32>(items.len());
    for (i, (id, &hash)) in items.iter().zip(hashes).enumerate() {
        probes.push_hashed(hash, 0, id, i as u32);
    }
    index.probe(probes, |i, at| times[i as usize] = at);
    times
}

/// Where a delivery point's time comes from, resolved once before the pass over the
/// changes.
enum Source {
    Field(fn(&Change) -> Option<Timestamp>),
    BuildStarted,
    BuildFinished,
    DeployStarted,
    Deployed,
    /// `deployed@ENV` of another environment: that environment's links.
    DeployedIn(DoraLinks),
    /// A precomputed column (milestones).
    Column(Vec<Micros>),
    Absent,
}

fn delivery<'a>(
    data: &MeasureData<'a>,
    scope: &ItemScope,
    links: &DoraLinks,
    points: &[Point],
    since: Timestamp,
    until: Timestamp,
) -> Result<Items<'a>, DoraError> {
    let changes: Vec<usize> = (0..data.changes.len())
        .filter(|&ci| links.in_scope(ci))
        .collect();
    let ids: Vec<&'a str> = changes
        .iter()
        .map(|&ci| data.changes[ci].id.as_str())
        .collect();
    // Every join on the change ids below probes with these: each id is read and hashed once.
    let joins = points.iter().any(|p| {
        matches!(
            p,
            Point::BuildStarted | Point::BuildFinished | Point::Event(_)
        )
    });
    let hashes: Vec<u64> = if joins {
        ids.iter().map(|id| key_hash(0, id)).collect()
    } else {
        Vec::new()
    };
    let builds = if points
        .iter()
        .any(|p| matches!(p, Point::BuildStarted | Point::BuildFinished))
    {
        change_builds(data, scope, &changes, &ids, &hashes, links)
    } else {
        Vec::new()
    };
    let mut sources = Vec::with_capacity(points.len());
    for point in points {
        sources.push(match point {
            Point::FirstCommit => Source::Field(|c| c.first_commit_at),
            Point::Authored => Source::Field(|c| c.authored_at),
            Point::Committed => Source::Field(|c| Some(c.committed_at)),
            Point::PrOpened => Source::Field(|c| c.pr_opened_at),
            Point::FirstReview => Source::Field(|c| c.first_review_at),
            Point::Approved => Source::Field(|c| c.approved_at),
            Point::Merged => Source::Field(|c| c.merged_at),
            Point::BuildStarted => Source::BuildStarted,
            Point::BuildFinished => Source::BuildFinished,
            Point::DeployStarted => Source::DeployStarted,
            Point::Deployed => Source::Deployed,
            Point::DeployedAt(env) if *env == scope.environment => Source::Deployed,
            Point::DeployedAt(env) => Source::DeployedIn(dora::links(
                &data.dora(),
                &link_options(scope, env, since, until),
            )?),
            Point::Event(name) => Source::Column(milestone_times(
                data.milestones,
                name,
                &scope.service,
                &ids,
                &hashes,
            )),
            // Recovery points never parse in a delivery map; asked anyway, every item
            // lacks them.
            Point::Failed
            | Point::IncidentStarted
            | Point::Detected
            | Point::Acknowledged
            | Point::FixDeployed
            | Point::Recovered => Source::Absent,
        });
    }
    let mut columns: Vec<Vec<Micros>> = (0..points.len())
        .map(|_| Vec::with_capacity(changes.len()))
        .collect();
    // One pass over the changes fills every column, so each change is read once.
    for (item, &ci) in changes.iter().enumerate() {
        let change = &data.changes[ci];
        let shipped = links.shipped(ci, 0).map(|d| &data.deployments[d]);
        let build = builds.get(item).copied().flatten().map(|b| &data.builds[b]);
        for (column, source) in columns.iter_mut().zip(&sources) {
            column.push(match source {
                Source::Field(get) => micros(get(change)),
                Source::BuildStarted => micros(build.map(|b| b.started_at)),
                Source::BuildFinished => micros(build.map(|b| b.finished_at)),
                Source::DeployStarted => micros(shipped.and_then(|d| d.started_at)),
                Source::Deployed => micros(shipped.map(|d| d.finished_at)),
                Source::DeployedIn(there) => micros(
                    there
                        .shipped(ci, 0)
                        .map(|d| data.deployments[d].finished_at),
                ),
                Source::Column(times) => times[item],
                Source::Absent => ABSENT,
            });
        }
    }
    Ok(Items {
        ids,
        columns: points.iter().cloned().zip(columns).collect(),
        ..Items::default()
    })
}

/// No build (in the per-deployment fallback table).
const NO_BUILD: u32 = u32::MAX;

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
    ids: &[&str],
    hashes: &[u64],
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
    for (item, (id, &hash)) in ids.iter().zip(hashes).enumerate() {
        probes.push_hashed(hash, 0, id, item as u32);
    }
    index.probe(probes, |item, key| {
        found[item as usize] = key.any.map(|b| b as usize);
    });
    // The fallback goes through the deployment: its commit is looked up once per
    // deployment that shipped a change without a build of its own, not once per change.
    const UNKNOWN: u32 = u32::MAX - 1;
    let mut by_deployment: Vec<u32> = vec![NO_BUILD; data.deployments.len()];
    let mut fallback = index.probes::<u32>(data.deployments.len().min(changes.len()));
    for (item, &ci) in changes.iter().enumerate() {
        if found[item].is_some() {
            continue;
        }
        if let Some(d) = links.shipped(ci, 0)
            && by_deployment[d] == NO_BUILD
            && let Some(commit) = data.deployments[d].commit.as_deref()
        {
            by_deployment[d] = UNKNOWN;
            fallback.push(0, commit, d as u32);
        }
    }
    index.probe(fallback, |d, key| {
        by_deployment[d as usize] = key.commit.unwrap_or(NO_BUILD);
    });
    for (item, &ci) in changes.iter().enumerate() {
        if found[item].is_none()
            && let Some(d) = links.shipped(ci, 0)
        {
            let build = by_deployment[d];
            if build != NO_BUILD && build != UNKNOWN {
                found[item] = Some(build as usize);
            }
        }
    }
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
        let column: Vec<Micros> = match point {
            Point::Failed => failed
                .iter()
                .map(|f| data.deployments[f.deployment].finished_at.as_microsecond())
                .collect(),
            Point::IncidentStarted => failed
                .iter()
                .map(|f| micros(earliest_incident(f, |i| Some(i.started_at))))
                .collect(),
            Point::Detected => failed
                .iter()
                .map(|f| micros(earliest_incident(f, |i| i.detected_at)))
                .collect(),
            Point::Acknowledged => failed
                .iter()
                .map(|f| micros(earliest_incident(f, |i| i.acknowledged_at)))
                .collect(),
            Point::FixDeployed => failed
                .iter()
                .map(|f| {
                    micros(
                        f.fixes
                            .iter()
                            .map(|&d| data.deployments[d].finished_at)
                            .min(),
                    )
                })
                .collect(),
            Point::Recovered => failed.iter().map(|f| micros(f.recovered_at)).collect(),
            Point::Event(name) => {
                // A failed deployment's milestone is the earliest of its incidents'.
                let incident_ids: Vec<&str> = failed
                    .iter()
                    .flat_map(|f| f.incidents.iter().map(|&i| data.incidents[i].id.as_str()))
                    .collect();
                let hashes: Vec<u64> = incident_ids.iter().map(|id| key_hash(0, id)).collect();
                let times = milestone_times(
                    data.milestones,
                    name,
                    &scope.service,
                    &incident_ids,
                    &hashes,
                );
                let mut next = 0;
                failed
                    .iter()
                    .map(|f| {
                        let own = &times[next..next + f.incidents.len()];
                        next += f.incidents.len();
                        own.iter()
                            .copied()
                            .filter(|&t| t != ABSENT)
                            .min()
                            .unwrap_or(ABSENT)
                    })
                    .collect()
            }
            // Delivery points never parse in a recovery map.
            _ => vec![ABSENT; failed.len()],
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
