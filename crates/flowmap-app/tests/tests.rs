//! The integration tests of `flowmap-app`: use cases over a real store, SQLite and
//! PostgreSQL.
//!
//! One test binary for the crate (each test file is a module), so the crate and its
//! dependencies are linked once for all of them.

mod ingest_git;
