//! The JSON API under `/api/v1/` (described in `openapi.json` beside this file).
//!
//! Handlers only translate: query parameters to store queries and core options, results
//! to JSON. `/api/v1/dora` returns exactly what `flowmap dora --format json` prints, and
//! `/api/v1/maps/{id}/analysis` exactly what `flowmap map analyze --format json` prints, and
//! `/api/v1/maps/{id}/measure` exactly what `flowmap map measure --format json` prints.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use flowmap_app::{Actor, analysis};
use flowmap_core::dora::DoraReport;
use flowmap_core::map::{self, AnalysisOptions};
use flowmap_store::{
    Cursor, DocumentKind, Expected, ListPage, ListQuery, ListStart, StoredMap, TimeRange,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::documents_api::{DocumentBody, document_json, exists_on_create, versions_json};
use crate::error::ApiError;
use crate::pages::url_segment;
use crate::query::{PageParams, Paging, Query, VersionParams, WindowParams, optional_time};

/// The OpenAPI 3.1 description of this API, the webhooks and `/metrics`.
pub const OPENAPI: &str = include_str!("openapi.json");

pub async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

pub async fn services(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let services = state.app().reports().services().await?;
    Ok(Json(json!({ "services": services.as_slice() })))
}

pub async fn dora(
    State(state): State<AppState>,
    Query(params): Query<WindowParams>,
) -> Result<Json<DoraReport>, ApiError> {
    let now = Timestamp::now();
    let window = params.window(now)?;
    let options = params.options(now)?;
    state.app().check_services(&options).await?;
    state
        .app()
        .check_environments(&params.named_environments())
        .await?;
    Ok(Json(
        state
            .app()
            .reports()
            .dora_in(&options, &window, now)
            .await?,
    ))
}

/// `?service=&since=&until=` for the record lists: each kind filtered on its own time.
/// A bound is a date (midnight UTC) or an RFC 3339 time, as for the DORA window.
#[derive(Debug, Default, Deserialize)]
pub struct RecordParams {
    service: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// [`RecordParams`] with its bounds read.
struct RecordFilter {
    service: Option<String>,
    range: TimeRange,
}

impl RecordParams {
    fn filter(&self) -> Result<RecordFilter, ApiError> {
        Ok(RecordFilter {
            service: self.service.clone().filter(|service| !service.is_empty()),
            range: TimeRange {
                from: optional_time("since", self.since.as_deref())?,
                to: optional_time("until", self.until.as_deref())?,
            },
        })
    }
}

impl RecordFilter {
    /// The filter as query parameters for a `next` URL, each followed by `&`.
    fn url_params(&self) -> String {
        let mut out = String::new();
        if let Some(service) = &self.service {
            out += &format!("service={}&", url_segment(service));
        }
        for (name, bound) in [("since", self.range.from), ("until", self.range.to)] {
            if let Some(bound) = bound {
                out += &format!("{name}={}&", url_segment(&bound.to_string()));
            }
        }
        out
    }
}

/// One page of a list, newest first, and the URL of the next page (`null` on the last).
/// Numbered pages (`?page=&per_page=`) also say which page this is and the list's total.
#[derive(Serialize)]
pub struct PageOf<T> {
    items: Vec<T>,
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_page: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<u64>,
}

/// The records a list shows.
#[derive(Clone, Copy)]
enum Listed {
    Deployments,
    Changes,
    Incidents,
}

impl Listed {
    fn table(self) -> &'static str {
        match self {
            Listed::Deployments => "deployments",
            Listed::Changes => "changes",
            Listed::Incidents => "incidents",
        }
    }
}

/// A page of `listed`, paged in SQL: by cursor in constant time at any depth, or by
/// number (with the total, counted once per data version and kept beside the reports),
/// starting at the cursor its `next` link carried, or else by skipping records from the
/// nearest place known ([`flowmap_app::reports::Reports::page_start`]).
async fn list(
    state: &AppState,
    listed: Listed,
    filter: &RecordParams,
    paging: &PageParams,
) -> Result<Response, ApiError> {
    let filter = filter.filter()?;
    let paging = paging.paging()?;
    let reports = state.app().reports();
    // A page by number alone starts from the nearest record whose place earlier pages made
    // known, and makes the place of its own last record known.
    let mut numbered_start = None;
    let (limit, start) = match &paging {
        Paging::Cursor { limit, cursor } => (
            *limit,
            cursor.clone().map_or(ListStart::First, ListStart::After),
        ),
        Paging::Numbered {
            per_page,
            after: Some(cursor),
            ..
        } => (*per_page, ListStart::After(cursor.clone())),
        Paging::Numbered {
            page,
            per_page,
            after: None,
        } => {
            let skip = u64::from(*page - 1) * u64::from(*per_page);
            let start = reports
                .page_start(
                    listed.table(),
                    filter.service.as_deref(),
                    filter.range,
                    skip,
                )
                .await?;
            let list_start = start.start.clone();
            numbered_start = Some(start);
            (*per_page, list_start)
        }
    };
    let query = ListQuery {
        service: filter.service.clone(),
        range: filter.range,
        limit,
        start,
    };
    let store = state.store();
    let page = async {
        let (items, next) = match listed {
            Listed::Deployments => values(store.list_deployments(&query).await?),
            Listed::Changes => values(store.list_changes(&query).await?),
            Listed::Incidents => values(store.list_incidents(&query).await?),
        }?;
        if let Some(start) = &numbered_start {
            start.read(items.len(), next.as_ref());
        }
        Ok::<_, ApiError>((items, next))
    };
    // A numbered page's `total` is counted while the page is read: on its own connection,
    // so the count (tens of milliseconds over a million records, once per write) is not
    // added to the page's time.
    let total = async {
        match paging {
            Paging::Cursor { .. } => Ok(None),
            Paging::Numbered { .. } => {
                let (table, service, range) =
                    (listed.table(), filter.service.as_deref(), filter.range);
                let counted = match &numbered_start {
                    // The data version was read once, as the page's start was chosen.
                    Some(start) => {
                        reports
                            .count_at(start.version(), table, service, range)
                            .await
                    }
                    None => reports.count(table, service, range).await,
                };
                counted.map(Some).map_err(ApiError::from)
            }
        }
    };
    let ((items, next), total) = tokio::try_join!(page, total)?;
    let base = format!("/api/v1/{}?{}", listed.table(), filter.url_params());
    let body = match paging {
        Paging::Cursor { limit, .. } => PageOf {
            items,
            next: next.map(|cursor| format!("{base}limit={limit}&cursor={}", cursor.encode())),
            page: None,
            per_page: None,
            total: None,
        },
        Paging::Numbered { page, per_page, .. } => PageOf {
            items,
            next: next.map(|cursor| {
                format!(
                    "{base}page={}&per_page={per_page}&cursor={}",
                    page + 1,
                    cursor.encode()
                )
            }),
            page: Some(page),
            per_page: Some(per_page),
            total,
        },
    };
    Ok(Json(body).into_response())
}

/// A page's records as JSON values, and its cursor.
fn values<T: Serialize>(page: ListPage<T>) -> Result<(Vec<Value>, Option<Cursor>), ApiError> {
    let items = page
        .items
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<Value>, _>>()
        .map_err(|err| ApiError::internal(&err))?;
    Ok((items, page.next))
}

pub async fn deployments(
    State(state): State<AppState>,
    Query(filter): Query<RecordParams>,
    Query(paging): Query<PageParams>,
) -> Result<Response, ApiError> {
    list(&state, Listed::Deployments, &filter, &paging).await
}

pub async fn changes(
    State(state): State<AppState>,
    Query(filter): Query<RecordParams>,
    Query(paging): Query<PageParams>,
) -> Result<Response, ApiError> {
    list(&state, Listed::Changes, &filter, &paging).await
}

pub async fn incidents(
    State(state): State<AppState>,
    Query(filter): Query<RecordParams>,
    Query(paging): Query<PageParams>,
) -> Result<Response, ApiError> {
    list(&state, Listed::Incidents, &filter, &paging).await
}

#[derive(Debug, Deserialize)]
pub struct DeliveryParams {
    #[serde(default)]
    rejected: bool,
}

/// The 100 most recent webhook deliveries (`?rejected=true`: only rejected ones), with
/// their bodies, for inspecting what senders really sent.
pub async fn deliveries(
    State(state): State<AppState>,
    Query(params): Query<DeliveryParams>,
) -> Result<Json<Value>, ApiError> {
    let items: Vec<Value> = state
        .store()
        .deliveries(params.rejected, 100)
        .await?
        .into_iter()
        .map(|d| {
            json!({
                "source": d.source,
                "delivery_id": d.delivery_id,
                "event": d.event,
                "received_at": d.received_at,
                "status": d.status,
                "note": d.note,
                "body": d.body,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// A stored map as the API shows it.
fn map_json(stored: &StoredMap, with_text: bool) -> Value {
    let mut value = document_json(stored, with_text);
    value["name"] = json!(map_name(stored));
    value
}

/// The map's `name`, or `null` when the stored text no longer parses.
fn map_name(stored: &StoredMap) -> Option<String> {
    map::parse_map(&stored.text, stored.format)
        .ok()
        .map(|parsed| parsed.map.name)
}

pub async fn maps(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let maps = state.store().maps().await?;
    let items: Vec<Value> = maps.iter().map(|m| map_json(m, false)).collect();
    Ok(Json(json!({ "items": items })))
}

pub async fn create_map(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Json(body): Json<DocumentBody>,
) -> Result<Response, ApiError> {
    let id = body.new_id()?;
    let stored = state
        .app()
        .save_map(&actor, body.save(id, Expected::New)?)
        .await
        .map_err(|err| exists_on_create(err.into(), DocumentKind::Map, id))?;
    Ok((StatusCode::CREATED, Json(map_json(&stored, true))).into_response())
}

pub async fn update_map(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Json(body): Json<DocumentBody>,
) -> Result<Json<Value>, ApiError> {
    let expected = body.expected_by_update(&id)?;
    let stored = state
        .app()
        .save_map(&actor, body.save(&id, expected)?)
        .await?;
    Ok(Json(map_json(&stored, true)))
}

pub async fn map(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<VersionParams>,
) -> Result<Json<Value>, ApiError> {
    let stored = state.app().map(&id, params.version).await?;
    Ok(Json(map_json(&stored, true)))
}

pub async fn map_versions(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let versions = state.store().map_versions(&id).await?;
    let items = versions_json(DocumentKind::Map, &id, &versions, |m| map_json(m, false))?;
    Ok(Json(items))
}

pub async fn delete_map(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app().delete_map(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn map_analysis(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<VersionParams>,
) -> Result<Json<map::Analysis>, ApiError> {
    let stored = state.app().map(&id, params.version).await?;
    let analysed = analysis::analyse(stored, AnalysisOptions::default())
        .await
        .map_err(|err| match err {
            flowmap_app::AppError::InvalidMap { diagnostics, .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "stored map {id:?} no longer parses: {}",
                    diagnostics.first().map_or("", |d| d.message.as_str())
                ),
            ),
            other => other.into(),
        })?;
    Ok(Json(analysed.analysis))
}

/// `GET /api/v1/maps/{id}/measure?service=&env=&since=&until=`: the stored map held
/// against the data, as `flowmap map measure --format json` prints it.
pub async fn map_measure(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<WindowParams>,
) -> Result<Json<flowmap_core::measure::MeasureReport>, ApiError> {
    let request = params.measure_request(Timestamp::now())?;
    let stored = state.app().map(&id, None).await?;
    let parsed = map::parse_map(&stored.text, stored.format).map_err(|diagnostics| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "stored map {id:?} no longer parses: {}",
                diagnostics.first().map_or("", |d| d.message.as_str())
            ),
        )
    })?;
    Ok(Json(
        state.app().reports().measure(parsed.map, request).await?,
    ))
}
