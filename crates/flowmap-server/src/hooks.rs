//! Webhook receivers: `/hooks/github`, `/hooks/gitlab`, `/hooks/cdevents`.
//!
//! Every request goes through the same steps:
//!
//! 1. **Authenticate** from the headers, before the body is read: the webhook must be
//!    configured, and GitLab's `X-Gitlab-Token` or the CDEvents bearer token must match
//!    (compared in constant time). GitHub signs the body itself, so its handler checks
//!    here only that a signature is present; the HMAC of the raw body is verified right
//!    after the body is read, before anything is parsed or stored. Failure: 401, nothing
//!    stored.
//! 2. **Size**: bodies over [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES) get 413 while they
//!    are read, before they are buffered whole.
//! 3. **Apply** with `flowmap-app` (parse, claim the delivery id, write, exactly once). A
//!    payload that cannot be read gets 400 with the reason and is kept as a rejected
//!    delivery (`/api/v1/deliveries?rejected=true`); a redelivery answers 200 `duplicate`.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use flowmap_app::Actor;
use flowmap_app::webhooks::{Incoming, Receipt, token_matches};

use crate::error::ApiError;
use crate::{AppState, MAX_BODY_BYTES};

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, message)
}

/// Reads the body of an authenticated request; 413 when it is larger than allowed.
async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            )
        })
}

/// What the receiver answers for an accepted, ignored or duplicate delivery.
fn answer(receipt: Receipt) -> Response {
    (
        StatusCode::OK,
        Json(serde_json::json!({ "status": receipt.status, "note": receipt.note })),
    )
        .into_response()
}

pub async fn github(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Some(secret) = state.config().github_secret.as_deref() else {
        return Err(unauthorized(
            "the GitHub webhook is off: set FLOWMAP_GITHUB_SECRET on the server",
        ));
    };
    let Some(signature) = header(&headers, "x-hub-signature-256") else {
        return Err(unauthorized("X-Hub-Signature-256 is missing"));
    };
    let body = read_body(body).await?;
    let incoming = Incoming {
        event: header(&headers, "x-github-event").unwrap_or(""),
        delivery_id: header(&headers, "x-github-delivery"),
        body: &body,
    };
    let receipt = state
        .app()
        .receive_github(
            &Actor::webhook("github"),
            secret,
            signature,
            incoming,
            &state.config().webhooks,
        )
        .await?;
    Ok(answer(receipt))
}

pub async fn gitlab(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Some(configured) = state.config().gitlab_token.as_deref() else {
        return Err(unauthorized(
            "the GitLab webhook is off: set FLOWMAP_GITLAB_TOKEN on the server",
        ));
    };
    match header(&headers, "x-gitlab-token") {
        Some(token) if token_matches(configured, token) => {}
        Some(_) => return Err(unauthorized("X-Gitlab-Token is wrong")),
        None => return Err(unauthorized("X-Gitlab-Token is missing")),
    }
    let body = read_body(body).await?;
    let incoming = Incoming {
        event: header(&headers, "x-gitlab-event").unwrap_or(""),
        delivery_id: header(&headers, "x-gitlab-event-uuid")
            .or_else(|| header(&headers, "idempotency-key")),
        body: &body,
    };
    let receipt = state
        .app()
        .receive_gitlab(
            &Actor::webhook("gitlab"),
            incoming,
            &state.config().webhooks,
        )
        .await?;
    Ok(answer(receipt))
}

pub async fn cdevents(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Some(configured) = state.config().cdevents_token.as_deref() else {
        return Err(unauthorized(
            "the CDEvents webhook is off: set FLOWMAP_CDEVENTS_TOKEN on the server",
        ));
    };
    let presented = crate::auth::bearer_token(&headers);
    match presented {
        Some(token) if token_matches(configured, token.trim()) => {}
        Some(_) => return Err(unauthorized("the bearer token is wrong")),
        None => return Err(unauthorized("Authorization: Bearer <token> is missing")),
    }
    let body = read_body(body).await?;
    let receipt = state
        .app()
        .receive_cdevents(&Actor::webhook("cdevents"), &body)
        .await?;
    Ok(answer(receipt))
}
