//! Windowed loads: the records the engine needs, as plain domain values.
//!
//! Loads move the most rows of anything flowmap does (a year of a whole organisation is
//! over a million), so they bypass sqlx's `Any` driver and read through each backend's own
//! driver ([`crate::native`]), decoding columns by position. Every load reads one snapshot
//! of the database, so a write committed meanwhile is either wholly in it or wholly not.

use flowmap_core::events::{Build, Change, Deployment, Incident, Milestone};
use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::native::{self, Param};
use crate::schema::{BUILDS, CHANGES, DEPLOYMENTS, INCIDENTS, MILESTONES, Table};
use crate::{RawRecord, RecordKind, Store, StoreError};

/// A half-open time window `[from, to)`; a missing bound is open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Earliest time included.
    pub from: Option<Timestamp>,
    /// First time excluded.
    pub to: Option<Timestamp>,
}

impl TimeRange {
    /// The window with no bounds: everything.
    pub const ALL: TimeRange = TimeRange {
        from: None,
        to: None,
    };
}

/// Which records [`Store::load`] returns.
///
/// Each kind has its own window, on the time that places it: a deployment's
/// `finished_at`, a change's `committed_at`, an incident's `started_at`. The engine
/// usually loads changes and incidents over a wider window than deployments, because a
/// deployment's changes were committed before it and its incidents start after it.
///
/// The default loads everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadQuery {
    /// Services to load; empty means all.
    pub services: Vec<String>,
    /// Environments of the deployments to load; empty means all. Changes and incidents
    /// have no environment and are not filtered by it.
    pub environments: Vec<String>,
    /// Window on `finished_at`.
    pub deployments: TimeRange,
    /// Window on `committed_at`.
    pub changes: TimeRange,
    /// Window on `started_at`.
    pub incidents: TimeRange,
    /// Builds to load, by window on `finished_at`; `None` (the default) loads none, since
    /// only measured maps read them.
    pub builds: Option<TimeRange>,
    /// Milestones to load, by window on `at`; `None` (the default) loads none. With
    /// services chosen, milestones of those services and those without a service load.
    pub milestones: Option<TimeRange>,
    /// Reads only the columns a DORA report reads; the others (a change's pull request
    /// times, author, title and reverted change, a deployment's start, an incident's
    /// detection, acknowledgement, severity and title) load as `None`. DORA reports set it
    /// ([`LoadQuery::for_dora`]): over a whole organisation the other columns are over
    /// half the values read.
    pub dora_columns_only: bool,
}

/// The columns of `table` that [`LoadQuery::dora_columns_only`] leaves out: the DORA
/// engine reads a change's id, service, commit time and deployment, every column of a
/// deployment but its start, and an incident's id, service, start, resolution and cause.
fn not_for_dora(table: &Table) -> &'static [&'static str] {
    match table.name {
        "deployments" => &["started_at"],
        "changes" => &[
            "authored_at",
            "first_commit_at",
            "pr_opened_at",
            "first_review_at",
            "approved_at",
            "merged_at",
            "author",
            "title",
            "reverts",
        ],
        "incidents" => &["detected_at", "acknowledged_at", "severity", "title"],
        _ => &[],
    }
}

/// Records loaded by [`Store::load`], each list ordered by its window's time, then id (a group of
/// [`Store::load_grouped`] is ordered by service first).
///
/// Records of every source are included; ids are unique only within one source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    pub deployments: Vec<Deployment>,
    pub changes: Vec<Change>,
    pub incidents: Vec<Incident>,
    pub builds: Vec<Build>,
    pub milestones: Vec<Milestone>,
}

/// What one [`Store::load_grouped`] group sends: a group's records, or why loading stopped.
pub type Group = Result<Dataset, StoreError>;

/// The groups of a [`Store::load_grouped`], as they are read.
#[derive(Debug)]
pub struct GroupedLoad {
    groups: mpsc::Receiver<Group>,
    spent: mpsc::Sender<Dataset>,
}

