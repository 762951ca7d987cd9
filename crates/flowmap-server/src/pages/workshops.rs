//! The Workshops section: the list with a form to start one, the join page, and the
//! workshop page itself. The workshop page is a shell: `static/workshop.js` fills it from
//! the workshop JSON API with the browser's workshop key and keeps it current from the
//! event stream, so a phone, a laptop and the projector show the same state. The map
//! phase draws with the map editor's own preview.

use askama::Template;
use axum::Extension;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use flowmap_app::Actor;
use flowmap_app::workshops::CreateWorkshop;
use serde::Deserialize;

use super::maps::preview;
use super::{PageError, PageResult, page, time_text};
use crate::AppState;
use crate::error::ApiError;
use crate::workshops_api::holder;

struct WorkshopRow {
    id: String,
    title: String,
    phase: String,
    stream: String,
    created: String,
    created_by: String,
}

#[derive(Template)]
#[template(path = "workshops.html")]
struct WorkshopsPage {
    title: String,
    nav: &'static str,
    workshops: Vec<WorkshopRow>,
}

pub async fn workshops(State(state): State<AppState>) -> PageResult {
    let rows = state
        .app()
        .workshops()
        .await?
        .into_iter()
        .map(|w| WorkshopRow {
            created: time_text(w.created_at),
            id: w.id,
            title: w.title,
            phase: w.phase,
            stream: w.stream,
            created_by: w.created_by,
        })
        .collect();
    Ok(page(&WorkshopsPage {
        title: "Workshops".into(),
        nav: "workshops",
        workshops: rows,
    }))
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    title: String,
    #[serde(default)]
    mandate: String,
    stream: String,
    dots: Option<u32>,
}

/// Starts a workshop and sends the facilitator to it with the facilitator key in the
/// URL's fragment, which browsers never send to a server; the page keeps it and removes
/// it from the address bar.
pub async fn create_workshop(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Form(form): Form<CreateForm>,
) -> PageResult {
    let created = state
        .app()
        .create_workshop(
            &actor,
            CreateWorkshop {
                title: &form.title,
                mandate: &form.mandate,
                stream: &form.stream,
                dots: form.dots,
            },
        )
        .await?;
    Ok(Redirect::to(&format!(
        "/workshops/{}#key={}",
        created.id, created.facilitator_key
    ))
    .into_response())
}

#[derive(Template)]
#[template(path = "workshop.html")]
struct WorkshopPage {
    title: String,
    nav: &'static str,
    id: String,
    joining: bool,
}

pub async fn workshop(Path(id): Path<String>) -> PageResult {
    Ok(page(&WorkshopPage {
        title: "Workshop".into(),
        nav: "workshops",
        id,
        joining: false,
    }))
}

pub async fn join_workshop(Path(id): Path<String>) -> PageResult {
    Ok(page(&WorkshopPage {
        title: "Join the workshop".into(),
        nav: "workshops",
        id,
        joining: true,
    }))
}

/// The map being drawn, as the editor's preview draws it (picture and numbers, or the
/// errors), for a holder of the workshop's key.
pub async fn workshop_preview(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> PageResult {
    let holder = holder(&state, &id, &headers).await?;
    let view = state.app().workshop_view(&id, holder).await?;
    let workshop = view.snapshot.workshop;
    let Some((format, text)) = workshop.map else {
        return Ok(axum::response::Html(
            "<p class=\"muted\" id=\"map-empty\">No map yet: write the first step.</p>",
        )
        .into_response());
    };
    Ok(page(&preview(&workshop.stream, format, text).await?))
}

/// The outcome or the map as a file (`what` is `outcome` or `map`).
pub async fn workshop_export(
    State(state): State<AppState>,
    Path((id, what)): Path<(String, String)>,
    headers: HeaderMap,
) -> PageResult {
    let holder = holder(&state, &id, &headers).await?;
    let view = state.app().workshop_view(&id, holder).await?;
    let workshop = view.snapshot.workshop;
    let document = match what.as_str() {
        "outcome" => workshop.outcome,
        "map" => workshop.map,
        _ => {
            return Err(PageError::from(ApiError::not_found(
                "export: expected outcome or map",
            )));
        }
    };
    let Some((format, text)) = document else {
        return Err(PageError::from(ApiError::not_found(format!(
            "this workshop has no {what} yet"
        ))));
    };
    let content_type = match format {
        flowmap_store::MapFormat::Json => "application/json",
        flowmap_store::MapFormat::Toml => "application/toml",
        flowmap_store::MapFormat::Yaml => "application/yaml",
    };
    let suffix = if what == "outcome" { "-outcome" } else { "" };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}{suffix}.{}\"",
                    workshop.stream,
                    format.as_str()
                ),
            ),
        ],
        text,
    )
        .into_response())
}
