//! CDEvents (<https://cdevents.dev>) mapped onto delivery records.
//!
//! Each event becomes one record (a full description with examples is in
//! `docs/import.md`). Events about the same change or incident share the record's id, so
//! a store writing them in merge mode builds up one record from its whole story: created,
//! reviewed, merged; detected, resolved. Every event's time is `context.timestamp`.
//!
//! | event type | record | id | service | what the event sets |
//! | --- | --- | --- | --- | --- |
//! | `change.created` | change | `subject.id` | `subject.content.repository.id` | `committed_at`, `pr_opened_at`, `title` (from `description`) |
//! | `change.reviewed` | change | 〃 | 〃 | `committed_at`, `first_review_at` |
//! | `change.merged` | change | 〃 | 〃 | `committed_at`, `merged_at` |
//! | `change.updated`, `change.abandoned` | change | 〃 | 〃 | `committed_at` |
//! | `service.deployed`, `service.upgraded` | deployment | `context.id` | `subject.id` | `finished_at`, `environment` (`subject.content.environment.id`), status success, kind normal |
//! | `service.rolledback` | deployment | 〃 | 〃 | as above, kind rollback |
//! | `incident.detected`, `incident.reported` | incident | `subject.id` | `subject.content.service.id` | `started_at`, `detected_at`, `title` (from `description`), `severity` (from `customData.severity`) |
//! | `incident.resolved` | incident | 〃 | 〃 | `started_at`, `resolved_at` |
//! | `pipelinerun.started`, `pipelinerun.finished` with `customData.environment` | deployment (a deploy run) | `subject.id` | `subject.content.pipelineName` | `started_at` (started) or `finished_at` (finished), status success when `outcome` is `success`, else failure; `environment` = `customData.environment` |
//! | `pipelinerun.started`, `pipelinerun.finished` without it | build | `subject.id` | `customData.service`, else `subject.content.pipelineName` | `started_at` (started; also `finished_at` until the run finishes), `finished_at` (finished), status as above; `name` = `pipelineName`; `commit` = `customData.commit`; `changes` = `customData.changes` |
//! | `testsuiterun.finished` | milestone | — | `customData.service` | item = `customData.item`; name = `customData.milestone`, else `tests_passed` when `outcome` is `pass`, else `tests_failed` |
//! | `ticket.created`, `ticket.updated`, `ticket.closed` | milestone | — | `customData.service` | item = `customData.item`; name = `customData.milestone`, else `ticket_created` / `ticket_updated` / `ticket_closed` |
//!
//! A change's `committed_at` is the time of the earliest event seen about it (CDEvents
//! carry no commit times), and an incident's `started_at` likewise; merge mode keeps the
//! earliest. Any version of these event types is accepted; other types are an error.

use flowmap_core::events::{
    Build, Change, Deployment, DeploymentKind, DeploymentStatus, Incident, Milestone,
};
use flowmap_core::measure::is_milestone_name;
use jiff::Timestamp;
use serde_json::Value;

use crate::import::Record;
use crate::import::fields::parse_time;
use crate::import::json::describe;

/// The event types this module maps, as `subject.predicate`.
pub const SUPPORTED_TYPES: &[&str] = &[
    "change.created",
    "change.updated",
    "change.reviewed",
    "change.merged",
    "change.abandoned",
    "service.deployed",
    "service.upgraded",
    "service.rolledback",
    "incident.detected",
    "incident.reported",
    "incident.resolved",
    "pipelinerun.started",
    "pipelinerun.finished",
    "testsuiterun.finished",
    "ticket.created",
    "ticket.updated",
    "ticket.closed",
];

