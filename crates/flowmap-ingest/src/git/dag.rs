//! The commit graph as flat arrays, and the one-pass change → deployment link.
//!
//! Commits are numbered densely (`0..len`) in the order the walk discovered them, and each
//! commit's parents are a slice of one shared vector. For a million commits that is about
//! 12 bytes per commit plus 4 per parent edge — small enough to keep the whole history in
//! memory, which is what makes a linear-time link possible.

/// Marks a commit that no deployment contains (yet).
pub(crate) const UNLINKED: u32 = u32::MAX;

/// Parent links between commits numbered `0..len`.
///
/// A parent that is not part of the graph (in an incremental run: a commit that an earlier
/// run already linked to a deployment) is simply left out; the link walk stops there, which
/// is exactly right because everything behind such a commit is linked already.
#[derive(Debug, Default)]
pub(crate) struct Dag {
    /// `parents[start[i] as usize..][..len[i] as usize]` are the parents of commit `i`.
    start: Vec<u32>,
    len: Vec<u32>,
    parents: Vec<u32>,
}

impl Dag {
    /// A graph of `nodes` commits, none of which has parents recorded yet.
    pub(crate) fn with_nodes(nodes: usize) -> Dag {
        Dag {
            start: vec![0; nodes],
            len: vec![0; nodes],
            parents: Vec::with_capacity(nodes + nodes / 8),
        }
    }

    /// Adds a commit with no parents recorded yet and returns its number.
    pub(crate) fn push_node(&mut self) -> u32 {
        self.start.push(0);
        self.len.push(0);
        u32::try_from(self.start.len() - 1).expect("fewer than 4 billion commits")
    }

    /// Records the parents of `node`. Each node's parents are recorded once.
    pub(crate) fn set_parents(&mut self, node: u32, parents: impl IntoIterator<Item = u32>) {
        let start = self.parents.len();
        self.parents.extend(parents);
        self.start[node as usize] = u32::try_from(start).expect("fewer than 4 billion edges");
        self.len[node as usize] = u32::try_from(self.parents.len() - start).expect("few parents");
    }

    /// Number of commits in the graph.
    pub(crate) fn len(&self) -> usize {
        self.start.len()
    }

    /// The parents of `node` that are part of the graph, first parent first.
    pub(crate) fn parents(&self, node: u32) -> &[u32] {
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
pub(crate) fn link(dag: &Dag, deployments: &[u32], marks: &mut [u32]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a graph from `(node, parents)` pairs over nodes `0..n`.
    fn dag(n: usize, edges: &[(u32, &[u32])]) -> Dag {
        let mut dag = Dag::with_nodes(n);
        for &(node, parents) in edges {
            dag.set_parents(node, parents.iter().copied());
        }
        dag
    }

    #[test]
    fn each_commit_gets_the_oldest_deployment_that_contains_it() {
        // 0 ← 1 ← 2 ← 4 (merge of 2 and 3)
        //      ↖ 3 ↙
        // Deployments, oldest first: at 3 (a tag on the side branch), then at 4.
        let graph = dag(5, &[(1, &[0]), (2, &[1]), (3, &[1]), (4, &[2, 3])]);
        let mut marks = vec![UNLINKED; 5];
        link(&graph, &[3, 4], &mut marks);
        assert_eq!(marks, vec![0, 0, 1, 0, 1]);
    }

    #[test]
    fn later_deployments_of_deployed_or_unknown_commits_ship_nothing() {
        let graph = dag(3, &[(1, &[0]), (2, &[1])]);
        let mut marks = vec![UNLINKED; 3];
        link(&graph, &[1, 1, UNLINKED, 2], &mut marks);
        assert_eq!(marks, vec![0, 0, 3]);
    }

    #[test]
    fn commits_after_the_last_deployment_stay_unlinked() {
        let graph = dag(3, &[(1, &[0]), (2, &[1])]);
        let mut marks = vec![UNLINKED; 3];
        link(&graph, &[0], &mut marks);
        assert_eq!(marks, vec![0, UNLINKED, UNLINKED]);
    }

    #[test]
    fn existing_marks_stop_the_walk() {
        // An incremental run: commit 1 was linked before (to some deployment) and commit 0 is
        // not even part of this graph. A new deployment at 3 only takes 2 and 3.
        let graph = dag(4, &[(2, &[1]), (3, &[2])]);
        let mut marks = vec![UNLINKED, 7, UNLINKED, UNLINKED];
        link(&graph, &[3], &mut marks);
        assert_eq!(marks, vec![UNLINKED, 7, 0, 0]);
    }

    #[test]
    fn pushed_nodes_keep_their_own_parents() {
        let mut graph = Dag::default();
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
}
