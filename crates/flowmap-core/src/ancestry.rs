//! Which deployment first shipped each commit: the one change → deployment link by
//! ancestry, for every source that knows commits but not what each deployment contains.
//!
//! A deployment ships the commits its deployed commit contains that no earlier deployment
//! shipped. Git history is a graph ([`CommitGraph`]); a branch's webhook pushes are a
//! chain of the same kind ([`shipped_by_pushes`]); both are linked by the one walk,
//! [`link_earliest`]. Links by reference (a deployment listing its changes, a change
//! naming its deployment) are resolved when the metrics are computed (`dora::linking`).
//!
//! Commits are numbered densely (`0..len`) in the order they were discovered, and each
//! commit's parents are a slice of one shared vector. For a million commits that is about
//! 12 bytes per commit plus 4 per parent edge — small enough to keep the whole history in
//! memory, which is what makes a linear-time link possible.

use std::collections::HashMap;

/// Marks a commit that no deployment contains (yet).
pub const UNLINKED: u32 = u32::MAX;

/// Parent links between commits numbered `0..len`.
///
/// A parent that is not part of the graph (in an incremental run: a commit that an earlier
/// run already linked to a deployment) is simply left out; the link walk stops there, which
/// is exactly right because everything behind such a commit is linked already.
#[derive(Debug, Default)]
pub struct CommitGraph {
    /// `parents[start[i] as usize..][..len[i] as usize]` are the parents of commit `i`.
    start: Vec<u32>,
    len: Vec<u32>,
    parents: Vec<u32>,
}

impl CommitGraph {
    /// A graph of `nodes` commits, none of which has parents recorded yet.
    #[inline]
    pub fn with_nodes(nodes: usize) -> CommitGraph {
        CommitGraph {
            start: vec![0; nodes],
            len: vec![0; nodes],
            parents: Vec::with_capacity(nodes + nodes / 8),
        }
    }

    /// Adds a commit with no parents recorded yet and returns its number.
    #[inline]
    pub fn push_node(&mut self) -> u32 {
        self.start.push(0);
        self.len.push(0);
        u32::try_from(self.start.len() - 1).expect("fewer than 4 billion commits")
    }

    /// Records the parents of `node`. Each node's parents are recorded once.
    #[inline]
    pub fn set_parents(&mut self, node: u32, parents: impl IntoIterator<Item = u32>) {
        let start = self.parents.len();
        self.parents.extend(parents);
        self.start[node as usize] = u32::try_from(start).expect("fewer than 4 billion edges");
        self.len[node as usize] = u32::try_from(self.parents.len() - start).expect("few parents");
    }

    /// Number of commits in the graph.
    #[inline]
    pub fn len(&self) -> usize {
        self.start.len()
    }

    /// Whether the graph has no commits.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.start.is_empty()
    }

    /// The parents of `node` that are part of the graph, first parent first.
    #[inline]
    pub fn parents(&self, node: u32) -> &[u32] {
        let start = self.start[node as usize] as usize;
        &self.parents[start..start + self.len[node as usize] as usize]
    }
}

/// Links every commit to the earliest deployment that contains it.
///
/// `deployments` are the deployed commits, **already sorted oldest deployment first**; a
/// deployment whose commit is not in the graph is given as [`UNLINKED`] and ships nothing.
/// Sets, per commit, the position in `deployments` of its deployment, leaving [`UNLINKED`]
/// where none contains it. `marks` may carry links from before: anything not
/// [`UNLINKED`] is treated as linked, together with all of its ancestors.
///
/// Processing deployments oldest first and marking only unmarked ancestors gives each
/// commit the earliest deployment that contains it: when deployment `d` reaches a commit
/// that is already marked, an older deployment contains that commit and therefore all of
/// its ancestors, so the walk stops there. Every commit and every edge is visited at most
/// once over all deployments together: O(commits + edges), never a per-commit query.
pub fn link_earliest(dag: &CommitGraph, deployments: &[u32], marks: &mut [u32]) {
    debug_assert_eq!(marks.len(), dag.len());
    let mut stack = Vec::new();
    for (position, &head) in deployments.iter().enumerate() {
        let position = u32::try_from(position).expect("fewer than 4 billion deployments");
        if head == UNLINKED || marks[head as usize] != UNLINKED {
            continue;
        }
        marks[head as usize] = position;
        stack.push(head);
        while let Some(node) = stack.pop() {
            for &parent in dag.parents(node) {
                if marks[parent as usize] == UNLINKED {
                    marks[parent as usize] = position;
                    stack.push(parent);
                }
            }
        }
    }
}

