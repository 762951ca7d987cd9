//! PagerDuty's REST API into incidents.
//!
//! `GET /incidents?service_ids[]=ID&since=…&until=…`, paged by `offset` while `more` is
//! true, in windows of at most 179 days (PagerDuty refuses longer ranges). Each incident:
//! `started_at` = `created_at`; from its log entries (`GET /incidents/{id}/log_entries`),
//! `acknowledged_at` = the earliest `acknowledge_log_entry` and `resolved_at` = the latest
//! `resolve_log_entry`; `severity` = the priority's name (`P1`…) when the account uses
//! priorities, else the urgency (`high`, `low`); `title`.
//!
//! Incidents carry no `caused_by`: the DORA engine attributes each to the deployment of
//! the same service it follows within the attribution window. The first run reads a year
//! back (or from `since`); later runs read incidents created since the last sync, and read
//! again those that were still open.

use flowmap_core::events::Incident;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::client::{Answer, Client};
use crate::pages::{parse_body, with_query};
use crate::run::{Run, encode};
use crate::{BackfillError, Outcome, Records, SavedState, Sink};

/// What to read.
#[derive(Clone, Debug)]
pub struct PagerDutyOptions {
    /// The PagerDuty service id (`PIJ90N7`).
    pub service_id: String,
    /// The flowmap service the incidents belong to (the one its deployments are under).
    pub service: String,
    /// Read incidents created from this time on [first run default: a year back].
    pub since: Option<Timestamp>,
    /// The API root [default: `https://api.pagerduty.com`].
    pub api_url: String,
}

/// The source records of a PagerDuty service are stored under.
pub fn source(service_id: &str) -> String {
    format!("pagerduty:{service_id}")
}

/// The longest `since`..`until` range one list request may span.
const MAX_RANGE: SignedDuration = SignedDuration::from_hours(179 * 24);
/// How far back a first run without `since` reads.
const DEFAULT_HISTORY: SignedDuration = SignedDuration::from_hours(365 * 24);

/// Reads the service's incidents into `sink`, resuming from `saved`.
pub async fn backfill<S: Sink>(
    client: &Client,
    options: &PagerDutyOptions,
    saved: SavedState,
    sink: &mut S,
) -> Result<Outcome, BackfillError> {
    let id = &options.service_id;
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(BackfillError::Invalid {
            what: format!("service id {id:?}"),
            problem: "expected a PagerDuty service id of letters and digits".into(),
        });
    }
    let since = Some(
        options
            .since
            .unwrap_or_else(|| Timestamp::now() - DEFAULT_HISTORY),
    );
    let mut run = Run::begin(client, sink, saved, source(id), since).await?;
    let pagerduty = PagerDuty {
        api_url: options.api_url.trim_end_matches('/').to_owned(),
        service_id: id.clone(),
        service: options.service.clone(),
    };
    pagerduty.incidents(&mut run).await?;
    run.finish().await
}

struct PagerDuty {
    api_url: String,
    service_id: String,
    service: String,
}

#[derive(Clone, Debug, Deserialize)]
struct Priority {
    summary: Option<String>,
    name: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct IncidentItem {
    id: String,
    title: Option<String>,
    created_at: Timestamp,
    urgency: Option<String>,
    priority: Option<Priority>,
}

#[derive(Debug, Deserialize)]
struct IncidentList {
    incidents: Vec<IncidentItem>,
    #[serde(default)]
    more: bool,
}

#[derive(Debug, Deserialize)]
struct OneIncident {
    incident: IncidentItem,
}

#[derive(Debug, Deserialize)]
struct LogEntry {
    #[serde(rename = "type")]
    kind: String,
    created_at: Timestamp,
}

#[derive(Debug, Deserialize)]
struct LogEntryList {
    log_entries: Vec<LogEntry>,
    #[serde(default)]
    more: bool,
}

/// Progress through the incident list of the run under way.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct IncidentCursor {
    run: i64,
    /// The start of the range being read; `None` once the run has read up to its start.
    from: Option<Timestamp>,
    offset: u64,
    /// Incidents written while unresolved, to read again.
    open: Vec<String>,
    /// Whether the run under way has read the open incidents again.
    rechecked: bool,
}

const RESOURCE: &str = "incidents";

