//! Windowed loads: the records the engine needs, as plain domain values.

use flowmap_core::events::{
    Build, Change, Deployment, DeploymentKind, DeploymentStatus, Incident, Milestone,
};
use futures_util::TryStreamExt;
use jiff::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

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
    /// Leaves out the text that describes a record but that no metric reads — a change's
    /// author, title and reverted change, an incident's severity and title — which then
    /// load as `None`. DORA reports set it ([`LoadQuery::for_dora`]): over a whole
    /// organisation those texts are a fifth of the bytes read and of the memory held.
    pub without_descriptions: bool,
}

/// The columns [`LoadQuery::without_descriptions`] leaves out.
const DESCRIPTIONS: &[&str] = &["author", "title", "reverts", "severity"];

/// Records loaded by [`Store::load`], each list ordered by its window's time, then id.
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

/// Which kind a [`Store::load_table`] call reads, for what only some kinds have.
#[derive(Clone, Copy, PartialEq)]
enum Filter {
    /// Deployments: filtered by environment too.
    Environment,
    /// Milestones: a missing service matches any chosen service.
    ServiceOrNone,
    Plain,
}

impl Store {
    /// Loads the records `query` selects.
    ///
    /// Each kind is read through its `(service, time)` index, so one service's year out of
    /// millions of records comes back in well under a second.
    pub async fn load(&self, query: &LoadQuery) -> Result<Dataset, StoreError> {
        let mut data = Dataset {
            deployments: self
                .load_table(
                    &DEPLOYMENTS,
                    "finished_at",
                    query,
                    &query.deployments,
                    Filter::Environment,
                    decode_deployment,
                )
                .await?,
            changes: self
                .load_table(
                    &CHANGES,
                    "committed_at",
                    query,
                    &query.changes,
                    Filter::Plain,
                    decode_change,
                )
                .await?,
            incidents: self
                .load_table(
                    &INCIDENTS,
                    "started_at",
                    query,
                    &query.incidents,
                    Filter::Plain,
                    decode_incident,
                )
                .await?,
            builds: Vec::new(),
            milestones: Vec::new(),
        };
        if let Some(window) = &query.builds {
            data.builds = self
                .load_table(
                    &BUILDS,
                    "finished_at",
                    query,
                    window,
                    Filter::Plain,
                    decode_build,
                )
                .await?;
            data.builds
                .sort_by(|a, b| (a.finished_at, &a.id).cmp(&(b.finished_at, &b.id)));
        }
        if let Some(window) = &query.milestones {
            data.milestones = self
                .load_table(
                    &MILESTONES,
                    "at",
                    query,
                    window,
                    Filter::ServiceOrNone,
                    decode_milestone,
                )
                .await?;
            data.milestones
                .sort_by(|a, b| (a.at, &a.item, &a.name).cmp(&(b.at, &b.item, &b.name)));
        }
        // Sorted here rather than in SQL: text collation differs between SQLite and
        // PostgreSQL (and between PostgreSQL locales), and both backends must agree.
        data.deployments
            .sort_by(|a, b| (a.finished_at, &a.id).cmp(&(b.finished_at, &b.id)));
        data.changes
            .sort_by(|a, b| (a.committed_at, &a.id).cmp(&(b.committed_at, &b.id)));
        data.incidents
            .sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        Ok(data)
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

    async fn load_table<T>(
        &self,
        table: &Table,
        time_column: &str,
        query: &LoadQuery,
        window: &TimeRange,
        filter: Filter,
        decode: fn(&AnyRow) -> Result<T, String>,
    ) -> Result<Vec<T>, StoreError> {
        let skipped = if query.without_descriptions {
            DESCRIPTIONS
        } else {
            &[]
        };
        let mut sql = format!(
            "SELECT {} FROM {} WHERE 1 = 1",
            table.select_list_without(skipped),
            table.name
        );
        let mut params = 0;
        let mut placeholders = |n: usize| {
            let list: Vec<String> = (0..n)
                .map(|_| {
                    params += 1;
                    format!("${params}")
                })
                .collect();
            list.join(", ")
        };
        let by_environment = filter == Filter::Environment;
        if !query.services.is_empty() {
            let list = placeholders(query.services.len());
            if filter == Filter::ServiceOrNone {
                sql += &format!(" AND (service IN ({list}) OR service IS NULL)");
            } else {
                sql += &format!(" AND service IN ({list})");
            }
        }
        if by_environment && !query.environments.is_empty() {
            sql += &format!(
                " AND environment IN ({})",
                placeholders(query.environments.len())
            );
        }
        if window.from.is_some() {
            sql += &format!(" AND {time_column} >= {}", placeholders(1));
        }
        if window.to.is_some() {
            sql += &format!(" AND {time_column} < {}", placeholders(1));
        }

        let mut select = sqlx::query(AssertSqlSafe(sql));
        for service in &query.services {
            select = select.bind(service.as_str());
        }
        if by_environment {
            for environment in &query.environments {
                select = select.bind(environment.as_str());
            }
        }
        for bound in [window.from, window.to].into_iter().flatten() {
            select = select.bind(bound.as_millisecond());
        }

        let mut rows = select.fetch(&self.pool);
        let mut records = Vec::new();
        while let Some(row) = rows.try_next().await? {
            let record = decode(&row).map_err(|problem| StoreError::Corrupt {
                table: table.name,
                id: row.try_get::<String, _>(0).unwrap_or_default(),
                problem,
            })?;
            records.push(record);
        }
        Ok(records)
    }
}

/// Column readers for one row; each names the column that failed.
struct Columns<'r>(&'r AnyRow);

