//! The checks every delivery record passes before it is stored, whatever its source.
//!
//! Files, webhooks, CDEvents and git all produce the same records, and SQLite and
//! PostgreSQL must accept or refuse the same ones. So the limits live here, once, as pure
//! functions: the importers call them to report a problem at its file line, and the store
//! calls them again before any SQL, so that no source can reach one backend with a record
//! the other would refuse (PostgreSQL rejects NUL bytes in text and index entries over
//! about 2.7 kB; SQLite accepts both).
//!
//! Limits (bytes of UTF-8):
//! - ids and names that are looked up or indexed (`id`, `service`, `environment`,
//!   `commit`, `fixes`, `deployment`, `caused_by`, `reverts`, listed change ids):
//!   [`MAX_KEY_BYTES`];
//! - free text (`title`, `author`, `severity`, a build's `name`): [`MAX_TEXT_BYTES`];
//! - no NUL byte anywhere;
//! - times from [`EARLIEST_TIME`] to [`LATEST_TIME`], so that window arithmetic never
//!   leaves the range of representable times.
//!
//! And the orders that cannot happen: a deployment that finishes before it starts or
//! fixes itself, a change that reverts itself or is merged before its pull request was
//! opened, an incident resolved before it started, was detected or acknowledged, or
//! acknowledged before it was detected.

use jiff::Timestamp;

use crate::events::{Build, Change, Deployment, Incident, Milestone};

/// The longest id or name, in bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// The longest free text, in bytes.
pub const MAX_TEXT_BYTES: usize = 8192;
/// The earliest time a record may carry: 1900-01-01T00:00:00Z.
pub const EARLIEST_TIME: Timestamp = crate::dora::EARLIEST_WINDOW_BOUND;
/// The latest time a record may carry: 3000-01-01T00:00:00Z.
pub const LATEST_TIME: Timestamp = crate::dora::LATEST_WINDOW_BOUND;

/// One problem: the field it is in and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub problem: String,
}

/// Collects the problems of one record.
#[derive(Default)]
struct Collector(Vec<Problem>);

impl Collector {
    fn push(&mut self, field: &'static str, problem: impl Into<String>) {
        self.0.push(Problem {
            field,
            problem: problem.into(),
        });
    }

    fn text(&mut self, field: &'static str, value: &str, limit: usize) {
        if let Some(problem) = text_problem(value, limit) {
            self.push(field, problem);
        }
    }

    fn key(&mut self, field: &'static str, value: &str) {
        self.text(field, value, MAX_KEY_BYTES);
    }

    fn optional_key(&mut self, field: &'static str, value: Option<&str>) {
        if let Some(value) = value {
            self.key(field, value);
        }
    }

    fn optional_text(&mut self, field: &'static str, value: Option<&str>) {
        if let Some(value) = value {
            self.text(field, value, MAX_TEXT_BYTES);
        }
    }

    fn time(&mut self, field: &'static str, value: Timestamp) {
        if let Some(problem) = time_problem(value) {
            self.push(field, problem);
        }
    }

    fn optional_time(&mut self, field: &'static str, value: Option<Timestamp>) {
        if let Some(value) = value {
            self.time(field, value);
        }
    }

    /// `later` must not be before `earlier` when both are known.
    fn order(
        &mut self,
        later_field: &'static str,
        later: Option<Timestamp>,
        earlier_field: &'static str,
        earlier: Option<Timestamp>,
    ) {
        if let (Some(later), Some(earlier)) = (later, earlier)
            && later < earlier
        {
            self.push(later_field, format!("is before {earlier_field}"));
        }
    }
}

/// What is wrong with a piece of text: a NUL byte, or more than `limit` bytes.
pub fn text_problem(value: &str, limit: usize) -> Option<String> {
    if value.contains('\0') {
        Some("contains a NUL byte".into())
    } else if value.len() > limit {
        Some(format!(
            "is {} bytes long; the limit is {limit} bytes",
            value.len()
        ))
    } else {
        None
    }
}

/// What is wrong with a record's time: outside [`EARLIEST_TIME`]..[`LATEST_TIME`].
pub fn time_problem(value: Timestamp) -> Option<String> {
    (!(EARLIEST_TIME..=LATEST_TIME).contains(&value))
        .then(|| format!("{value} is out of range: use a time from 1900 to 3000"))
}

/// Every problem of a deployment.
pub fn deployment_problems(d: &Deployment) -> Vec<Problem> {
    let mut c = Collector::default();
    c.key("id", &d.id);
    c.key("service", &d.service);
    c.key("environment", &d.environment);
    c.optional_key("commit", d.commit.as_deref());
    c.optional_key("fixes", d.fixes.as_deref());
    for change in &d.changes {
        c.key("changes", change);
    }
    c.optional_time("started_at", d.started_at);
    c.time("finished_at", d.finished_at);
    c.order(
        "finished_at",
        Some(d.finished_at),
        "started_at",
        d.started_at,
    );
    if d.fixes.as_deref() == Some(d.id.as_str()) {
        c.push("fixes", "a deployment cannot fix itself");
    }
    c.0
}

/// Every problem of a change.
pub fn change_problems(ch: &Change) -> Vec<Problem> {
    let mut c = Collector::default();
    c.key("id", &ch.id);
    c.key("service", &ch.service);
    c.optional_key("deployment", ch.deployment.as_deref());
    c.optional_key("reverts", ch.reverts.as_deref());
    c.optional_text("author", ch.author.as_deref());
    c.optional_text("title", ch.title.as_deref());
    c.time("committed_at", ch.committed_at);
    for (field, time) in [
        ("authored_at", ch.authored_at),
        ("first_commit_at", ch.first_commit_at),
        ("pr_opened_at", ch.pr_opened_at),
        ("first_review_at", ch.first_review_at),
        ("approved_at", ch.approved_at),
        ("merged_at", ch.merged_at),
    ] {
        c.optional_time(field, time);
    }
    c.order("merged_at", ch.merged_at, "pr_opened_at", ch.pr_opened_at);
    if ch.reverts.as_deref() == Some(ch.id.as_str()) {
        c.push("reverts", "a change cannot revert itself");
    }
    c.0
}

