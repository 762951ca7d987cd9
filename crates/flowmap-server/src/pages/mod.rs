//! The server-rendered pages (askama templates in `templates/`), one module per area:
//! [`dora`] (the overview and a page per service), [`maps`] (the map list, a map, the
//! editor), [`outcomes`] (the outcomes and an outcome's journey) and [`import`] (the file
//! import form).
//!
//! Handlers parse the request, call one use case of `flowmap-app`, and turn its values
//! into display strings; the templates only lay them out. Text from users (service names,
//! map text, file names) is escaped by askama; SVG from `flowmap-render` escapes its own
//! text and is inserted as is. Every failure is a [`PageError`], shown as a page.

mod dora;
mod import;
mod map_history;
mod maps;
mod outcomes;

use askama::Template;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse, Response};
use flowmap_app::AppError;
use flowmap_core::dora::DoraOptions;
use jiff::Timestamp;

use crate::error::ApiError;

pub use dora::{overview, service};
pub use import::{import_form, import_upload};
pub use map_history::map_diff;
pub use maps::{create_map, edit_map, export_map, map, maps, preview_map, save_map};
pub use outcomes::{outcome, outcomes};

const STYLE: &str = include_str!("../../static/style.css");
const EDITOR_JS: &str = include_str!("../../static/editor.js");

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

/// Why a page could not be shown: a status and a message, rendered as a page a person
/// reads (the API answers the same errors as JSON).
#[derive(Debug)]
pub struct PageError(ApiError);

impl From<ApiError> for PageError {
    fn from(err: ApiError) -> PageError {
        PageError(err)
    }
}

impl From<AppError> for PageError {
    fn from(err: AppError) -> PageError {
        PageError(err.into())
    }
}

impl From<flowmap_store::StoreError> for PageError {
    fn from(err: flowmap_store::StoreError) -> PageError {
        PageError(err.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status;
        let message = if self.0.diagnostics.is_empty() {
            vec![self.0.message]
        } else {
            self.0.diagnostics
        };
        with_status(
            page(&ErrorPage {
                title: status.canonical_reason().unwrap_or("Error").to_owned(),
                nav: "",
                message,
            }),
            status,
        )
    }
}

/// What a page handler returns.
pub type PageResult = Result<Response, PageError>;

/// Renders a template; a template that fails to render is an internal error (logged).
fn page(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => ApiError::internal(&err).into_response(),
    }
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

#[derive(Template)]
#[template(
    source = "{% extends \"base.html\" %}{% block content %}<h1>{{ title }}</h1>\
              <div class=\"card\">{% for line in message %}<p>{{ line }}</p>{% endfor %}\
              <p><a href=\"/\">Back to the overview</a></p></div>\
              {% endblock %}",
    ext = "html"
)]
struct ErrorPage {
    title: String,
    nav: &'static str,
    message: Vec<String>,
}

/// One labelled number on a page: a DORA metric or a map total.
struct Stat {
    label: String,
    value: String,
    level: String,
    hint: String,
}

fn time_text(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M").to_string()
}

fn date_text(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d").to_string()
}

fn window_text(options: &DoraOptions) -> String {
    format!(
        "{} to {} ({})",
        date_text(options.since),
        date_text(options.until),
        options.environments.join(", ")
    )
}

fn level_name(level: Option<flowmap_core::dora::Level>) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_short() {
        assert_eq!(hours_text(None), "—");
        assert_eq!(hours_text(Some(0.75)), "45m");
        assert_eq!(hours_text(Some(5.14)), "5.1h");
        assert_eq!(hours_text(Some(76.8)), "3.2d");
        assert_eq!(hours_text(Some(1008.0)), "6.0w");
    }
}
