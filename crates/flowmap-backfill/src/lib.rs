//! flowmap's API backfills: a year of delivery history read from GitHub, GitLab and
//! PagerDuty on day one, instead of after months of webhooks.
//!
//! - [`github`]: merged pull requests (with reviews and commits) become changes;
//!   deployments per environment (with their statuses, and what each shipped by comparing
//!   it with the one before) become deployments; Actions runs become builds, or deployments
//!   for the workflows named as deploys.
//! - [`gitlab`]: merged merge requests (notes, approvals, commits), pipelines as builds,
//!   and deployments per environment with the merge requests each shipped.
//! - [`pagerduty`]: a service's incidents, with acknowledge and resolve times from their
//!   log entries.
//!
//! The HTTP side ([`client`]) is one reqwest client that pages, waits out rate limits,
//! retries server errors and dropped connections with backoff, stops at once on a refused
//! token, and asks with `If-None-Match` for pages it has seen before.
//!
//! # What this crate must not do
//!
//! It computes no metric and never opens a database. Every page of results is handed, with
//! the progress that page represents, to a [`Sink`] the caller provides; the caller writes
//! both in one transaction, so a run killed at any point resumes after the last page saved.
//! Tokens are held in [`Token`], which never prints them; they travel in request headers
//! only, never in URLs, records or saved progress.

pub mod client;
pub mod github;
pub mod gitlab;
mod merged;
pub mod pagerduty;
mod pages;
mod run;
#[cfg(feature = "test-support")]
pub mod testing;

use std::collections::HashMap;
use std::future::Future;

use flowmap_core::events::{Build, Change, Deployment, Incident};
use jiff::Timestamp;

pub use client::{Client, ClientOptions, Progress, Service, Stats, StatsSnapshot, Token};

/// Records read from one or more pages, to be written under the run's source.
///
/// Every record is whole (never a partial update), so writing it again replaces the stored
/// one: re-running a backfill is idempotent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Records {
    pub deployments: Vec<Deployment>,
    pub changes: Vec<Change>,
    pub incidents: Vec<Incident>,
    pub builds: Vec<Build>,
}

impl Records {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.deployments.is_empty()
            && self.changes.is_empty()
            && self.incidents.is_empty()
            && self.builds.is_empty()
    }
}

/// A page's ETag and what the backfill kept of it (see [`SavedState`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageEtag {
    pub url: String,
    pub etag: String,
    /// JSON: the fields of the page's items the backfill reads, and the next page.
    pub extract: String,
}

/// One unit of progress: records and the resume state that covers them. The sink must
/// write all of it in one transaction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checkpoint {
    pub records: Records,
    /// `(resource, value)`: the new cursor of a resource, or `None` to forget it.
    pub cursors: Vec<(String, Option<String>)>,
    pub etags: Vec<PageEtag>,
}

/// Where a backfill's pages go: the caller's store.
pub trait Sink {
    /// Writes one checkpoint atomically; the run goes on only once it is durable.
    fn save(&mut self, checkpoint: Checkpoint) -> impl Future<Output = Result<(), SinkError>>;
}

/// A sink's failure, passed through to the caller unchanged.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct SinkError(pub Box<dyn std::error::Error + Send + Sync>);

/// What earlier runs of the same source left: cursors by resource and ETags by URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SavedState {
    pub cursors: HashMap<String, String>,
    /// URL → (ETag, extract).
    pub etags: HashMap<String, (String, String)>,
}

/// What a finished run read and wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// `github:OWNER/REPO`, `gitlab:GROUP/PROJECT` or `pagerduty:SERVICE_ID`.
    pub source: String,
    pub stats: StatsSnapshot,
    /// Whether the run read everything (no earlier sync and no `--since`).
    pub full: bool,
    /// The time the run's reads are complete up to; the next run reads what changed after it.
    pub synced_at: Timestamp,
}

/// Everything that stops a backfill.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The token variable is unset or empty.
    #[error("{variable} is not set: {service} needs an API token (see docs/backfill.md)")]
    MissingToken {
        service: Service,
        variable: &'static str,
    },
    /// The service refused the token (401).
    #[error(
        "{service} refused the token in {variable} (401 Unauthorized at {url}): check that \
         it is valid, not expired, and has the scopes docs/backfill.md lists"
    )]
    Unauthorized {
        service: Service,
        variable: &'static str,
        url: String,
    },
    /// A 403 that is no rate limit: the token lacks a permission, or the resource is hidden.
    #[error(
        "{service} denied access to {url} (403): {message}; the token in {variable} may lack a scope"
    )]
    Forbidden {
        service: Service,
        variable: &'static str,
        url: String,
        message: String,
    },
    /// Any other error status, or a server error that outlasted the retries.
    #[error("{url}: HTTP {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    /// The connection failed, and kept failing through the retries.
    #[error("{url}: {problem}")]
    Connection { url: String, problem: String },
    /// A response body that is not what the API documents.
    #[error("{url}: unexpected response: {problem}")]
    Payload { url: String, problem: String },
    /// An argument the backfill cannot use (a malformed repository name or API URL).
    #[error("invalid {what}: {problem}")]
    Invalid { what: String, problem: String },
    /// Writing a checkpoint failed.
    #[error("saving progress: {0}")]
    Sink(#[from] SinkError),
}
