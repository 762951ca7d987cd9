//! flowmap's application layer: the use cases every view shares.
//!
//! The `flowmap` CLI, the server's pages, its JSON API and its webhook receivers are views
//! of one application. What they *do* lives here, once, so that they cannot drift apart:
//!
//! - [`App::import`] — a file of delivery records into the store, in one transaction;
//! - [`App::receive_github`], [`App::receive_gitlab`], [`App::receive_cdevents`] — apply a
//!   webhook delivery: verify it, parse it, claim its delivery id and write its records in
//!   one transaction (exactly once);
//! - [`App::ingest_git`] — a repository's history into the store, incrementally;
//! - [`App::backfill`] — a repository's or service's history from the GitHub, GitLab or
//!   PagerDuty API, page by page, resumable and incremental;
//! - [`App::save_map`] and [`App::delete_map`] — versioned maps, where a save states the
//!   version it was based on and a stale save is a [`AppError::Conflict`], never a silent
//!   overwrite;
//! - [`App::save_outcome`] and [`App::outcome_report`] — versioned outcomes, and an
//!   outcome measured against the stored events (status, verdicts, the weekly journey);
//! - [`Reports::dora`] — the one path from the store to a [`DoraReport`](flowmap_core::dora::DoraReport),
//!   where a cache will sit;
//! - [`analysis`] — map analyses and simulations, run on the blocking pool so they never
//!   stall the async threads that serve requests.
//!
//! - [`Reports::measure`] and [`Reports::map_from_data`] — a map held against the data,
//!   and a starting map written from it, loaded through the same path as a DORA report
//!   (plus the service's builds and milestones).
//!
//! - [`App::create_workshop`] and the workshop use cases beside it — live workshops:
//!   joining with the secret code, notes, categories, capped dots, phases with a shared
//!   countdown, the outcome and map written together, and closing, which saves both as
//!   versions; [`workshops::Live`] tells every listener when a workshop changed.
//!
//! Every use case that writes takes the [`Actor`] doing it, checks the actor's [`Role`],
//! and records the actor where the store keeps authors (map versions), so access control
//! plugs in by choosing the actor, not by changing the use cases.
//!
//! This crate must not speak HTTP (status codes, headers, cookies are the server's), know
//! SQL dialects (the store's) or render pages and text (the views'). It computes no metric
//! either: numbers come from `flowmap-core`. Errors are values ([`AppError`]) the views
//! turn into exit codes, status codes or messages.

pub mod access;
pub mod actor;
pub mod analysis;
pub mod backfill;
pub mod documents;
mod error;
pub mod import;
pub mod ingest;
pub mod maps;
pub mod measure;
pub mod outcomes;
pub mod pages;
pub mod reports;
pub mod scope;
pub mod sources;
pub mod webhooks;
pub mod workshops;

use flowmap_store::Store;

pub use actor::{Actor, Role};
pub use error::AppError;
pub use reports::Reports;
pub use scope::{DataRange, Window};

/// The application: the store and the services over it. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    store: Store,
    reports: Reports,
    live: workshops::Live,
}

impl App {
    /// The application over `store`.
    pub fn new(store: Store) -> App {
        App {
            reports: Reports::new(store.clone()),
            live: workshops::Live::new(store.clone()),
            store,
        }
    }

    /// The store, for reads that are not a use case of their own (record lists, webhook
    /// deliveries, the service list).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Where DORA reports come from.
    pub fn reports(&self) -> &Reports {
        &self.reports
    }
}
