//! The branch and tag tips of a repository, peeled to the commits they name: where the
//! walk starts and what the deploy rules match.

use super::*;

/// The branch and tag tips, peeled to commits.
pub(super) struct Refs {
    /// Full ref name → commit, for every branch and every tag that names a commit.
    pub(super) tips: Vec<(String, ObjectId)>,
    /// Tags naming commits: short name, commit, tagger time of an annotated tag.
    pub(super) tags: Vec<(String, ObjectId, Option<i64>)>,
}

pub(super) fn read_refs(
    repo: &gix::Repository,
    mailmap: &gix::mailmap::Snapshot,
) -> Result<Refs, GitError> {
    let platform = repo
        .references()
        .map_err(|err| GitError::read("references", err))?;
    let mut decoder = Decoder::new(repo, mailmap);
    let mut refs = Refs {
        tips: Vec::new(),
        tags: Vec::new(),
    };
    for prefix in ["refs/heads/", "refs/tags/"] {
        let iter = platform
            .prefixed(prefix)
            .map_err(|err| GitError::read(format!("{prefix}*"), err))?;
        for reference in iter {
            let reference = reference.map_err(|err| GitError::read(format!("{prefix}*"), err))?;
            let name = reference.name().as_bstr().to_str_lossy().into_owned();
            let Some(target) = reference.target().try_id().map(ToOwned::to_owned) else {
                // A symbolic ref (such as a branch alias) adds no commits of its own.
                continue;
            };
            match decoder.peel_tag(target)? {
                Peeled::Commit { id, tagged } => {
                    if let Some(short) = name.strip_prefix("refs/tags/") {
                        refs.tags.push((short.to_owned(), id, tagged));
                    }
                    refs.tips.push((name, id));
                }
                Peeled::NotACommit => {}
            }
        }
    }
    Ok(refs)
}
