//! Turning walked and linked commits into change records, on worker threads: each worker
//! takes chunks of the history, builds the changes of the service and sends them on in
//! batches, tallying which deployments shipped something and what is unreleased.

use super::*;

/// What the emitting workers share: everything needed to turn a node into a change.
pub(super) struct Emit<'a> {
    pub(super) service: &'a str,
    pub(super) mailmap: &'a gix::mailmap::Snapshot,
    pub(super) progress: &'a dyn Progress,
    pub(super) ids: &'a [ObjectId],
    pub(super) marks: &'a [u32],
    pub(super) in_scope: &'a [bool],
    pub(super) deployments: &'a [Candidate],
    pub(super) linking: bool,
}

/// One emitting worker's findings, merged once all are done.
pub(super) struct Tally {
    /// Per deployment: whether it shipped one of the emitted changes.
    pub(super) ships: Vec<bool>,
    /// Emitted changes no deployment contains.
    pub(super) unreleased: u64,
    /// Commits (emitted or not) no deployment contains, for the next state.
    pub(super) unreleased_ids: Vec<ObjectId>,
}

/// Chunks of `History::data` still to emit, with their chunk number.
pub(super) type Chunks<'d> =
    Mutex<std::iter::Enumerate<std::slice::ChunksMut<'d, Option<CommitData>>>>;

impl Emit<'_> {
    /// Emits chunks until none is left or the receiver is gone. A read error is sent on
    /// and ends this worker.
    pub(super) fn work(
        &self,
        repo: &gix::Repository,
        chunks: &Chunks<'_>,
        sender: &mpsc::SyncSender<Result<Vec<Change>, GitError>>,
    ) -> Tally {
        let mut decoder = Decoder::new(repo, self.mailmap);
        let mut tally = Tally {
            ships: vec![false; self.deployments.len()],
            unreleased: 0,
            unreleased_ids: Vec::new(),
        };
        let mut parents = Vec::new();
        loop {
            let next = chunks.lock().expect("emit workers do not panic").next();
            let Some((chunk, slots)) = next else {
                return tally;
            };
            let mut changes = Vec::with_capacity(slots.len());
            let mut read = || -> Result<(), GitError> {
                for (offset, slot) in slots.iter_mut().enumerate() {
                    let node = chunk * BATCH + offset;
                    let mark = self.marks[node];
                    let id = &self.ids[node];
                    if mark == UNLINKED && self.linking {
                        tally.unreleased_ids.push(*id);
                    }
                    if !self.in_scope[node] {
                        continue;
                    }
                    let commit = match slot.take() {
                        Some(commit) => commit,
                        None => {
                            parents.clear();
                            decoder.commit(id, &mut parents)?
                        }
                    };
                    let deployment = (mark != UNLINKED).then(|| {
                        tally.ships[mark as usize] = true;
                        self.deployments[mark as usize].id.clone()
                    });
                    tally.unreleased += u64::from(deployment.is_none());
                    changes.push(change(self.service, id, commit, deployment)?);
                }
                Ok(())
            };
            let result = read();
            self.progress.advance(slots.len() as u64);
            let failed = result.is_err();
            if sender.send(result.map(|()| changes)).is_err() || failed {
                return tally;
            }
        }
    }
}

pub(super) fn change(
    service: &str,
    id: &ObjectId,
    commit: CommitData,
    deployment: Option<String>,
) -> Result<Change, GitError> {
    Ok(Change {
        id: id.to_string(),
        service: service.to_owned(),
        committed_at: timestamp(id, commit.committed)?,
        authored_at: Some(timestamp(id, commit.authored)?),
        first_commit_at: None,
        pr_opened_at: None,
        first_review_at: None,
        approved_at: None,
        merged_at: None,
        deployment,
        author: Some(commit.email),
        title: Some(commit.subject),
        reverts: commit.reverts,
    })
}

/// Worker threads for `chunks` chunks of work: one per core, at most 8, at most one per chunk.
pub(super) fn threads(chunks: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8)
        .min(chunks.max(1))
}
