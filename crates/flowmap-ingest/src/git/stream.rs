//! The full run of a repository without a commit-graph file, in one pass.
//!
//! There, finding a commit's parents means reading the commit, so the walk reads every
//! commit anyway. With the deployments known before the walk (the tag rule, or no rule),
//! the walk goes in turns, one per deployment oldest first (see [`super::walk`]), and each
//! commit is linked the moment it is read: its change is built and stored while the walk
//! goes on, instead of after the whole history is in memory. The merge rule needs the
//! deploy branch's first-parent chain before it knows its deployments, and `--path`
//! needs each commit's parents read before it knows whether the commit counts; those
//! runs, and repositories with a commit-graph file, walk first and link after.

use super::walk::{Reached, Reading, Turn};
use super::*;

impl Run<'_> {
    /// Whether a full run can link while it walks (see the module docs).
    pub(super) fn streams(&self) -> Result<bool, GitError> {
        let rule = matches!(self.options.rule, DeployRule::None | DeployRule::Tags(_));
        Ok(rule && self.options.path.is_none())
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
