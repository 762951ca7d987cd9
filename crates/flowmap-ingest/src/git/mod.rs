//! Git history as delivery events (SPEC §6): every commit a [`Change`], and the
//! deployments a chosen rule infers from tags or merges.
//!
//! [`ingest`] reads a local repository with gix — commits reachable from the branches
//! (`refs/heads/*`) and tags (`refs/tags/*`) only, never `refs/pull/*`, remotes or other
//! namespaces — and hands the records to a caller-supplied sink in batches. It never
//! writes to a store itself.
//!
//! # What becomes what
//!
//! | git | record | fields |
//! | --- | --- | --- |
//! | commit | [`Change`] | `id` = the full commit sha; `committed_at` = committer time; `authored_at` = author time; `author` = author email after `.mailmap`; `title` = subject; `reverts` = the sha in "This reverts commit <sha>"; `deployment` = the id of the deployment that shipped it |
//! | tag matching `--deploy-tags` | [`Deployment`] | `id` = `tag:<name>`; `finished_at` = tagger date of an annotated tag, else the committer date of the tagged commit |
//! | merge on the `--deploy-merges` branch | [`Deployment`] | `id` = `merge:<sha>` (with `all_commits`, a non-merge commit is `commit:<sha>`); `finished_at` = committer date |
//!
//! Every deployment is a successful, `normal` deployment to `production`, with `commit` =
//! the deployed sha. The change → deployment link is recorded **on the change**
//! (`Change::deployment`); `Deployment::changes` stays empty, so a release of a hundred
//! thousand commits stays one small record. Tags that point at a tree or a blob are skipped.
//!
//! Records carry the source name `git:<service>` (see [`Outcome::source`]), so two services
//! ingested from one monorepo each keep their own copy of a shared commit.
//!
//! # Linking
//!
//! A commit ships with the earliest deployment (by time, ties broken by id) whose commit
//! contains it. All commits are linked in one pass linear in the size of history:
//! deployments are processed oldest first and each marks its not-yet-marked ancestors
//! (`flowmap_core::ancestry::link_earliest`). There are no per-commit or per-tag ancestry queries.
//!
//! A full run under the tag rule (or no rule), without `--path`, whose tags are not too
//! dense does that marking while it reads: the walk goes deployment by deployment, oldest
//! first, so a commit's deployment is known the moment the commit is read, and its change
//! goes to the sink while the walk goes on (see `stream.rs`). Other runs walk first and
//! link after.
//!
//! # `--path`
//!
//! With [`GitOptions::path`], only commits that touch that directory become changes: a
//! commit whose tree at that directory differs from that of at least one parent (a root
//! commit: where the directory exists) — the commits `git log --full-history -- DIR`
//! lists, including merges that bring changes to the directory in. Linking still runs on the
//! whole history, and only deployments that ship at least one such commit are reported.
//!
//! # Incremental runs
//!
//! [`ingest`] returns a [`GitState`]; pass it to the next run. The state holds the branch
//! and tag tips seen, the deployments known, and the shas of commits that no deployment
//! contains yet. The next run reads only commits that are new since those tips, plus the
//! still-unreleased ones (so a new tag can link them), and re-sends only those. Because
//! records are keyed by `(source, id)`, nothing is ever duplicated.
//!
//! An incremental run is only exact when new deployments are not older than the ones
//! already known (otherwise the earliest deployment of an already-linked commit could
//! change). When that does not hold — a new deployment older than the newest known one, a
//! tag moved to another commit, a rewritten deploy branch, or different options — the run
//! quietly reads the whole history again; [`Outcome::full`] says which happened.

mod decode;
mod emit;
mod refs;
mod state;
mod stream;
mod tags;
mod walk;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};

use flowmap_core::events::{Change, Deployment, DeploymentKind, DeploymentStatus};
use gix::ObjectId;
use gix::bstr::ByteSlice;
use jiff::Timestamp;

use decode::{CommitData, Decoder, Peeled};
use emit::*;
use flowmap_core::ancestry::{self, CommitGraph as Dag, UNLINKED};
use refs::*;
pub use state::{GitState, StateError};
pub use tags::{tag_names, tag_pattern, tag_patterns};

