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

    pub fn text(&mut self, name: &str) -> Option<String> {
        match self.source.take(name) {
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
        match self.source.take(name) {
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
        match self.source.take(name) {
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
        match self.source.take(name) {
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
pub(crate) fn parse_time(text: &str) -> Result<Timestamp, String> {
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
    if started_at.is_some_and(|started| started > finished_at) {
        f.problem("finished_at", "is before started_at");
    }
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
    if started_at > finished_at {
        f.problem("finished_at", "is before started_at");
    }
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
    let incident = Incident {
        id: f.required_text("id"),
        service: f.required_text("service"),
        started_at: f.required_time("started_at"),
        detected_at: f.time("detected_at"),
        acknowledged_at: f.time("acknowledged_at"),
        resolved_at: f.time("resolved_at"),
        caused_by: f.text("caused_by"),
        severity: f.text("severity"),
        title: f.text("title"),
    };
    if incident
        .resolved_at
        .is_some_and(|resolved| resolved < incident.started_at)
    {
        f.problem("resolved_at", "is before started_at");
    }
    incident
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