/// Maps one CDEvent onto a record, or returns every problem as `(field path, problem)`.
///
/// ```
/// use flowmap_ingest::cdevents::to_record;
/// use flowmap_ingest::import::Record;
///
/// let event = serde_json::json!({
///     "context": { "id": "e1", "source": "/ci", "type": "dev.cdevents.incident.resolved.0.3.0",
///                  "timestamp": "2026-03-01T13:00:00Z" },
///     "subject": { "id": "inc-7", "content": { "service": { "id": "checkout" } } }
/// });
/// let Ok(Record::Incident(incident)) = to_record(&event) else { panic!() };
/// assert_eq!(incident.id, "inc-7");
/// assert_eq!(incident.resolved_at, Some("2026-03-01T13:00:00Z".parse().unwrap()));
/// ```
pub fn to_record(event: &Value) -> Result<Record, Vec<(String, String)>> {
    let mut e = Event {
        root: event,
        problems: Vec::new(),
    };
    if !event.is_object() {
        e.problem(
            "event",
            format!("expected a JSON object, found {}", describe(event)),
        );
        return Err(e.problems);
    }
    let event_type = e.required("context.type");
    let time = e.time("context.timestamp");
    let subject_id = e.required("subject.id");

    let Some(event_type) = event_type else {
        return Err(e.problems);
    };
    let Some(kind) = event_type
        .strip_prefix("dev.cdevents.")
        .and_then(|rest| {
            let mut parts = rest.splitn(3, '.');
            Some(format!("{}.{}", parts.next()?, parts.next()?))
        })
        .filter(|kind| SUPPORTED_TYPES.contains(&kind.as_str()))
    else {
        e.problem(
            "context.type",
            format!(
                "unsupported CDEvents type {event_type:?} (supported: dev.cdevents. followed by {})",
                SUPPORTED_TYPES.join(", ")
            ),
        );
        return Err(e.problems);
    };

    let record = match kind.split_once('.') {
        Some(("change", predicate)) => {
            let service = e.required("subject.content.repository.id");
            let title = e.optional("subject.content.description");
            let at = |wanted: &str| (predicate == wanted).then_some(time).flatten();
            Record::Change(Change {
                id: subject_id.unwrap_or_default(),
                service: service.unwrap_or_default(),
                committed_at: time.unwrap_or(Timestamp::UNIX_EPOCH),
                authored_at: None,
                first_commit_at: None,
                pr_opened_at: at("created"),
                first_review_at: at("reviewed"),
                approved_at: None,
                merged_at: at("merged"),
                deployment: None,
                author: None,
                title,
                reverts: None,
            })
        }
        Some(("service", predicate)) => {
            let id = e.required("context.id");
            let environment = e.required("subject.content.environment.id");
            Record::Deployment(Deployment {
                id: id.unwrap_or_default(),
                service: subject_id.unwrap_or_default(),
                environment: environment.unwrap_or_default(),
                status: DeploymentStatus::Success,
                started_at: None,
                finished_at: time.unwrap_or(Timestamp::UNIX_EPOCH),
                commit: None,
                changes: Vec::new(),
                kind: if predicate == "rolledback" {
                    DeploymentKind::Rollback
                } else {
                    DeploymentKind::Normal
                },
                fixes: None,
            })
        }
        Some(("incident", predicate)) => {
            let service = e.required("subject.content.service.id");
            let opened = predicate != "resolved";
            let title = if opened {
                e.optional("subject.content.description")
            } else {
                None
            };
            let severity = e.optional("customData.severity");
            Record::Incident(Incident {
                id: subject_id.unwrap_or_default(),
                service: service.unwrap_or_default(),
                started_at: time.unwrap_or(Timestamp::UNIX_EPOCH),
                detected_at: if opened { time } else { None },
                acknowledged_at: None,
                resolved_at: if opened { None } else { time },
                caused_by: None,
                severity,
                title,
            })
        }
        Some(("pipelinerun", predicate)) => pipeline_run(
            &mut e,
            predicate,
            subject_id,
            time.unwrap_or(Timestamp::UNIX_EPOCH),
        ),
        Some((subject, predicate)) => {
            let default_name = match (subject, predicate) {
                ("testsuiterun", _) => match e.required("subject.content.outcome").as_deref() {
                    Some("pass") => "tests_passed".to_owned(),
                    _ => "tests_failed".to_owned(),
                },
                _ => format!("ticket_{predicate}"),
            };
            let item = e.required("customData.item");
            let name = e.optional("customData.milestone").unwrap_or(default_name);
            if !is_milestone_name(&name) {
                e.problem(
                    "customData.milestone",
                    format!("{name:?} is not a milestone name: use lowercase letters, digits, `_` and `-`"),
                );
            }
            Record::Milestone(Milestone {
                item: item.unwrap_or_default(),
                name,
                at: time.unwrap_or(Timestamp::UNIX_EPOCH),
                service: e.optional("customData.service"),
            })
        }
        None => {
            e.problem("context.type", "expected `subject.predicate`");
            return Err(e.problems);
        }
    };
    if e.problems.is_empty() {
        Ok(record)
    } else {
        Err(e.problems)
    }
}

