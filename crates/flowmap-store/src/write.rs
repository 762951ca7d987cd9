//! Idempotent, transactional writes.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::ops::AddAssign;

use flowmap_core::events::{
    Build, Change, Deployment, DeploymentKind, DeploymentStatus, Incident, Milestone,
};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Executor, Row as _, Transaction};

use crate::counts::CountChanges;
use crate::schema::{self, BUILDS, CHANGES, DEPLOYMENTS, INCIDENTS, MILESTONES, Table};
use crate::{Backend, Store, StoreError};

/// Most bound values in one statement. Below SQLite's limit (32 766) and PostgreSQL's
/// (65 535), and large enough that per-statement overhead vanishes in bulk imports.
const MAX_PARAMS: usize = 8_000;

/// The five kinds of delivery record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Deployment,
    Change,
    Incident,
    Build,
    Milestone,
}

impl RecordKind {
    /// The singular lowercase name, as stored in the audit table (`deployment`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Deployment => "deployment",
            RecordKind::Change => "change",
            RecordKind::Incident => "incident",
            RecordKind::Build => "build",
            RecordKind::Milestone => "milestone",
        }
    }
}

/// What a write does with a record that is already stored under the same source and id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WriteMode {
    /// The new record replaces the stored one entirely: right for sources that always
    /// send whole records (files, git).
    #[default]
    Replace,
    /// The new record fills in what it knows and keeps the rest: right for event streams
    /// (CDEvents, webhooks) where each event tells part of a record's story.
    ///
    /// A field the new record lacks (`None`, or an empty `changes` list) keeps its stored
    /// value; other fields take the new value, except times that mark a first occurrence,
    /// which keep the earliest value seen (a change's `committed_at` and its `*_at` times,
    /// an incident's `started_at`, `detected_at`, `acknowledged_at`, a deployment's
    /// `started_at`), and an incident's `resolved_at`, which keeps the latest.
    ///
    /// A deployment's events are ordered by their time (`finished_at`, the time of the
    /// status): an event older than the stored one changes none of the fields above that
    /// take the new value, so a late delivery of an old status (`in_progress` after
    /// `success`) is ignored. A write that changes nothing is `unchanged` and keeps the
    /// revision.
    Merge,
}

/// A set of records to write together, with the raw input behind them.
///
/// Records are written in order; when one id occurs twice, the later record is applied
/// on top of the earlier one (and counted as an update).
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// How records meet stored ones with the same id.
    pub mode: WriteMode,
    pub deployments: Vec<Deployment>,
    pub changes: Vec<Change>,
    pub incidents: Vec<Incident>,
    pub builds: Vec<Build>,
    /// Stored under the id [`milestone_id`] makes of them.
    pub milestones: Vec<Milestone>,
    /// Audit copies of the input the records came from (webhook bodies, CDEvents).
    pub raw: Vec<RawRecord>,
}

/// The untouched input a record was made from, kept for audit.
///
/// A body already kept for the same record is not stored again, so redelivered events
/// leave one copy.
#[derive(Clone, Debug, PartialEq)]
pub struct RawRecord {
    /// The kind of the record the input became.
    pub kind: RecordKind,
    /// The id of that record.
    pub record_id: String,
    /// When the input was received (or imported).
    pub received_at: Timestamp,
    /// The input exactly as received, normally a JSON document.
    pub body: String,
}

/// What a write did to the records of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Records that were not stored before.
    pub inserted: u64,
    /// Stored records whose content changed.
    pub updated: u64,
    /// Stored records written again with identical content.
    pub unchanged: u64,
}

