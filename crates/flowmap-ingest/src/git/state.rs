//! What one run remembers for the next: tips seen, deployments known, commits unreleased.

use std::collections::BTreeMap;

use gix::ObjectId;
use serde::{Deserialize, Serialize};

use super::{Candidate, DeployRule, GitOptions, UNLINKED};

/// Bumped when the meaning of the stored fields changes; an older state then triggers a
/// full run instead of a wrong incremental one.
const VERSION: u32 = 1;

/// The memory of a git ingest between runs, stored by the caller as JSON
/// ([`GitState::to_json`], [`GitState::from_json`]) and passed to the next run.
///
/// It holds the branch and tag tips of the last run (the next run reads only commits not
/// reachable from them), every deployment found so far with its commit and time (to spot
/// new, moved or out-of-order deployments), and the commits no deployment contains yet
/// (so that a new deployment can link them without re-reading the whole history).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GitState {
    options: String,
    tips: BTreeMap<String, ObjectId>,
    deployments: BTreeMap<String, (ObjectId, i64)>,
    unreleased: Vec<ObjectId>,
}

/// The stored form: plain strings, validated when read back.
#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    options: String,
    tips: BTreeMap<String, String>,
    deployments: BTreeMap<String, StoredDeployment>,
    unreleased: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredDeployment {
    commit: String,
    at: i64,
}