/// The commits a deployment ships whose deployed commit is the head of the last of
/// `pushes`: a branch's pushes not yet shipped by another deployment, oldest first, each
/// with its commits oldest first.
///
/// The pushes form a chain (each commit's parent is the commit pushed before it), so the
/// deployment ships every commit of the chain, in push order, each once, however often
/// it was pushed.
pub fn shipped_by_pushes<S: AsRef<str>>(pushes: &[Vec<S>]) -> Vec<String> {
    let mut graph = CommitGraph::default();
    let mut ids: Vec<&str> = Vec::new();
    let mut nodes: HashMap<&str, u32> = HashMap::new();
    let mut last: Option<u32> = None;
    for id in pushes.iter().flatten().map(AsRef::as_ref) {
        if nodes.contains_key(id) {
            continue;
        }
        let node = graph.push_node();
        graph.set_parents(node, last);
        nodes.insert(id, node);
        ids.push(id);
        last = Some(node);
    }
    let Some(head) = last else {
        return Vec::new();
    };
    let mut marks = vec![UNLINKED; graph.len()];
    link_earliest(&graph, &[head], &mut marks);
    ids.iter()
        .zip(&marks)
        .filter(|&(_, &mark)| mark == 0)
        .map(|(id, _)| (*id).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a graph from `(node, parents)` pairs over nodes `0..n`.
    fn graph(n: usize, edges: &[(u32, &[u32])]) -> CommitGraph {
        let mut graph = CommitGraph::with_nodes(n);
        for &(node, parents) in edges {
            graph.set_parents(node, parents.iter().copied());
        }
        graph
    }

    #[test]
    fn each_commit_gets_the_oldest_deployment_that_contains_it() {
        // 0 ← 1 ← 2 ← 4 (merge of 2 and 3)
        //      ↖ 3 ↙
        // Deployments, oldest first: at 3 (a tag on the side branch), then at 4.
        let graph = graph(5, &[(1, &[0]), (2, &[1]), (3, &[1]), (4, &[2, 3])]);
        let mut marks = vec![UNLINKED; 5];
        link_earliest(&graph, &[3, 4], &mut marks);
        assert_eq!(marks, vec![0, 0, 1, 0, 1]);
    }

    #[test]
    fn later_deployments_of_deployed_or_unknown_commits_ship_nothing() {
        let graph = graph(3, &[(1, &[0]), (2, &[1])]);
        let mut marks = vec![UNLINKED; 3];
        link_earliest(&graph, &[1, 1, UNLINKED, 2], &mut marks);
        assert_eq!(marks, vec![0, 0, 3]);
    }

    #[test]
    fn commits_after_the_last_deployment_stay_unlinked() {
        let graph = graph(3, &[(1, &[0]), (2, &[1])]);
        let mut marks = vec![UNLINKED; 3];
        link_earliest(&graph, &[0], &mut marks);
        assert_eq!(marks, vec![0, UNLINKED, UNLINKED]);
    }

    #[test]
    fn existing_marks_stop_the_walk() {
        // An incremental run: commit 1 was linked before (to some deployment) and commit 0 is
        // not even part of this graph. A new deployment at 3 only takes 2 and 3.
        let graph = graph(4, &[(2, &[1]), (3, &[2])]);
        let mut marks = vec![UNLINKED, 7, UNLINKED, UNLINKED];
        link_earliest(&graph, &[3], &mut marks);
        assert_eq!(marks, vec![UNLINKED, 7, 0, 0]);
    }

    #[test]
    fn pushed_nodes_keep_their_own_parents() {
        let mut graph = CommitGraph::default();
        let a = graph.push_node();
        let b = graph.push_node();
        let c = graph.push_node();
        graph.set_parents(c, [b, a]);
        graph.set_parents(b, [a]);
        assert_eq!(graph.len(), 3);
        assert_eq!(graph.parents(c), &[b, a]);
        assert_eq!(graph.parents(b), &[a]);
        assert!(graph.parents(a).is_empty());
    }

    #[test]
    fn pushes_ship_every_commit_once_in_push_order() {
        let pushes = vec![vec!["a1", "a2"], vec![], vec!["a2", "b1"]];
        assert_eq!(shipped_by_pushes(&pushes), ["a1", "a2", "b1"]);
        let none: Vec<Vec<String>> = vec![vec![]];
        assert!(shipped_by_pushes(&none).is_empty());
    }
}
