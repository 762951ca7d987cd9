//! A full run in one pass: walk, link and store together.
//!
//! Every commit has to be read for its record anyway, and reading it gives its parents,
//! so this walk reads every commit (it does not need the commit-graph file). With the
//! deployments known before the walk (the tag rule, or no rule),
//! the walk goes in turns, one per deployment oldest first (see [`super::walk`]), and each
//! commit is linked the moment it is read: its change is built and stored while the walk
//! goes on, instead of after the whole history is in memory. The merge rule names its
//! deployments only once the deploy branch is walked, and usually a deployment every few
//! commits, which streams badly (see [`COMMITS_PER_DEPLOYMENT`]); `--path` needs each
//! commit's parents read before it knows whether the commit counts. Those runs walk first
//! and link after.

use super::walk::{Reached, Reading, Turn};
use super::*;

/// A run links while it walks only when its deployments are this many commits apart on
/// average, or more. A turn is read on every core only where its history branches, and a
/// deployment every few commits makes turns of a few commits, read one at a time. Measured
/// on git/git (85 361 commits, no commit-graph) with a tag on every n-th first-parent
/// commit of `master`, against walking first: a fifth slower with a deployment every 3.5
/// commits, even at 14 and 56, a seventh faster at 225 and at git/git's own 88.
const COMMITS_PER_DEPLOYMENT: u64 = 64;

/// Up to this many deployments, a run links while it walks whatever the history's size.
const FEW_DEPLOYMENTS: u64 = 64;

impl Run<'_> {
    /// Whether a full run should link while it walks (see the module docs).
    pub(super) fn streams(&self) -> Result<bool, GitError> {
        if self.options.path.is_some() {
            return Ok(false);
        }
        let deployments = match &self.options.rule {
            DeployRule::None => return Ok(true),
            DeployRule::Merges { .. } => return Ok(false),
            DeployRule::Tags(glob) => self
                .refs
                .tags
                .iter()
                .filter(|(name, _, _)| tags::matches(glob, name))
                .count() as u64,
        };
        // A few turns cost nothing to switch between, and a history short enough to give
        // them only a few commits each is read in moments either way.
        if deployments <= FEW_DEPLOYMENTS {
            return Ok(true);
        }
        Ok(self.estimated_commits()? >= deployments.saturating_mul(COMMITS_PER_DEPLOYMENT))
    }

    /// About how many commits the repository holds: exactly, from the commit-graph file;
    /// else a quarter of its packed objects (commits are a fifth to a third of the objects
    /// of the repositories measured).
    fn estimated_commits(&self) -> Result<u64, GitError> {
        let graph = self
            .repo
            .commit_graph_if_enabled()
            .map_err(|err| GitError::read("the commit-graph", err))?;
        if let Some(graph) = graph {
            return Ok(u64::from(graph.num_commits()));
        }
        let objects = self
            .repo
            .objects
            .packed_object_count()
            .map_err(|err| GitError::read("the pack indexes", err))?;
        Ok(objects / 4)
    }

    /// Reads, links and hands to `sink` the whole history in one walk.
    pub(super) fn stream(
        &self,
        fingerprint: String,
        sink: &mut dyn FnMut(Batch) -> Result<(), SinkError>,
    ) -> Result<Outcome, GitError> {
        // No commit is in a graph yet: the rule reads the tagged commits' times itself.
        let nothing = |_: &ObjectId| None;
        let no_time = |_: u32| 0;
        let view = View {
            ids: &[],
            dag: &Dag::with_nodes(0),
            inner: 0,
            node_of: &nothing,
            time: &no_time,
        };
        let deployments = self
            .deployments(&view, None)?
            .expect("without an old tip to reach, the deploy rule always answers");
        // The next turn last: the oldest deployment first, every tip at the end.
        let mut turns = vec![Turn {
            starts: self.refs.tips.iter().map(|(_, id)| *id).collect(),
            mark: UNLINKED,
        }];
        turns.extend(
            deployments
                .iter()
                .enumerate()
                .rev()
                .map(|(mark, candidate)| Turn {
                    starts: vec![candidate.commit],
                    mark: u32::try_from(mark).expect("fewer than 4 billion deployments"),
                }),
        );
        self.progress.phase(Phase::Read, None);
        let mut outcome = self.outcome(true);
        let reading = Reading::Emit {
            service: &self.service,
            deployments: &deployments,
        };
        let reached = self.walk_turns(turns, &reading, &mut |changes| {
            outcome.changes += changes.len() as u64;
            sink(Batch {
                changes,
                deployments: Vec::new(),
            })
            .map_err(GitError::Sink)
        });
        let Reached { ids, marks, .. } = reached?;
        let unreleased = ids
            .iter()
            .zip(&marks)
            .filter(|(_, mark)| **mark == UNLINKED)
            .map(|(id, _)| *id);
        let unreleased_ids: Vec<ObjectId> = match self.options.rule {
            DeployRule::None => Vec::new(),
            _ => unreleased.clone().collect(),
        };
        outcome.unreleased = unreleased.count() as u64;
        self.close(
            outcome,
            deployments.iter(),
            deployments.clone(),
            unreleased_ids,
            fingerprint,
            sink,
        )
    }
}
