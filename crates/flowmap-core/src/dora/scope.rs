//! The slice of the data a report looks at, indexed once.
//!
//! Services and environments become small integers; the successful deployments in scope
//! are sorted into one timeline per (service, environment), so "the latest deployment
//! before this incident" is a binary search and "the earliest deployment that lists this
//! change" is the lowest position in the timeline.

use std::ops::Range;

use foldhash::{HashMap, HashMapExt};

use jiff::Timestamp;

use crate::events::{Change, Deployment, DeploymentStatus, Incident};

use super::{DoraInput, DoraOptions};

/// Marks "nothing" in the `u32` index vectors (no service in scope, no deployment).
pub(crate) const NONE: u32 = u32::MAX;

/// A successful deployment in scope.
pub(crate) struct Dep<'a> {
    pub(crate) d: &'a Deployment,
    pub(crate) service: u32,
    pub(crate) env: u32,
    /// `d.finished_at`, kept here because the hot loops read it for every change.
    pub(crate) finished_at: Timestamp,
    /// Whether this is the first deployment of its timeline in the data.
    pub(crate) first: bool,
}

/// A failed deploy run in scope.
pub(crate) struct Run<'a> {
    pub(crate) d: &'a Deployment,
    pub(crate) service: u32,
}

pub(crate) struct Scope<'a> {
    /// Service names in report order.
    pub(crate) services: Vec<&'a str>,
    /// Environment names in the order given.
    pub(crate) envs: Vec<&'a str>,
    /// Successful deployments in scope, sorted by (service, environment, finished_at, id):
    /// a deployment's position in this vector is its handle everywhere else.
    pub(crate) deps: Vec<Dep<'a>>,
    /// `timelines[service * envs.len() + env]` = the positions of that timeline in `deps`.
    timelines: Vec<Range<u32>>,
    /// (service, deployment id) → position in `deps`.
    dep_ix: HashMap<(u32, &'a str), u32>,
    /// Failed deploy runs in scope, any time.
    pub(crate) runs: Vec<Run<'a>>,
    /// The service of each input change, or [`NONE`] when out of scope.
    pub(crate) change_service: Vec<u32>,
    /// The service of each input incident, or [`NONE`] when out of scope.
    pub(crate) incident_service: Vec<u32>,
    /// Per service: whether the data holds any event for it (in the chosen environments).
    pub(crate) has_events: Vec<bool>,
}

impl<'a> Scope<'a> {
    pub(crate) fn new(input: &DoraInput<'a>, options: &'a DoraOptions) -> Scope<'a> {
        let envs = dedup(options.environments.iter().map(String::as_str));
        let env_of = |name: &str| envs.iter().position(|e| *e == name).map(|i| i as u32);

        // One pass over each kind of event gives every event its service number; with no
        // services chosen, numbers are handed out on first sight and renumbered into name
        // order at the end.
        let mut services = Services::new(&options.services);
        let mut deps = Vec::new();
        let mut runs = Vec::new();
        for d in input.deployments {
            let Some(env) = env_of(&d.environment) else {
                continue;
            };
            let Some(service) = services.get(&d.service) else {
                continue;
            };
            match d.status {
                DeploymentStatus::Success => deps.push(Dep {
                    d,
                    service,
                    env,
                    finished_at: d.finished_at,
                    first: false,
                }),
                DeploymentStatus::Failure => runs.push(Run { d, service }),
            }
        }
        let mut change_service: Vec<u32> = input
            .changes
            .iter()
            .map(|c: &Change| services.get(&c.service).unwrap_or(NONE))
            .collect();
        let mut incident_service: Vec<u32> = input
            .incidents
            .iter()
            .map(|i: &Incident| services.get(&i.service).unwrap_or(NONE))
            .collect();

        let (services, renumber) = services.finish();
        if let Some(renumber) = renumber {
            let new = |s: u32| {
                if s == NONE {
                    NONE
                } else {
                    renumber[s as usize]
                }
            };
            for dep in &mut deps {
                dep.service = new(dep.service);
            }
            for run in &mut runs {
                run.service = new(run.service);
            }
            for s in change_service.iter_mut().chain(&mut incident_service) {
                *s = new(*s);
            }
        }
        let mut has_events = vec![false; services.len()];
        let seen = deps.iter().map(|d| d.service);
        let seen = seen.chain(runs.iter().map(|r| r.service));
        for s in seen.chain(change_service.iter().chain(&incident_service).copied()) {
            if s != NONE {
                has_events[s as usize] = true;
            }
        }