impl Counts {
    /// All records the write saw.
    pub fn total(&self) -> u64 {
        self.inserted + self.updated + self.unchanged
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

/// What a write did, per kind of record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteSummary {
    pub deployments: Counts,
    pub changes: Counts,
    pub incidents: Counts,
    pub builds: Counts,
    pub milestones: Counts,
}

impl AddAssign for WriteSummary {
    fn add_assign(&mut self, other: WriteSummary) {
        self.deployments += other.deployments;
        self.changes += other.changes;
        self.incidents += other.incidents;
        self.builds += other.builds;
        self.milestones += other.milestones;
    }
}

/// Records a commit must have inserted or updated in a table for [`settle`] to treat it.
const BULK_RECORDS: u64 = 100_000;

/// After a bulk write on PostgreSQL, `VACUUM (ANALYZE)` of each record table that took
/// [`BULK_RECORDS`] or more: the planner then knows the new rows, and reads that an index
/// answers alone (a report's changes) skip the table, which they cannot until a vacuum
/// has marked the new rows visible to all. Autovacuum would do the same, some time later
/// (and not at all where it is turned off).
///
/// Best effort: the records are committed already, and a database that refuses (a role
/// that does not own the tables) is only slower to read.
async fn settle(pool: &sqlx::AnyPool, total: &WriteSummary) {
    let tables = [
        (&DEPLOYMENTS, total.deployments),
        (&CHANGES, total.changes),
        (&INCIDENTS, total.incidents),
        (&BUILDS, total.builds),
        (&MILESTONES, total.milestones),
    ];
    for (table, counts) in tables {
        if counts.inserted + counts.updated >= BULK_RECORDS {
            let vacuum = format!("VACUUM (ANALYZE) {}", table.name);
            let _ = pool.execute(AssertSqlSafe(vacuum)).await;
        }
    }
}

/// An open write transaction for one source.
///
/// Everything written through a `Writer` becomes visible at once on [`Writer::commit`],
/// or not at all: dropping the writer (or the process dying) rolls it back. This is how an
/// import makes a whole file atomic while streaming it in [`Batch`]es of bounded size.
///
/// ```no_run
/// # async fn demo(store: flowmap_store::Store, chunks: Vec<flowmap_store::Batch>)
/// # -> Result<(), flowmap_store::StoreError> {
/// let mut writer = store.begin("git").await?;
/// for chunk in &chunks {
///     writer.write(chunk).await?;
/// }
/// writer.set_meta("git:/srv/checkout:head", "4f2a9c1").await?;
/// let summary = writer.commit().await?;
/// println!("{} changes inserted", summary.changes.inserted);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Writer {
    pub(crate) tx: Transaction<'static, Any>,
    pool: sqlx::AnyPool,
    backend: Backend,
    pub(crate) source: String,
    total: WriteSummary,
    /// What the writes did to the tables' totals, applied at commit.
    counts: CountChanges,
    /// Whether committing records the source's last update time.
    pub(crate) record_update: bool,
}

impl Store {
    /// Starts a write transaction for records of `source`.
    ///
    /// On SQLite the transaction takes the write lock at once (`BEGIN IMMEDIATE`), so a
    /// concurrent writer waits for the busy timeout instead of failing midway.
    pub async fn begin(&self, source: &str) -> Result<Writer, StoreError> {
        if source.is_empty() {
            return Err(StoreError::Invalid {
                what: "source".into(),
                problem: "must not be empty".into(),
            });
        }
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Writer {
            tx,
            pool: self.pool.clone(),
            backend: self.backend,
            source: source.to_owned(),
            total: WriteSummary::default(),
            counts: CountChanges::default(),
            record_update: true,
        })
    }

    /// Writes `batch` for `source` in one transaction and reports what changed.
    pub async fn write(&self, source: &str, batch: &Batch) -> Result<WriteSummary, StoreError> {
        let mut writer = self.begin(source).await?;
        writer.write(batch).await?;
        writer.commit().await
    }
}

/// Refuses a batch with a record either backend would treat differently (a NUL byte, an
/// over-long id, a time out of range) or that cannot have happened, before any SQL runs:
/// the shared checks of `flowmap_core::checks`, so SQLite and PostgreSQL accept the same
/// records whichever source wrote them. Importers run the same checks earlier, at the file
/// line.
fn check_batch(batch: &Batch) -> Result<(), StoreError> {
    use flowmap_core::checks;
    check_records(&batch.deployments, &batch.changes)?;
    let problems = std::iter::empty()
        .chain(
            batch
                .incidents
                .iter()
                .map(|i| ("incident", i.id.as_str(), checks::incident_problems(i))),
        )
        .chain(
            batch
                .builds
                .iter()
                .map(|b| ("build", b.id.as_str(), checks::build_problems(b))),
        )
        .chain(
            batch
                .milestones
                .iter()
                .map(|m| ("milestone", m.item.as_str(), checks::milestone_problems(m))),
        );
    first_problem(problems)
}

