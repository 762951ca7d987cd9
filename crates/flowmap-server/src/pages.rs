//! The server-rendered pages (askama templates in `templates/`).
//!
//! Handlers gather numbers from `flowmap_core` (through [`dora_report`] and
//! `map::analyze`), pictures from `flowmap-render`, and turn them into display strings;
//! the templates only lay them out. Text from users (service names, map text, file
//! names) is escaped by askama; SVG from `flowmap-render` escapes its own text and is
//! inserted as is.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Redirect, Response};
use flowmap_core::dora::{DoraOptions, DoraReport, FailureReason, Level, Metrics, ServiceMetrics};
use flowmap_core::map::{self, Analysis, AnalysisOptions, Map, format_hours};
use flowmap_ingest::import::{self, FileKind, Format, Options, Record};
use flowmap_render::chart::{self, ChartOptions, Marker, Point, SeriesStyle};
use flowmap_store::{Batch, MapFormat, RawRecord, RecordKind, StoredMap, WriteMode, valid_map_id};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::AppState;
use crate::api::{core_format, find_map, save_checked};
use crate::error::ApiError;
use crate::query::{WindowParams, dora_report};

const STYLE: &str = include_str!("../static/style.css");
const EDITOR_JS: &str = include_str!("../static/editor.js");

pub async fn stylesheet() -> Response {
    ([(CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

pub async fn editor_script() -> Response {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8")],
        EDITOR_JS,
    )
        .into_response()
}

/// Renders a template, or a plain 500 naming the template problem.
fn page(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response()
        }
    }
}

/// An error as a page a person reads (the API answers JSON instead).
fn error_page(err: ApiError) -> Response {
    let status = err.status;
    let mut response = page(&ErrorPage {
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        nav: "",
        message: err.message,
    });
    *response.status_mut() = status;
    response
}

#[derive(Template)]
#[template(
    source = "{% extends \"base.html\" %}{% block content %}<h1>{{ title }}</h1>\
              <div class=\"card\"><p>{{ message }}</p><p><a href=\"/\">Back to the overview</a></p></div>\
              {% endblock %}",
    ext = "html"
)]
struct ErrorPage {
    title: String,
    nav: &'static str,
    message: String,
}

// ---------------------------------------------------------------- formatting

fn level_name(level: Option<Level>) -> String {
    level.map(|l| l.as_str().to_owned()).unwrap_or_default()
}

/// A measured duration, short enough for a table cell: `45m`, `5.1h`, `3.2d`, `6.0w`.
fn hours_text(hours: Option<f64>) -> String {
    match hours {
        None => "—".to_owned(),
        Some(h) if h < 1.0 => format!("{:.0}m", h * 60.0),
        Some(h) if h < 48.0 => format!("{h:.1}h"),
        Some(h) if h < 24.0 * 14.0 => format!("{:.1}d", h / 24.0),
        Some(h) => format!("{:.1}w", h / 24.0 / 7.0),
    }
}

fn percent_text(fraction: Option<f64>) -> String {
    fraction.map_or_else(|| "—".to_owned(), |f| format!("{:.1}%", f * 100.0))
}

fn time_text(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M").to_string()
}

fn date_text(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d").to_string()
}

/// Monday 00:00 UTC of the week `at` falls in.
fn week_start(at: Timestamp) -> Timestamp {
    const DAY: i64 = 86_400;
    let days = at.as_second().div_euclid(DAY);
    // 1970-01-01 was a Thursday: three days after a Monday.
    let monday = days - (days + 3).rem_euclid(7);
    Timestamp::from_second(monday * DAY).expect("a Monday near a valid time is valid")
}

/// The window pages show by default: the current ISO week and the 11 before it.
fn twelve_weeks(now: Timestamp) -> DoraOptions {
    let since = week_start(now) - SignedDuration::from_hours(11 * 7 * 24);
    DoraOptions::new(since, now)
}

