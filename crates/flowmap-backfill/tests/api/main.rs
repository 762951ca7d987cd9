//! The backfills against local fake APIs serving the services' documented examples: field
//! mappings, paging, faults, resuming and incremental runs, on SQLite and PostgreSQL.

mod common;
mod github;
mod gitlab;
mod pagerduty;