/// How deployments are inferred from the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeployRule {
    /// No deployments: the history gives changes only.
    None,
    /// Each tag whose name (without `refs/tags/`) matches the glob is a production
    /// deployment at the tag's time. `*` matches any characters, including `/`.
    Tags(String),
    /// Each commit on the first-parent chain of `branch` that is a merge — or every one of
    /// them with `all_commits` — is a deployment at its committer time.
    Merges { branch: String, all_commits: bool },
}

/// What to read and how to interpret it.
#[derive(Clone, Debug)]
pub struct GitOptions {
    /// The service the changes belong to; defaults to the repository's directory name
    /// (without a `.git` suffix).
    pub service: Option<String>,
    /// How deployments are inferred.
    pub rule: DeployRule,
    /// Only commits touching this directory (relative to the repository root, `/`-separated)
    /// are changes of the service.
    pub path: Option<String>,
}

/// Records ready to store. A sink receives all deployments of a run in its last batch.
#[derive(Debug, Default)]
pub struct Batch {
    pub changes: Vec<Change>,
    pub deployments: Vec<Deployment>,
}

/// What an [`ingest`] run did.
#[derive(Debug)]
pub struct Outcome {
    /// The service the records belong to.
    pub service: String,
    /// The source name the records should be stored under: `git:<service>`.
    pub source: String,
    /// Whether the whole history was read (a first run, or an incremental run that could
    /// not be exact); `false` when only new and unreleased commits were read.
    pub full: bool,
    /// Changes sent to the sink (new ones, and earlier unreleased ones re-sent).
    pub changes: u64,
    /// Deployments sent to the sink.
    pub deployments: u64,
    /// Changes of the service that no deployment contains yet, after this run.
    pub unreleased: u64,
    /// The state to hand to the next run.
    pub state: GitState,
}

/// Phases an [`ingest`] run goes through, for progress reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Following parent links from the branch and tag tips.
    Walk,
    /// Reading commits (an incremental run reads its commits before linking them).
    Decode,
    /// Reading what is left of the commits, building the records and handing them to the
    /// sink.
    Read,
}

/// Receives progress of an [`ingest`] run; every method has a do-nothing default.
pub trait Progress: Sync {
    /// A phase starts; `total` is the number of commits it will go through, when known.
    fn phase(&self, _phase: Phase, _total: Option<u64>) {}
    /// `n` more commits of the current phase are done.
    fn advance(&self, _n: u64) {}
}

/// A [`Progress`] that reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}

/// The error a sink returns to stop an [`ingest`] run.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Why an [`ingest`] run failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The path is not a readable git repository.
    #[error("{path}: cannot open git repository: {source}")]
    Open { path: PathBuf, source: gix::Error },
    /// A shallow clone lacks the history the metrics need.
    #[error(
        "{path}: shallow repository: its history is incomplete, so lead times and deployment \
         links would be wrong; run `git fetch --unshallow` first"
    )]
    Shallow { path: PathBuf },
    /// An object is missing or cannot be decoded.
    #[error("object {id}: {problem} (is the repository corrupt?)")]
    Object { id: String, problem: String },
    /// Reading references or the commit-graph failed.
    #[error("reading {what}: {problem}")]
    Read { what: String, problem: String },
    /// `--deploy-merges` names a branch that does not exist.
    #[error("--deploy-merges {branch}: no such branch (looked for refs/heads/{branch})")]
    NoBranch { branch: String },
    /// The sink refused a batch.
    #[error("storing records: {0}")]
    Sink(SinkError),
}

impl GitError {
    fn object(id: &gix::oid, problem: impl std::fmt::Display) -> GitError {
        GitError::Object {
            id: id.to_string(),
            problem: problem.to_string(),
        }
    }

    fn missing(id: &gix::oid) -> GitError {
        GitError::object(id, "not found")
    }

    fn read(what: impl Into<String>, problem: impl std::fmt::Display) -> GitError {
        GitError::Read {
            what: what.into(),
            problem: problem.to_string(),
        }
    }
}

/// Changes per batch handed to the sink: large enough to amortise a store round trip,
/// small enough to keep memory flat.
const BATCH: usize = 8192;

