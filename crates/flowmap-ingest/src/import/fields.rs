//! Turning one row's named values into a record, collecting every field's problem.

use flowmap_core::events::{
    Build, Change, Deployment, DeploymentKind, DeploymentStatus, Incident, Milestone,
};
use flowmap_core::measure::is_milestone_name;
use jiff::Timestamp;

use super::{FileKind, Record};

/// Fields of a deployment, in the order CSV exports write them.
pub const DEPLOYMENT_FIELDS: &[&str] = &[
    "id",
    "service",
    "environment",
    "status",
    "started_at",
    "finished_at",
    "commit",
    "changes",
    "kind",
    "fixes",
];

/// Fields of a change. `reverts` (the id of the change it reverts) goes beyond SPEC §4's
/// list so that every field of the domain record can be imported.
pub const CHANGE_FIELDS: &[&str] = &[
    "id",
    "service",
    "committed_at",
    "authored_at",
    "first_commit_at",
    "pr_opened_at",
    "first_review_at",
    "approved_at",
    "merged_at",
    "deployment",
    "author",
    "title",
    "reverts",
];

/// Fields of an incident.
pub const INCIDENT_FIELDS: &[&str] = &[
    "id",
    "service",
    "started_at",
    "detected_at",
    "acknowledged_at",
    "resolved_at",
    "caused_by",
    "severity",
    "title",
];

/// Fields of a build (a CI pipeline run).
pub const BUILD_FIELDS: &[&str] = &[
    "id",
    "service",
    "status",
    "started_at",
    "finished_at",
    "commit",
    "changes",
    "name",
];

/// Fields of a milestone: a named point in a change's or an incident's life.
pub const MILESTONE_FIELDS: &[&str] = &["item", "name", "at", "service"];

/// A kind of plain record, as opposed to CDEvents (which can become any of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Deployment,
    Change,
    Incident,
    Build,
    Milestone,
}

impl Kind {
    /// The plain kind a file holds; `None` for CDEvents.
    pub fn of(kind: FileKind) -> Option<Kind> {
        match kind {
            FileKind::Deployments => Some(Kind::Deployment),
            FileKind::Changes => Some(Kind::Change),
            FileKind::Incidents => Some(Kind::Incident),
            FileKind::Builds => Some(Kind::Build),
            FileKind::Milestones => Some(Kind::Milestone),
            FileKind::CdEvents => None,
        }
    }

    /// Every field of the kind.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Deployment => DEPLOYMENT_FIELDS,
            Kind::Change => CHANGE_FIELDS,
            Kind::Incident => INCIDENT_FIELDS,
            Kind::Build => BUILD_FIELDS,
            Kind::Milestone => MILESTONE_FIELDS,
        }
    }

    /// The fields every record of the kind must have.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            Kind::Deployment => &["id", "service", "status", "finished_at"],
            Kind::Change => &["id", "service", "committed_at"],
            Kind::Incident => &["id", "service", "started_at"],
            Kind::Build => &["id", "service", "status", "started_at", "finished_at"],
            Kind::Milestone => &["item", "name", "at"],
        }
    }
}

/// One value as the input gave it.
pub(super) enum Cell {
    /// Not given, empty, or JSON `null`.
    Absent,
    Text(String),
    List(Vec<String>),
    /// Given, but not as text or a list (e.g. a JSON object): the problem.
    Bad(String),
}

/// Where a row's values come from: a CSV record or a JSON object.
pub(super) trait RowSource {
    /// Takes the value of `name`.
    fn take(&mut self, name: &str) -> Cell;
}

/// Builds a record field by field, remembering every problem.
pub(super) struct Fields<'s, S> {
    source: &'s mut S,
    pub problems: Vec<(String, String)>,
}