impl GroupedLoad {
    /// The next group; `None` after the last.
    pub async fn next(&mut self) -> Option<Group> {
        self.groups.recv().await
    }

    /// [`GroupedLoad::next`] for a blocking thread.
    pub fn blocking_next(&mut self) -> Option<Group> {
        self.groups.blocking_recv()
    }

    /// Hands a group back once it is used, so that a later group is read into its memory
    /// instead of new memory (a group's lists are megabytes; allocating them afresh for
    /// every group cost a fifth of a report's time).
    pub fn give_back(&self, group: Dataset) {
        // When the reader has two spare groups already, or has finished, the group is
        // simply dropped.
        let _ = self.spent.try_send(group);
    }
}

/// One kind of record a load reads: its table, the column that places it in time, and how
/// its services and environments are matched.
pub(crate) struct Kind {
    pub(crate) table: &'static Table,
    pub(crate) time_column: &'static str,
    filter: Filter,
}

/// What only some kinds filter by.
#[derive(Clone, Copy, PartialEq)]
enum Filter {
    /// Deployments: filtered by environment too.
    Environment,
    /// Milestones: a missing service matches any chosen service.
    ServiceOrNone,
    Plain,
}

pub(crate) const DEPLOYMENT_KIND: Kind = Kind {
    table: &DEPLOYMENTS,
    time_column: "finished_at",
    filter: Filter::Environment,
};
pub(crate) const CHANGE_KIND: Kind = Kind {
    table: &CHANGES,
    time_column: "committed_at",
    filter: Filter::Plain,
};
pub(crate) const INCIDENT_KIND: Kind = Kind {
    table: &INCIDENTS,
    time_column: "started_at",
    filter: Filter::Plain,
};
pub(crate) const BUILD_KIND: Kind = Kind {
    table: &BUILDS,
    time_column: "finished_at",
    filter: Filter::Plain,
};
pub(crate) const MILESTONE_KIND: Kind = Kind {
    table: &MILESTONES,
    time_column: "at",
    filter: Filter::ServiceOrNone,
};

impl Kind {
    /// ` ORDER BY service, time`: the order of the kind's `(service, time)` index, so a
    /// read in this order costs no sort. A group's records come in it: each service's
    /// records together and in time order, which is all the DORA engine's passes need.
    pub(crate) fn service_time_order(&self) -> String {
        format!(" ORDER BY service, {}", self.time_column)
    }
}

/// The `SELECT` of one kind under `query`, restricted to `services` (empty: all), and its
/// parameters; `placeholder(n, value)` spells the n-th parameter (from 1) in the
/// backend's syntax, or as a literal. The columns come in [`Table::select_list`] order,
/// which the decoders in [`native`] read by position.
pub(crate) fn select(
    kind: &Kind,
    query: &LoadQuery,
    services: &[String],
    window: &TimeRange,
    placeholder: fn(usize, &Param) -> String,
) -> (String, Vec<Param>) {
    let skipped = if query.dora_columns_only {
        not_for_dora(kind.table)
    } else {
        &[]
    };
    let mut sql = format!(
        "SELECT {} FROM {} WHERE 1 = 1",
        kind.table.select_list_without(skipped),
        kind.table.name
    );
    let mut params = Vec::new();
    let mut spell = |values: Vec<Param>| {
        let spelled: Vec<String> = values
            .into_iter()
            .map(|value| {
                let spelled = placeholder(params.len() + 1, &value);
                params.push(value);
                spelled
            })
            .collect();
        spelled.join(", ")
    };
    if !services.is_empty() {
        let names = spell(services.iter().cloned().map(Param::Text).collect());
        if kind.filter == Filter::ServiceOrNone {
            sql += &format!(" AND (service IN ({names}) OR service IS NULL)");
        } else {
            sql += &format!(" AND service IN ({names})");
        }
    }
    if kind.filter == Filter::Environment && !query.environments.is_empty() {
        let names = spell(
            query
                .environments
                .iter()
                .cloned()
                .map(Param::Text)
                .collect(),
        );
        sql += &format!(" AND environment IN ({names})");
    }
    let time_column = kind.time_column;
    if let Some(from) = window.from {
        let bound = spell(vec![Param::Int(from.as_millisecond())]);
        sql += &format!(" AND {time_column} >= {bound}");
    }
    if let Some(to) = window.to {
        let bound = spell(vec![Param::Int(to.as_millisecond())]);
        sql += &format!(" AND {time_column} < {bound}");
    }
    (sql, params)
}