fn window_text(options: &DoraOptions) -> String {
    format!(
        "{} to {} ({})",
        date_text(options.since),
        date_text(options.until),
        options.environments.join(", ")
    )
}

// ---------------------------------------------------------------- overview

struct ServiceRow {
    name: String,
    href: String,
    frequency: String,
    frequency_level: String,
    lead_time: String,
    lead_time_level: String,
    fail_rate: String,
    fail_rate_level: String,
    recovery: String,
    recovery_level: String,
    rework: String,
    sparkline: String,
}

impl ServiceRow {
    fn new(name: &str, m: &Metrics) -> ServiceRow {
        let weekly: Vec<Option<f64>> = m
            .weekly
            .iter()
            .map(|w| Some(w.deployments as f64))
            .collect();
        ServiceRow {
            name: name.to_owned(),
            href: format!("/services/{}", url_segment(name)),
            frequency: format!("{:.1}", m.deployment_frequency.per_week),
            frequency_level: m.deployment_frequency.level.as_str().to_owned(),
            lead_time: hours_text(m.lead_time.median_hours),
            lead_time_level: level_name(m.lead_time.level),
            fail_rate: percent_text(m.change_failure_rate.rate),
            fail_rate_level: level_name(m.change_failure_rate.level),
            recovery: hours_text(m.recovery_time.median_hours),
            recovery_level: level_name(m.recovery_time.level),
            rework: percent_text(m.rework_rate.rate),
            sparkline: chart::sparkline(&weekly, 120.0, 28.0),
        }
    }
}

/// A path segment with the characters that would break it percent-encoded (service
/// names are repository names like `acme/shop`).
fn url_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    title: String,
    nav: &'static str,
    window: String,
    rows: Vec<ServiceRow>,
}

fn service_list(report: &DoraReport) -> Vec<(&str, &Metrics)> {
    match (&report.services, &report.service) {
        (Some(list), _) => list
            .iter()
            .map(|ServiceMetrics { service, metrics }| (service.as_str(), metrics))
            .collect(),
        (None, Some(service)) => vec![(service.as_str(), &report.metrics)],
        (None, None) => Vec::new(),
    }
}

pub async fn overview(State(state): State<AppState>) -> Response {
    let options = twelve_weeks(Timestamp::now());
    let report = match dora_report(state.store(), &options).await {
        Ok(report) => report,
        Err(err) => return error_page(err),
    };
    let rows = service_list(&report)
        .into_iter()
        .map(|(name, metrics)| ServiceRow::new(name, metrics))
        .collect();
    page(&OverviewPage {
        title: "Overview".into(),
        nav: "overview",
        window: format!("the last 12 weeks: {}", window_text(&options)),
        rows,
    })
}

// ---------------------------------------------------------------- service

struct Stat {
    label: String,
    value: String,
    level: String,
    hint: String,
}

