//! The slice of the data a report looks at, indexed once.
//!
//! Services and environments become small integers; the successful deployments in scope
//! are sorted into one timeline per (service, environment), so "the latest deployment
//! before this incident" is a binary search and "the earliest deployment that lists this
//! change" is the lowest position in the timeline. Deployment ids are indexed by service
//! in a [`KeyIndex`].

use std::ops::Range;

use foldhash::HashMap;

use jiff::Timestamp;

use crate::events::{Change, Deployment, DeploymentStatus, Incident};

use super::assemble::Window;
use super::keys::{KeyIndex, Keys};
use super::{DoraInput, DoraOptions};

/// Marks "nothing" in the `u32` index vectors (no service in scope, no deployment).
pub(crate) const NONE: u32 = u32::MAX;

/// A successful deployment in scope.
#[derive(Clone, Copy)]
pub(crate) struct Dep<'a> {
    pub(crate) d: &'a Deployment,
    pub(crate) service: u32,
    pub(crate) env: u32,
    /// `d.finished_at`, kept here because the hot loops read it for every change.
    pub(crate) finished_at: Timestamp,
    /// Its week slot when it finished in the window, else [`NONE`].
    pub(crate) slot: u32,
    /// Whether this is the first deployment of its timeline in the data.
    pub(crate) first: bool,
    /// Its index in the input.
    pub(crate) input: u32,
}

impl Dep<'_> {
    /// Whether it finished in the window.
    pub(crate) fn in_window(&self) -> bool {
        self.slot != NONE
    }
}

/// A failed deploy run in scope.
pub(crate) struct Run<'a> {
    pub(crate) d: &'a Deployment,
    pub(crate) service: u32,
}

pub(crate) struct Scope<'a> {
    /// Service numbers: handed out on first sight, or in the order the options name the
    /// services, so no pass over the events has to renumber them.
    numbering: Services<'a>,
    /// Environment names in the order given.
    pub(crate) envs: Vec<&'a str>,
    /// Successful deployments in scope, sorted by (service, environment, finished_at, id):
    /// a deployment's position in this vector is its handle everywhere else.
    pub(crate) deps: Vec<Dep<'a>>,
    /// `timelines[service * envs.len() + env]` = the positions of that timeline in `deps`.
    timelines: Vec<Range<u32>>,
    /// Per input deployment: its position in `deps`, or [`NONE`] when it is not a
    /// successful deployment in scope. Passes that read every deployment's strings go in
    /// input order through this, because the input is laid out in memory in that order.
    pub(crate) positions: Vec<u32>,
    /// (service, deployment id) → position in `deps`.
    dep_ix: KeyIndex<u32>,
    /// Failed deploy runs in scope, any time.
    pub(crate) runs: Vec<Run<'a>>,
    /// The service of each input incident, or [`NONE`] when out of scope.
    pub(crate) incident_service: Vec<u32>,
    /// Per service: whether the data holds any event for it (in the chosen environments).
    pub(crate) has_events: Vec<bool>,
}

impl<'a> Scope<'a> {
    /// Numbers the services of the deployments and incidents, and indexes the successful
    /// deployments. The changes are numbered as [`linking`](super::linking) reads them,
    /// through [`Scope::service_of_change`].
    pub(crate) fn new(
        input: &DoraInput<'a>,
        options: &'a DoraOptions,
        window: &Window,
    ) -> Scope<'a> {
        let envs = dedup(options.environments.iter().map(String::as_str));
        let env_of = |name: &str| envs.iter().position(|e| *e == name).map(|i| i as u32);

        let mut numbering = Services::new(&options.services);
        let mut deps = Vec::new();
        let mut runs = Vec::new();
        let mut id_bytes = 0;
        for (index, d) in input.deployments.iter().enumerate() {
            let Some(env) = env_of(&d.environment) else {
                continue;
            };
            let Some(service) = numbering.get(&d.service) else {
                continue;
            };
            match d.status {
                DeploymentStatus::Success => {
                    id_bytes += d.id.len();
                    deps.push(Dep {
                        d,
                        service,
                        env,
                        finished_at: d.finished_at,
                        slot: window.slot(d.finished_at).map_or(NONE, |s| s as u32),
                        first: false,
                        input: index as u32,
                    })
                }
                DeploymentStatus::Failure => runs.push(Run { d, service }),
            }
        }
        let incident_service: Vec<u32> = input
            .incidents
            .iter()
            .map(|i: &Incident| numbering.get(&i.service).unwrap_or(NONE))
            .collect();