/// Reads the repository at `path` and sends its changes and deployments to `sink`.
///
/// With `previous` (the [`Outcome::state`] of an earlier run with the same options), only
/// what is new is read and sent; see the [module docs](self) for when a run falls back to
/// reading everything. The caller stores [`Outcome::state`] once the sink has committed.
pub fn ingest(
    path: &Path,
    options: &GitOptions,
    previous: Option<&GitState>,
    progress: &dyn Progress,
    sink: &mut dyn FnMut(Batch) -> Result<(), SinkError>,
) -> Result<Outcome, GitError> {
    let repo = open(path)?;
    let service = service_name(path, options);
    let mailmap = repo.open_mailmap();
    let refs = read_refs(&repo, &mailmap)?;
    let fingerprint = state::fingerprint(&repo, options);
    let run = Run {
        repo: &repo,
        mailmap: &mailmap,
        options,
        service,
        progress,
        refs,
    };
    let previous = previous.filter(|state| state.matches(&fingerprint));
    let incremental = match previous {
        Some(state) => run.incremental(state)?,
        None => None,
    };
    let history = match incremental {
        Some(history) => history,
        None if run.streams()? => return run.stream(fingerprint, sink),
        None => run.full()?,
    };
    run.finish(history, fingerprint, sink)
}

fn open(path: &Path) -> Result<gix::Repository, GitError> {
    let repo = gix::open(path).map_err(|source| GitError::Open {
        path: path.to_owned(),
        source,
    })?;
    let shallow = repo
        .is_shallow()
        .map_err(|err| GitError::read("the shallow file", err))?;
    if shallow {
        return Err(GitError::Shallow {
            path: path.to_owned(),
        });
    }
    Ok(repo)
}

/// The service an [`ingest`] of `path` with `options` files its records under:
/// [`GitOptions::service`] when given, else the repository's directory name (`/src/shop`
/// and `/src/shop.git` both give `shop`). Callers use it to find the run's stored state
/// before the run.
pub fn service_name(path: &Path, options: &GitOptions) -> String {
    match &options.service {
        Some(service) => service.clone(),
        None => default_service(path),
    }
}

fn default_service(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.strip_suffix(".git") {
        Some(stripped) if !stripped.is_empty() => stripped.to_owned(),
        _ if name.is_empty() => "repository".to_owned(),
        _ => name,
    }
}

/// A deployment before it becomes a record: where it is in the graph and when.
#[derive(Clone, Debug)]
struct Candidate {
    id: String,
    commit: ObjectId,
    /// Seconds since the Unix epoch.
    at: i64,
    /// The deployed commit's node in this run's graph, or `UNLINKED` when it is not there.
    node: u32,
}

/// Marks a node that an earlier run already linked: a parent of this run's commits that
/// is present only so that parent lists (first parent, merges, `--path`) stay exact.
const RELEASED: u32 = UNLINKED - 1;

/// The part of the history one run works on, linked.
struct History {
    full: bool,
    ids: Vec<ObjectId>,
    /// Per node: what was read of the commit, or `None` when it is still to be read (a full
    /// run reads commits the commit-graph covered only while emitting them).
    data: Vec<Option<CommitData>>,
    /// Per node: the root tree, which `--path` needs before anything is emitted.
    trees: Vec<ObjectId>,
    /// Per node: committer time, seconds.
    times: Vec<i64>,
    dag: Dag,
    /// Nodes `0..inner` are this run's commits; nodes from `inner` on are released parents.
    inner: usize,
    /// This run's new deployments, oldest first.
    deployments: Vec<Candidate>,
    /// Per node: position in `deployments`, `UNLINKED`, or `RELEASED`.
    marks: Vec<u32>,
    /// Every deployment known after this run, for the next state.
    known: Vec<Candidate>,
}

/// What the deployment rule needs to see of a run's graph.
struct View<'a> {
    ids: &'a [ObjectId],
    dag: &'a Dag,
    inner: usize,
    node_of: &'a dyn Fn(&ObjectId) -> Option<u32>,
    time: &'a dyn Fn(u32) -> i64,
}

/// The whole history as the walk found it.
#[derive(Default)]
struct Walked {
    ids: Vec<ObjectId>,
    /// Committer time per node, seconds.
    times: Vec<i64>,
    dag: Dag,
    /// Commits the walk had to decode (not in the commit-graph) already carry their data.
    data: Vec<Option<CommitData>>,
    /// Root tree per node.
    trees: Vec<ObjectId>,
    /// The node of each ref tip.
    tips: HashMap<ObjectId, u32>,
}

