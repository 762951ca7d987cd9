//! Change → deployment links (SPEC §5).
//!
//! A change ships, in each chosen environment, with the earliest successful deployment
//! (by `finished_at`) of its service that lists it in `changes`, whose `commit` it is, or
//! that the change names in `deployment`. Git-derived links ("the earliest deployment
//! whose commit contains it") arrive as that `deployment` field, filled in by ingestion.
//! References resolve within the service, so pull request `#42` of one repository never
//! links to another's `#42`.
//!
//! Two joins on string ids, both through a [`KeyIndex`]: the deployments' listed ids and
//! commits against the changes' ids, and the changes' `deployment` against the
//! deployments' ids. One pass over the changes, in input order, numbers their services and
//! scatters both kinds of probe: linear in the data, never deployments × changes.

use super::DoraInput;
use super::keys::{KeyIndex, Keys};
use super::scope::{NONE, Scope};

pub(crate) struct Links<'a> {
    n_env: usize,
    /// The service of each input change, or [`NONE`] when out of scope.
    pub(crate) change_service: Vec<u32>,
    /// `ship[change * n_env + env]`: position (in `Scope::deps`) of the deployment that
    /// shipped the change to that environment, or [`NONE`]. (Slots are `u32`, as
    /// positions are everywhere: four billion changes would not fit in memory anyway.)
    ship: Vec<u32>,
    /// (deployment position, change id) for ids a deployment lists that no change in the
    /// data has (the earliest deployment listing each such id).
    pub(crate) unknown_listed: Vec<(u32, &'a str)>,
}

impl Links<'_> {
    /// The deployment that shipped change `change` to environment `env`.
    pub(crate) fn shipped(&self, change: usize, env: usize) -> Option<u32> {
        let pos = self.ship[change * self.n_env + env];
        (pos != NONE).then_some(pos)
    }
}

/// The earliest deployment that has a change id among its `changes` or as its `commit`,
/// and the earliest that lists it in `changes`, with the id's place in that list (only
/// listed ids are reported when the change data lacks them: a deployment's commit sha
/// without change data is no news).
#[derive(Clone, Copy)]
struct Listing {
    any: u32,
    listed: u32,
    index: u32,
}

impl Listing {
    fn earliest(a: Listing, b: Listing) -> Listing {
        let (listed, index) = if b.listed < a.listed {
            (b.listed, b.index)
        } else {
            (a.listed, a.index)
        };
        Listing {
            any: a.any.min(b.any),
            listed,
            index,
        }
    }
}

/// The namespace of a listed id: its service and environment.
fn namespace(service: u32, env: u32, n_env: usize) -> u32 {
    service * n_env as u32 + env
}

pub(crate) fn link<'a>(scope: &mut Scope<'a>, input: &DoraInput<'a>) -> Links<'a> {
    let (deployments, changes) = (input.deployments, input.changes);
    let n_env = scope.envs.len();

    // (service, environment, change id) → earliest listing deployment. Positions order
    // each timeline by finished_at, so the minimum is the earliest.
    let in_scope = || {
        deployments
            .iter()
            .zip(&scope.positions)
            .filter(|(_, pos)| **pos != NONE)
    };
    let (mut listed_ids, mut listed_bytes) = (0, 0);
    for (d, _) in in_scope() {
        listed_ids += d.changes.len() + usize::from(d.commit.is_some());
        listed_bytes += d.changes.iter().map(String::len).sum::<usize>();
        listed_bytes += d.commit.as_ref().map_or(0, String::len);
    }
    let mut listings = Keys::new(listed_ids, listed_bytes);
    for (d, &pos) in in_scope() {
        let dep = &scope.deps[pos as usize];
        let ns = namespace(dep.service, dep.env, n_env);
        for (index, id) in d.changes.iter().enumerate() {
            let listing = Listing {
                any: pos,
                listed: pos,
                index: index as u32,
            };
            listings.push(ns, id, listing);
        }
        if let Some(commit) = &d.commit {
            let listing = Listing {
                any: pos,
                listed: NONE,
                index: 0,
            };
            listings.push(ns, commit, listing);
        }
    }
    let listings = KeyIndex::build(listings, Listing::earliest);

    let mut change_service = Vec::with_capacity(changes.len());
    let mut by_id = listings.probes::<u32>(changes.len() * n_env);
    let mut by_name = scope.deployment_index().probes::<u32>(changes.len());
    for (ci, change) in changes.iter().enumerate() {
        let service = scope.service_of_change(change);
        change_service.push(service);
        if service == NONE {
            continue;
        }
        for env in 0..n_env {
            by_id.push(
                namespace(service, env as u32, n_env),
                &change.id,
                (ci * n_env + env) as u32,
            );
        }
        if let Some(name) = &change.deployment {
            by_name.push(service, name, ci as u32);
        }
    }

    let mut ship = vec![NONE; changes.len() * n_env];
    listings.probe(by_id, |slot, listing| {
        ship[slot as usize] = listing.any;
    });
    let deps = &scope.deps;
    scope.deployment_index().probe(by_name, |ci, pos| {
        let slot = &mut ship[ci as usize * n_env + deps[pos as usize].env as usize];
        *slot = (*slot).min(pos);
    });

    // A key known only as a commit has no listing (`listed` is NONE) and is skipped.
    let unknown_listed = listings
        .not_found()
        .filter_map(|l| {
            let listed: &'a [String] = &deps.get(l.listed as usize)?.d.changes;
            Some((l.listed, listed.get(l.index as usize)?.as_str()))
        })
        .collect();
    Links {
        n_env,
        change_service,
        ship,
        unknown_listed,
    }
}
