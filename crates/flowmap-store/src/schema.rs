//! The tables, their migrations, and the SQL generated from them.
//!
//! Both backends share one schema shape (the SQL files differ only in integer type names),
//! so every statement here is written once in the SQL dialect SQLite and PostgreSQL share:
//! `INSERT … ON CONFLICT … DO UPDATE … WHERE`, `IS DISTINCT FROM` and `RETURNING`. Only
//! the placeholders of bulk statements differ (see [`push_values`]).

use std::fmt::Write as _;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::{Backend, WriteMode};

/// The versioned migrations of one backend, applied in order by [`crate::Store::open`].
///
/// Each file is applied once and recorded with its checksum in `_sqlx_migrations`; editing
/// an applied file is refused at the next open, so schema changes always go in a new file.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    let files: &[(i64, &str, &'static str)] = match backend {
        Backend::Sqlite => &[
            (
                1,
                "init",
                include_str!("../migrations/sqlite/0001_init.sql"),
            ),
            (
                10,
                "maps",
                include_str!("../migrations/sqlite/0010_maps.sql"),
            ),
            (
                11,
                "webhooks",
                include_str!("../migrations/sqlite/0011_webhooks.sql"),
            ),
            (
                20,
                "builds_milestones",
                include_str!("../migrations/sqlite/0020_builds_milestones.sql"),
            ),
            (
                30,
                "map_author",
                include_str!("../migrations/sqlite/0030_map_author.sql"),
            ),
            (
                40,
                "access",
                include_str!("../migrations/sqlite/0040_access.sql"),
            ),
            (
                50,
                "outcomes",
                include_str!("../migrations/sqlite/0050_outcomes.sql"),
            ),
            (
                60,
                "sync_state",
                include_str!("../migrations/sqlite/0060_sync_state.sql"),
            ),
            (
                70,
                "data_version",
                include_str!("../migrations/sqlite/0070_data_version.sql"),
            ),
            (
                80,
                "workshops",
                include_str!("../migrations/sqlite/0080_workshops.sql"),
            ),
        ],
        Backend::Postgres => &[
            (
                1,
                "init",
                include_str!("../migrations/postgres/0001_init.sql"),
            ),
            (
                10,
                "maps",
                include_str!("../migrations/postgres/0010_maps.sql"),
            ),
            (
                11,
                "webhooks",
                include_str!("../migrations/postgres/0011_webhooks.sql"),
            ),
            (
                20,
                "builds_milestones",
                include_str!("../migrations/postgres/0020_builds_milestones.sql"),
            ),
            (
                30,
                "map_author",
                include_str!("../migrations/postgres/0030_map_author.sql"),
            ),
            (
                40,
                "access",
                include_str!("../migrations/postgres/0040_access.sql"),
            ),
            (
                50,
                "outcomes",
                include_str!("../migrations/postgres/0050_outcomes.sql"),
            ),
            (
                60,
                "sync_state",
                include_str!("../migrations/postgres/0060_sync_state.sql"),
            ),
            (
                70,
                "data_version",
                include_str!("../migrations/postgres/0070_data_version.sql"),
            ),
            (
                80,
                "workshops",
                include_str!("../migrations/postgres/0080_workshops.sql"),
            ),
        ],
    };
    Migrator::with_migrations(
        files
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// How a column takes a new value when a [`WriteMode::Merge`] write meets a stored row.
///
/// In [`WriteMode::Replace`] every column simply takes the new value.
#[derive(Clone, Copy)]
pub(crate) enum Merge {
    /// The new value when it has one, else the stored value.
    Newest,
    /// The earlier of the two times (a missing one never wins).
    Earliest,
    /// The later of the two times (a missing one never wins).
    Latest,
}

/// One record table: its name and the columns after the `(source, id)` key.
pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Merge)],
    /// The column that holds when the record's event happened, for records whose events
    /// can arrive out of order (a deployment's statuses): in a [`WriteMode::Merge`] write,
    /// the [`Merge::Newest`] columns (this one included) take the new values only when
    /// the new event is not older than the stored one, so a late delivery of an older
    /// status never overwrites a newer one.
    pub event_time: Option<&'static str>,
}

use Merge::{Earliest, Latest, Newest};

pub(crate) const DEPLOYMENTS: Table = Table {
    name: "deployments",
    event_time: Some("finished_at"),
    columns: &[
        ("service", Newest),
        ("environment", Newest),
        ("status", Newest),
        ("started_at", Earliest),
        ("finished_at", Newest),
        ("commit_sha", Newest),
        ("changes", Newest),
        ("kind", Newest),
        ("fixes", Newest),
    ],
};