struct DeploymentRow {
    finished_at: String,
    id: String,
    kind: String,
    changes: u64,
    failed: bool,
    reasons: String,
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage {
    title: String,
    nav: &'static str,
    service: String,
    window: String,
    stats: Vec<Stat>,
    charts: Vec<String>,
    histogram: String,
    deployments: Vec<DeploymentRow>,
    notes: Vec<String>,
}

fn reason_text(reason: &FailureReason) -> String {
    match reason {
        FailureReason::CausedBy { incident } => format!("incident {incident} names it"),
        FailureReason::IncidentInWindow {
            incident,
            hours_after_deployment,
        } => format!(
            "incident {incident} began {} after",
            format_hours(*hours_after_deployment)
        ),
        FailureReason::FixedBy { deployment, kind } => {
            let kind = serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!("{kind} {deployment} fixes it")
        }
    }
}

pub async fn service(
    State(state): State<AppState>,
    Path(service): Path<String>,
    Query(params): Query<WindowParams>,
) -> Response {
    let now = Timestamp::now();
    let mut options = if params.since.is_some() || params.until.is_some() {
        match params.options(now) {
            Ok(options) => options,
            Err(err) => return error_page(err),
        }
    } else {
        twelve_weeks(now)
    };
    options.services = vec![service.clone()];
    options.explain = true;
    let report = match dora_report(state.store(), &options).await {
        Ok(report) => report,
        Err(err) => return error_page(err),
    };
    let m = &report.metrics;
    let stats = vec![
        Stat {
            label: "Deployment frequency".into(),
            value: format!("{:.1} / week", m.deployment_frequency.per_week),
            level: m.deployment_frequency.level.as_str().into(),
            hint: format!(
                "{} deployments · {:.1} deploy days a week",
                m.deployment_frequency.deployments, m.deployment_frequency.deploy_days_per_week
            ),
        },
        Stat {
            label: "Change lead time".into(),
            value: hours_text(m.lead_time.median_hours),
            level: level_name(m.lead_time.level),
            hint: format!(
                "median of {} changes · p90 {}",
                m.lead_time.changes,
                hours_text(m.lead_time.p90_hours)
            ),
        },
        Stat {
            label: "Change fail rate".into(),
            value: percent_text(m.change_failure_rate.rate),
            level: level_name(m.change_failure_rate.level),
            hint: format!(
                "{} of {} deployments failed",
                m.change_failure_rate.failed, m.change_failure_rate.deployments
            ),
        },
        Stat {
            label: "Failed deployment recovery".into(),
            value: hours_text(m.recovery_time.median_hours),
            level: level_name(m.recovery_time.level),
            hint: format!(
                "median · {} recovered, {} not yet",
                m.recovery_time.recovered, m.recovery_time.unrecovered
            ),
        },
        Stat {
            label: "Deployment rework rate".into(),
            value: percent_text(m.rework_rate.rate),
            level: String::new(),
            hint: format!("{} hotfixes and rollbacks", m.rework_rate.rework),
        },
        Stat {
            label: "Recovery stream volume".into(),
            value: format!("{:.2} / week", m.recovery_volume_per_week),
            level: String::new(),
            hint: "failed deployments entering recovery".into(),
        },
    ];

    let week_label = |w: &flowmap_core::dora::Week| {
        w.week
            .split_once('-')
            .map_or(w.week.clone(), |(_, wk)| wk.to_owned())
    };
    let series = |title: &str,
                  unit: &str,
                  style: SeriesStyle,
                  value: &dyn Fn(&flowmap_core::dora::Week) -> Option<f64>| {
        let points: Vec<Point> = m
            .weekly
            .iter()
            .map(|w| Point::new(week_label(w), value(w)))
            .collect();
        chart::series_chart(
            &points,
            style,
            &ChartOptions {
                title: title.into(),
                unit: unit.into(),
                ..ChartOptions::default()
            },
        )
    };
    let charts = vec![
        series(
            "Deployments per week",
            "deployments",
            SeriesStyle::Bars,
            &|w| Some(w.deployments as f64),
        ),
        series(
            "Median change lead time",
            "hours",
            SeriesStyle::Line,
            &|w| w.lead_time_median_hours,
        ),
        series(
            "Failed deployments per week (recovery stream)",
            "failures",
            SeriesStyle::Bars,
            &|w| Some(w.failed as f64),
        ),
        series("Median recovery time", "hours", SeriesStyle::Line, &|w| {
            w.recovery_median_hours
        }),
    ];

    let explain = report.explain.as_ref();
    let lead_times: Vec<f64> = explain
        .map(|e| e.changes.iter().map(|c| c.lead_time_hours).collect())
        .unwrap_or_default();
    let mut markers = Vec::new();
    if let Some(median) = m.lead_time.median_hours {
        markers.push(Marker {
            label: format!("median {}", hours_text(Some(median))),
            value: median,
        });
    }
    if let Some(p90) = m.lead_time.p90_hours {
        markers.push(Marker {
            label: format!("p90 {}", hours_text(Some(p90))),
            value: p90,
        });
    }
    let histogram = chart::histogram(
        &lead_times,
        20,
        &markers,
        &ChartOptions {
            title: "Change lead time".into(),
            unit: "changes per bin, hours".into(),
            width: 960.0,
            height: 260.0,
        },
    );

    let reasons: HashMap<&str, String> = explain
        .map(|e| {
            e.failed_deployments
                .iter()
                .map(|f| {
                    let text: Vec<String> = f.reasons.iter().map(reason_text).collect();
                    (f.deployment.as_str(), text.join("; "))
                })
                .collect()
        })
        .unwrap_or_default();
    let deployments = explain
        .map(|e| {
            e.deployments
                .iter()
                .rev()
                .take(25)
                .map(|d| DeploymentRow {
                    finished_at: time_text(d.finished_at),
                    id: d.deployment.clone(),
                    kind: serde_json::to_value(d.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    changes: d.changes,
                    failed: d.failed,
                    reasons: reasons
                        .get(d.deployment.as_str())
                        .cloned()
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();

    page(&ServicePage {
        title: service.clone(),
        nav: "overview",
        window: window_text(&options),
        service,
        stats,
        charts,
        histogram,
        deployments,
        notes: m.notes.clone(),
    })
}

// ---------------------------------------------------------------- maps

struct MapRow {
    id: String,
    name: String,
    version: u32,
    saved_at: String,
    lead_time: String,
    activity: String,
    bottleneck: String,
}

#[derive(Template)]
#[template(path = "maps.html")]
struct MapsPage {
    title: String,
    nav: &'static str,
    maps: Vec<MapRow>,
    errors: Vec<String>,
    new_id: String,
    new_text: String,
}

const NEW_MAP: &str = "name: My service — delivery\nsteps:\n  - id: code\n    name: Write code\n    process: 4h\n  - id: review\n    name: Code review\n    wait: 1d\n    process: 30m\n    ca: 85%\n  - id: deploy\n    name: Deploy\n    wait: 2h\n    process: 15m\n";

/// A stored map parsed and analysed; stored maps were checked when saved.
fn analysed(stored: &StoredMap) -> Result<(Map, Analysis), Vec<String>> {
    match map::parse_map(&stored.text, core_format(stored.format)) {
        Ok(parsed) => {
            let analysis = map::analyze(&parsed.map, &AnalysisOptions::default());
            Ok((parsed.map, analysis))
        }
        Err(errors) => Err(diagnostic_lines(&stored.id, stored.format, &errors)),
    }
}

fn diagnostic_lines(id: &str, format: MapFormat, errors: &[map::Diagnostic]) -> Vec<String> {
    let file = format!("{id}.{}", format.as_str());
    errors
        .iter()
        .map(|d| d.display(&file).to_string())
        .collect()
}

async fn maps_page(
    state: &AppState,
    errors: Vec<String>,
    new_id: String,
    new_text: String,
) -> Response {
    let stored = match state.store().maps().await {
        Ok(maps) => maps,
        Err(err) => return error_page(err.into()),
    };
    let maps = stored
        .iter()
        .map(|m| {
            let (name, lead_time, activity, bottleneck) = match analysed(m) {
                Ok((map, a)) => (
                    map.name,
                    format_hours(a.lead_time_hours),
                    format!("{:.1}%", a.activity_ratio * 100.0),
                    a.bottleneck,
                ),
                Err(_) => (m.id.clone(), "—".into(), "—".into(), "—".into()),
            };
            MapRow {
                id: m.id.clone(),
                name,
                version: m.version,
                saved_at: time_text(m.saved_at),
                lead_time,
                activity,
                bottleneck,
            }
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = page(&MapsPage {
        title: "Maps".into(),
        nav: "maps",
        maps,
        errors,
        new_id,
        new_text,
    });
    *response.status_mut() = status;
    response
}

pub async fn maps(State(state): State<AppState>) -> Response {
    maps_page(&state, Vec::new(), String::new(), NEW_MAP.into()).await
}

/// Creates a map from the form's text, or from an uploaded file (its extension names
/// the format); shows the errors beside the form when it is not a valid map.
pub async fn create_map(State(state): State<AppState>, mut form: Multipart) -> Response {
    let mut id = String::new();
    let mut text = String::new();
    let mut format = MapFormat::Yaml;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => return error_page(ApiError::bad_request(err.body_text())),
        };
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let value = match field.text().await {
            Ok(value) => value,
            Err(err) => return error_page(ApiError::bad_request(err.body_text())),
        };
        match name.as_str() {
            "id" => id = value.trim().to_owned(),
            "text" => text = value,
            "file" => {
                let extension = file_name
                    .as_deref()
                    .and_then(|n| n.rsplit_once('.'))
                    .map(|(_, ext)| ext)
                    .unwrap_or("");
                match MapFormat::from_name(extension) {
                    Some(f) => format = f,
                    None => {
                        return maps_page(
                            &state,
                            vec![format!(
                                "{}: name the file .yaml, .yml, .toml or .json",
                                file_name.unwrap_or_default()
                            )],
                            id,
                            NEW_MAP.into(),
                        )
                        .await;
                    }
                }
                text = value;
            }
            _ => {}
        }
    }
    if !valid_map_id(&id) {
        return maps_page(
            &state,
            vec![format!("id {id:?}: use 1-64 of a-z, 0-9, - and _")],
            id,
            text,
        )
        .await;
    }
    match state.store().map(&id, None).await {
        Ok(Some(_)) => {
            return maps_page(
                &state,
                vec![format!("a map {id:?} exists already: edit it instead")],
                id,
                text,
            )
            .await;
        }
        Ok(None) => {}
        Err(err) => return error_page(err.into()),
    }
    match save_checked(&state, &id, Some(format.as_str()), &text).await {
        Ok(saved) => Redirect::to(&format!("/maps/{}", saved.id)).into_response(),
        Err(err) if err.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let errors = err.message.lines().map(str::to_owned).collect();
            maps_page(&state, errors, id, text).await
        }
        Err(err) => error_page(err),
    }
}

#[derive(Template)]
#[template(path = "map.html")]
struct MapPage {
    title: String,
    nav: &'static str,
    id: String,
    name: String,
    version: u32,
    saved_at: String,
    format: &'static str,
    stats: Vec<Stat>,
    svg: String,
    versions: Vec<(u32, String)>,
}

fn map_stats(map: &Map, a: &Analysis) -> Vec<Stat> {
    let stat = |label: &str, value: String, hint: String| Stat {
        label: label.into(),
        value,
        level: String::new(),
        hint,
    };
    let mut stats = vec![
        stat(
            "Lead time",
            format_hours(a.lead_time_hours),
            format!("{} of it waiting", format_hours(a.wait_time_hours)),
        ),
        stat(
            "Activity ratio",
            format!("{:.1}%", a.activity_ratio * 100.0),
            format!("{} of work", format_hours(a.process_time_hours)),
        ),
        stat(
            "Rolled %C&A",
            format!("{:.1}%", a.rolled_ca * 100.0),
            format!("with rework: {}", format_hours(a.expected_lead_time_hours)),
        ),
        stat(
            "Bottleneck",
            map.steps
                .iter()
                .find(|s| s.id == a.bottleneck)
                .map_or_else(|| a.bottleneck.clone(), |s| s.name.clone()),
            format!("{} handoffs between teams", a.handoffs),
        ),
    ];
    if let Some(sim) = &a.simulation {
        stats.push(stat(
            "Simulated lead time",
            format!("p85 {}", format_hours(sim.p85_hours)),
            format!(
                "p50 {} · p95 {} ({} runs)",
                format_hours(sim.p50_hours),
                format_hours(sim.p95_hours),
                sim.runs
            ),
        ));
    }
    stats
}

#[derive(Debug, Deserialize)]
pub struct VersionParams {
    version: Option<u32>,
}

pub async fn map(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<VersionParams>,
) -> Response {
    let stored = match find_map(&state, &id, params.version).await {
        Ok(stored) => stored,
        Err(err) => return error_page(err),
    };
    let versions = match state.store().map_versions(&id).await {
        Ok(versions) => versions
            .iter()
            .map(|v| (v.version, time_text(v.saved_at)))
            .collect(),
        Err(err) => return error_page(err.into()),
    };
    let (map, analysis) = match analysed(&stored) {
        Ok(pair) => pair,
        Err(errors) => {
            return error_page(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                errors.join("\n"),
            ));
        }
    };
    page(&MapPage {
        title: map.name.clone(),
        nav: "maps",
        name: map.name.clone(),
        version: stored.version,
        saved_at: time_text(stored.saved_at),
        format: stored.format.as_str(),
        stats: map_stats(&map, &analysis),
        svg: flowmap_render::map_svg(&map, &analysis),
        versions,
        id,
    })
}

pub async fn export_map(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<VersionParams>,
) -> Response {
    match find_map(&state, &id, params.version).await {
        Ok(stored) => {
            let content_type = match stored.format {
                MapFormat::Yaml => "application/yaml; charset=utf-8",
                MapFormat::Toml => "application/toml; charset=utf-8",
                MapFormat::Json => "application/json; charset=utf-8",
            };
            (
                [
                    (CONTENT_TYPE, content_type.to_owned()),
                    (
                        CONTENT_DISPOSITION,
                        format!(
                            "attachment; filename=\"{}.{}\"",
                            stored.id,
                            stored.format.as_str()
                        ),
                    ),
                ],
                stored.text,
            )
                .into_response()
        }
        Err(err) => error_page(err),
    }
}

#[derive(Template)]
#[template(path = "preview.html")]
struct Preview {
    stats: Vec<Stat>,
    svg: String,
    errors: Vec<String>,
}

fn preview(id: &str, format: MapFormat, text: &str) -> Preview {
    match map::parse_map(text, core_format(format)) {
        Ok(parsed) => {
            let analysis = map::analyze(&parsed.map, &AnalysisOptions::default());
            Preview {
                stats: map_stats(&parsed.map, &analysis),
                svg: flowmap_render::map_svg(&parsed.map, &analysis),
                errors: Vec::new(),
            }
        }
        Err(errors) => Preview {
            stats: Vec::new(),
            svg: String::new(),
            errors: diagnostic_lines(id, format, &errors),
        },
    }
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditPage {
    title: String,
    nav: &'static str,
    id: String,
    next_version: u32,
    format: &'static str,
    text: String,
    preview: String,
}

async fn edit_page(
    state: &AppState,
    id: String,
    format: MapFormat,
    text: String,
    status: StatusCode,
) -> Response {
    let next_version = match state.store().map(&id, None).await {
        Ok(Some(latest)) => latest.version + 1,
        Ok(None) => return error_page(ApiError::not_found(format!("no map {id:?}"))),
        Err(err) => return error_page(err.into()),
    };
    let preview = match preview(&id, format, &text).render() {
        Ok(html) => html,
        Err(err) => {
            return error_page(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                err.to_string(),
            ));
        }
    };
    let mut response = page(&EditPage {
        title: format!("Edit {id}"),
        nav: "maps",
        next_version,
        format: format.as_str(),
        text,
        preview,
        id,
    });
    *response.status_mut() = status;
    response
}

pub async fn edit_map(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match find_map(&state, &id, None).await {
        Ok(stored) => edit_page(&state, id, stored.format, stored.text, StatusCode::OK).await,
        Err(err) => error_page(err),
    }
}

/// The editor form: the map text and its format.
#[derive(Debug, Deserialize)]
pub struct MapForm {
    text: String,
    #[serde(default)]
    format: Option<String>,
}

fn form_format(form: &MapForm) -> MapFormat {
    form.format
        .as_deref()
        .and_then(MapFormat::from_name)
        .unwrap_or(MapFormat::Yaml)
}

/// Saves the edited text as a new version; an invalid map is shown again in the editor
/// with its errors (nothing is saved).
pub async fn save_map(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<MapForm>,
) -> Response {
    let format = form_format(&form);
    match save_checked(&state, &id, Some(format.as_str()), &form.text).await {
        Ok(saved) => Redirect::to(&format!("/maps/{}", saved.id)).into_response(),
        Err(err) if err.status == StatusCode::UNPROCESSABLE_ENTITY => {
            edit_page(
                &state,
                id,
                format,
                form.text,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(err) => error_page(err),
    }
}

/// The editor's live preview: the picture and numbers, or the errors, as an HTML
/// fragment.
pub async fn preview_map(Form(form): Form<MapForm>) -> Response {
    let format = form_format(&form);
    page(&preview("map", format, &form.text))
}

// ---------------------------------------------------------------- import

struct ImportReport {
    file: String,
    imported: bool,
    summary: String,
    counts: Vec<String>,
    problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    title: String,
    nav: &'static str,
    report: Option<ImportReport>,
}

pub async fn import_form() -> Response {
    page(&ImportPage {
        title: "Import".into(),
        nav: "import",
        report: None,
    })
}

/// Imports one uploaded file as `flowmap import` would (source `import`), and shows
/// the per-row report: every bad row as `FILE:LINE: field: problem`.
pub async fn import_upload(State(state): State<AppState>, mut form: Multipart) -> Response {
    let mut file_name = String::new();
    let mut body: Vec<u8> = Vec::new();
    let mut kind: Option<FileKind> = None;
    let mut skip_invalid = false;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => return error_page(ApiError::bad_request(err.body_text())),
        };
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            file_name = field.file_name().unwrap_or("upload").to_owned();
        }
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(err) => return error_page(ApiError::bad_request(err.body_text())),
        };
        match name.as_str() {
            "file" => body = bytes.to_vec(),
            "kind" => {
                kind = match &bytes[..] {
                    b"deployments" => Some(FileKind::Deployments),
                    b"changes" => Some(FileKind::Changes),
                    b"incidents" => Some(FileKind::Incidents),
                    b"cdevents" => Some(FileKind::CdEvents),
                    _ => None,
                }
            }
            "skip_invalid" => skip_invalid = !bytes.is_empty(),
            _ => {}
        }
    }
    let report = import_file(&state, &file_name, &body, kind, skip_invalid).await;
    let status = if report.imported {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = page(&ImportPage {
        title: "Import".into(),
        nav: "import",
        report: Some(report),
    });
    *response.status_mut() = status;
    response
}

async fn import_file(
    state: &AppState,
    file_name: &str,
    body: &[u8],
    kind: Option<FileKind>,
    skip_invalid: bool,
) -> ImportReport {
    let failed = |summary: String, problems: Vec<String>| ImportReport {
        file: file_name.to_owned(),
        imported: false,
        summary,
        counts: Vec::new(),
        problems,
    };
    let path = std::path::Path::new(file_name);
    let Some(kind) = kind.or_else(|| FileKind::from_path(path)) else {
        return failed(
            "cannot tell what the file holds from its name: choose what it holds".into(),
            Vec::new(),
        );
    };
    let Some(format) = Format::from_path(path) else {
        return failed(
            "unknown file type: use .csv, .json, .ndjson or .jsonl".into(),
            Vec::new(),
        );
    };
    let mut rows = Vec::new();
    let file_problems =
        import::parse(body, kind, format, Options::default(), |row| rows.push(row)).err();
    let mut problems: Vec<String> = Vec::new();
    let mode = if kind == FileKind::CdEvents {
        WriteMode::Merge
    } else {
        WriteMode::Replace
    };
    let mut batch = Batch {
        mode,
        ..Batch::default()
    };
    let received_at = Timestamp::now();
    let mut invalid_rows = 0;
    for row in rows {
        match row {
            Ok(parsed) => {
                if let Some(raw) = parsed.raw {
                    let kind = match &parsed.record {
                        Record::Deployment(_) => RecordKind::Deployment,
                        Record::Change(_) => RecordKind::Change,
                        Record::Incident(_) => RecordKind::Incident,
                        Record::Build(_) => RecordKind::Build,
                        Record::Milestone(_) => RecordKind::Milestone,
                    };
                    batch.raw.push(RawRecord {
                        kind,
                        record_id: parsed.record.id().to_owned(),
                        received_at,
                        body: raw,
                    });
                }
                match parsed.record {
                    Record::Deployment(d) => batch.deployments.push(d),
                    Record::Change(c) => batch.changes.push(c),
                    Record::Incident(i) => batch.incidents.push(i),
                    Record::Build(b) => batch.builds.push(b),
                    Record::Milestone(m) => batch.milestones.push(m),
                }
            }
            Err(errors) => {
                invalid_rows += 1;
                problems.extend(errors.iter().map(|e| e.in_file(file_name)));
            }
        }
    }
    if let Some(errors) = file_problems {
        problems.extend(errors.iter().map(|e| e.in_file(file_name)));
        return failed(
            "nothing imported: the file could not be read to the end".into(),
            problems,
        );
    }
    if invalid_rows > 0 && !skip_invalid {
        return failed(
            format!(
                "nothing imported: {invalid_rows} invalid {} (fix them, or import the good rows only)",
                rows_word(invalid_rows)
            ),
            problems,
        );
    }
    match state.store().write("import", &batch).await {
        Ok(summary) => {
            let counts = [
                ("deployments", summary.deployments),
                ("changes", summary.changes),
                ("incidents", summary.incidents),
            ]
            .into_iter()
            .filter(|(_, c)| c.total() > 0)
            .map(|(label, c)| {
                format!(
                    "{label}: {} inserted, {} updated, {} unchanged",
                    c.inserted, c.updated, c.unchanged
                )
            })
            .collect();
            let skipped = if invalid_rows > 0 {
                format!(
                    ", {invalid_rows} invalid {} skipped",
                    rows_word(invalid_rows)
                )
            } else {
                String::new()
            };
            ImportReport {
                file: file_name.to_owned(),
                imported: true,
                summary: format!("imported{skipped}"),
                counts,
                problems,
            }
        }
        Err(err) => failed(format!("nothing imported: {err}"), problems),
    }
}

fn rows_word(n: usize) -> &'static str {
    if n == 1 { "row" } else { "rows" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn week_start_is_monday_midnight_utc() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        // 2026-03-05 is a Thursday.
        assert_eq!(
            week_start(t("2026-03-05T15:00:00Z")),
            t("2026-03-02T00:00:00Z")
        );
        assert_eq!(
            week_start(t("2026-03-02T00:00:00Z")),
            t("2026-03-02T00:00:00Z")
        );
        assert_eq!(
            week_start(t("2026-03-08T23:59:59Z")),
            t("2026-03-02T00:00:00Z")
        );
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(hours_text(None), "—");
        assert_eq!(hours_text(Some(0.75)), "45m");
        assert_eq!(hours_text(Some(5.14)), "5.1h");
        assert_eq!(hours_text(Some(76.8)), "3.2d");
        assert_eq!(hours_text(Some(1008.0)), "6.0w");
    }

    #[test]
    fn url_segments_keep_slashes_out() {
        assert_eq!(url_segment("acme/shop v2"), "acme%2Fshop%20v2");
    }
}
