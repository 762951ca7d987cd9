//! The integration tests of `flowmap-store`: both backends, SQLite and PostgreSQL, through
//! the public API.
//!
//! One test binary for the crate (each former test file is a module), so the crate and
//! its dependencies are linked once for all of them.

#[macro_use]
mod common;
mod first_load;
mod measure_records;
mod scale;
mod server_state;
mod store;
mod workshops;
