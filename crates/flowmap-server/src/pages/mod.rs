//! The server-rendered pages (askama templates in `templates/`), one module per area:
//! [`dora`] (the overview and a page per service), [`maps`] (the map list, a map, the
//! editor), [`outcomes`] (the outcomes and an outcome's journey), [`workshops`] (live
//! workshops) and [`import`] (the file import form).
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
mod workshops;

use askama::Template;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse, Response};
use flowmap_app::AppError;
use flowmap_app::{DataRange, Window};
use flowmap_core::dora::DoraOptions;
use flowmap_core::format;
use jiff::Timestamp;

use crate::error::ApiError;

pub use dora::{overview, service};
pub use import::{import_form, import_template, import_upload};
pub use map_history::map_diff;
pub use maps::{create_map, edit_map, export_map, map, maps, preview_map, save_map};
pub use outcomes::{outcome, outcomes};
pub use workshops::{
    create_workshop, join_workshop, workshop, workshop_export, workshop_preview, workshops,
};

const STYLE: &str = include_str!("../../static/style.css");
const EDITOR_JS: &str = include_str!("../../static/editor.js");
const CSRF_JS: &str = include_str!("../../static/csrf.js");
const WORKSHOP_JS: &str = include_str!("../../static/workshop.js");

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

pub async fn workshop_script() -> Response {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8")],
        WORKSHOP_JS,
    )
        .into_response()
}

pub async fn csrf_script() -> Response {
    ([(CONTENT_TYPE, "text/javascript; charset=utf-8")], CSRF_JS).into_response()
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

/// A link on a page: its words, where it goes, and whether it is the current choice.
struct Link {
    label: String,
    href: String,
    active: bool,
}

/// The window and environment picker at the top of every DORA page. It lives in the URL
/// (`?since=&until=&env=`), so a view can be bookmarked and shared, and it states the
/// window the numbers are about.
struct Picker {
    /// The page's path, where the form sends its choice.
    action: String,
    /// The window and environments in words.
    stated: String,
    /// The chosen bounds as dates for the inputs; empty for the default.
    since: String,
    until: String,
    env: String,
    presets: Vec<Link>,
    /// Where the scope's data lies, when it has any (`data from … to …`).
    data: String,
    /// When the window holds nothing but the scope has data: where to look.
    hint: Option<Link>,
}

/// A query string value with everything but unreserved characters percent-encoded.
fn query_value(text: &str) -> String {
    url_segment(text)
}

/// A path segment with the characters that would break it percent-encoded (service
/// names are repository names like `acme/shop`).
pub(crate) fn url_segment(text: &str) -> String {
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

impl Picker {
    /// The picker of the page at `action` showing `window` over `options`' scope.
    /// `extent` is where the scope's data lies; `empty` whether the window counted
    /// nothing.
    fn new(
        action: &str,
        window: &Window,
        options: &DoraOptions,
        extent: Option<&DataRange>,
        empty: bool,
        now: Timestamp,
    ) -> Picker {
        let env = options.environments.join(",");
        let env_query = if env == flowmap_core::dora::DEFAULT_ENVIRONMENT {
            String::new()
        } else {
            format!("&env={}", query_value(&env))
        };
        let href = |since: &str, until: &str| {
            let mut query = format!("?since={since}");
            if !until.is_empty() {
                query.push_str(&format!("&until={until}"));
            }
            format!("{action}{query}{env_query}")
        };
        let today = flowmap_app::scope::day(now);
        let mut presets: Vec<Link> = [(30, "30 days"), (90, "90 days"), (365, "1 year")]
            .into_iter()
            .map(|(days, label)| {
                let since = today
                    .checked_sub(jiff::Span::new().days(days))
                    .unwrap_or(today);
                let is_default = days == Window::default_days();
                Link {
                    label: format!("Last {label}"),
                    href: if is_default {
                        format!("{action}{}", env_query.replacen('&', "?", 1))
                    } else {
                        href(&since.to_string(), "")
                    },
                    active: is_default && window.is_default,
                }
            })
            .collect();
        if let Some(range) = extent {
            let all = range.window();
            presets.push(Link {
                label: "All data".into(),
                href: href(&range.since.to_string(), &range.until.to_string()),
                active: window.since == all.since && window.until == all.until,
            });
        }
        let bound = |at: Timestamp| flowmap_app::scope::day(at).to_string();
        Picker {
            action: action.to_owned(),
            stated: format!("{} · {}", window.describe(), options.environments.join(", ")),
            since: if window.is_default { String::new() } else { bound(window.since) },
            until: if window.is_default { String::new() } else { bound(window.until) },
            env,
            presets,
            data: extent.map_or_else(String::new, |range| {
                format!(
                    "Data from {} to {}",
                    date_text(range.first),
                    date_text(range.last)
                )
            }),
            hint: extent.filter(|_| empty).map(|range| Link {
                label: format!(
                    "Nothing was deployed or shipped in this window. This scope's data runs                      from {} to {}.",
                    date_text(range.first),
                    date_text(range.last)
                ),
                href: href(&range.since.to_string(), &range.until.to_string()),
                active: false,
            }),
        }
    }
}

fn time_text(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M").to_string()
}

fn date_text(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d").to_string()
}

fn level_name(level: Option<flowmap_core::dora::Level>) -> String {
    level.map(|l| l.as_str().to_owned()).unwrap_or_default()
}

/// The pages' marker for a metric with no data.
const MISSING: &str = "—";

/// A measured duration, the way every card, table and chart writes it: `45m`,
/// `5h 8m`, `3d 5h`, `6w`.
fn hours_text(hours: Option<f64>) -> String {
    format::or_missing(hours, MISSING, format::duration)
}

fn percent_text(fraction: Option<f64>) -> String {
    format::or_missing(fraction, MISSING, format::percent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_segments_keep_slashes_out() {
        assert_eq!(url_segment("acme/shop v2"), "acme%2Fshop%20v2");
    }
}
