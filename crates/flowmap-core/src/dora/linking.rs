//! Change → deployment links (SPEC §5).
//!
//! A change ships, in each chosen environment, with the earliest successful deployment
//! (by `finished_at`) of its service that lists it in `changes` or that the change names in
//! `deployment`. Git-derived links ("the earliest deployment whose commit contains it")
//! arrive as that `deployment` field, filled in by ingestion. References resolve within the
//! service, so pull request `#42` of one repository never links to another's `#42`.
//!
//! One pass over the deployments' lists builds a hash index, one pass over the changes
//! probes it: linear in the data, never deployments × changes.

use foldhash::{HashMap, HashMapExt};

use crate::events::Change;

use super::scope::{NONE, Scope};

pub(crate) struct Links<'a> {
    n_env: usize,
    /// `ship[change * n_env + env]`: position (in `Scope::deps`) of the deployment that
    /// shipped the change to that environment, or [`NONE`].
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

pub(crate) fn link<'a>(scope: &Scope<'a>, changes: &'a [Change]) -> Links<'a> {
    let n_env = scope.envs.len();

    // (service, environment, change id) → (earliest listing deployment, seen). Positions
    // order each (service, environment) timeline by finished_at and are visited in
    // order, so the first deployment to list an id is the earliest. Indexing the lists
    // rather than the changes keeps the index small when changes name their deployment
    // (as git ingestion records them) and deployments list little.
    let listed_ids: usize = scope.deps.iter().map(|d| d.d.changes.len()).sum();
    let mut listed: HashMap<(u32, u32, &str), (u32, bool)> = HashMap::with_capacity(listed_ids);
    for (pos, dep) in scope.deps.iter().enumerate() {
        for id in &dep.d.changes {
            listed
                .entry((dep.service, dep.env, id.as_str()))
                .or_insert((pos as u32, false));
        }
    }

    let mut ship = vec![NONE; changes.len() * n_env];
    for (ci, change) in changes.iter().enumerate() {
        let service = scope.change_service[ci];
        if service == NONE {
            continue;
        }
        if let Some(pos) = change
            .deployment
            .as_deref()
            .and_then(|id| scope.deployment(service, id))
        {
            let env = scope.deps[pos as usize].env as usize;
            ship[ci * n_env + env] = pos;
        }
        if listed.is_empty() {
            continue;
        }
        for env in 0..n_env {
            if let Some((pos, seen)) = listed.get_mut(&(service, env as u32, change.id.as_str())) {
                *seen = true;
                let slot = &mut ship[ci * n_env + env];
                *slot = (*slot).min(*pos);
            }
        }
    }

    let unknown_listed = listed
        .into_iter()
        .filter(|(_, (_, seen))| !seen)
        .map(|((_, _, id), (pos, _))| (pos, id))
        .collect();
    Links {
        n_env,
        ship,
        unknown_listed,
    }
}
