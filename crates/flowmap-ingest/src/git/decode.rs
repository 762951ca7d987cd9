//! Reading commit and tag objects straight from the object database.
//!
//! Each object is decoded from its raw bytes into borrowed views (`CommitRef`, `TagRef`)
//! and only the few fields flowmap keeps are copied out, so a commit costs one buffer
//! reuse and three small strings.

use std::sync::LazyLock;

use gix::ObjectId;
use gix::bstr::{ByteSlice, Finder};
use gix::objs::{CommitRef, Find, Kind, TagRef};

use super::GitError;

/// What flowmap keeps of one commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CommitData {
    /// The commit's root tree, to tell whether it touches a `--path`.
    pub(crate) tree: ObjectId,
    /// Committer time, seconds since the Unix epoch.
    pub(crate) committed: i64,
    /// Author time, seconds since the Unix epoch.
    pub(crate) authored: i64,
    /// Author email, after the repository's mailmap.
    pub(crate) email: String,
    /// The subject: the first paragraph of the message on one line, as `git log %s` shows it.
    pub(crate) subject: String,
    /// The commit this one reverts, from a "This reverts commit <sha>" line.
    pub(crate) reverts: Option<String>,
}

/// Where a tag reference leads once annotated tags are followed.
pub(crate) enum Peeled {
    /// A commit, with the tagger time of the outermost annotated tag if there is one.
    Commit { id: ObjectId, tagged: Option<i64> },
    /// A tree or a blob: not something that can be deployed.
    NotACommit,
}

/// Decodes objects of one repository; one per thread, each with its own buffer.
pub(crate) struct Decoder<'a> {
    repo: &'a gix::Repository,
    mailmap: &'a gix::mailmap::Snapshot,
    buf: Vec<u8>,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(repo: &'a gix::Repository, mailmap: &'a gix::mailmap::Snapshot) -> Self {
        Decoder {
            repo,
            mailmap,
            buf: Vec::with_capacity(1024),
        }
    }

    /// Reads commit `id`, appending its parents to `parents`.
    pub(crate) fn commit(
        &mut self,
        id: &gix::oid,
        parents: &mut Vec<ObjectId>,
    ) -> Result<CommitData, GitError> {
        let hash = self.repo.object_hash();
        let data = find(self.repo, id, &mut self.buf, Kind::Commit)?;
        let commit = CommitRef::from_bytes(data, hash).map_err(|err| GitError::object(id, err))?;
        parents.extend(commit.parents());
        let author = commit.author().map_err(|err| GitError::object(id, err))?;
        let committed = commit
            .committer()
            .and_then(|committer| committer.time())
            .map_err(|err| GitError::object(id, err))?
            .seconds;
        let authored = author
            .time()
            .map_err(|err| GitError::object(id, err))?
            .seconds;
        let email = match self.mailmap.try_resolve_ref(author).and_then(|r| r.email) {
            Some(mapped) => mapped,
            None => author.trim().email,
        };
        let message = commit.message();
        Ok(CommitData {
            tree: commit.tree(),
            committed,
            authored,
            email: email.to_str_lossy().into_owned(),
            subject: message.summary().to_str_lossy().into_owned(),
            reverts: message.body.and_then(|body| reverted_commit(body)),
        })
    }

    /// Follows a tag reference's target through annotated tags to what it finally names.
    pub(crate) fn peel_tag(&mut self, target: ObjectId) -> Result<Peeled, GitError> {
        let hash = self.repo.object_hash();
        let mut id = target;
        let mut tagged = None;
        // Tags may point at tags; a bounded loop guards against a corrupt cycle.
        for _ in 0..64 {
            let Some(object) = self
                .repo
                .objects
                .try_find(&id, &mut self.buf)
                .map_err(|err| GitError::object(&id, err))?
            else {
                return Err(GitError::missing(&id));
            };
            match object.kind {
                Kind::Commit => return Ok(Peeled::Commit { id, tagged }),
                Kind::Tree | Kind::Blob => return Ok(Peeled::NotACommit),
                Kind::Tag => {
                    let tag = TagRef::from_bytes(object.data, hash)
                        .map_err(|err| GitError::object(&id, err))?;
                    if tagged.is_none()
                        && let Some(tagger) =
                            tag.tagger().map_err(|err| GitError::object(&id, err))?
                    {
                        tagged = Some(
                            tagger
                                .time()
                                .map_err(|err| GitError::object(&id, err))?
                                .seconds,
                        );
                    }
                    id = tag.target();
                }
            }
        }
        Err(GitError::object(&target, "tags nest more than 64 deep"))
    }

    /// The id of the tree at `path` (a `/`-separated directory) in root tree `tree`, or
    /// `None` when the path does not exist there.
    pub(crate) fn subtree(
        &mut self,
        tree: ObjectId,
        path: &[&[u8]],
    ) -> Result<Option<ObjectId>, GitError> {
        let hash = self.repo.object_hash();
        let mut current = tree;
        for component in path {
            let data = find(self.repo, &current, &mut self.buf, Kind::Tree)?;
            let entry = gix::objs::TreeRefIter::from_bytes(data, hash)
                .filter_map(Result::ok)
                .find(|entry| entry.filename == *component && entry.mode.is_tree());
            match entry {
                Some(entry) => current = entry.oid.to_owned(),
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }
}

/// Reads object `id`, which must exist and be of `kind`.
fn find<'b>(
    repo: &gix::Repository,
    id: &gix::oid,
    buf: &'b mut Vec<u8>,
    kind: Kind,
) -> Result<&'b [u8], GitError> {
    match repo.objects.try_find(id, buf) {
        Ok(Some(object)) if object.kind == kind => Ok(object.data),
        Ok(Some(object)) => Err(GitError::object(
            id,
            format!("expected a {kind}, found a {}", object.kind),
        )),
        Ok(None) => Err(GitError::missing(id)),
        Err(err) => Err(GitError::object(id, err)),
    }
}