/// A pipeline run: a deploy run when the event names the environment it deployed to
/// (`customData.environment`), else a build. A `started` event opens the run (a build's
/// finish stays at its start until the `finished` event arrives; merge mode keeps the
/// earliest start and the latest finish).
fn pipeline_run(
    e: &mut Event<'_>,
    predicate: &str,
    subject_id: Option<String>,
    time: Timestamp,
) -> Record {
    let pipeline = e.required("subject.content.pipelineName");
    let finished = predicate == "finished";
    let status = if finished {
        match e.required("subject.content.outcome").as_deref() {
            Some("success") => DeploymentStatus::Success,
            _ => DeploymentStatus::Failure,
        }
    } else {
        DeploymentStatus::Success
    };
    let id = subject_id.unwrap_or_default();
    if let Some(environment) = e.optional("customData.environment") {
        return Record::Deployment(Deployment {
            id,
            service: pipeline.unwrap_or_default(),
            environment,
            status,
            started_at: (!finished).then_some(time),
            finished_at: time,
            commit: e.optional("customData.commit"),
            changes: Vec::new(),
            kind: DeploymentKind::Normal,
            fixes: None,
        });
    }
    let service = e
        .optional("customData.service")
        .or_else(|| pipeline.clone());
    let changes = e.list("customData.changes");
    Record::Build(Build {
        id,
        service: service.unwrap_or_default(),
        status,
        started_at: time,
        finished_at: time,
        commit: e.optional("customData.commit"),
        changes,
        name: pipeline,
    })
}

/// Reads dotted paths out of an event, remembering every problem.
struct Event<'v> {
    root: &'v Value,
    problems: Vec<(String, String)>,
}

impl Event<'_> {
    fn problem(&mut self, path: &str, problem: impl Into<String>) {
        self.problems.push((path.to_owned(), problem.into()));
    }

    /// The text at `path`: `Ok(None)` when absent, null or empty.
    fn lookup(&self, path: &str) -> Result<Option<String>, String> {
        let mut value = self.root;
        for key in path.split('.') {
            match value {
                Value::Object(map) => match map.get(key) {
                    Some(next) => value = next,
                    None => return Ok(None),
                },
                Value::Null => return Ok(None),
                other => {
                    return Err(format!(
                        "expected an object on the way, found {}",
                        describe(other)
                    ));
                }
            }
        }
        match value {
            Value::Null => Ok(None),
            Value::String(text) if text.is_empty() => Ok(None),
            Value::String(text) => Ok(Some(text.clone())),
            Value::Number(number) => Ok(Some(number.to_string())),
            other => Err(format!("expected text, found {}", describe(other))),
        }
    }

    /// A list of ids at `path`: a JSON array of text, or `;`-separated text.
    fn list(&mut self, path: &str) -> Vec<String> {
        let mut value = self.root;
        for key in path.split('.') {
            match value.get(key) {
                Some(next) => value = next,
                None => return Vec::new(),
            }
        }
        match value {
            Value::Array(items) => {
                let mut ids = Vec::new();
                for item in items {
                    match item.as_str() {
                        Some(id) if !id.is_empty() => ids.push(id.to_owned()),
                        Some(_) => {}
                        None => {
                            self.problem(path, format!("expected text, found {}", describe(item)))
                        }
                    }
                }
                ids
            }
            _ => self
                .optional(path)
                .map(|text| {
                    text.split(';')
                        .map(str::trim)
                        .filter(|id| !id.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    fn optional(&mut self, path: &str) -> Option<String> {
        self.lookup(path).unwrap_or_else(|problem| {
            self.problem(path, problem);
            None
        })
    }

    fn required(&mut self, path: &str) -> Option<String> {
        match self.lookup(path) {
            Ok(Some(text)) => Some(text),
            Ok(None) => {
                self.problem(path, "missing");
                None
            }
            Err(problem) => {
                self.problem(path, problem);
                None
            }
        }
    }

    fn time(&mut self, path: &str) -> Option<Timestamp> {
        let text = self.required(path)?;
        parse_time(&text)
            .map_err(|problem| self.problem(path, problem))
            .ok()
    }
}
