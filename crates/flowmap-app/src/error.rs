//! The one error type of the use cases: each variant is a different answer for the
//! views (an exit status, an HTTP status), and carries values, not pre-joined text.

use flowmap_core::map::Diagnostic;
use flowmap_store::{Expected, StoreError};

use crate::Role;

/// Why a use case did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The actor lacks the role the use case needs.
    #[error("{actor} may not {action}: that needs the {needed} role")]
    Forbidden {
        actor: String,
        action: &'static str,
        needed: Role,
    },
    /// Someone identified may not do this particular thing (another participant's note,
    /// a facilitator's action with a participant key, a closed workshop).
    #[error("{0}")]
    Denied(String),
    /// A webhook delivery that could not prove where it came from; nothing was stored.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// What was asked for does not exist (`no map "x"`).
    #[error("{0}")]
    NotFound(String),
    /// An argument the use case cannot accept, with the reason (`format: expected …`).
    #[error("{0}")]
    Invalid(String),
    /// A webhook payload that could not be read; it was kept as a rejected delivery.
    #[error("{0}")]
    Rejected(String),
    /// Map text that is not a valid map: every problem, each naming its place in `file`.
    #[error("{file}: not a valid map ({} problems)", diagnostics.len())]
    InvalidMap {
        /// The name the diagnostics are shown against (`checkout.yaml`).
        file: String,
        diagnostics: Vec<Diagnostic>,
    },
    /// Outcome text that is not a valid outcome: every problem, each naming its place.
    #[error("{file}: not a valid outcome ({} problems)", diagnostics.len())]
    InvalidOutcome {
        file: String,
        diagnostics: Vec<Diagnostic>,
    },
    /// A versioned save found another latest version than the one it was based on.
    #[error("{}", conflict_text(kind, id, *expected, *latest))]
    Conflict {
        /// What was saved: `map` or `outcome`.
        kind: &'static str,
        id: String,
        expected: Expected,
        latest: u32,
    },
    /// A DORA report's options cannot be answered (e.g. an empty window).
    #[error(transparent)]
    Dora(#[from] flowmap_core::dora::DoraError),
    /// Reading a git repository failed.
    #[error(transparent)]
    Git(#[from] flowmap_ingest::git::GitError),
    /// Reading an API (GitHub, GitLab, PagerDuty) failed: a refused token, a limit that
    /// outlasted the retries, an answer that is not what the API documents.
    #[error(transparent)]
    Backfill(#[from] flowmap_backfill::BackfillError),
    /// The store failed: an internal problem the views log and do not show in full.
    #[error(transparent)]
    Store(StoreError),
    /// Work handed to a background thread stopped without an answer (it panicked).
    #[error("{0} stopped unexpectedly")]
    Background(&'static str),
}

impl AppError {
    /// The diagnostics of an [`AppError::InvalidMap`] as `FILE:LINE:COL: message` lines.
    pub fn diagnostic_lines(&self) -> Vec<String> {
        match self {
            AppError::InvalidMap { file, diagnostics }
            | AppError::InvalidOutcome { file, diagnostics } => diagnostics
                .iter()
                .map(|d| d.display(file).to_string())
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn conflict_text(kind: &str, id: &str, expected: Expected, latest: u32) -> String {
    match expected {
        Expected::New => format!("{} {kind} {id:?} exists already", article(kind)),
        Expected::Version(based_on) if latest == 0 => {
            format!("{kind} {id:?} was deleted since version {based_on} was read")
        }
        Expected::Version(based_on) => format!(
            "{kind} {id:?} was saved as version {latest} since version {based_on} was read: \
             reload it and apply the edit again"
        ),
        Expected::Any => format!("{kind} {id:?} changed while it was being saved"),
    }
}

/// `a` or `an` before `word`.
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> AppError {
        match err {
            StoreError::Conflict {
                kind,
                id,
                expected,
                latest,
                ..
            } => AppError::Conflict {
                kind,
                id,
                expected,
                latest,
            },
            StoreError::Invalid { what, problem } => {
                AppError::Invalid(format!("invalid {what}: {problem}"))
            }
            StoreError::Refused(problem) => AppError::Invalid(problem),
            StoreError::NotAllowed(problem) => AppError::Denied(problem),
            StoreError::NotFound(problem) => AppError::NotFound(problem),
            other => AppError::Store(other),
        }
    }
}