pub(crate) const CHANGES: Table = Table {
    name: "changes",
    event_time: None,
    columns: &[
        ("service", Newest),
        ("committed_at", Earliest),
        ("authored_at", Earliest),
        ("first_commit_at", Earliest),
        ("pr_opened_at", Earliest),
        ("first_review_at", Earliest),
        ("approved_at", Earliest),
        ("merged_at", Earliest),
        ("deployment", Newest),
        ("author", Newest),
        ("title", Newest),
        ("reverts", Newest),
    ],
};

pub(crate) const INCIDENTS: Table = Table {
    name: "incidents",
    event_time: None,
    columns: &[
        ("service", Newest),
        ("started_at", Earliest),
        ("detected_at", Earliest),
        ("acknowledged_at", Earliest),
        ("resolved_at", Latest),
        ("caused_by", Newest),
        ("severity", Newest),
        ("title", Newest),
    ],
};

/// Builds can arrive as a started and a finished event (CDEvents `pipelinerun`), in any
/// order: merging keeps the earliest start and the latest finish, and a `failure` from
/// either wins over the `success` a start event assumes (`'failure' < 'success'`).
pub(crate) const BUILDS: Table = Table {
    name: "builds",
    event_time: None,
    columns: &[
        ("service", Newest),
        ("status", Earliest),
        ("started_at", Earliest),
        ("finished_at", Latest),
        ("commit_sha", Newest),
        ("changes", Newest),
        ("name", Newest),
    ],
};

/// A milestone's id is made from its content ([`crate::milestone_id`]), so every column
/// but the key is already fixed by the key.
pub(crate) const MILESTONES: Table = Table {
    name: "milestones",
    event_time: None,
    columns: &[
        ("item", Newest),
        ("name", Newest),
        ("at", Earliest),
        ("service", Newest),
    ],
};

impl Table {
    /// Bound values per row: `source`, `id` and the columns.
    pub fn width(&self) -> usize {
        self.columns.len() + 2
    }

    /// The comma-separated column list of a `SELECT`, in the order rows are decoded.
    pub fn select_list(&self) -> String {
        self.select_list_without(&[])
    }

    /// [`Table::select_list`] with the text columns in `skipped` read as NULL, under
    /// their own names, so that decoding stays the same.
    pub fn select_list_without(&self, skipped: &[&str]) -> String {
        let mut list = String::from("id");
        for (name, _) in self.columns {
            list.push_str(", ");
            if skipped.contains(name) {
                list.push_str("CAST(NULL AS TEXT) AS ");
            }
            list.push_str(name);
        }
        list
    }

    /// A multi-row upsert of `rows` rows.
    ///
    /// It returns one `revision` per row it inserted (revision 1) or really changed
    /// (revision > 1); a row whose values equal the stored ones is left alone and returns
    /// nothing, which is how writers count `unchanged` without reading first.
    pub fn upsert_sql(&self, backend: Backend, mode: WriteMode, rows: usize) -> String {
        let mut sql = self.upsert_sql_uncounted(backend, mode, rows);
        sql.push_str(" RETURNING revision");
        sql
    }

    /// [`Table::upsert_sql`] without `RETURNING`: the same writes, for callers that need
    /// only the number of rows inserted or changed (the statement's affected-row count).
    pub fn upsert_sql_uncounted(&self, backend: Backend, mode: WriteMode, rows: usize) -> String {
        let mut sql = format!("INSERT INTO {} AS t (source, id", self.name);
        for (name, _) in self.columns {
            let _ = write!(sql, ", {name}");
        }
        sql.push_str(") VALUES ");
        push_values(&mut sql, backend, rows, self.width());
        sql.push_str(" ON CONFLICT (source, id) DO UPDATE SET ");
        let exprs: Vec<(&str, String)> = self
            .columns
            .iter()
            .map(|&(name, merge)| (name, merged_value(name, mode, merge, self.event_time)))
            .collect();
        for (name, expr) in &exprs {
            let _ = write!(sql, "{name} = {expr}, ");
        }
        sql.push_str("revision = t.revision + 1 WHERE ");
        for (i, (name, expr)) in exprs.iter().enumerate() {
            if i > 0 {
                sql.push_str(" OR ");
            }
            let _ = write!(sql, "t.{name} IS DISTINCT FROM {expr}");
        }
        sql
    }
}