/// Every problem of an incident.
pub fn incident_problems(i: &Incident) -> Vec<Problem> {
    let mut c = Collector::default();
    c.key("id", &i.id);
    c.key("service", &i.service);
    c.optional_key("caused_by", i.caused_by.as_deref());
    c.optional_text("severity", i.severity.as_deref());
    c.optional_text("title", i.title.as_deref());
    c.time("started_at", i.started_at);
    c.optional_time("detected_at", i.detected_at);
    c.optional_time("acknowledged_at", i.acknowledged_at);
    c.optional_time("resolved_at", i.resolved_at);
    c.order(
        "resolved_at",
        i.resolved_at,
        "started_at",
        Some(i.started_at),
    );
    c.order("resolved_at", i.resolved_at, "detected_at", i.detected_at);
    c.order(
        "resolved_at",
        i.resolved_at,
        "acknowledged_at",
        i.acknowledged_at,
    );
    c.order(
        "acknowledged_at",
        i.acknowledged_at,
        "detected_at",
        i.detected_at,
    );
    c.0
}

/// Every problem of a build.
pub fn build_problems(b: &Build) -> Vec<Problem> {
    let mut c = Collector::default();
    c.key("id", &b.id);
    c.key("service", &b.service);
    c.optional_key("commit", b.commit.as_deref());
    c.optional_text("name", b.name.as_deref());
    for change in &b.changes {
        c.key("changes", change);
    }
    c.time("started_at", b.started_at);
    c.time("finished_at", b.finished_at);
    c.order(
        "finished_at",
        Some(b.finished_at),
        "started_at",
        Some(b.started_at),
    );
    c.0
}

/// Every problem of a milestone.
pub fn milestone_problems(m: &Milestone) -> Vec<Problem> {
    let mut c = Collector::default();
    c.key("item", &m.item);
    c.key("name", &m.name);
    c.optional_key("service", m.service.as_deref());
    c.time("at", m.at);
    c.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Timestamp {
        text.parse().expect("test time")
    }

    fn fields(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|p| p.field).collect()
    }

    #[test]
    fn text_limits_and_nul_bytes() {
        let mut d = Deployment::new("d1", "shop", t("2026-03-01T12:00:00Z"));
        assert!(deployment_problems(&d).is_empty());
        d.service = "sh\0op".into();
        d.environment = "x".repeat(MAX_KEY_BYTES + 1);
        d.changes = vec!["c".repeat(MAX_KEY_BYTES)];
        let problems = deployment_problems(&d);
        assert_eq!(fields(&problems), ["service", "environment"]);
        assert_eq!(problems[0].problem, "contains a NUL byte");
        assert_eq!(
            problems[1].problem,
            "is 513 bytes long; the limit is 512 bytes"
        );

        let mut c = Change::new("c1", "shop", t("2026-03-01T12:00:00Z"));
        c.title = Some("t".repeat(MAX_TEXT_BYTES));
        assert!(change_problems(&c).is_empty());
        c.title = Some("t".repeat(MAX_TEXT_BYTES + 1));
        assert_eq!(fields(&change_problems(&c)), ["title"]);
    }

    #[test]
    fn impossible_orders_and_self_references() {
        let mut d = Deployment::new("d1", "shop", t("2026-03-01T12:00:00Z"));
        d.started_at = Some(t("2026-03-01T12:00:01Z"));
        d.fixes = Some("d1".into());
        assert_eq!(fields(&deployment_problems(&d)), ["finished_at", "fixes"]);

        let mut c = Change::new("c1", "shop", t("2026-03-01T12:00:00Z"));
        c.reverts = Some("c1".into());
        c.pr_opened_at = Some(t("2026-03-01T10:00:00Z"));
        c.merged_at = Some(t("2026-03-01T09:00:00Z"));
        assert_eq!(fields(&change_problems(&c)), ["merged_at", "reverts"]);

        let mut i = Incident::new("i1", "shop", t("2026-03-01T12:00:00Z"));
        i.detected_at = Some(t("2026-03-01T12:30:00Z"));
        i.acknowledged_at = Some(t("2026-03-01T12:20:00Z"));
        i.resolved_at = Some(t("2026-03-01T12:10:00Z"));
        let problems = incident_problems(&i);
        assert_eq!(
            problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.problem))
                .collect::<Vec<_>>(),
            [
                "resolved_at: is before detected_at",
                "resolved_at: is before acknowledged_at",
                "acknowledged_at: is before detected_at",
            ]
        );
        // Equal times are possible (an alert resolved the minute it fired).
        i.acknowledged_at = i.detected_at;
        i.resolved_at = i.detected_at;
        assert!(incident_problems(&i).is_empty());
    }

    #[test]
    fn times_stay_in_range() {
        let c = Change::new("c1", "shop", t("1899-12-31T23:59:59Z"));
        assert_eq!(
            change_problems(&c)[0].problem,
            "1899-12-31T23:59:59Z is out of range: use a time from 1900 to 3000"
        );
        assert!(time_problem(EARLIEST_TIME).is_none() && time_problem(LATEST_TIME).is_none());
    }
}
