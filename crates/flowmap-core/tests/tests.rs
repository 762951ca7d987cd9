//! The integration tests of `flowmap-core`: the map analysis, its error messages and its
//! properties, against the public API.
//!
//! One test binary for the crate (each former test file is a module), so the crate and
//! its dependencies are linked once for all of them.

mod breakdown;
mod map_analysis;
mod map_errors;
mod map_properties;
mod measure;
mod outcome;
mod step_metric;
