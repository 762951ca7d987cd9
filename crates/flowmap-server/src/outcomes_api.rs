//! The outcomes part of the JSON API: outcomes saved as versioned text like maps, and
//! `GET /api/v1/outcomes/{id}/status`, exactly what `flowmap outcome status --format json`
//! prints for the stored outcome.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use flowmap_app::Actor;
use flowmap_app::maps::format_named;
use flowmap_app::outcomes::SaveOutcome;
use flowmap_core::dora::parse_window_bound;
use flowmap_core::outcome::OutcomeStatus;
use flowmap_store::{Expected, StoredOutcome};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::query::{Query, VersionParams};

/// A stored outcome as the API shows it.
fn outcome_json(stored: &StoredOutcome, with_text: bool) -> Value {
    let mut value = json!({
        "id": stored.id,
        "version": stored.version,
        "saved_at": stored.saved_at,
        "saved_by": stored.saved_by,
        "format": stored.format.as_str(),
    });
    if with_text {
        value["text"] = json!(stored.text);
    }
    value
}

/// Every outcome (latest version) with its statement, metric and status now.
pub async fn outcomes(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let now = Timestamp::now();
    let mut items = Vec::new();
    for stored in state.store().outcomes().await? {
        let mut item = outcome_json(&stored, false);
        match state.app().stored_outcome_report(&stored.id, now).await {
            Ok((_, outcome, report)) => {
                item["outcome"] = json!(outcome.outcome);
                item["metric"] = json!(outcome.metric.name());
                item["status"] = json!(report.status.status);
                item["current_value"] = json!(report.status.current_value);
            }
            // A stored outcome whose maps changed under it still lists, without numbers.
            Err(flowmap_app::AppError::InvalidOutcome { .. }) => {
                item["outcome"] = Value::Null;
                item["metric"] = Value::Null;
                item["status"] = Value::Null;
            }
            Err(err) => return Err(err.into()),
        }
        items.push(item);
    }
    Ok(Json(json!({ "outcomes": items })))
}

/// An outcome to save: its file text and format (`yaml` by default), and the version the
/// text was based on (`base_version`).
#[derive(Debug, Deserialize)]
pub struct OutcomeBody {
    id: Option<String>,
    format: Option<String>,
    text: String,
    base_version: Option<u32>,
}

async fn save(
    state: &AppState,
    actor: &Actor,
    id: &str,
    body: &OutcomeBody,
    expected: Expected,
) -> Result<StoredOutcome, ApiError> {
    let save = SaveOutcome {
        id,
        format: format_named(body.format.as_deref())?,
        text: &body.text,
        expected,
    };
    Ok(state.app().save_outcome(actor, save).await?)
}

pub async fn create_outcome(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Json(body): Json<OutcomeBody>,
) -> Result<Response, ApiError> {
    let id = body
        .id
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("id: missing"))?;
    let stored = save(&state, &actor, id, &body, Expected::New)
        .await
        .map_err(|err| {
            if err.status == StatusCode::CONFLICT {
                ApiError::new(
                    StatusCode::CONFLICT,
                    format!("outcome {id:?} exists; PUT /api/v1/outcomes/{id} saves a new version"),
                )
            } else {
                err
            }
        })?;
    Ok((StatusCode::CREATED, Json(outcome_json(&stored, true))).into_response())
}

pub async fn update_outcome(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Json(body): Json<OutcomeBody>,
) -> Result<Json<Value>, ApiError> {
    if body.id.as_deref().is_some_and(|body_id| body_id != id) {
        return Err(ApiError::bad_request("id: differs from the id in the path"));
    }
    let expected = body.base_version.map_or(Expected::Any, Expected::Version);
    let stored = save(&state, &actor, &id, &body, expected).await?;
    Ok(Json(outcome_json(&stored, true)))
}

pub async fn outcome(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<VersionParams>,
) -> Result<Json<Value>, ApiError> {
    let stored = state.app().outcome(&id, params.version).await?;
    Ok(Json(outcome_json(&stored, true)))
}

pub async fn outcome_versions(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let versions = state.store().outcome_versions(&id).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found(format!("no outcome {id:?}")));
    }
    let items: Vec<Value> = versions.iter().map(|o| outcome_json(o, false)).collect();
    Ok(Json(json!({ "items": items })))
}

pub async fn delete_outcome(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app().delete_outcome(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct AtParams {
    /// A date or an RFC 3339 time; default now.
    at: Option<String>,
}

pub async fn outcome_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<AtParams>,
) -> Result<Json<OutcomeStatus>, ApiError> {
    let at = match params.at.as_deref() {
        Some(text) => {
            parse_window_bound(text).map_err(|e| ApiError::bad_request(format!("at: {e}")))?
        }
        None => Timestamp::now(),
    };
    let (_, _, report) = state.app().stored_outcome_report(&id, at).await?;
    Ok(Json(report.status))
}
