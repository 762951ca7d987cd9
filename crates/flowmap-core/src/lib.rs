//! The heart of flowmap: its domain types and every piece of its math.
//!
//! This crate owns value stream maps ([`map`]: the file format, its checks, the analysis
//! and the Monte Carlo simulation), the delivery events ([`events`]) and the DORA metrics
//! computed from them ([`dora`]), and which deployment shipped which commit by ancestry
//! ([`ancestry`]); [`format`] puts numbers and reasons into the words every view shows.
//!
//! It must not do I/O: no files, no SQL, no HTTP, no git. Everything here is a pure
//! function of its inputs, so the SQLite and PostgreSQL backends give identical numbers
//! and every formula is tested without a database.

pub mod ancestry;
pub mod dora;
pub mod events;
pub mod format;
pub mod map;
pub mod stats;
