//! The walk of a repository without a commit-graph file, on all cores.
//!
//! Without the commit-graph, a commit's parents are known only once the commit is read
//! (inflated and parsed), and reading is most of the walk's cost. Here every worker takes
//! a commit whose parents are not known yet, reads it outside the lock, and queues the
//! parents it finds that nobody has seen; the others take what it queued. Histories that
//! branch widely keep every core busy; a straight line of commits, or one with short side
//! branches, is read by one worker at a time, as a single-threaded walk would.
//!
//! # Turns
//!
//! The walk goes in turns: a turn queues its start commits and ends once nothing is
//! queued or being read, so it has reached every ancestor of its starts that no earlier
//! turn reached. Each commit is marked with the turn that first reached it. With one turn
//! per deployment, oldest first, and a last turn from every branch and tag tip, that mark
//! is the earliest deployment containing the commit (the same marking as
//! `flowmap_core::ancestry::link_earliest`, done while reading): a commit is linked the
//! moment it is read, and [`Reading::Emit`] hands it on as a change at once, so storing
//! runs beside the walk instead of after it.

use std::sync::{Condvar, Mutex, PoisonError};

use super::*;

/// Where one turn starts, and the mark of every commit it reaches first.
pub(super) struct Turn {
    pub(super) starts: Vec<ObjectId>,
    pub(super) mark: u32,
}

/// What the walk does with each commit it reads.
pub(super) enum Reading<'a> {
    /// Keeps the commit and its parents (the [`Walked`] result), for linking later.
    Keep,
    /// Builds the change at once and hands it on, in batches of up to [`BATCH`], each
    /// ordered by commit time; parents are followed but not kept.
    Emit {
        service: &'a str,
        /// The deployments, by mark.
        deployments: &'a [Candidate],
    },
}

/// What the workers share, under one lock.
struct Shared {
    /// Node per commit seen.
    nodes: gix::hashtable::HashMap<ObjectId, u32>,
    /// Commit per node.
    ids: Vec<ObjectId>,
    /// Per node: the mark of the turn that reached it first.
    marks: Vec<u32>,
    /// Nodes seen but not read yet, taken last in, first out.
    queue: Vec<u32>,
    /// The turns still to start, the next one last.
    turns: Vec<Turn>,
    /// The mark of the current turn.
    mark: u32,
    /// With [`Reading::Keep`], per node once read: the commit and its parents' nodes.
    read: Vec<Option<(CommitData, Vec<u32>)>>,
    /// Commits read (and with [`Reading::Emit`], sent on).
    done: usize,
    /// Workers reading a commit right now.
    busy: usize,
    /// A worker failed, or the receiver of emitted changes is gone; the others stop.
    failed: bool,
}

impl Shared {
    /// The node of `id`, added, marked with the current turn and queued when it is new.
    fn node(&mut self, id: &gix::oid) -> u32 {
        if let Some(&node) = self.nodes.get(id) {
            return node;
        }
        let node = u32::try_from(self.ids.len()).expect("fewer than 4 billion commits");
        self.nodes.insert(id.to_owned(), node);
        self.ids.push(id.to_owned());
        self.marks.push(self.mark);
        self.queue.push(node);
        node
    }

    /// Starts the next turn; `false` when none is left.
    fn next_turn(&mut self) -> bool {
        let Some(turn) = self.turns.pop() else {
            return false;
        };
        self.mark = turn.mark;
        for start in &turn.starts {
            self.node(start);
        }
        true
    }
}

/// A finished walk: every commit reached, its mark, and (with [`Reading::Keep`]) what was
/// read of it.
pub(super) struct Reached {
    nodes: gix::hashtable::HashMap<ObjectId, u32>,
    pub(super) ids: Vec<ObjectId>,
    pub(super) marks: Vec<u32>,
    read: Vec<Option<(CommitData, Vec<u32>)>>,
}

