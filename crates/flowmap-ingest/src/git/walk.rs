//! The walk of a repository without a commit-graph file, on all cores.
//!
//! Without the commit-graph, a commit's parents are known only once the commit is read
//! (inflated and parsed), and reading is most of the walk's cost. Here every worker takes
//! a commit whose parents are not known yet, reads it outside the lock, and queues the
//! parents it finds that nobody has seen; the others take what it queued. Histories that
//! branch and merge keep every core busy; a straight line of commits is read by one
//! worker at a time, as a single-threaded walk would.

use std::sync::{Condvar, Mutex, PoisonError};

use super::*;

/// What the workers share, under one lock.
struct Shared {
    /// Node per commit seen.
    nodes: HashMap<ObjectId, u32>,
    /// Commit per node.
    ids: Vec<ObjectId>,
    /// Nodes seen but not read yet, taken last in, first out.
    queue: Vec<u32>,
    /// Per node, once read: the commit and its parents' nodes.
    read: Vec<Option<(CommitData, Vec<u32>)>>,
    /// Workers reading a commit right now.
    busy: usize,
    /// A worker failed; the others stop.
    failed: bool,
}

impl Shared {
    /// The node of `id`, added and queued when it is new.
    fn node(&mut self, id: &gix::oid) -> u32 {
        if let Some(&node) = self.nodes.get(id) {
            return node;
        }
        let node = u32::try_from(self.ids.len()).expect("fewer than 4 billion commits");
        self.nodes.insert(id.to_owned(), node);
        self.ids.push(id.to_owned());
        self.read.push(None);
        self.queue.push(node);
        node
    }
}

impl Run<'_> {
    /// Walks the whole history from the tips, reading every commit (see the module docs).
    pub(super) fn walk_reading(&self) -> Result<Walked, GitError> {
        self.progress.phase(Phase::Walk, None);
        let mut shared = Shared {
            nodes: HashMap::new(),
            ids: Vec::new(),
            queue: Vec::new(),
            read: Vec::new(),
            busy: 0,
            failed: false,
        };
        let mut tips = HashMap::new();
        for (_, tip) in &self.refs.tips {
            tips.insert(*tip, shared.node(tip));
        }
        let state = Mutex::new(shared);
        let wake = Condvar::new();
        let repo = self.repo.clone().into_sync();
        let workers = threads(usize::MAX);
        let (mailmap, progress) = (self.mailmap, self.progress);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let repo = repo.to_thread_local();
                        let decoder = Decoder::new(&repo, mailmap);
                        walk_worker(decoder, progress, &state, &wake)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("walk workers do not panic"))
                .collect::<Result<Vec<()>, GitError>>()
        })?;
        let shared = state.into_inner().unwrap_or_else(PoisonError::into_inner);
        let count = shared.ids.len();
        let mut walked = Walked {
            ids: shared.ids,
            times: Vec::with_capacity(count),
            dag: Dag::with_nodes(count),
            data: Vec::with_capacity(count),
            trees: Vec::with_capacity(count),
            tips,
        };
        for (node, read) in shared.read.into_iter().enumerate() {
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
}

/// One worker of [`Run::walk_reading`]: reads queued commits until none is queued and none
/// is being read (so none can be queued any more), or another worker failed.
fn walk_worker(
    mut decoder: Decoder<'_>,
    progress: &dyn Progress,
    state: &Mutex<Shared>,
    wake: &Condvar,
) -> Result<(), GitError> {
    let mut parents = Vec::new();
    let mut expanded = 0u64;
    let lock = || state.lock().unwrap_or_else(PoisonError::into_inner);
    let mut shared = lock();
    loop {
        let node = loop {
            if shared.failed {
                return Ok(());
            }
            if let Some(node) = shared.queue.pop() {
                break node;
            }
            if shared.busy == 0 {
                wake.notify_all();
                progress.advance(expanded % 4096);
                return Ok(());
            }
            shared = wake.wait(shared).unwrap_or_else(PoisonError::into_inner);
        };
        shared.busy += 1;
        let id = shared.ids[node as usize];
        drop(shared);
        parents.clear();
        let result = decoder.commit(&id, &mut parents);
        shared = lock();
        shared.busy -= 1;
        let commit = match result {
            Ok(commit) => commit,
            Err(err) => {
                shared.failed = true;
                wake.notify_all();
                return Err(err);
            }
        };
        let parent_nodes: Vec<u32> = parents.iter().map(|id| shared.node(id)).collect();
        shared.read[node as usize] = Some((commit, parent_nodes));
        // This worker goes on with one queued commit; the rest is for the others.
        if shared.queue.len() > 1 {
            wake.notify_one();
        }
        expanded += 1;
        if expanded.is_multiple_of(4096) {
            progress.advance(4096);
        }
    }
}