/// [`check_batch`] for deployments and changes alone.
pub(crate) fn check_records(
    deployments: &[Deployment],
    changes: &[Change],
) -> Result<(), StoreError> {
    use flowmap_core::checks;
    let problems = deployments
        .iter()
        .map(|d| ("deployment", d.id.as_str(), checks::deployment_problems(d)))
        .chain(
            changes
                .iter()
                .map(|c| ("change", c.id.as_str(), checks::change_problems(c))),
        );
    first_problem(problems)
}

/// The first problem of the first record that has one, as an error.
fn first_problem<'a>(
    problems: impl Iterator<Item = (&'static str, &'a str, Vec<flowmap_core::checks::Problem>)>,
) -> Result<(), StoreError> {
    for (kind, id, found) in problems {
        if let Some(first) = found.into_iter().next() {
            let shown: String = id.chars().take(80).collect();
            return Err(StoreError::Invalid {
                what: format!("{kind} {shown:?} {}", first.field),
                problem: first.problem,
            });
        }
    }
    Ok(())
}

impl Writer {
    /// Writes `batch` inside this transaction and reports what it changed.
    pub async fn write(&mut self, batch: &Batch) -> Result<WriteSummary, StoreError> {
        check_batch(batch)?;
        let summary = WriteSummary {
            deployments: self
                .upsert(&DEPLOYMENTS, batch.mode, &batch.deployments, true)
                .await?,
            changes: self
                .upsert(&CHANGES, batch.mode, &batch.changes, true)
                .await?,
            incidents: self
                .upsert(&INCIDENTS, batch.mode, &batch.incidents, true)
                .await?,
            builds: self
                .upsert(&BUILDS, batch.mode, &batch.builds, true)
                .await?,
            milestones: self
                .upsert(&MILESTONES, batch.mode, &keyed(&batch.milestones), true)
                .await?,
        };
        self.write_raw(&batch.raw).await?;
        self.total += summary;
        Ok(summary)
    }

    /// Writes `batch` like [`Writer::write`], but reports only how many records were
    /// inserted or changed in all, not which.
    ///
    /// For bulk loads such as a whole git history: not reading a revision back for every
    /// row saves about a fifth of the time of a million-row write. These records are not
    /// part of the totals [`Writer::commit`] returns.
    pub async fn write_bulk(&mut self, batch: &Batch) -> Result<u64, StoreError> {
        check_batch(batch)?;
        let written = [
            self.upsert(&DEPLOYMENTS, batch.mode, &batch.deployments, false)
                .await?,
            self.upsert(&CHANGES, batch.mode, &batch.changes, false)
                .await?,
            self.upsert(&INCIDENTS, batch.mode, &batch.incidents, false)
                .await?,
            self.upsert(&BUILDS, batch.mode, &batch.builds, false)
                .await?,
            self.upsert(&MILESTONES, batch.mode, &keyed(&batch.milestones), false)
                .await?,
        ];
        self.write_raw(&batch.raw).await?;
        Ok(written.iter().map(|counts| counts.inserted).sum())
    }