impl Columns<'_> {
    fn text(&self, name: &str) -> Result<String, String> {
        self.0.try_get(name).map_err(|e| format!("{name}: {e}"))
    }

    fn opt_text(&self, name: &str) -> Result<Option<String>, String> {
        self.0.try_get(name).map_err(|e| format!("{name}: {e}"))
    }

    fn time(&self, name: &str) -> Result<Timestamp, String> {
        let ms: i64 = self.0.try_get(name).map_err(|e| format!("{name}: {e}"))?;
        Timestamp::from_millisecond(ms).map_err(|e| format!("{name}: {e}"))
    }

    fn opt_time(&self, name: &str) -> Result<Option<Timestamp>, String> {
        let ms: Option<i64> = self.0.try_get(name).map_err(|e| format!("{name}: {e}"))?;
        ms.map(Timestamp::from_millisecond)
            .transpose()
            .map_err(|e| format!("{name}: {e}"))
    }
}

pub(crate) fn decode_deployment(row: &AnyRow) -> Result<Deployment, String> {
    let c = Columns(row);
    let status = match c.text("status")?.as_str() {
        "success" => DeploymentStatus::Success,
        "failure" => DeploymentStatus::Failure,
        other => return Err(format!("status: unknown value {other:?}")),
    };
    let kind = match c.text("kind")?.as_str() {
        "normal" => DeploymentKind::Normal,
        "hotfix" => DeploymentKind::Hotfix,
        "rollback" => DeploymentKind::Rollback,
        other => return Err(format!("kind: unknown value {other:?}")),
    };
    let changes = match c.opt_text("changes")? {
        Some(json) => serde_json::from_str(&json).map_err(|e| format!("changes: {e}"))?,
        None => Vec::new(),
    };
    Ok(Deployment {
        id: c.text("id")?,
        service: c.text("service")?,
        environment: c.text("environment")?,
        status,
        started_at: c.opt_time("started_at")?,
        finished_at: c.time("finished_at")?,
        commit: c.opt_text("commit_sha")?,
        changes,
        kind,
        fixes: c.opt_text("fixes")?,
    })
}

pub(crate) fn decode_change(row: &AnyRow) -> Result<Change, String> {
    let c = Columns(row);
    Ok(Change {
        id: c.text("id")?,
        service: c.text("service")?,
        committed_at: c.time("committed_at")?,
        authored_at: c.opt_time("authored_at")?,
        first_commit_at: c.opt_time("first_commit_at")?,
        pr_opened_at: c.opt_time("pr_opened_at")?,
        first_review_at: c.opt_time("first_review_at")?,
        approved_at: c.opt_time("approved_at")?,
        merged_at: c.opt_time("merged_at")?,
        deployment: c.opt_text("deployment")?,
        author: c.opt_text("author")?,
        title: c.opt_text("title")?,
        reverts: c.opt_text("reverts")?,
    })
}

fn decode_build(row: &AnyRow) -> Result<Build, String> {
    let c = Columns(row);
    let status = match c.text("status")?.as_str() {
        "success" => DeploymentStatus::Success,
        "failure" => DeploymentStatus::Failure,
        other => return Err(format!("status: unknown value {other:?}")),
    };
    let changes = match c.opt_text("changes")? {
        Some(json) => serde_json::from_str(&json).map_err(|e| format!("changes: {e}"))?,
        None => Vec::new(),
    };
    Ok(Build {
        id: c.text("id")?,
        service: c.text("service")?,
        status,
        started_at: c.time("started_at")?,
        finished_at: c.time("finished_at")?,
        commit: c.opt_text("commit_sha")?,
        changes,
        name: c.opt_text("name")?,
    })
}

fn decode_milestone(row: &AnyRow) -> Result<Milestone, String> {
    let c = Columns(row);
    Ok(Milestone {
        item: c.text("item")?,
        name: c.text("name")?,
        at: c.time("at")?,
        service: c.opt_text("service")?,
    })
}

pub(crate) fn decode_incident(row: &AnyRow) -> Result<Incident, String> {
    let c = Columns(row);
    Ok(Incident {
        id: c.text("id")?,
        service: c.text("service")?,
        started_at: c.time("started_at")?,
        detected_at: c.opt_time("detected_at")?,
        acknowledged_at: c.opt_time("acknowledged_at")?,
        resolved_at: c.opt_time("resolved_at")?,
        caused_by: c.opt_text("caused_by")?,
        severity: c.opt_text("severity")?,
        title: c.opt_text("title")?,
    })
}