struct Run<'a> {
    repo: &'a gix::Repository,
    mailmap: &'a gix::mailmap::Snapshot,
    options: &'a GitOptions,
    service: String,
    progress: &'a dyn Progress,
    refs: Refs,
}

impl Run<'_> {
    /// Reads and links the whole history.
    fn full(&self) -> Result<History, GitError> {
        let Walked {
            ids,
            times,
            dag,
            data,
            trees,
            tips,
        } = self.walk()?;
        let node_of = |id: &ObjectId| tips.get(id).copied();
        let time = |node: u32| times[node as usize];
        let view = View {
            ids: &ids,
            dag: &dag,
            inner: ids.len(),
            node_of: &node_of,
            time: &time,
        };
        let deployments = self
            .deployments(&view, None)?
            .expect("without an old tip to reach, the deploy rule always answers");
        let mut marks = vec![UNLINKED; ids.len()];
        link(&dag, &deployments, &mut marks);
        Ok(History {
            full: true,
            inner: ids.len(),
            ids,
            data,
            trees,
            times,
            dag,
            known: deployments.clone(),
            deployments,
            marks,
        })
    }

    /// Reads what is new since `state`, or `None` when that could not be exact.
    fn incremental(&self, state: &GitState) -> Result<Option<History>, GitError> {
        let exists = |id: &ObjectId| gix::objs::Exists::exists(&self.repo.objects, id);
        let hidden: Vec<ObjectId> = state.tips().filter(exists).collect();
        let tips: Vec<ObjectId> = self.refs.tips.iter().map(|(_, id)| *id).collect();
        self.progress.phase(Phase::Walk, None);
        let walk = self
            .repo
            .rev_walk(tips)
            .with_hidden(hidden)
            .all()
            .map_err(|err| GitError::read("new commits", err))?;
        let mut ids: Vec<ObjectId> = Vec::new();
        let mut lookup: HashMap<ObjectId, u32> = HashMap::new();
        let mut add = |id: ObjectId| {
            if let Entry::Vacant(slot) = lookup.entry(id) {
                slot.insert(ids.len() as u32);
                ids.push(id);
            }
        };
        for info in walk {
            add(info.map_err(|err| GitError::read("new commits", err))?.id);
        }
        state.unreleased().filter(exists).for_each(&mut add);
        let inner = ids.len();
        self.progress.advance(inner as u64);

        // This run's commits, and their parents outside it: commits released before.
        let all: Vec<u32> = (0..inner as u32).collect();
        let decoded = self.decode(&ids, &all, true)?;
        let mut dag = Dag::with_nodes(inner);
        let mut data = Vec::with_capacity(inner);
        for (node, (commit, parents)) in decoded.into_iter().enumerate() {
            let parents: Vec<u32> = parents
                .into_iter()
                .map(|id| {
                    *lookup.entry(id).or_insert_with(|| {
                        ids.push(id);
                        dag.push_node()
                    })
                })
                .collect();
            dag.set_parents(node as u32, parents);
            data.push(commit);
        }
        let released: Vec<u32> = (inner as u32..ids.len() as u32).collect();
        data.extend(
            self.decode(&ids, &released, false)?
                .into_iter()
                .map(|(commit, _)| commit),
        );
        let mut marks = vec![UNLINKED; ids.len()];
        marks[inner..].fill(RELEASED);

        let node_of = |id: &ObjectId| lookup.get(id).copied();
        let time = |node: u32| data[node as usize].committed;
        let view = View {
            ids: &ids,
            dag: &dag,
            inner,
            node_of: &node_of,
            time: &time,
        };
        let old_branch = match &self.options.rule {
            DeployRule::Merges { branch, .. } => match state.tip(&branch_ref(branch)) {
                Some(tip) => Some(tip),
                None => return Ok(None),
            },
            _ => None,
        };
        let Some(current) = self.deployments(&view, old_branch)? else {
            return Ok(None);
        };
        let mut fresh = Vec::new();
        for candidate in current {
            match state.deployment(&candidate.id) {
                Some(known) if known == candidate.commit => {}
                // A tag moved to another commit: links made from it may be wrong now.
                Some(_) => return Ok(None),
                None => fresh.push(candidate),
            }
        }
        if let (Some(first), Some(latest)) = (fresh.first(), state.latest())
            && first.at < latest
        {
            return Ok(None);
        }
        link(&dag, &fresh, &mut marks);
        let mut known = state.known_deployments();
        known.extend(fresh.iter().cloned());
        Ok(Some(History {
            full: false,
            ids,
            trees: data.iter().map(|commit| commit.tree).collect(),
            times: data.iter().map(|commit| commit.committed).collect(),
            data: data.into_iter().map(Some).collect(),
            dag,
            inner,
            deployments: fresh,
            marks,
            known,
        }))
    }

    /// Walks the whole history from the tips, using the commit-graph file where it covers
    /// the commits (parents and times without opening objects) and decoding the rest.
    fn walk(&self) -> Result<Walked, GitError> {
        let graph = self
            .repo
            .commit_graph_if_enabled()
            .map_err(|err| GitError::read("the commit-graph", err))?;
        if graph.is_none() {
            return self.walk_reading();
        }
        self.progress.phase(Phase::Walk, None);
        let mut walked = Walked::default();
        let mut seen = Seen {
            by_position: vec![UNLINKED; graph.as_ref().map_or(0, |g| g.num_commits() as usize)],
            by_id: HashMap::new(),
            positions: Vec::new(),
            stack: Vec::new(),
        };
        for (_, tip) in &self.refs.tips {
            let position = graph.as_ref().and_then(|g| g.lookup(tip)).map(|p| p.0);
            let node = seen.node(&mut walked, tip, position);
            walked.tips.insert(*tip, node);
        }
        let mut decoder = Decoder::new(self.repo, self.mailmap);
        let mut parent_ids = Vec::new();
        let mut parent_nodes = Vec::new();
        let mut expanded = 0u64;
        while let Some(node) = seen.stack.pop() {
            parent_nodes.clear();
            let position = seen.positions[node as usize];
            match &graph {
                Some(graph) if position != UNLINKED => {
                    let commit = graph.commit_at(gix::commitgraph::Position(position));
                    walked.times[node as usize] = commit.committer_timestamp() as i64;
                    walked.trees[node as usize] = commit.root_tree_id().to_owned();
                    for parent in commit.iter_parents() {
                        let parent =
                            parent.map_err(|err| GitError::read("the commit-graph", err))?;
                        let id = graph.id_at(parent);
                        parent_nodes.push(seen.node(&mut walked, id, Some(parent.0)));
                    }
                }
                _ => {
                    parent_ids.clear();
                    let id = walked.ids[node as usize];
                    let commit = decoder.commit(&id, &mut parent_ids)?;
                    walked.times[node as usize] = commit.committed;
                    walked.trees[node as usize] = commit.tree;
                    walked.data[node as usize] = Some(commit);
                    for parent in &parent_ids {
                        let position = graph.as_ref().and_then(|g| g.lookup(parent)).map(|p| p.0);
                        parent_nodes.push(seen.node(&mut walked, parent, position));
                    }
                }
            }
            walked.dag.set_parents(node, parent_nodes.iter().copied());
            expanded += 1;
            if expanded.is_multiple_of(4096) {
                self.progress.advance(4096);
            }
        }
        Ok(walked)
    }

    /// Decodes `nodes` of `ids` on all cores, in order; with `parents`, also their parents.
    fn decode(
        &self,
        ids: &[ObjectId],
        nodes: &[u32],
        parents: bool,
    ) -> Result<Vec<(CommitData, Vec<ObjectId>)>, GitError> {
        const CHUNK: usize = 2048;
        type Chunk = Vec<(CommitData, Vec<ObjectId>)>;
        self.progress.phase(Phase::Decode, Some(nodes.len() as u64));
        let chunks = nodes.len().div_ceil(CHUNK);
        let threads = threads(chunks);
        let shared = self.repo.clone().into_sync();
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Chunk>>> = Mutex::new((0..chunks).map(|_| None).collect());
        let worker = || -> Result<(), GitError> {
            let repo = shared.to_thread_local();
            let mut decoder = Decoder::new(&repo, self.mailmap);
            let mut scratch = Vec::new();
            loop {
                let chunk = next.fetch_add(1, Ordering::Relaxed);
                if chunk >= chunks {
                    return Ok(());
                }
                let part = &nodes[chunk * CHUNK..nodes.len().min((chunk + 1) * CHUNK)];
                let mut out = Vec::with_capacity(part.len());
                for &node in part {
                    scratch.clear();
                    let commit = decoder.commit(&ids[node as usize], &mut scratch)?;
                    let kept = if parents { scratch.clone() } else { Vec::new() };
                    out.push((commit, kept));
                }
                self.progress.advance(part.len() as u64);
                results.lock().expect("workers do not panic")[chunk] = Some(out);
            }
        };
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads).map(|_| scope.spawn(worker)).collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("decode workers do not panic"))
                .collect::<Result<Vec<()>, GitError>>()
        })?;
        Ok(results
            .into_inner()
            .expect("workers do not panic")
            .into_iter()
            .flat_map(|chunk| chunk.expect("every chunk is decoded once the workers succeed"))
            .collect())
    }

    /// The deployments the rule finds, oldest first.
    ///
    /// With `old_branch_tip` (incremental runs of the merge rule), the deploy branch's
    /// first-parent chain is followed only down to that commit, and `None` is returned when
    /// the chain leaves this run's commits anywhere else (the branch was rewritten or moved
    /// onto older commits): only a full run can follow it then.
    fn deployments(
        &self,
        view: &View<'_>,
        old_branch_tip: Option<ObjectId>,
    ) -> Result<Option<Vec<Candidate>>, GitError> {
        let mut out = Vec::new();
        match &self.options.rule {
            DeployRule::None => {}
            DeployRule::Tags(glob) => {
                let mut decoder = Decoder::new(self.repo, self.mailmap);
                for (name, commit, tagged) in &self.refs.tags {
                    if !tags::matches(glob, name) {
                        continue;
                    }
                    let node = (view.node_of)(commit);
                    let at = match (tagged, node) {
                        (Some(at), _) => *at,
                        (None, Some(node)) => (view.time)(node),
                        (None, None) => decoder.commit(commit, &mut Vec::new())?.committed,
                    };
                    out.push(Candidate {
                        id: format!("tag:{name}"),
                        commit: *commit,
                        at,
                        node: node.unwrap_or(UNLINKED),
                    });
                }
            }
            DeployRule::Merges {
                branch,
                all_commits,
            } => {
                let full_name = branch_ref(branch);
                let (_, tip) = self
                    .refs
                    .tips
                    .iter()
                    .find(|(name, _)| *name == full_name)
                    .ok_or_else(|| GitError::NoBranch {
                        branch: branch.clone(),
                    })?;
                let mut reached_old_tip = false;
                let mut current = (view.node_of)(tip);
                if Some(*tip) == old_branch_tip {
                    current = None;
                    reached_old_tip = true;
                } else if current.is_none() && old_branch_tip.is_some() {
                    return Ok(None);
                }
                while let Some(node) = current {
                    let commit = view.ids[node as usize];
                    if Some(commit) == old_branch_tip {
                        reached_old_tip = true;
                        break;
                    }
                    if node as usize >= view.inner {
                        return Ok(None);
                    }
                    let parents = view.dag.parents(node);
                    if parents.len() > 1 || *all_commits {
                        let kind = if parents.len() > 1 { "merge" } else { "commit" };
                        out.push(Candidate {
                            id: format!("{kind}:{commit}"),
                            commit,
                            at: (view.time)(node),
                            node,
                        });
                    }
                    current = parents.first().copied();
                }
                if old_branch_tip.is_some() && !reached_old_tip {
                    return Ok(None);
                }
            }
        }
        // Oldest first; deployments in the same second are ordered by id, so runs repeat.
        out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
        Ok(Some(out))
    }

    /// Selects the changes, builds the records and hands them to `sink`.
    ///
    /// Commits not read yet are read here, on all cores: each worker reads a chunk of
    /// commits, builds its changes and passes the batch to this thread, which hands it to
    /// the sink while the workers go on, so reading and storing overlap.
    fn finish(
        &self,
        history: History,
        fingerprint: String,
        sink: &mut dyn FnMut(Batch) -> Result<(), SinkError>,
    ) -> Result<Outcome, GitError> {
        let in_scope = match &self.options.path {
            Some(path) => self.scope(&history, path)?,
            None => vec![true; history.inner],
        };
        let History {
            full,
            ids,
            mut data,
            inner,
            deployments,
            marks,
            known,
            times,
            ..
        } = history;
        // Emit oldest first (ties by commit id): a store's indexes by time then grow at
        // their end instead of at random places, which makes inserting a large history
        // much cheaper; only the (source, id) key is filled in at random.
        let mut order: Vec<(i64, ObjectId, u32)> = (0..inner as u32)
            .map(|node| (times[node as usize], ids[node as usize], node))
            .collect();
        drop(times);
        order.sort_unstable();
        let ids: Vec<ObjectId> = order.iter().map(|&(_, id, _)| id).collect();
        let marks: Vec<u32> = order
            .iter()
            .map(|&(_, _, node)| marks[node as usize])
            .collect();
        let in_scope: Vec<bool> = order
            .iter()
            .map(|&(_, _, node)| in_scope[node as usize])
            .collect();
        let mut data: Vec<Option<CommitData>> = order
            .iter()
            .map(|&(_, _, node)| data[node as usize].take())
            .collect();
        drop(order);
        self.progress.phase(Phase::Read, Some(inner as u64));
        let emit = Emit {
            service: &self.service,
            mailmap: self.mailmap,
            progress: self.progress,
            ids: &ids,
            marks: &marks,
            in_scope: &in_scope,
            deployments: &deployments,
            linking: self.options.rule != DeployRule::None,
        };
        let chunks = Mutex::new(data.chunks_mut(BATCH).enumerate());
        let shared = self.repo.clone().into_sync();
        let threads = threads(inner.div_ceil(BATCH));
        let (sender, receiver) = mpsc::sync_channel::<Result<Vec<Change>, GitError>>(threads);
        let mut outcome = self.outcome(full);
        let (sent, tallies) = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    let sender = sender.clone();
                    let (emit, chunks, shared) = (&emit, &chunks, &shared);
                    scope.spawn(move || emit.work(&shared.to_thread_local(), chunks, &sender))
                })
                .collect();
            drop(sender);
            // Dropping the receiver on an error makes the workers stop at their next send.
            let sent = receiver.into_iter().try_for_each(|changes| {
                let changes = changes?;
                outcome.changes += changes.len() as u64;
                sink(Batch {
                    changes,
                    deployments: Vec::new(),
                })
                .map_err(GitError::Sink)
            });
            let tallies: Vec<Tally> = workers
                .into_iter()
                .map(|worker| worker.join().expect("emit workers do not panic"))
                .collect();
            (sent, tallies)
        });
        sent?;
        // Without `--path` every deployment counts; with it, only those shipping its commits.
        let mut ships = vec![self.options.path.is_none(); deployments.len()];
        let mut unreleased_ids = Vec::new();
        for tally in tallies {
            outcome.unreleased += tally.unreleased;
            unreleased_ids.extend(tally.unreleased_ids);
            for (ships, shipped) in ships.iter_mut().zip(tally.ships) {
                *ships |= shipped;
            }
        }
        let shipping = deployments
            .iter()
            .zip(&ships)
            .filter(|(_, ships)| **ships)
            .map(|(candidate, _)| candidate);
        self.close(outcome, shipping, known, unreleased_ids, fingerprint, sink)
    }

    /// An outcome with nothing sent yet.
    fn outcome(&self, full: bool) -> Outcome {
        Outcome {
            source: format!("git:{}", self.service),
            service: self.service.clone(),
            full,
            changes: 0,
            deployments: 0,
            unreleased: 0,
            state: GitState::default(),
        }
    }

    /// Hands the run's deployments to `sink` (in its last batch) and completes the
    /// outcome with them and with the state for the next run.
    fn close<'c>(
        &self,
        mut outcome: Outcome,
        shipping: impl Iterator<Item = &'c Candidate>,
        known: Vec<Candidate>,
        unreleased_ids: Vec<ObjectId>,
        fingerprint: String,
        sink: &mut dyn FnMut(Batch) -> Result<(), SinkError>,
    ) -> Result<Outcome, GitError> {
        let records = shipping
            .map(|candidate| self.deployment(candidate))
            .collect::<Result<Vec<_>, _>>()?;
        outcome.deployments = records.len() as u64;
        sink(Batch {
            changes: Vec::new(),
            deployments: records,
        })
        .map_err(GitError::Sink)?;
        outcome.state = GitState::new(fingerprint, &self.refs.tips, known, unreleased_ids);
        Ok(outcome)
    }

    /// Which of the run's commits touch `path`: those whose tree at `path` differs from
    /// that of at least one parent (a root commit: where `path` exists).
    fn scope(&self, history: &History, path: &str) -> Result<Vec<bool>, GitError> {
        let components: Vec<&[u8]> = path
            .split('/')
            .filter(|part| !part.is_empty() && *part != ".")
            .map(str::as_bytes)
            .collect();
        let mut decoder = Decoder::new(self.repo, self.mailmap);
        let mut subtrees: HashMap<ObjectId, Option<ObjectId>> = HashMap::new();
        let mut subtree_of = |tree: ObjectId| -> Result<Option<ObjectId>, GitError> {
            if let Some(subtree) = subtrees.get(&tree) {
                return Ok(*subtree);
            }
            let subtree = decoder.subtree(tree, &components)?;
            subtrees.insert(tree, subtree);
            Ok(subtree)
        };
        (0..history.inner)
            .map(|node| {
                let subtree = subtree_of(history.trees[node])?;
                let parents = history.dag.parents(node as u32);
                if parents.is_empty() {
                    return Ok(subtree.is_some());
                }
                for &parent in parents {
                    if subtree_of(history.trees[parent as usize])? != subtree {
                        return Ok(true);
                    }
                }
                Ok(false)
            })
            .collect()
    }

    fn deployment(&self, candidate: &Candidate) -> Result<Deployment, GitError> {
        Ok(Deployment {
            id: candidate.id.clone(),
            service: self.service.clone(),
            environment: flowmap_core::events::PRODUCTION.to_owned(),
            status: DeploymentStatus::Success,
            started_at: None,
            finished_at: timestamp(&candidate.commit, candidate.at)?,
            commit: Some(candidate.commit.to_string()),
            changes: Vec::new(),
            kind: DeploymentKind::Normal,
            fixes: None,
        })
    }
}