        // One timeline per (service, environment), laid out for the services known so
        // far (services first seen in the changes have no deployments, and `timeline`
        // answers them with an empty one). A counting sort groups the deployments by
        // timeline and keeps their input order, which is time order when they come from a
        // store, so sorting each timeline by (finished_at, id) is then one pass.
        let n_env = envs.len();
        let n_timelines = numbering.names.len() * n_env;
        let timeline_of = |d: &Dep| d.service as usize * n_env + d.env as usize;
        let mut starts = vec![0u32; n_timelines + 1];
        for d in &deps {
            starts[timeline_of(d) + 1] += 1;
        }
        for t in 0..n_timelines {
            starts[t + 1] += starts[t];
        }
        let mut order = vec![0u32; deps.len()];
        let mut next = starts.clone();
        for (i, d) in deps.iter().enumerate() {
            let slot = &mut next[timeline_of(d)];
            order[*slot as usize] = i as u32;
            *slot += 1;
        }
        let mut deps: Vec<Dep> = order.iter().map(|&i| deps[i as usize]).collect();
        let timelines: Vec<Range<u32>> = starts.windows(2).map(|w| w[0]..w[1]).collect();
        for range in &timelines {
            let timeline = &mut deps[range.start as usize..range.end as usize];
            timeline.sort_by(|a, b| (a.finished_at, &a.d.id).cmp(&(b.finished_at, &b.d.id)));
            if let Some(first) = timeline.first_mut() {
                first.first = true;
            }
        }

        let mut positions = vec![NONE; input.deployments.len()];
        for (pos, dep) in deps.iter().enumerate() {
            positions[dep.input as usize] = pos as u32;
        }

        // Deployment ids are unique per source; if one (service, id) still appears in two
        // environments, references resolve to the earlier one.
        let mut ids = Keys::new(deps.len(), id_bytes);
        for (d, &pos) in input.deployments.iter().zip(&positions) {
            if pos != NONE {
                ids.push(deps[pos as usize].service, &d.id, pos);
            }
        }
        let dep_ix = KeyIndex::build(ids, |kept: u32, next: u32| {
            if deps[next as usize].finished_at < deps[kept as usize].finished_at {
                next
            } else {
                kept
            }
        });

        let mut has_events = vec![false; numbering.names.len()];
        let seen = deps.iter().map(|d| d.service);
        let seen = seen.chain(runs.iter().map(|r| r.service));
        for s in seen.chain(incident_service.iter().copied()) {
            if s != NONE {
                has_events[s as usize] = true;
            }
        }

        Scope {
            numbering,
            envs,
            deps,
            timelines,
            positions,
            dep_ix,
            runs,
            incident_service,
            has_events,
        }
    }

    /// The number of a change's service, or [`NONE`] when it is out of scope; a service
    /// seen first here gets the next number.
    pub(crate) fn service_of_change(&mut self, change: &'a Change) -> u32 {
        let Some(service) = self.numbering.get(&change.service) else {
            return NONE;
        };
        if self.has_events.len() <= service as usize {
            self.has_events.resize(service as usize + 1, false);
        }
        self.has_events[service as usize] = true;
        service
    }

    /// Service names by number.
    pub(crate) fn services(&self) -> &[&'a str] {
        &self.numbering.names
    }

    /// The service numbers in report order: the order the options name them, or by name.
    pub(crate) fn report_order(&self) -> Vec<u32> {
        let names = self.services();
        let mut order: Vec<u32> = (0..names.len() as u32).collect();
        if self.numbering.open {
            order.sort_unstable_by_key(|&s| names[s as usize]);
        }
        order
    }

    /// The positions in `deps` of one service's timeline in one environment.
    pub(crate) fn timeline(&self, service: u32, env: u32) -> Range<u32> {
        self.timelines
            .get(service as usize * self.envs.len() + env as usize)
            .cloned()
            .unwrap_or(0..0)
    }

    /// The deployment of `service` with id `id`, if it is a successful deployment in scope.
    pub(crate) fn deployment(&self, service: u32, id: &str) -> Option<u32> {
        self.dep_ix.get(service, id)
    }

    /// The index of deployment ids, for linking changes that name their deployment in bulk.
    pub(crate) fn deployment_index(&self) -> &KeyIndex<u32> {
        &self.dep_ix
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
/// Events often come in runs of one service, so the last answer is remembered and such
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
}

pub(crate) fn dedup<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}