    /// Stores `value` under `key` as part of this transaction (see [`Store::get_meta`]).
    pub async fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        set_meta(&mut *self.tx, key, value).await
    }

    /// Makes everything written visible and returns the totals of all writes.
    /// The source's last update time (see [`Store::sources`]) is written with it, and the
    /// data version (see [`Store::data_version`]) grows by one.
    pub async fn commit(mut self) -> Result<WriteSummary, StoreError> {
        if self.record_update {
            let now = jiff::Timestamp::now().as_millisecond().to_string();
            let key = crate::sources::updated_key(&self.source);
            set_meta(&mut *self.tx, &key, &now).await?;
        }
        // Last, so that on PostgreSQL these rows' locks are held only while committing.
        for statement in self.counts.statements() {
            sqlx::query(AssertSqlSafe(statement))
                .execute(&mut *self.tx)
                .await?;
        }
        crate::version::bump(&mut *self.tx).await?;
        self.tx.commit().await?;
        if self.backend == Backend::Postgres {
            settle(&self.pool, &self.total).await;
        }
        Ok(self.total)
    }

    /// Notes that `deleted` records of `table` were deleted in this transaction.
    pub(crate) fn note_deleted(&mut self, table: &str, deleted: u64) {
        self.counts
            .add(table, -i64::try_from(deleted).unwrap_or(i64::MAX));
    }

    /// Discards everything written through this writer.
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.tx.rollback().await?;
        Ok(())
    }

    async fn upsert<R: Record>(
        &mut self,
        table: &Table,
        mode: WriteMode,
        records: &[R],
        counted: bool,
    ) -> Result<Counts, StoreError> {
        let per_statement = MAX_PARAMS / table.width();
        let mut counts = Counts::default();
        let mut start = 0;
        while start < records.len() {
            // PostgreSQL refuses to touch one row twice in a statement, so a repeated id
            // starts a new statement; the database then applies it on top of the first.
            let mut ids = HashSet::new();
            let mut end = start;
            while end < records.len() && end - start < per_statement {
                let id = records[end].id();
                if id.is_empty() {
                    return Err(StoreError::Invalid {
                        what: format!("{} id", table.name),
                        problem: "must not be empty".into(),
                    });
                }
                if !ids.insert(id) {
                    break;
                }
                end += 1;
            }
            let chunk = &records[start..end];
            let sql = if counted {
                table.upsert_sql(self.backend, mode, chunk.len())
            } else {
                table.upsert_sql_uncounted(self.backend, mode, chunk.len())
            };
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for record in chunk {
                query = record.bind(query.bind(self.source.as_str()));
            }
            if !counted {
                // Inserted and changed rows both count as affected; they are not told
                // apart here, so all of them are reported as `inserted`.
                let affected = query.execute(&mut *self.tx).await?.rows_affected();
                counts.inserted += affected;
                counts.unchanged += chunk.len() as u64 - affected;
                start = end;
                continue;
            }
            let rows = query.fetch_all(&mut *self.tx).await?;
            let mut inserted = 0;
            for row in &rows {
                if row.try_get::<i64, _>(0)? == 1 {
                    inserted += 1;
                }
            }
            counts.inserted += inserted;
            counts.updated += rows.len() as u64 - inserted;
            counts.unchanged += (chunk.len() - rows.len()) as u64;
            start = end;
        }
        if counted {
            self.counts.add(
                table.name,
                i64::try_from(counts.inserted).unwrap_or(i64::MAX),
            );
        } else if counts.inserted > 0 {
            self.counts.forget(table.name);
        }
        Ok(counts)
    }

    async fn write_raw(&mut self, raw: &[RawRecord]) -> Result<(), StoreError> {
        for chunk in raw.chunks(MAX_PARAMS / 6) {
            let mut query = sqlx::query(AssertSqlSafe(schema::raw_insert_sql(
                self.backend,
                chunk.len(),
            )));
            for record in chunk {
                query = query
                    .bind(self.source.as_str())
                    .bind(record.kind.as_str())
                    .bind(record.record_id.as_str())
                    .bind(sha256_hex(&record.body))
                    .bind(record.received_at.as_millisecond())
                    .bind(record.body.as_str());
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}

/// Stores a value under a key of `ingest_state`, replacing any earlier one.
pub(crate) const SET_META_SQL: &str = "INSERT INTO ingest_state (key, value) VALUES ($1, $2) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

pub(crate) async fn set_meta<'e, E>(executor: E, key: &str, value: &str) -> Result<(), StoreError>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(SET_META_SQL)
        .bind(key)
        .bind(value)
        .execute(executor)
        .await?;
    Ok(())
}

fn sha256_hex(body: &str) -> String {
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(body.as_bytes()) {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

type AnyQuery<'q> = Query<'q, Any, AnyArguments>;

/// A domain record that binds itself as one row of its table, in the table's column order.
trait Record {
    fn id(&self) -> &str;
    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q>;
}

fn ms(time: Option<Timestamp>) -> Option<i64> {
    time.map(|t| t.as_millisecond())
}

impl Record for Deployment {
    fn id(&self) -> &str {
        &self.id
    }

    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        let changes = (!self.changes.is_empty())
            .then(|| serde_json::to_string(&self.changes).expect("a list of strings serializes"));
        query
            .bind(self.id.as_str())
            .bind(self.service.as_str())
            .bind(self.environment.as_str())
            .bind(status_str(self.status))
            .bind(ms(self.started_at))
            .bind(self.finished_at.as_millisecond())
            .bind(self.commit.as_deref())
            .bind(changes)
            .bind(kind_str(self.kind))
            .bind(self.fixes.as_deref())
    }
}

impl Record for Change {
    fn id(&self) -> &str {
        &self.id
    }

    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(self.id.as_str())
            .bind(self.service.as_str())
            .bind(self.committed_at.as_millisecond())
            .bind(ms(self.authored_at))
            .bind(ms(self.first_commit_at))
            .bind(ms(self.pr_opened_at))
            .bind(ms(self.first_review_at))
            .bind(ms(self.approved_at))
            .bind(ms(self.merged_at))
            .bind(self.deployment.as_deref())
            .bind(self.author.as_deref())
            .bind(self.title.as_deref())
            .bind(self.reverts.as_deref())
    }
}

impl Record for Incident {
    fn id(&self) -> &str {
        &self.id
    }

    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        query
            .bind(self.id.as_str())
            .bind(self.service.as_str())
            .bind(self.started_at.as_millisecond())
            .bind(ms(self.detected_at))
            .bind(ms(self.acknowledged_at))
            .bind(ms(self.resolved_at))
            .bind(self.caused_by.as_deref())
            .bind(self.severity.as_deref())
            .bind(self.title.as_deref())
    }
}

