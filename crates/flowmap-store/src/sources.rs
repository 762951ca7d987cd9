//! Sources as a whole: what each one holds, removing one, and where a scope's data lies
//! in time. These answer "what is in this database?" for people, not the engine.

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Row};

use crate::{Store, StoreError, Writer};

/// The key under which a source's last write time is kept (epoch milliseconds).
pub(crate) fn updated_key(source: &str) -> String {
    format!("updated:{source}")
}

/// What one source holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceSummary {
    /// The source name (`import`, `git:shop`, `github`, …).
    pub name: String,
    pub deployments: u64,
    pub changes: u64,
    pub incidents: u64,
    /// When a write for this source last committed; `None` for data written before the
    /// store kept this.
    pub updated_at: Option<Timestamp>,
}

impl SourceSummary {
    /// Every record of the source.
    pub fn records(&self) -> u64 {
        self.deployments + self.changes + self.incidents
    }
}

/// What [`Store::delete_source`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deleted {
    pub deployments: u64,
    pub changes: u64,
    pub incidents: u64,
}

/// The first and last time in a scope's data: deployments by `finished_at` (in the
/// scope's environments) and changes by `committed_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    pub first: Timestamp,
    pub last: Timestamp,
}

fn timestamp(millis: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(millis).map_err(|err| StoreError::Corrupt {
        table: "ingest_state",
        id: millis.to_string(),
        problem: err.to_string(),
    })
}

impl Store {
    /// Every source with at least one record, sorted by name, with its record counts and
    /// last write.
    pub async fn sources(&self) -> Result<Vec<SourceSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT source, SUM(d), SUM(c), SUM(i) FROM ( \
               SELECT source, 1 AS d, 0 AS c, 0 AS i FROM deployments \
               UNION ALL SELECT source, 0, 1, 0 FROM changes \
               UNION ALL SELECT source, 0, 0, 1 FROM incidents \
             ) AS records GROUP BY source",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut sources = Vec::with_capacity(rows.len());
        for row in rows {
            let name: String = row.try_get(0)?;
            let count = |i: usize| -> Result<u64, StoreError> {
                Ok(row.try_get::<i64, _>(i)?.max(0) as u64)
            };
            let updated_at = match self.get_meta(&updated_key(&name)).await? {
                Some(text) => text.parse::<i64>().ok().map(timestamp).transpose()?,
                None => None,
            };
            sources.push(SourceSummary {
                deployments: count(1)?,
                changes: count(2)?,
                incidents: count(3)?,
                name,
                updated_at,
            });
        }
        sources.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(sources)
    }

    /// Removes every record of `source`, its raw inputs and what its ingester remembered
    /// (`SOURCE:state`, so the next ingest reads everything again), in one transaction.
    pub async fn delete_source(&self, source: &str) -> Result<Deleted, StoreError> {
        let mut writer = self.begin(source).await?;
        let deleted = Deleted {
            deployments: writer.delete_all("deployments").await?,
            changes: writer.delete_all("changes").await?,
            incidents: writer.delete_all("incidents").await?,
        };
        writer.delete_all("raw_inputs").await?;
        sqlx::query("DELETE FROM ingest_state WHERE key = $1 OR key = $2")
            .bind(format!("{source}:state"))
            .bind(updated_key(source))
            .execute(&mut *writer.tx)
            .await?;
        // A deleted source has no last update to remember.
        writer.record_update = false;
        writer.commit().await?;
        Ok(deleted)
    }

    /// The time span of the data in scope: `services` (empty: all) and, for deployments,
    /// `environments` (empty: all). `None` when the scope holds no deployment or change.
    pub async fn extent(
        &self,
        services: &[String],
        environments: &[String],
    ) -> Result<Option<Extent>, StoreError> {
        let list = |column: &str, values: &[String], first: usize| -> String {
            if values.is_empty() {
                return "1 = 1".to_owned();
            }
            let params: Vec<String> = (0..values.len())
                .map(|i| format!("${}", first + i))
                .collect();
            format!("{column} IN ({})", params.join(", "))
        };
        let service_filter = list("service", services, 1);
        let env_filter = list("environment", environments, services.len() + 1);
        // Four subqueries, each an index seek from one end of a time index (a scan until
        // the first row that matches the filters), rather than one pass over every row.
        let deployments = format!(
            "FROM deployments WHERE status = 'success' AND {service_filter} AND {env_filter}"
        );
        let changes = format!("FROM changes WHERE {service_filter}");
        let sql = format!(
            "SELECT (SELECT MIN(finished_at) {deployments}), (SELECT MAX(finished_at) {deployments}), \
                    (SELECT MIN(committed_at) {changes}), (SELECT MAX(committed_at) {changes})"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in services.iter().chain(environments) {
            query = query.bind(value.as_str());
        }
        let row = query.fetch_one(&self.pool).await?;
        let time = |at: usize| row.try_get::<Option<i64>, _>(at);
        let first = [time(0)?, time(2)?].into_iter().flatten().min();
        let last = [time(1)?, time(3)?].into_iter().flatten().max();
        match (first, last) {
            (Some(first), Some(last)) => Ok(Some(Extent {
                first: timestamp(first)?,
                last: timestamp(last)?,
            })),
            _ => Ok(None),
        }
    }
}

impl Writer {
    /// Removes this writer's source's deployments inside the transaction (a git ingest
    /// whose deployment rule changed replaces them), returning how many there were.
    pub async fn delete_deployments(&mut self) -> Result<u64, StoreError> {
        self.delete_all("deployments").await
    }

    async fn delete_all(&mut self, table: &'static str) -> Result<u64, StoreError> {
        let sql = format!("DELETE FROM {table} WHERE source = $1");
        let deleted = sqlx::query(AssertSqlSafe(sql))
            .bind(self.source.clone())
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
        self.note_deleted(table, deleted);
        Ok(deleted)
    }
}