/// The walk's bookkeeping: which commits have a node, and which still need expanding.
struct Seen {
    /// Node per commit-graph position (`UNLINKED` = none yet).
    by_position: Vec<u32>,
    /// Node per commit that the commit-graph does not cover.
    by_id: HashMap<ObjectId, u32>,
    /// Per node: its commit-graph position, or `UNLINKED`.
    positions: Vec<u32>,
    stack: Vec<u32>,
}

impl Seen {
    /// The node of commit `id` (at commit-graph `position`, if any), added and queued for
    /// expansion when new.
    fn node(&mut self, walked: &mut Walked, id: &gix::oid, position: Option<u32>) -> u32 {
        let slot = match position {
            Some(p) => &mut self.by_position[p as usize],
            None => self.by_id.entry(id.to_owned()).or_insert(UNLINKED),
        };
        if *slot == UNLINKED {
            let node = walked.dag.push_node();
            *slot = node;
            walked.ids.push(id.to_owned());
            walked.times.push(0);
            walked.trees.push(id.to_owned());
            walked.data.push(None);
            self.positions.push(position.unwrap_or(UNLINKED));
            self.stack.push(node);
        }
        *slot
    }
}

/// Links each commit to the earliest of `deployments` (oldest first) that contains it.
fn link(dag: &Dag, deployments: &[Candidate], marks: &mut [u32]) {
    let heads: Vec<u32> = deployments.iter().map(|candidate| candidate.node).collect();
    ancestry::link_earliest(dag, &heads, marks);
}

fn branch_ref(branch: &str) -> String {
    if branch.starts_with("refs/") {
        branch.to_owned()
    } else {
        format!("refs/heads/{branch}")
    }
}

fn timestamp(id: &gix::oid, seconds: i64) -> Result<Timestamp, GitError> {
    Timestamp::from_second(seconds)
        .map_err(|err| GitError::object(id, format!("date {seconds} out of range: {err}")))
}
