//! The heart of flowmap: its domain types and every piece of its math.
//!
//! This crate owns value stream maps ([`map`]: the file format, its checks, the analysis
//! and the Monte Carlo simulation), the delivery events ([`events`]) and the DORA metrics
//! computed from them ([`dora`]), which deployment shipped which commit by ancestry
//! ([`ancestry`]), the map held against measured data ([`measure`]), the statistics of
//! improvement experiments ([`experiment`]), DORA's catalogue of capabilities
//! ([`capabilities`]), the ranking of a map's steps by what improving each would gain
//! ([`constraints`]) and outcomes measured against their targets ([`outcome`]).
//!
//! It must not do I/O: no files, no SQL, no HTTP, no git. Everything here is a pure
//! function of its inputs, so the SQLite and PostgreSQL backends give identical numbers
//! and every formula is tested without a database.

pub mod ancestry;
pub mod capabilities;
pub mod constraints;
pub mod dora;
pub mod events;
pub mod experiment;
pub mod map;
pub mod measure;
pub mod outcome;
pub mod stats;