        deps.sort_unstable_by(|a, b| {
            (a.service, a.env, a.finished_at, &a.d.id).cmp(&(
                b.service,
                b.env,
                b.finished_at,
                &b.d.id,
            ))
        });

        let n_env = envs.len();
        let mut timelines = vec![0..0; services.len() * n_env];
        let mut start = 0;
        while start < deps.len() {
            let key = (deps[start].service, deps[start].env);
            let end = start + deps[start..].partition_point(|d| (d.service, d.env) == key);
            timelines[key.0 as usize * n_env + key.1 as usize] = start as u32..end as u32;
            deps[start].first = true;
            start = end;
        }

        // Deployment ids are unique per source; if one (service, id) still appears in two
        // environments, references resolve to the earlier one.
        let mut dep_ix: HashMap<(u32, &str), u32> = HashMap::with_capacity(deps.len());
        for (pos, dep) in deps.iter().enumerate() {
            dep_ix
                .entry((dep.service, dep.d.id.as_str()))
                .and_modify(|p| {
                    if dep.finished_at < deps[*p as usize].finished_at {
                        *p = pos as u32;
                    }
                })
                .or_insert(pos as u32);
        }

        Scope {
            services,
            envs,
            deps,
            timelines,
            dep_ix,
            runs,
            change_service,
            incident_service,
            has_events,
        }
    }

    /// The positions in `deps` of one service's timeline in one environment.
    pub(crate) fn timeline(&self, service: u32, env: u32) -> Range<u32> {
        self.timelines[service as usize * self.envs.len() + env as usize].clone()
    }

    /// The deployment of `service` with id `id`, if it is a successful deployment in scope.
    pub(crate) fn deployment(&self, service: u32, id: &str) -> Option<u32> {
        self.dep_ix.get(&(service, id)).copied()
    }

    /// The failed run of `service` with id `id`, if there is one (a slow scan: for
    /// explaining the rare reference that did not resolve).
    pub(crate) fn failed_run(&self, service: u32, id: &str) -> Option<&Run<'a>> {
        self.runs
            .iter()
            .find(|r| r.service == service && r.d.id == id)
    }
}

/// Service name → number.
///
/// Events usually come in runs of one service, so the last answer is remembered and most
/// lookups cost one string comparison instead of a hash.
struct Services<'a> {
    /// Names in numbering order.
    names: Vec<&'a str>,
    index: HashMap<&'a str, u32>,
    /// Whether unknown names get a number (no services were chosen) or are out of scope.
    open: bool,
    last: Option<(&'a str, Option<u32>)>,
}

impl<'a> Services<'a> {
    fn new(chosen: &'a [String]) -> Services<'a> {
        let names = dedup(chosen.iter().map(String::as_str));
        let index = names
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, i as u32))
            .collect();
        Services {
            names,
            index,
            open: chosen.is_empty(),
            last: None,
        }
    }

    fn get(&mut self, name: &'a str) -> Option<u32> {
        if let Some((last, ix)) = self.last
            && last == name
        {
            return ix;
        }
        let ix = match self.index.get(name) {
            Some(&ix) => Some(ix),
            None if self.open => {
                let ix = self.names.len() as u32;
                self.names.push(name);
                self.index.insert(name, ix);
                Some(ix)
            }
            None => None,
        };
        self.last = Some((name, ix));
        ix
    }

    /// The names in report order, and for open numbering the map from the numbers handed
    /// out to the final ones (names sorted).
    fn finish(self) -> (Vec<&'a str>, Option<Vec<u32>>) {
        if !self.open {
            return (self.names, None);
        }
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_unstable_by_key(|&i| self.names[i as usize]);
        let mut renumber = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            renumber[old as usize] = new as u32;
        }
        let names = order.iter().map(|&i| self.names[i as usize]).collect();
        (names, Some(renumber))
    }
}

fn dedup<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}