impl Record for Build {
    fn id(&self) -> &str {
        &self.id
    }

    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        let changes = (!self.changes.is_empty())
            .then(|| serde_json::to_string(&self.changes).expect("a list of strings serializes"));
        query
            .bind(self.id.as_str())
            .bind(self.service.as_str())
            .bind(status_str(self.status))
            .bind(self.started_at.as_millisecond())
            .bind(self.finished_at.as_millisecond())
            .bind(self.commit.as_deref())
            .bind(changes)
            .bind(self.name.as_deref())
    }
}

/// The id a milestone is stored under: its item, name and time, so that importing the same
/// milestone again changes nothing, while the same name recorded again at another time (an
/// item re-entering a step) is kept beside it. The earliest is the one measured.
///
/// ```
/// use flowmap_core::events::Milestone;
/// let m = Milestone {
///     item: "PR-42".into(),
///     name: "qa_passed".into(),
///     at: "2026-03-02T10:00:00Z".parse().unwrap(),
///     service: None,
/// };
/// assert_eq!(flowmap_store::milestone_id(&m), "PR-42/qa_passed/2026-03-02T10:00:00Z");
/// ```
pub fn milestone_id(milestone: &Milestone) -> String {
    format!("{}/{}/{}", milestone.item, milestone.name, milestone.at)
}

/// A milestone with its stored id.
struct KeyedMilestone<'m> {
    id: String,
    milestone: &'m Milestone,
}

fn keyed(milestones: &[Milestone]) -> Vec<KeyedMilestone<'_>> {
    milestones
        .iter()
        .map(|milestone| KeyedMilestone {
            id: milestone_id(milestone),
            milestone,
        })
        .collect()
}

impl Record for KeyedMilestone<'_> {
    fn id(&self) -> &str {
        &self.id
    }

    fn bind<'q>(&'q self, query: AnyQuery<'q>) -> AnyQuery<'q> {
        let m = self.milestone;
        query
            .bind(self.id.as_str())
            .bind(m.item.as_str())
            .bind(m.name.as_str())
            .bind(m.at.as_millisecond())
            .bind(m.service.as_deref())
    }
}

pub(crate) fn status_str(status: DeploymentStatus) -> &'static str {
    match status {
        DeploymentStatus::Success => "success",
        DeploymentStatus::Failure => "failure",
    }
}

pub(crate) fn kind_str(kind: DeploymentKind) -> &'static str {
    match kind {
        DeploymentKind::Normal => "normal",
        DeploymentKind::Hotfix => "hotfix",
        DeploymentKind::Rollback => "rollback",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_lowercase_hex_sha256() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