impl Run<'_> {
    /// Walks the whole history from the tips in one turn, reading every commit (see the
    /// module docs) and keeping it.
    pub(super) fn walk_reading(&self) -> Result<Walked, GitError> {
        self.progress.phase(Phase::Walk, None);
        let starts = self.refs.tips.iter().map(|(_, id)| *id).collect();
        let turns = vec![Turn {
            starts,
            mark: UNLINKED,
        }];
        let Reached {
            nodes, ids, read, ..
        } = self.walk_turns(turns, &Reading::Keep, &mut |_| Ok(()))?;
        let count = ids.len();
        let tips = self
            .refs
            .tips
            .iter()
            .filter_map(|(_, id)| Some((*id, *nodes.get(id)?)))
            .collect();
        let mut walked = Walked {
            ids,
            times: Vec::with_capacity(count),
            dag: Dag::with_nodes(count),
            data: Vec::with_capacity(count),
            trees: Vec::with_capacity(count),
            tips,
        };
        for (node, read) in read.into_iter().enumerate() {
            let Some((commit, parents)) = read else {
                return Err(GitError::object(
                    &walked.ids[node],
                    "was never read (the walk stopped early)",
                ));
            };
            walked.times.push(commit.committed);
            walked.trees.push(commit.tree);
            walked.data.push(Some(commit));
            walked.dag.set_parents(node as u32, parents);
        }
        Ok(walked)
    }

    /// Walks `turns` (the next one last) on all cores, doing `reading` with each commit.
    /// Emitted changes go to `receive`, on this thread, while the walk goes on; an error
    /// from it stops the walk and is the walk's error.
    pub(super) fn walk_turns(
        &self,
        turns: Vec<Turn>,
        reading: &Reading<'_>,
        receive: &mut dyn FnMut(Vec<Change>) -> Result<(), GitError>,
    ) -> Result<Reached, GitError> {
        let state = Mutex::new(Shared {
            nodes: Default::default(),
            ids: Vec::new(),
            marks: Vec::new(),
            queue: Vec::new(),
            turns,
            mark: UNLINKED,
            read: Vec::new(),
            done: 0,
            busy: 0,
            failed: false,
        });
        let wake = Condvar::new();
        let repo = self.repo.clone().into_sync();
        let workers = threads(usize::MAX);
        let (mailmap, progress) = (self.mailmap, self.progress);
        let (sender, receiver) = mpsc::sync_channel::<Vec<Change>>(workers);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    let worker = Worker {
                        progress,
                        state: &state,
                        wake: &wake,
                        reading,
                        sender: sender.clone(),
                    };
                    let repo = &repo;
                    scope.spawn(move || {
                        let repo = repo.to_thread_local();
                        worker.run(Decoder::new(&repo, mailmap))
                    })
                })
                .collect();
            drop(sender);
            // Dropping the receiver on an error makes the workers stop at their next send.
            let received = receiver.into_iter().try_for_each(&mut *receive);
            let walked = handles
                .into_iter()
                .map(|handle| handle.join().expect("walk workers do not panic"))
                .collect::<Result<Vec<()>, GitError>>();
            received.and(walked)
        })?;
        let shared = state.into_inner().unwrap_or_else(PoisonError::into_inner);
        if shared.done < shared.ids.len() && !shared.failed {
            return Err(GitError::read(
                "the history",
                "the walk stopped before reading every commit",
            ));
        }
        Ok(Reached {
            nodes: shared.nodes,
            ids: shared.ids,
            marks: shared.marks,
            read: shared.read,
        })
    }
}

/// One worker of [`Run::walk_turns`].
struct Worker<'a> {
    progress: &'a dyn Progress,
    state: &'a Mutex<Shared>,
    wake: &'a Condvar,
    reading: &'a Reading<'a>,
    sender: mpsc::SyncSender<Vec<Change>>,
}

impl Worker<'_> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads queued commits until no turn is left and none is queued or being read (so
    /// none can be queued any more), or another worker failed.
    fn run(&self, mut decoder: Decoder<'_>) -> Result<(), GitError> {
        let mut parents = Vec::new();
        let mut batch: Vec<Change> = Vec::new();
        let mut expanded = 0u64;
        let mut shared = self.lock();
        loop {
            let node = loop {
                if shared.failed {
                    return Ok(());
                }
                if let Some(node) = shared.queue.pop() {
                    break node;
                }
                if shared.busy == 0 {
                    // Nobody can queue more of this turn: the next one may start.
                    if shared.next_turn() {
                        if shared.queue.len() > 1 {
                            self.wake.notify_all();
                        }
                        continue;
                    }
                    self.wake.notify_all();
                    drop(shared);
                    self.progress.advance(expanded % 4096);
                    self.send(&mut batch);
                    return Ok(());
                }
                shared = self
                    .wake
                    .wait(shared)
                    .unwrap_or_else(PoisonError::into_inner);
            };
            shared.busy += 1;
            let (id, mark) = (shared.ids[node as usize], shared.marks[node as usize]);
            drop(shared);
            parents.clear();
            let result = decoder.commit(&id, &mut parents).and_then(|commit| {
                Ok(match self.reading {
                    Reading::Keep => Some(commit),
                    Reading::Emit {
                        service,
                        deployments,
                    } => {
                        let deployment =
                            (mark != UNLINKED).then(|| deployments[mark as usize].id.clone());
                        batch.push(change(service, &id, commit, deployment)?);
                        None
                    }
                })
            });
            shared = self.lock();
            shared.busy -= 1;
            let kept = match result {
                Ok(kept) => kept,
                Err(err) => {
                    shared.failed = true;
                    self.wake.notify_all();
                    return Err(err);
                }
            };
            match kept {
                Some(commit) => {
                    let parent_nodes: Vec<u32> = parents.iter().map(|id| shared.node(id)).collect();
                    let slot = node as usize;
                    if shared.read.len() <= slot {
                        shared.read.resize_with(slot + 1, || None);
                    }
                    shared.read[slot] = Some((commit, parent_nodes));
                }
                // An emitted commit's parents are only queued, not remembered.
                None => {
                    for id in &parents {
                        shared.node(id);
                    }
                }
            }
            shared.done += 1;
            // This worker goes on with one queued commit and wakes another only when more
            // than two are queued. A merge queues two parents, and waking a sleeping worker
            // for the other side of every merge (a context switch, which on two cores also
            // takes the core of the thread storing the changes) cost more than reading a
            // short side branch here: a tenth of a million-commit first ingest.
            if shared.queue.len() > 2 {
                self.wake.notify_one();
            }
            expanded += 1;
            if expanded.is_multiple_of(4096) {
                self.progress.advance(4096);
            }
            if batch.len() >= BATCH {
                drop(shared);
                self.send(&mut batch);
                shared = self.lock();
            }
        }
    }

    /// Sends the emitted changes on, oldest first; a receiver that is gone stops the walk.
    fn send(&self, batch: &mut Vec<Change>) {
        if batch.is_empty() {
            return;
        }
        let mut changes = std::mem::take(batch);
        changes.sort_unstable_by(|a, b| (a.committed_at, &a.id).cmp(&(b.committed_at, &b.id)));
        if self.sender.send(changes).is_err() {
            let mut shared = self.lock();
            shared.failed = true;
            self.wake.notify_all();
        }
    }
}
