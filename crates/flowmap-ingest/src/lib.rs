//! flowmap's sources: turning outside data into delivery events (SPEC §4, §6).
//!
//! - [`import`]: CSV, JSON and NDJSON files of deployments, changes and incidents, and
//!   files of CDEvents ([`cdevents`]), parsed record by record with the place each came
//!   from, so a bad row is reported as `FILE:LINE: field: problem`.
//! - [`git`]: commits, tags and inferred deployments read from a local repository.
//! - [`webhooks`]: GitHub and GitLab webhook payloads, each read into what it means for
//!   the delivery records (commits pushed, a request reviewed, a deployment finished).
//!
//! This crate must not write to the store: it hands domain records to its caller (the CLI
//! or the server), which decides what to persist and in which transaction.

pub mod cdevents;
pub mod git;
pub mod import;
pub mod webhooks;
