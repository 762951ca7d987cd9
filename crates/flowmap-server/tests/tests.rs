//! The integration tests of `flowmap-server`: the JSON API, webhooks and pages over a real
//! store, and the pages in a browser.
//!
//! One test binary for the crate (each former test file is a module), so the crate and
//! its dependencies are linked once for all of them.

mod api;
mod browser;
mod common;
mod hooks;
mod limits;
mod pages;
mod screens;
mod workshop_browser;
mod workshops;
