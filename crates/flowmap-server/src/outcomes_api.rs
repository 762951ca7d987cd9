//! The outcomes part of the JSON API: outcomes saved as versioned text like maps, and
//! `GET /api/v1/outcomes/{id}/status`, exactly what `flowmap outcome status --format json`
//! prints for the stored outcome.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use flowmap_app::Actor;
use flowmap_core::dora::parse_window_bound;
use flowmap_core::outcome::OutcomeStatus;
use flowmap_store::{DocumentKind, Expected, StoredOutcome};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::documents_api::{DocumentBody, document_json, exists_on_create, versions_json};
use crate::error::ApiError;
use crate::query::{Query, VersionParams};

/// A stored outcome as the API shows it: a document with its author.
fn outcome_json(stored: &StoredOutcome, with_text: bool) -> Value {
    let mut value = document_json(stored, with_text);
    value["saved_by"] = json!(stored.saved_by);
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

pub async fn create_outcome(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Json(body): Json<DocumentBody>,
) -> Result<Response, ApiError> {
    let id = body.new_id()?;
    let stored = state
        .app()
        .save_outcome(&actor, body.save(id, Expected::New)?)
        .await
        .map_err(|err| exists_on_create(err.into(), DocumentKind::Outcome, id))?;
    Ok((StatusCode::CREATED, Json(outcome_json(&stored, true))).into_response())
}

pub async fn update_outcome(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Json(body): Json<DocumentBody>,
) -> Result<Json<Value>, ApiError> {
    let expected = body.expected_by_update(&id)?;
    let stored = state
        .app()
        .save_outcome(&actor, body.save(&id, expected)?)
        .await?;
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
    let items = versions_json(DocumentKind::Outcome, &id, &versions, |o| {
        outcome_json(o, false)
    })?;
    Ok(Json(items))
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