/// The value a column takes on conflict, as an SQL expression over `t` (stored) and
/// `excluded` (new). Both sides of the expression read the stored row as it was before
/// the statement, in SQLite and in PostgreSQL.
fn merged_value(name: &str, mode: WriteMode, merge: Merge, event_time: Option<&str>) -> String {
    let pick = |op: &str| {
        format!(
            "CASE WHEN t.{name} IS NULL OR excluded.{name} {op} t.{name} \
             THEN COALESCE(excluded.{name}, t.{name}) ELSE t.{name} END"
        )
    };
    match (mode, merge) {
        (WriteMode::Replace, _) => format!("excluded.{name}"),
        (WriteMode::Merge, Newest) => match event_time {
            // An older event keeps the stored value; a missing time compares as not
            // older (`<` with NULL is not true).
            Some(at) => format!(
                "CASE WHEN excluded.{at} < t.{at} THEN t.{name} \
                 ELSE COALESCE(excluded.{name}, t.{name}) END"
            ),
            None => format!("COALESCE(excluded.{name}, t.{name})"),
        },
        (WriteMode::Merge, Earliest) => pick("<"),
        (WriteMode::Merge, Latest) => pick(">"),
    }
}

/// The audit copy of webhook and CDEvents input; identical bodies are stored once.
pub(crate) fn raw_insert_sql(backend: Backend, rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO raw_inputs (source, kind, record_id, digest, received_at, body) VALUES ",
    );
    push_values(&mut sql, backend, rows, 6);
    sql.push_str(" ON CONFLICT (source, kind, record_id, digest) DO NOTHING");
    sql
}

/// Appends `($1, $2, …), (…)` for `rows` rows of `width` placeholders each.
///
/// SQLite gets anonymous `?` placeholders instead: it looks a numbered placeholder up by
/// scanning every placeholder name, which makes binding a statement of thousands of
/// values quadratic (it dominated bulk imports). Both bind in order, so callers are the
/// same for both.
fn push_values(sql: &mut String, backend: Backend, rows: usize, width: usize) {
    let mut n = 1;
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..width {
            if col > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    let _ = write!(sql, "${n}");
                    n += 1;
                }
            }
        }
        sql.push(')');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_upsert_overwrites_every_column_and_skips_equal_rows() {
        let table = Table {
            name: "things",
            columns: &[("a", Newest), ("b", Earliest)],
            event_time: None,
        };
        assert_eq!(
            table.upsert_sql(Backend::Postgres, WriteMode::Replace, 2),
            "INSERT INTO things AS t (source, id, a, b) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8) \
             ON CONFLICT (source, id) DO UPDATE SET a = excluded.a, b = excluded.b, \
             revision = t.revision + 1 \
             WHERE t.a IS DISTINCT FROM excluded.a OR t.b IS DISTINCT FROM excluded.b \
             RETURNING revision"
        );
    }

    #[test]
    fn merge_upsert_keeps_stored_values_the_new_row_lacks() {
        let sql = CHANGES.upsert_sql(Backend::Postgres, WriteMode::Merge, 1);
        assert!(sql.contains("author = COALESCE(excluded.author, t.author)"));
        assert!(sql.contains(
            "committed_at = CASE WHEN t.committed_at IS NULL OR excluded.committed_at < t.committed_at \
             THEN COALESCE(excluded.committed_at, t.committed_at) ELSE t.committed_at END"
        ));
        let sql = INCIDENTS.upsert_sql(Backend::Sqlite, WriteMode::Merge, 1);
        assert!(sql.contains("excluded.resolved_at > t.resolved_at"));
    }

    #[test]
    fn merged_deployments_keep_the_newest_event() {
        let sql = DEPLOYMENTS.upsert_sql(Backend::Postgres, WriteMode::Merge, 1);
        assert!(sql.contains(
            "status = CASE WHEN excluded.finished_at < t.finished_at THEN t.status \
             ELSE COALESCE(excluded.status, t.status) END"
        ));
        assert!(sql.contains(
            "finished_at = CASE WHEN excluded.finished_at < t.finished_at THEN t.finished_at"
        ));
        // Files replace whole records, whatever their times.
        let sql = DEPLOYMENTS.upsert_sql(Backend::Postgres, WriteMode::Replace, 1);
        assert!(sql.contains("status = excluded.status,"));
    }

    #[test]
    fn raw_insert_ignores_bodies_already_kept() {
        assert_eq!(
            raw_insert_sql(Backend::Postgres, 1),
            "INSERT INTO raw_inputs (source, kind, record_id, digest, received_at, body) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source, kind, record_id, digest) DO NOTHING"
        );
        assert!(
            raw_insert_sql(Backend::Sqlite, 2)
                .contains(" VALUES (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?) ON")
        );
    }
}