/// The commit named by the first "This reverts commit <sha>" in a message body, as git
/// revert writes it; the sha is returned in lower case and must be 7 to 64 hex digits.
pub(crate) fn reverted_commit(body: &[u8]) -> Option<String> {
    const MARKER: &[u8] = b"This reverts commit ";
    // Built once: building the searcher cost more than searching a typical message.
    static FINDER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(MARKER));
    let start = FINDER.find(body)? + MARKER.len();
    let hex: Vec<u8> = body[start..]
        .iter()
        .take_while(|byte| byte.is_ascii_hexdigit())
        .map(u8::to_ascii_lowercase)
        .collect();
    (7..=64)
        .contains(&hex.len())
        .then(|| String::from_utf8(hex).expect("hex digits are ASCII"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reverts_are_read_from_git_revert_messages() {
        let body = b"This reverts commit 0123456789ABCDEF0123456789abcdef01234567.\n";
        assert_eq!(
            reverted_commit(body).as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
    }

    #[test]
    fn a_revert_line_after_other_text_is_found() {
        let body = b"Broke the build.\n\nThis reverts commit abc1234, which broke it.";
        assert_eq!(reverted_commit(body).as_deref(), Some("abc1234"));
    }

    #[test]
    fn too_short_or_missing_shas_are_not_reverts() {
        assert_eq!(reverted_commit(b"This reverts commit abc."), None);
        assert_eq!(reverted_commit(b"This reverts commit ."), None);
        assert_eq!(reverted_commit(b"Reverts nothing at all"), None);
    }

    proptest! {
        #[test]
        fn arbitrary_messages_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Some(sha) = reverted_commit(&body) {
                prop_assert!((7..=64).contains(&sha.len()));
                prop_assert!(sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            }
        }

        #[test]
        fn any_embedded_sha_is_found(
            prefix in "[a-zA-Z .\n]{0,40}",
            sha in "[0-9a-f]{40}",
        ) {
            let body = format!("{prefix}This reverts commit {sha}.\n");
            prop_assert_eq!(reverted_commit(body.as_bytes()), Some(sha));
        }
    }
}
