//! The integration tests of `flowmap`: the `flowmap` binary as users run it, and the code's
//! rules (tidy).
//!
//! One test binary for the crate (each former test file is a module), so the crate and
//! its dependencies are linked once for all of them.

mod backfill_cli;
mod dora_cli;
mod import_cli;
mod ingest_git_cli;
mod map_cli;
mod measure_cli;
mod outcome_cli;
mod tidy;