impl PagerDuty {
    async fn incidents<S: Sink>(&self, run: &mut Run<'_, S>) -> Result<(), BackfillError> {
        let mut cursor: IncidentCursor = run.cursor(RESOURCE).unwrap_or_default();
        let key = run.window.key();
        if cursor.run != key {
            cursor.run = key;
            cursor.from = run.window.threshold;
            cursor.offset = 0;
            cursor.rechecked = false;
        }
        if !cursor.rechecked {
            let open = std::mem::take(&mut cursor.open);
            let client = run.client;
            let items = client
                .read_each(open, |id| async move {
                    let url = format!("{}/incidents/{id}", self.api_url);
                    Ok(get::<OneIncident>(client, &url).await?.incident)
                })
                .await?;
            let incidents = self.with_log_entries(client, items).await?;
            cursor.open = still_open(&incidents);
            cursor.rechecked = true;
            run.save(
                Records {
                    incidents,
                    ..Records::default()
                },
                vec![(RESOURCE.into(), Some(encode(&cursor)))],
                Vec::new(),
            )
            .await?;
        }
        let until = run.window.started;
        while let Some(from) = cursor.from {
            let to = (from + MAX_RANGE).min(until);
            let url = with_query(
                &format!("{}/incidents", self.api_url),
                &[
                    ("service_ids[]", self.service_id.as_str()),
                    ("since", &from.to_string()),
                    ("until", &to.to_string()),
                    ("time_zone", "UTC"),
                    ("sort_by", "created_at:asc"),
                    ("limit", "100"),
                    ("offset", &cursor.offset.to_string()),
                ],
            )?;
            let page = get::<IncidentList>(run.client, &url).await?;
            let read = page.incidents.len() as u64;
            let incidents = self.with_log_entries(run.client, page.incidents).await?;
            for id in still_open(&incidents) {
                if !cursor.open.contains(&id) {
                    cursor.open.push(id);
                }
            }
            if page.more && read > 0 {
                cursor.offset += read;
            } else {
                cursor.offset = 0;
                cursor.from = (to < until).then_some(to);
            }
            run.save(
                Records {
                    incidents,
                    ..Records::default()
                },
                vec![(RESOURCE.into(), Some(encode(&cursor)))],
                Vec::new(),
            )
            .await?;
        }
        Ok(())
    }

    /// The incidents as records, with times from their log entries.
    async fn with_log_entries(
        &self,
        client: &Client,
        items: Vec<IncidentItem>,
    ) -> Result<Vec<Incident>, BackfillError> {
        client
            .read_each(items, |item| async move {
                let entries = self.log_entries(client, &item.id).await?;
                let mut incident = Incident::new(item.id, self.service.clone(), item.created_at);
                incident.acknowledged_at = entries
                    .iter()
                    .filter(|entry| entry.kind == "acknowledge_log_entry")
                    .map(|entry| entry.created_at)
                    .min();
                incident.resolved_at = entries
                    .iter()
                    .filter(|entry| entry.kind == "resolve_log_entry")
                    .map(|entry| entry.created_at)
                    .max();
                incident.severity = item
                    .priority
                    .and_then(|priority| priority.summary.or(priority.name))
                    .or(item.urgency);
                incident.title = item.title;
                Ok(incident)
            })
            .await
    }

    async fn log_entries(&self, client: &Client, id: &str) -> Result<Vec<LogEntry>, BackfillError> {
        let mut entries = Vec::new();
        let mut offset = 0u64;
        loop {
            let url = with_query(
                &format!("{}/incidents/{id}/log_entries", self.api_url),
                &[
                    ("time_zone", "UTC"),
                    ("limit", "100"),
                    ("offset", &offset.to_string()),
                ],
            )?;
            let page = get::<LogEntryList>(client, &url).await?;
            let read = page.log_entries.len() as u64;
            entries.extend(page.log_entries);
            if !page.more || read == 0 {
                return Ok(entries);
            }
            offset += read;
        }
    }
}

/// The ids of incidents not yet resolved.
fn still_open(incidents: &[Incident]) -> Vec<String> {
    incidents
        .iter()
        .filter(|incident| incident.resolved_at.is_none())
        .map(|incident| incident.id.clone())
        .collect()
}

/// `GET url` as a `T` (PagerDuty sends no ETags, so nothing is asked conditionally).
async fn get<T: serde::de::DeserializeOwned>(
    client: &Client,
    url: &str,
) -> Result<T, BackfillError> {
    match client.get(url, None).await? {
        Answer::Fresh { body, .. } => parse_body(url, &body),
        Answer::NotModified => Err(BackfillError::Payload {
            url: url.to_owned(),
            problem: "304 Not Modified to a request without If-None-Match".into(),
        }),
    }
}
