//! The Outcomes section: the list with each outcome's status, and an outcome's page with
//! its journey (drawn by `flowmap-render`), experiments and history.

use askama::Template;
use axum::extract::{Path, State};
use flowmap_core::outcome::Status;
use flowmap_render::outcome::{
    MapMarker, OUTCOME_SECTION_CSS, OutcomeView, format_value, outcome_section,
};
use jiff::Timestamp;

use super::{PageResult, page, time_text};
use crate::AppState;

struct OutcomeRow {
    id: String,
    statement: String,
    metric: String,
    current: String,
    target: String,
    status: &'static str,
    status_text: &'static str,
    version: u32,
    saved_at: String,
    saved_by: Option<String>,
}

#[derive(Template)]
#[template(path = "outcomes.html")]
struct OutcomesPage {
    title: String,
    nav: &'static str,
    outcomes: Vec<OutcomeRow>,
}

fn status_text(status: Status) -> &'static str {
    match status {
        Status::Met => "met",
        Status::OnTrack => "on track",
        Status::OffTrack => "off track",
        Status::Overdue => "overdue",
        Status::NoData => "no data",
    }
}

pub async fn outcomes(State(state): State<AppState>) -> PageResult {
    let now = Timestamp::now();
    let mut rows = Vec::new();
    for stored in state.store().outcomes().await? {
        let (_, outcome, report) = state.app().stored_outcome_report(&stored.id, now).await?;
        let s = &report.status;
        rows.push(OutcomeRow {
            id: stored.id,
            statement: outcome.outcome,
            metric: s.metric.clone(),
            current: s
                .current_value
                .map_or_else(|| "no data".into(), |v| format_value(s.unit, v)),
            target: format!(
                "{} {}",
                s.target.op.symbol(),
                format_value(s.unit, s.target.value)
            ),
            status: s.status.as_str(),
            status_text: status_text(s.status),
            version: stored.version,
            saved_at: time_text(stored.saved_at),
            saved_by: stored.saved_by,
        });
    }
    Ok(page(&OutcomesPage {
        title: "Outcomes".into(),
        nav: "outcomes",
        outcomes: rows,
    }))
}

#[derive(Template)]
#[template(path = "outcome.html")]
struct OutcomePage {
    title: String,
    nav: &'static str,
    id: String,
    version: u32,
    saved_at: String,
    saved_by: Option<String>,
    css: &'static str,
    section: String,
    /// (version, saved at, saved by), newest first.
    versions: Vec<(u32, String, Option<String>)>,
}

pub async fn outcome(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let (stored, outcome, report) = state
        .app()
        .stored_outcome_report(&id, Timestamp::now())
        .await?;
    let maps: Vec<MapMarker> = report
        .maps
        .iter()
        .map(|m| MapMarker {
            at: m.saved_at,
            label: format!("{} v{}", m.map, m.version),
            lead_time_hours: m.expected_lead_time_hours,
        })
        .collect();
    let section = outcome_section(&OutcomeView {
        outcome: &outcome,
        status: &report.status,
        weeks: &report.weeks,
        maps: &maps,
    });
    let versions = state
        .store()
        .outcome_versions(&id)
        .await?
        .into_iter()
        .map(|v| (v.version, time_text(v.saved_at), v.saved_by))
        .collect();
    Ok(page(&OutcomePage {
        title: outcome.outcome.clone(),
        nav: "outcomes",
        id: stored.id,
        version: stored.version,
        saved_at: time_text(stored.saved_at),
        saved_by: stored.saved_by,
        css: OUTCOME_SECTION_CSS,
        section,
        versions,
    }))
}
