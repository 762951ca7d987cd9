//! The map pages: the list of stored maps, one map with its picture and numbers, the
//! editor with its live preview, and export as a file.
//!
//! Analyses (and their simulations) run through `flowmap_app::analysis`, off the async
//! threads; saves go through `App::save_map`, which refuses a save based on an older
//! version than the latest.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect};
use axum::{Extension, Form};
use flowmap_app::analysis::{self, Analysed};
use flowmap_app::documents::file_name;
use flowmap_app::maps::SaveMap;
use flowmap_app::{Actor, AppError};
use flowmap_core::format::duration;
use flowmap_core::map::{Analysis, AnalysisOptions, Map};
use flowmap_store::{Expected, MapFormat, valid_map_id};
use serde::Deserialize;

use super::{PageError, PageResult, Stat, page, percent_text, time_text, with_status};
use crate::AppState;
use crate::error::ApiError;
use crate::query::VersionParams;

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

async fn maps_page(
    state: &AppState,
    errors: Vec<String>,
    new_id: String,
    new_text: String,
) -> PageResult {
    let stored = state.store().maps().await?;
    let analysed = analysis::analyse_all(stored, AnalysisOptions::default()).await?;
    let maps = analysed
        .into_iter()
        .map(|(m, analysed)| {
            let (name, lead_time, activity, bottleneck) = match analysed {
                Some(Analysed { map, analysis: a }) => (
                    map.name,
                    duration(a.lead_time_hours),
                    percent_text(Some(a.activity_ratio)),
                    a.bottleneck,
                ),
                None => (m.id.clone(), "—".into(), "—".into(), "—".into()),
            };
            MapRow {
                id: m.id,
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
    let response = page(&MapsPage {
        title: "Maps".into(),
        nav: "maps",
        maps,
        errors,
        new_id,
        new_text,
    });
    Ok(with_status(response, status))
}

pub async fn maps(State(state): State<AppState>) -> PageResult {
    maps_page(&state, Vec::new(), String::new(), NEW_MAP.into()).await
}

/// Creates a map from the form's text, or from an uploaded file (its extension names
/// the format); shows the errors beside the form when it is not a valid map.
pub async fn create_map(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    mut form: Multipart,
) -> PageResult {
    let mut id = String::new();
    let mut text = String::new();
    let mut format = MapFormat::Yaml;
    while let Some(field) = form.next_field().await.map_err(ApiError::from)? {
        let name = field.name().unwrap_or("").to_owned();
        let upload_name = field.file_name().map(str::to_owned);
        let value = field.text().await.map_err(ApiError::from)?;
        match name.as_str() {
            "id" => id = value.trim().to_owned(),
            "text" => text = value,
            "file" => {
                let extension = upload_name
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
                                upload_name.unwrap_or_default()
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
    let save = SaveMap {
        id: &id,
        format,
        text: &text,
        expected: Expected::New,
    };
    match state.app().save_map(&actor, save).await {
        Ok(saved) => Ok(Redirect::to(&format!("/maps/{}", saved.id)).into_response()),
        Err(AppError::Conflict { .. }) => {
            let errors = vec![format!("a map {id:?} exists already: edit it instead")];
            maps_page(&state, errors, id, text).await
        }
        Err(err @ AppError::InvalidMap { .. }) => {
            maps_page(&state, err.diagnostic_lines(), id, text).await
        }
        Err(err) => Err(err.into()),
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
    /// The table of every step and the drill-down maps.
    details: String,
    /// The service the map describes, when it names one.
    service: Option<String>,
    versions: Vec<(u32, String)>,
    /// The map held against the data of its service, beside the drawing.
    measured: Measured,
}

/// The "as measured" half of the map page and its window picker.
struct Measured {
    service: String,
    since: String,
    until: String,
    /// The map as measured, with both numbers on every bound box.
    svg: Option<String>,
    /// The estimate-against-data table.
    table: String,
    /// Why there is no measurement (no service, a bad window).
    problem: Option<String>,
}

fn map_stats(map: &Map, a: &Analysis) -> Vec<Stat> {
    let stat = |label: &str, value: String, hint: String| Stat {
        label: label.into(),
        value,
        level: String::new(),
        hint,
    };
    let bottleneck = map.steps.iter().find(|s| s.id == a.bottleneck);
    // Each card says one thing: its number and what that number is made of.
    let mut stats = vec![
        stat(
            "Lead time",
            duration(a.lead_time_hours),
            format!("{} of it waiting", duration(a.wait_time_hours)),
        ),
        stat(
            "Activity ratio",
            percent_text(Some(a.activity_ratio)),
            format!(
                "{} of work in the lead time",
                duration(a.process_time_hours)
            ),
        ),
        stat(
            "Rolled %C&A",
            percent_text(Some(a.rolled_ca)),
            "of items pass the critical path without rework".into(),
        ),
        stat(
            "Lead time with rework",
            duration(a.expected_lead_time_hours),
            "each step as often as it is expected to be done".into(),
        ),
        stat(
            "Bottleneck",
            bottleneck.map_or_else(|| a.bottleneck.clone(), |s| s.name.clone()),
            bottleneck.map_or_else(String::new, |s| format!("the longest wait: {}", s.wait)),
        ),
        stat(
            "Handoffs",
            a.handoffs.to_string(),
            "between teams along the flow".into(),
        ),
    ];
    if let Some(sim) = &a.simulation {
        stats.push(stat(
            "Simulated lead time",
            format!("p85 {}", duration(sim.p85_hours)),
            format!(
                "p50 {} · p95 {} ({} runs)",
                duration(sim.p50_hours),
                duration(sim.p95_hours),
                sim.runs
            ),
        ));
    }
    stats
}

/// What `/maps/{id}/export` writes: the map file as saved (the default), its picture
/// (`svg`) or the self-contained report (`html`).
#[derive(Debug, Deserialize)]
pub struct ExportParams {
    version: Option<u32>,
    #[serde(default)]
    format: Option<String>,
}

/// Holds `map` against its service's data over the window the page was asked for; a
/// problem (no service, a bad window) is shown on the page, not as an error page.
async fn measure_for_page(
    state: &AppState,
    map: &Map,
    window: &crate::query::WindowParams,
) -> Result<Measured, PageError> {
    let request = window.measure_request(jiff::Timestamp::now());
    let (since, until) = match &request {
        Ok(r) => (
            r.since.strftime("%Y-%m-%d").to_string(),
            r.until.strftime("%Y-%m-%d").to_string(),
        ),
        Err(_) => (
            window.since.clone().unwrap_or_default(),
            window.until.clone().unwrap_or_default(),
        ),
    };
    let service = window
        .service
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| map.service.clone())
        .unwrap_or_default();
    let mut measured = Measured {
        service,
        since,
        until,
        svg: None,
        table: String::new(),
        problem: None,
    };
    let request = match request {
        Ok(request) => request,
        Err(err) => {
            measured.problem = Some(err.message);
            return Ok(measured);
        }
    };
    if measured.service.is_empty() {
        // Said in the page's terms; the shared message speaks to the command line too.
        measured.problem = Some(
            "No service to measure against: add `service:` to the map, or choose a service \
             above and press Measure."
                .into(),
        );
        return Ok(measured);
    }
    match state.app().reports().measure(map.clone(), request).await {
        Ok(report) => {
            measured.svg = Some(flowmap_render::measured_map_svg(map, &report));
            measured.table = flowmap_render::measured_table(&report);
        }
        Err(AppError::Invalid(problem)) => measured.problem = Some(problem),
        Err(AppError::Dora(err)) => measured.problem = Some(err.to_string()),
        Err(err) => return Err(err.into()),
    }
    Ok(measured)
}

pub async fn map(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<VersionParams>,
    Query(window): Query<crate::query::WindowParams>,
) -> PageResult {
    let stored = state.app().map(&id, params.version).await?;
    let versions = state
        .store()
        .map_versions(&id)
        .await?
        .iter()
        .map(|v| (v.version, time_text(v.saved_at)))
        .collect();
    let (version, saved_at, format) = (stored.version, stored.saved_at, stored.format);
    let Analysed { map, analysis } = analysis::analyse(stored, AnalysisOptions::default()).await?;
    let measured = measure_for_page(&state, &map, &window).await?;
    Ok(page(&MapPage {
        title: map.name.clone(),
        nav: "maps",
        name: map.name.clone(),
        version,
        saved_at: time_text(saved_at),
        format: format.as_str(),
        stats: map_stats(&map, &analysis),
        svg: flowmap_render::map_svg(&map, &analysis),
        details: flowmap_render::map_details(&map, &analysis, 2),
        service: map.service.clone(),
        versions,
        id,
        measured,
    }))
}

pub async fn export_map(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<ExportParams>,
) -> PageResult {
    let stored = state.app().map(&id, params.version).await?;
    let picture = match params.format.as_deref() {
        None | Some("") | Some("file") => None,
        Some(format @ ("svg" | "html")) => Some(format),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format {other:?}: export as file, svg or html"
            ))
            .into());
        }
    };
    if let Some(format) = picture {
        let file = format!("{}.{format}", stored.id);
        let Analysed { map, analysis } =
            analysis::analyse(stored, AnalysisOptions::default()).await?;
        let (media_type, body) = if format == "svg" {
            ("image/svg+xml", flowmap_render::map_svg(&map, &analysis))
        } else {
            (
                "text/html; charset=utf-8",
                flowmap_render::html_report(&map, &analysis),
            )
        };
        return Ok((
            [
                (CONTENT_TYPE, media_type.to_owned()),
                (
                    CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{file}\""),
                ),
            ],
            body,
        )
            .into_response());
    }
    Ok((
        [
            (CONTENT_TYPE, stored.format.media_type().to_owned()),
            (
                CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"",
                    file_name(&stored.id, stored.format)
                ),
            ),
        ],
        stored.text,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "preview.html")]
pub(super) struct Preview {
    stats: Vec<Stat>,
    svg: String,
    errors: Vec<EditorError>,
}

/// One problem of the text in the editor, and the line it is on (the editor jumps there
/// when it is clicked).
struct EditorError {
    text: String,
    line: u32,
}

/// The picture and numbers of unsaved map text, or its errors shown against `id`.
pub(super) async fn preview(
    id: &str,
    format: MapFormat,
    text: String,
) -> Result<Preview, PageError> {
    Ok(
        match analysis::preview(text, format, AnalysisOptions::default()).await? {
            Ok(Analysed { map, analysis }) => Preview {
                stats: map_stats(&map, &analysis),
                svg: flowmap_render::map_svg(&map, &analysis),
                errors: Vec::new(),
            },
            Err(diagnostics) => {
                let file = file_name(id, format);
                Preview {
                    stats: Vec::new(),
                    svg: String::new(),
                    errors: diagnostics
                        .iter()
                        .map(|d| EditorError {
                            text: d.display(&file).to_string(),
                            line: d.pos.line,
                        })
                        .collect(),
                }
            }
        },
    )
}

#[derive(Template)]
#[template(path = "edit.html")]
struct EditPage {
    title: String,
    nav: &'static str,
    id: String,
    /// The version the text in the editor is based on; the save states it.
    base_version: u32,
    next_version: u32,
    format: &'static str,
    text: String,
    /// Why the last save was refused because someone saved in between; empty otherwise.
    conflict: String,
    preview: String,
}

async fn edit_page(
    state: &AppState,
    id: String,
    format: MapFormat,
    text: String,
    conflict: String,
) -> PageResult {
    let latest = state.app().map(&id, None).await?;
    let preview = preview(&id, format, text.clone())
        .await?
        .render()
        .map_err(|err| ApiError::internal(&err))?;
    Ok(page(&EditPage {
        title: format!("Edit {id}"),
        nav: "maps",
        base_version: latest.version,
        next_version: latest.version + 1,
        format: format.as_str(),
        text,
        conflict,
        preview,
        id,
    }))
}

pub async fn edit_map(State(state): State<AppState>, Path(id): Path<String>) -> PageResult {
    let stored = state.app().map(&id, None).await?;
    edit_page(&state, id, stored.format, stored.text, String::new()).await
}

/// The editor form: the map text, its format, and the version it was based on.
#[derive(Debug, Deserialize)]
pub struct MapForm {
    text: String,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    base_version: Option<u32>,
}

fn form_format(form: &MapForm) -> MapFormat {
    form.format
        .as_deref()
        .and_then(MapFormat::from_name)
        .unwrap_or(MapFormat::Yaml)
}

/// Saves the edited text as a new version. An invalid map is shown again in the editor
/// with its errors, and so is an edit of a version someone else has saved over (with a
/// note saying so); nothing is saved then.
pub async fn save_map(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Form(form): Form<MapForm>,
) -> PageResult {
    let format = form_format(&form);
    let save = SaveMap {
        id: &id,
        format,
        text: &form.text,
        expected: form.base_version.map_or(Expected::Any, Expected::Version),
    };
    match state.app().save_map(&actor, save).await {
        Ok(saved) => Ok(Redirect::to(&format!("/maps/{}", saved.id)).into_response()),
        Err(AppError::InvalidMap { .. }) => {
            let response = edit_page(&state, id, format, form.text, String::new()).await?;
            Ok(with_status(response, StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(err @ AppError::Conflict { .. }) => {
            let response = edit_page(&state, id, format, form.text, err.to_string()).await?;
            Ok(with_status(response, StatusCode::CONFLICT))
        }
        Err(err) => Err(err.into()),
    }
}

/// The editor's live preview: the picture and numbers, or the errors, as an HTML
/// fragment.
pub async fn preview_map(Form(form): Form<MapForm>) -> PageResult {
    let format = form_format(&form);
    Ok(page(&preview("map", format, form.text).await?))
}
