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
            (
                90,
                "covering_changes",
                include_str!("../migrations/sqlite/0090_covering_changes.sql"),
            ),
            (
                100,
                "record_counts",
                include_str!("../migrations/sqlite/0100_record_counts.sql"),
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
            (
                90,
                "covering_changes",
                include_str!("../migrations/postgres/0090_covering_changes.sql"),
            ),
            (
                100,
                "record_counts",
                include_str!("../migrations/postgres/0100_record_counts.sql"),
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
    /// The columns whose latest value is when the record's event happened, for records
    /// whose events can arrive out of order (a deployment's statuses; an incident's or a
    /// change's successive events): in a [`WriteMode::Merge`] write, the [`Merge::Newest`]
    /// columns take the new values only when the new event is not older than the stored
    /// record (an older one only fills in missing values), so a late delivery of an older event never overwrites a newer title,
    /// status or link. The first column is `NOT NULL`; the others may be missing and then
    /// do not count. Empty: every event is treated as the newest.
    pub event_time: &'static [&'static str],
}

use Merge::{Earliest, Latest, Newest};

pub(crate) const DEPLOYMENTS: Table = Table {
    name: "deployments",
    event_time: &["finished_at"],
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

/// A change's event time is the latest of its times: each event about it (created,
/// reviewed, merged) carries its own time in one of these columns.
pub(crate) const CHANGES: Table = Table {
    name: "changes",
    event_time: &[
        "committed_at",
        "authored_at",
        "first_commit_at",
        "pr_opened_at",
        "first_review_at",
        "approved_at",
        "merged_at",
    ],
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

/// An incident's event time is the latest of its times (started, detected, acknowledged,
/// resolved): a late "detected" event never overwrites the title or severity a later
/// event set.
pub(crate) const INCIDENTS: Table = Table {
    name: "incidents",
    event_time: &[
        "started_at",
        "detected_at",
        "acknowledged_at",
        "resolved_at",
    ],
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
    event_time: &[],
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
    event_time: &[],
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

    /// [`Table::select_list`] with the columns in `skipped` read as NULL, under
    /// their own names, so that decoding stays the same.
    pub fn select_list_without(&self, skipped: &[&str]) -> String {
        let mut list = String::from("id");
        for (name, _) in self.columns {
            list.push_str(", ");
            if skipped.contains(name) {
                list.push_str(typed_null(name));
                list.push_str(" AS ");
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
            .map(|&(name, merge)| (name, self.merged_value(backend, name, mode, merge)))
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

    /// The value a column takes on conflict, as an SQL expression over `t` (stored) and
    /// `excluded` (new). Both sides of the expression read the stored row as it was
    /// before the statement, in SQLite and in PostgreSQL.
    fn merged_value(&self, backend: Backend, name: &str, mode: WriteMode, merge: Merge) -> String {
        let pick = |op: &str| {
            format!(
                "CASE WHEN t.{name} IS NULL OR excluded.{name} {op} t.{name} \
                 THEN COALESCE(excluded.{name}, t.{name}) ELSE t.{name} END"
            )
        };
        match (mode, merge) {
            (WriteMode::Replace, _) => format!("excluded.{name}"),
            (WriteMode::Merge, Newest) => match self.event_time {
                [] => format!("COALESCE(excluded.{name}, t.{name})"),
                // An older event only fills in what the stored record lacks; a tie
                // counts as newer.
                _ => format!(
                    "CASE WHEN {} < {} THEN COALESCE(t.{name}, excluded.{name}) \
                     ELSE COALESCE(excluded.{name}, t.{name}) END",
                    self.event_time_of(backend, "excluded"),
                    self.event_time_of(backend, "t"),
                ),
            },
            (WriteMode::Merge, Earliest) => pick("<"),
            (WriteMode::Merge, Latest) => pick(">"),
        }
    }

    /// The latest of the [`Table::event_time`] columns of row `row`, as an SQL
    /// expression. SQLite's `MAX` is NULL when any argument is, so a missing time is
    /// replaced by the first (required) one; PostgreSQL's `GREATEST` skips NULLs.
    fn event_time_of(&self, backend: Backend, row: &str) -> String {
        match self.event_time {
            [] => String::from("NULL"),
            [only] => format!("{row}.{only}"),
            [first, rest @ ..] => {
                let mut sql = match backend {
                    Backend::Sqlite => format!("MAX({row}.{first}"),
                    Backend::Postgres => format!("GREATEST({row}.{first}"),
                };
                for column in rest {
                    let _ = match backend {
                        Backend::Sqlite => write!(sql, ", COALESCE({row}.{column}, {row}.{first})"),
                        Backend::Postgres => write!(sql, ", {row}.{column}"),
                    };
                }
                sql.push(')');
                sql
            }
        }
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

/// A NULL of the type column `name` has, read in place of a column a load leaves out
/// ([`Table::select_list_without`]), so the row decodes as if it were read: times are
/// stored as `BIGINT` milliseconds, and every time column's name ends in `_at`; every
/// other column of the record tables is `TEXT`.
pub(crate) fn typed_null(name: &str) -> &'static str {
    if name.ends_with("_at") {
        "CAST(NULL AS BIGINT)"
    } else {
        "CAST(NULL AS TEXT)"
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
            event_time: &[],
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
        assert!(sql.contains(
            "author = CASE WHEN GREATEST(excluded.committed_at, excluded.authored_at, \
             excluded.first_commit_at, excluded.pr_opened_at, excluded.first_review_at, \
             excluded.approved_at, excluded.merged_at) < GREATEST(t.committed_at, "
        ));
        assert!(sql.contains(
            "THEN COALESCE(t.author, excluded.author) ELSE COALESCE(excluded.author, t.author) END"
        ));
        assert!(sql.contains(
            "committed_at = CASE WHEN t.committed_at IS NULL OR excluded.committed_at < t.committed_at \
             THEN COALESCE(excluded.committed_at, t.committed_at) ELSE t.committed_at END"
        ));
        let sql = INCIDENTS.upsert_sql(Backend::Sqlite, WriteMode::Merge, 1);
        assert!(sql.contains("excluded.resolved_at > t.resolved_at"));
        assert!(sql.contains(
            "title = CASE WHEN MAX(excluded.started_at, \
             COALESCE(excluded.detected_at, excluded.started_at), \
             COALESCE(excluded.acknowledged_at, excluded.started_at), \
             COALESCE(excluded.resolved_at, excluded.started_at)) < MAX(t.started_at, "
        ));
    }

    #[test]
    fn merged_deployments_keep_the_newest_event() {
        let sql = DEPLOYMENTS.upsert_sql(Backend::Postgres, WriteMode::Merge, 1);
        assert!(sql.contains(
            "status = CASE WHEN excluded.finished_at < t.finished_at \
             THEN COALESCE(t.status, excluded.status) \
             ELSE COALESCE(excluded.status, t.status) END"
        ));
        assert!(sql.contains(
            "finished_at = CASE WHEN excluded.finished_at < t.finished_at THEN COALESCE(t.finished_at,"
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
