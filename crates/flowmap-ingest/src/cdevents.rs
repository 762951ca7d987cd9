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
//! | `pipelinerun.finished` | deployment | `subject.id` | `subject.content.pipelineName` | `finished_at`, status success when `outcome` is `success`, else failure; environment production |
//!
//! A change's `committed_at` is the time of the earliest event seen about it (CDEvents
//! carry no commit times), and an incident's `started_at` likewise; merge mode keeps the
//! earliest. Any version of these event types is accepted; other types are an error.

use flowmap_core::events::{Change, Deployment, DeploymentKind, DeploymentStatus, Incident};
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
    "pipelinerun.finished",
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
        _ => {
            let service = e.required("subject.content.pipelineName");
            let status = match e.required("subject.content.outcome").as_deref() {
                Some("success") => DeploymentStatus::Success,
                _ => DeploymentStatus::Failure,
            };
            Record::Deployment(Deployment {
                id: subject_id.unwrap_or_default(),
                service: service.unwrap_or_default(),
                environment: flowmap_core::events::PRODUCTION.into(),
                status,
                started_at: None,
                finished_at: time.unwrap_or(Timestamp::UNIX_EPOCH),
                commit: None,
                changes: Vec::new(),
                kind: DeploymentKind::Normal,
                fixes: None,
            })
        }
    };
    if e.problems.is_empty() {
        Ok(record)
    } else {
        Err(e.problems)
    }
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
