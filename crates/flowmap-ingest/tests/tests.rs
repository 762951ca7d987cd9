//! The integration tests of `flowmap-ingest`: imports, git history and webhook payloads,
//! against real files and repositories.
//!
//! One test binary for the crate (each former test file is a module), so the crate and
//! its dependencies are linked once for all of them.

mod git;
mod import;
mod webhooks;