/// A stored state that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("git ingest state: {0}")]
    Json(#[from] serde_json::Error),
    #[error("git ingest state: {field}: {value:?} is not an object id")]
    Id { field: &'static str, value: String },
}

/// The repository and the options that change what a run produces; a state made for
/// another repository or with other options is not reused.
pub(super) fn fingerprint(repo: &gix::Repository, options: &GitOptions) -> String {
    let location = repo
        .git_dir()
        .canonicalize()
        .unwrap_or_else(|_| repo.git_dir().to_owned());
    format!("{} {}", options_fingerprint(options), location.display())
}

fn options_fingerprint(options: &GitOptions) -> String {
    let rule = match &options.rule {
        DeployRule::None => "none".to_owned(),
        DeployRule::Tags(glob) => format!("tags:{glob}"),
        DeployRule::Merges {
            branch,
            all_commits: false,
        } => format!("merges:{branch}"),
        DeployRule::Merges {
            branch,
            all_commits: true,
        } => format!("all-commits:{branch}"),
    };
    match &options.path {
        Some(path) => format!("{rule} path:{path}"),
        None => rule,
    }
}

impl GitState {
    pub(super) fn new(
        options: String,
        tips: &[(String, ObjectId)],
        known: Vec<Candidate>,
        unreleased: Vec<ObjectId>,
    ) -> GitState {
        GitState {
            options,
            tips: tips.iter().cloned().collect(),
            deployments: known
                .into_iter()
                .map(|candidate| (candidate.id, (candidate.commit, candidate.at)))
                .collect(),
            unreleased,
        }
    }

    /// Serialises the state for storage.
    pub fn to_json(&self) -> String {
        let stored = Stored {
            version: VERSION,
            options: self.options.clone(),
            tips: self
                .tips
                .iter()
                .map(|(name, id)| (name.clone(), id.to_string()))
                .collect(),
            deployments: self
                .deployments
                .iter()
                .map(|(id, (commit, at))| {
                    let commit = commit.to_string();
                    (id.clone(), StoredDeployment { commit, at: *at })
                })
                .collect(),
            unreleased: self.unreleased.iter().map(ToString::to_string).collect(),
        };
        serde_json::to_string(&stored).expect("plain strings and numbers serialise")
    }

    /// Reads a state written by [`GitState::to_json`]. A state of an older format version
    /// reads as empty, which makes the next run a full one.
    pub fn from_json(json: &str) -> Result<GitState, StateError> {
        let stored: Stored = serde_json::from_str(json)?;
        if stored.version != VERSION {
            return Ok(GitState::default());
        }
        let id = |field: &'static str, value: String| {
            ObjectId::from_hex(value.as_bytes()).map_err(|_| StateError::Id { field, value })
        };
        Ok(GitState {
            options: stored.options,
            tips: stored
                .tips
                .into_iter()
                .map(|(name, tip)| Ok((name, id("tips", tip)?)))
                .collect::<Result<_, StateError>>()?,
            deployments: stored
                .deployments
                .into_iter()
                .map(|(name, d)| Ok((name, (id("deployments", d.commit)?, d.at))))
                .collect::<Result<_, StateError>>()?,
            unreleased: stored
                .unreleased
                .into_iter()
                .map(|sha| id("unreleased", sha))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether this state was made with another deployment rule or path than `options`
    /// (whatever the repository's location): then the stored deployments came from that
    /// other rule. An empty state (none, or of an older format) was made with nothing.
    pub fn made_with_other_options(&self, options: &GitOptions) -> bool {
        // The stored fingerprint is the options, a space and the repository's absolute
        // location: the options match only when what follows them is that location, not
        // more options (`tags:v*` is a prefix of `tags:v* path:svc/a`).
        !self.options.is_empty()
            && !self
                .options
                .strip_prefix(&options_fingerprint(options))
                .and_then(|rest| rest.strip_prefix(' '))
                .is_some_and(|location| std::path::Path::new(location).is_absolute())
    }

    /// Whether this state was made by a run with the same options.
    pub(super) fn matches(&self, fingerprint: &str) -> bool {
        !self.tips.is_empty() && self.options == fingerprint
    }

    /// The tips of the previous run.
    pub(super) fn tips(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.tips.values().copied()
    }

    /// The previous run's commit of ref `name`.
    pub(super) fn tip(&self, name: &str) -> Option<ObjectId> {
        self.tips.get(name).copied()
    }

    /// Commits of the previous run that no deployment contained.
    pub(super) fn unreleased(&self) -> impl Iterator<Item = ObjectId> + '_ {
        self.unreleased.iter().copied()
    }

    /// The commit of a known deployment.
    pub(super) fn deployment(&self, id: &str) -> Option<ObjectId> {
        self.deployments.get(id).map(|(commit, _)| *commit)
    }

    /// The time of the newest known deployment.
    pub(super) fn latest(&self) -> Option<i64> {
        self.deployments.values().map(|(_, at)| *at).max()
    }

    /// The known deployments, to carry over into the next state.
    pub(super) fn known_deployments(&self) -> Vec<Candidate> {
        self.deployments
            .iter()
            .map(|(id, (commit, at))| Candidate {
                id: id.clone(),
                commit: *commit,
                at: *at,
                node: UNLINKED,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(byte: u8) -> ObjectId {
        ObjectId::from_hex(format!("{byte:02x}").repeat(20).as_bytes()).expect("valid hex")
    }

    #[test]
    fn a_state_survives_its_json() {
        let state = GitState::new(
            "tags:v*".to_owned(),
            &[("refs/heads/main".to_owned(), oid(1))],
            vec![Candidate {
                id: "tag:v1".to_owned(),
                commit: oid(2),
                at: 1_700_000_000,
                node: 3,
            }],
            vec![oid(4)],
        );
        let back = GitState::from_json(&state.to_json()).expect("own output reads back");
        assert_eq!(back, state);
        assert!(back.matches("tags:v*"));
        assert!(!back.matches("tags:release-*"));
        assert_eq!(back.tip("refs/heads/main"), Some(oid(1)));
        assert_eq!(back.deployment("tag:v1"), Some(oid(2)));
        assert_eq!(back.latest(), Some(1_700_000_000));
        assert_eq!(back.unreleased().collect::<Vec<_>>(), vec![oid(4)]);
    }

    #[test]
    fn a_bad_id_is_named() {
        let json = r#"{"version":1,"options":"none","tips":{"refs/heads/main":"xyz"},
            "deployments":{},"unreleased":[]}"#;
        let err = GitState::from_json(json).expect_err("xyz is no sha");
        assert_eq!(
            err.to_string(),
            r#"git ingest state: tips: "xyz" is not an object id"#
        );
    }

    #[test]
    fn an_older_format_reads_as_empty() {
        let json = r#"{"version":0,"options":"none","tips":{},"deployments":{},"unreleased":[]}"#;
        let state = GitState::from_json(json).expect("readable");
        assert!(!state.matches("none"));
    }

    #[test]
    fn options_that_change_the_output_change_the_fingerprint() {
        let mut options = GitOptions {
            service: None,
            rule: DeployRule::Merges {
                branch: "main".to_owned(),
                all_commits: false,
            },
            path: None,
        };
        assert_eq!(options_fingerprint(&options), "merges:main");
        options.path = Some("svc/a".to_owned());
        assert_eq!(options_fingerprint(&options), "merges:main path:svc/a");
        options.rule = DeployRule::Tags("v*".to_owned());
        assert_eq!(options_fingerprint(&options), "tags:v* path:svc/a");
        let state = GitState {
            options: "tags:v* path:svc/a /srv/repo/.git".to_owned(),
            ..GitState::default()
        };
        assert!(!state.made_with_other_options(&options));
        options.path = None;
        assert!(state.made_with_other_options(&options));
        assert!(!GitState::default().made_with_other_options(&options));
    }
}