impl<'s, S: RowSource> Fields<'s, S> {
    pub fn new(source: &'s mut S) -> Self {
        Fields {
            source,
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, name: &str, problem: impl Into<String>) {
        self.problems.push((name.to_owned(), problem.into()));
    }

    /// The value of `name`, trimmed like a CSV cell (JSON and CSV agree on
    /// `" checkout "`), and absent when nothing is left.
    fn take(&mut self, name: &str) -> Cell {
        match self.source.take(name) {
            Cell::Text(text) => {
                let trimmed = text.trim();
                if trimmed.is_empty() {
                    Cell::Absent
                } else if trimmed.len() == text.len() {
                    Cell::Text(text)
                } else {
                    Cell::Text(trimmed.to_owned())
                }
            }
            Cell::List(items) => Cell::List(
                items
                    .iter()
                    .map(|item| item.trim())
                    .filter(|item| !item.is_empty())
                    .map(String::from)
                    .collect(),
            ),
            other => other,
        }
    }

    pub fn text(&mut self, name: &str) -> Option<String> {
        match self.take(name) {
            Cell::Absent => None,
            Cell::Text(text) => Some(text),
            Cell::List(_) => {
                self.problem(name, "expected a single value, found a list");
                None
            }
            Cell::Bad(problem) => {
                self.problem(name, problem);
                None
            }
        }
    }

    pub fn required_text(&mut self, name: &str) -> String {
        match self.take(name) {
            Cell::Absent => {
                self.problem(name, "missing");
                String::new()
            }
            Cell::Text(text) => text,
            Cell::List(_) => {
                self.problem(name, "expected a single value, found a list");
                String::new()
            }
            Cell::Bad(problem) => {
                self.problem(name, problem);
                String::new()
            }
        }
    }

    pub fn time(&mut self, name: &str) -> Option<Timestamp> {
        let text = self.text(name)?;
        match parse_time(&text) {
            Ok(time) => Some(time),
            Err(problem) => {
                self.problem(name, problem);
                None
            }
        }
    }

    pub fn required_time(&mut self, name: &str) -> Timestamp {
        match self.take(name) {
            Cell::Absent => self.problem(name, "missing"),
            Cell::Text(text) => match parse_time(&text) {
                Ok(time) => return time,
                Err(problem) => self.problem(name, problem),
            },
            Cell::List(_) => self.problem(name, "expected a time, found a list"),
            Cell::Bad(problem) => self.problem(name, problem),
        }
        Timestamp::UNIX_EPOCH
    }

    /// A list: a JSON array, or text split on `;` (empty items dropped).
    pub fn list(&mut self, name: &str) -> Vec<String> {
        match self.take(name) {
            Cell::Absent => Vec::new(),
            Cell::Text(text) => text
                .split(';')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(String::from)
                .collect(),
            Cell::List(items) => items,
            Cell::Bad(problem) => {
                self.problem(name, problem);
                Vec::new()
            }
        }
    }

    /// One of the named `choices`; `default` when absent (or a problem when there is none).
    pub fn choice<T: Copy>(
        &mut self,
        name: &str,
        choices: &[(&str, T)],
        default: Option<T>,
    ) -> Option<T> {
        let Some(text) = self.text(name) else {
            if default.is_none() {
                self.problem(name, "missing");
            }
            return default;
        };
        let found = choices
            .iter()
            .find(|(label, _)| *label == text)
            .map(|&(_, value)| value);
        if found.is_none() {
            let names: Vec<&str> = choices.iter().map(|(label, _)| *label).collect();
            self.problem(name, format!("{text:?} is not one of {}", names.join(", ")));
        }
        found
    }
}

/// Parses an RFC 3339 time, insisting on an offset.
///
/// The shape is checked strictly first: the time parser underneath also reads offsets up
/// to ±25:59 and a leap second `:60`, which RFC 3339 timestamps in delivery data never
/// carry (an offset over 23:59 is invalid, and no source reports leap seconds), so either
/// is a typo to report rather than a time to guess.
pub(crate) fn parse_time(text: &str) -> Result<Timestamp, String> {
    if let Some(problem) = rfc3339_shape_problem(text) {
        return Err(format!("{text:?} is not an RFC 3339 time: {problem}"));
    }
    text.parse::<Timestamp>().map_err(|err| {
        let civil = text.parse::<jiff::civil::DateTime>().is_ok()
            || text.parse::<jiff::civil::Date>().is_ok();
        if civil {
            format!("{text:?} has no UTC offset; add one, e.g. 2026-03-01T12:00:00Z or +01:00")
        } else {
            format!("{text:?} is not an RFC 3339 time like 2026-03-01T12:00:00Z ({err})")
        }
    })
}

/// What makes a time that looks like `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` invalid: an
/// hour, minute or second out of range, or an offset beyond ±23:59. `None` when the shape
/// is fine or is not that shape at all (the full parser then explains).
fn rfc3339_shape_problem(text: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    if b.len() < 20 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if hour > 23 || minute > 59 {
        return Some("the hour must be 00-23 and the minute 00-59");
    }
    if second > 59 {
        return Some("the second must be 00-59 (leap seconds are not accepted)");
    }
    let mut rest = 19;
    if b[rest] == b'.' {
        rest += 1;
        while rest < b.len() && b[rest].is_ascii_digit() {
            rest += 1;
        }
    }
    match b.get(rest) {
        Some(b'+' | b'-') if b.len() == rest + 6 && b[rest + 3] == b':' => {
            let (offset_hour, offset_minute) =
                (number(rest + 1..rest + 3)?, number(rest + 4..rest + 6)?);
            (offset_hour > 23 || offset_minute > 59)
                .then_some("the UTC offset must be between -23:59 and +23:59")
        }
        _ => None,
    }
}

/// The shared record checks of `flowmap_core::checks` for any record.
pub(crate) fn record_problems(record: &Record) -> Vec<flowmap_core::checks::Problem> {
    use flowmap_core::checks;
    match record {
        Record::Deployment(d) => checks::deployment_problems(d),
        Record::Change(c) => checks::change_problems(c),
        Record::Incident(i) => checks::incident_problems(i),
        Record::Build(b) => checks::build_problems(b),
        Record::Milestone(m) => checks::milestone_problems(m),
    }
}

/// Builds the record of `kind` from `source`, or returns every problem found.
pub(super) fn build<S: RowSource>(
    kind: Kind,
    source: &mut S,
) -> Result<Record, Vec<(String, String)>> {
    let mut f = Fields::new(source);
    let record = match kind {
        Kind::Deployment => Record::Deployment(deployment(&mut f)),
        Kind::Change => Record::Change(change(&mut f)),
        Kind::Incident => Record::Incident(incident(&mut f)),
        Kind::Build => Record::Build(build_run(&mut f)),
        Kind::Milestone => Record::Milestone(milestone(&mut f)),
    };
    // The limits and orders every source shares, reported with the row's own problems
    // (a missing field leaves an empty or epoch placeholder, which passes them).
    f.problems.extend(
        record_problems(&record)
            .into_iter()
            .map(|p| (p.field.to_owned(), p.problem)),
    );
    if f.problems.is_empty() {
        Ok(record)
    } else {
        Err(f.problems)
    }
}

fn deployment<S: RowSource>(f: &mut Fields<'_, S>) -> Deployment {
    let id = f.required_text("id");
    let service = f.required_text("service");
    let environment = f
        .text("environment")
        .unwrap_or_else(|| flowmap_core::events::PRODUCTION.into());
    let status = f.choice(
        "status",
        &[
            ("success", DeploymentStatus::Success),
            ("failure", DeploymentStatus::Failure),
        ],
        None,
    );
    let started_at = f.time("started_at");
    let finished_at = f.required_time("finished_at");
    let commit = f.text("commit");
    let changes = f.list("changes");
    let kind = f
        .choice(
            "kind",
            &[
                ("normal", DeploymentKind::Normal),
                ("hotfix", DeploymentKind::Hotfix),
                ("rollback", DeploymentKind::Rollback),
            ],
            Some(DeploymentKind::Normal),
        )
        .unwrap_or_default();
    let fixes = f.text("fixes");
    if fixes.is_some() && !kind.is_rework() {
        f.problem(
            "fixes",
            "only a hotfix or rollback deployment can fix another",
        );
    }
    Deployment {
        id,
        service,
        environment,
        status: status.unwrap_or(DeploymentStatus::Success),
        started_at,
        finished_at,
        commit,
        changes,
        kind,
        fixes,
    }
}

fn change<S: RowSource>(f: &mut Fields<'_, S>) -> Change {
    Change {
        id: f.required_text("id"),
        service: f.required_text("service"),
        committed_at: f.required_time("committed_at"),
        authored_at: f.time("authored_at"),
        first_commit_at: f.time("first_commit_at"),
        pr_opened_at: f.time("pr_opened_at"),
        first_review_at: f.time("first_review_at"),
        approved_at: f.time("approved_at"),
        merged_at: f.time("merged_at"),
        deployment: f.text("deployment"),
        author: f.text("author"),
        title: f.text("title"),
        reverts: f.text("reverts"),
    }
}

fn build_run<S: RowSource>(f: &mut Fields<'_, S>) -> Build {
    let id = f.required_text("id");
    let service = f.required_text("service");
    let status = f.choice(
        "status",
        &[
            ("success", DeploymentStatus::Success),
            ("failure", DeploymentStatus::Failure),
        ],
        None,
    );
    let started_at = f.required_time("started_at");
    let finished_at = f.required_time("finished_at");
    Build {
        id,
        service,
        status: status.unwrap_or(DeploymentStatus::Success),
        started_at,
        finished_at,
        commit: f.text("commit"),
        changes: f.list("changes"),
        name: f.text("name"),
    }
}

fn milestone<S: RowSource>(f: &mut Fields<'_, S>) -> Milestone {
    let item = f.required_text("item");
    let name = f.required_text("name");
    if !name.is_empty() && !is_milestone_name(&name) {
        f.problem(
            "name",
            format!("{name:?} is not a milestone name: use lowercase letters, digits, `_` and `-`"),
        );
    }
    Milestone {
        item,
        name,
        at: f.required_time("at"),
        service: f.text("service"),
    }
}

fn incident<S: RowSource>(f: &mut Fields<'_, S>) -> Incident {
    Incident {
        id: f.required_text("id"),
        service: f.required_text("service"),
        started_at: f.required_time("started_at"),
        detected_at: f.time("detected_at"),
        acknowledged_at: f.time("acknowledged_at"),
        resolved_at: f.time("resolved_at"),
        caused_by: f.text("caused_by"),
        severity: f.text("severity"),
        title: f.text("title"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_need_an_offset() {
        assert_eq!(
            parse_time("2026-03-01T13:00:00+01:00").unwrap(),
            "2026-03-01T12:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            parse_time("2026-03-01T12:00:00").unwrap_err(),
            "\"2026-03-01T12:00:00\" has no UTC offset; add one, e.g. 2026-03-01T12:00:00Z or +01:00"
        );
        assert_eq!(
            parse_time("2026-03-01").unwrap_err(),
            "\"2026-03-01\" has no UTC offset; add one, e.g. 2026-03-01T12:00:00Z or +01:00"
        );
        assert!(
            parse_time("yesterday")
                .unwrap_err()
                .starts_with("\"yesterday\" is not an RFC 3339 time")
        );
    }
}