impl Dataset {
    /// Puts each list in the order [`Dataset`] promises.
    ///
    /// Sorted here rather than in SQL: text collation differs between SQLite and
    /// PostgreSQL (and between PostgreSQL locales), and both backends must agree.
    pub(crate) fn sort(&mut self) {
        self.deployments
            .sort_by(|a, b| (a.finished_at, &a.id).cmp(&(b.finished_at, &b.id)));
        self.changes
            .sort_by(|a, b| (a.committed_at, &a.id).cmp(&(b.committed_at, &b.id)));
        self.incidents
            .sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        self.builds
            .sort_by(|a, b| (a.finished_at, &a.id).cmp(&(b.finished_at, &b.id)));
        self.milestones
            .sort_by(|a, b| (a.at, &a.item, &a.name).cmp(&(b.at, &b.item, &b.name)));
    }
}

/// The services whose records one [`Store::load_grouped`] group holds at most.
///
/// At a year of an ordinary organisation (about 1 200 records a service) a group is some
/// 60 000 records: few enough queries over the whole organisation, and the records of one
/// group, not of the organisation, in memory at a time.
pub const SERVICES_PER_GROUP: usize = 50;

impl Store {
    /// Loads the records `query` selects, all from one snapshot of the database.
    ///
    /// Each kind is read through its `(service, time)` index, so one service's year out of
    /// millions of records comes back in well under a second.
    pub async fn load(&self, query: &LoadQuery) -> Result<Dataset, StoreError> {
        let mut data = native::load(self, query.clone()).await?;
        data.sort();
        Ok(data)
    }

    /// Loads the records `query` selects one group of services at a time, all from one
    /// snapshot of the database: for a computation over a whole organisation that should
    /// not hold all of it in memory at once.
    ///
    /// `query` must choose no services: the groups are every service that has a
    /// deployment, change or incident, in name order (the database's, on PostgreSQL),
    /// [`SERVICES_PER_GROUP`] at a time. Each [`Dataset`] holds *every* record the query
    /// selects of its services (never builds or milestones); unlike [`Store::load`]'s, each
    /// list holds each service's records together and in time order, as the `(service,
    /// time)` indexes give them, so no group is sorted after reading. The next group is
    /// read while the receiver works on this one; dropping the [`GroupedLoad`] stops the
    /// reading.
    pub fn load_grouped(&self, query: &LoadQuery) -> GroupedLoad {
        let (sender, groups) = mpsc::channel(1);
        let (spent, recycled) = mpsc::channel(2);
        native::load_grouped(self, query.clone(), sender, recycled);
        GroupedLoad { groups, spent }
    }

    /// The raw inputs kept for one record, oldest first (see [`RawRecord`]).
    pub async fn raw_records(
        &self,
        source: &str,
        kind: RecordKind,
        record_id: &str,
    ) -> Result<Vec<RawRecord>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT received_at, body FROM raw_inputs \
             WHERE source = $1 AND kind = $2 AND record_id = $3 ORDER BY received_at, digest",
        )
        .bind(source)
        .bind(kind.as_str())
        .bind(record_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(received_at, body)| {
                let received_at =
                    Timestamp::from_millisecond(received_at).map_err(|e| StoreError::Corrupt {
                        table: "raw_inputs",
                        id: record_id.to_owned(),
                        problem: format!("received_at: {e}"),
                    })?;
                Ok(RawRecord {
                    kind,
                    record_id: record_id.to_owned(),
                    received_at,
                    body,
                })
            })
            .collect()
    }
}
