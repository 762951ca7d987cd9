//! Webhook receivers: `/hooks/github`, `/hooks/gitlab`, `/hooks/cdevents`.
//!
//! Every request goes through the same steps:
//!
//! 1. **Authenticate** before reading anything: GitHub's `X-Hub-Signature-256` HMAC of the
//!    raw body, GitLab's `X-Gitlab-Token`, a CDEvents bearer token — all compared in
//!    constant time. Failure: 401, nothing stored.
//! 2. **Size**: bodies over [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES) get 413 (axum's body
//!    limit, before the body is buffered whole).
//! 3. **Parse** with `flowmap-ingest`. A payload that cannot be read gets 400 with the
//!    reason and is kept as a rejected delivery (`/api/v1/deliveries?rejected=true`).
//! 4. **Apply once**: the delivery id (`X-GitHub-Delivery`, `X-Gitlab-Event-UUID`, the
//!    CDEvent's `context.id`, else a digest of the body) is claimed in the same
//!    transaction that writes the records, so a redelivery answers 200 `duplicate` and
//!    writes nothing. Records are written in merge mode, so a repeated event with a new
//!    delivery id leaves them as they were.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use flowmap_core::events::DeploymentStatus;
use flowmap_ingest::cdevents;
use flowmap_ingest::import::Record;
use flowmap_ingest::webhooks::{self, Effect, PRODUCTION, PullRequest};
use flowmap_store::{Batch, Delivery, DeliveryWriter, RawRecord, RecordKind, WriteMode};
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::ApiError;

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

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`.
/// The comparison takes the same time wherever the first wrong byte is.
pub(crate) fn github_signature_valid(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(hex_digest) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected).is_ok()
}

/// Constant-time equality of a presented token with the configured one.
fn token_matches(configured: &str, presented: &str) -> bool {
    configured.as_bytes().ct_eq(presented.as_bytes()).into()
}

fn body_digest(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// What the receiver answers for an accepted or duplicate delivery.
fn accepted(status: &str, note: &str) -> Response {
    (
        StatusCode::OK,
        Json(json!({ "status": status, "note": note })),
    )
        .into_response()
}

pub async fn github(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(secret) = state.config().github_secret.as_deref() else {
        return Err(unauthorized(
            "the GitHub webhook is off: set FLOWMAP_GITHUB_SECRET on the server",
        ));
    };
    let Some(signature) = header(&headers, "x-hub-signature-256") else {
        return Err(unauthorized("X-Hub-Signature-256 is missing"));
    };
    if !github_signature_valid(secret.as_bytes(), &body, signature) {
        return Err(unauthorized("X-Hub-Signature-256 does not match the body"));
    }
    let event = header(&headers, "x-github-event").unwrap_or("");
    let delivery_id = header(&headers, "x-github-delivery")
        .map(str::to_owned)
        .unwrap_or_else(|| body_digest(&body));
    let text = String::from_utf8_lossy(&body);
    let delivery = Delivery {
        source: "github",
        delivery_id: &delivery_id,
        event,
        received_at: Timestamp::now(),
        body: &text,
    };
    let parsed = if event.is_empty() {
        Err("X-GitHub-Event: missing".to_owned())
    } else {
        webhooks::github::parse(event, &body, &state.config().webhooks).map_err(|e| e.to_string())
    };
    apply(&state, &delivery, parsed).await
}

pub async fn gitlab(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
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
    let event = header(&headers, "x-gitlab-event").unwrap_or("");
    let delivery_id = header(&headers, "x-gitlab-event-uuid")
        .or_else(|| header(&headers, "idempotency-key"))
        .map(str::to_owned)
        .unwrap_or_else(|| body_digest(&body));
    let text = String::from_utf8_lossy(&body);
    let delivery = Delivery {
        source: "gitlab",
        delivery_id: &delivery_id,
        event,
        received_at: Timestamp::now(),
        body: &text,
    };
    let parsed =
        webhooks::gitlab::parse(&body, &state.config().webhooks).map_err(|e| e.to_string());
    apply(&state, &delivery, parsed).await
}

pub async fn cdevents(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(configured) = state.config().cdevents_token.as_deref() else {
        return Err(unauthorized(
            "the CDEvents webhook is off: set FLOWMAP_CDEVENTS_TOKEN on the server",
        ));
    };
    let presented = header(&headers, "authorization").and_then(|v| v.strip_prefix("Bearer "));
    match presented {
        Some(token) if token_matches(configured, token.trim()) => {}
        Some(_) => return Err(unauthorized("the bearer token is wrong")),
        None => return Err(unauthorized("Authorization: Bearer <token> is missing")),
    }
    let text = String::from_utf8_lossy(&body);
    let value: Result<serde_json::Value, String> =
        serde_json::from_slice(&body).map_err(|e| format!("body: not JSON: {e}"));
    let event_type = value
        .as_ref()
        .ok()
        .and_then(|v| v.pointer("/context/type"))
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_owned();
    let delivery_id = value
        .as_ref()
        .ok()
        .and_then(|v| v.pointer("/context/id"))
        .and_then(|v| v.as_str())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| body_digest(&body));
    let delivery = Delivery {
        source: "cdevents",
        delivery_id: &delivery_id,
        event: &event_type,
        received_at: Timestamp::now(),
        body: &text,
    };
    let record = value.and_then(|v| {
        cdevents::to_record(&v).map_err(|problems| {
            problems
                .iter()
                .map(|(field, problem)| format!("{field}: {problem}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    });
    let Some(mut tx) = begin_or_reject(&state, &delivery, record.as_ref().err()).await? else {
        return Ok(accepted("duplicate", "delivery already received"));
    };
    let record = record.expect("rejected deliveries returned above");
    let kind = match &record {
        Record::Deployment(_) => RecordKind::Deployment,
        Record::Change(_) => RecordKind::Change,
        Record::Incident(_) => RecordKind::Incident,
        Record::Build(_) => RecordKind::Build,
        Record::Milestone(_) => RecordKind::Milestone,
    };
    let mut batch = Batch {
        mode: WriteMode::Merge,
        raw: vec![RawRecord {
            kind,
            record_id: record.id().to_owned(),
            received_at: delivery.received_at,
            body: text.clone().into_owned(),
        }],
        ..Batch::default()
    };
    let note = format!("{} {}", kind.as_str(), record.id());
    match record {
        Record::Deployment(d) => batch.deployments.push(d),
        Record::Change(c) => batch.changes.push(c),
        Record::Incident(i) => batch.incidents.push(i),
        Record::Build(b) => batch.builds.push(b),
        Record::Milestone(m) => batch.milestones.push(m),
    }
    tx.write(&batch).await?;
    tx.commit(&note).await?;
    Ok(accepted("accepted", &note))
}

/// Claims the delivery, or keeps it as rejected (400) when `problem` is set.
/// `Ok(None)`: already received.
async fn begin_or_reject(
    state: &AppState,
    delivery: &Delivery<'_>,
    problem: Option<&String>,
) -> Result<Option<DeliveryWriter>, ApiError> {
    if let Some(problem) = problem {
        state.store().reject_delivery(delivery, problem).await?;
        return Err(ApiError::bad_request(problem.clone()));
    }
    Ok(state.store().begin_delivery(delivery).await?)
}

/// Applies a GitHub or GitLab effect in the delivery's transaction.
async fn apply(
    state: &AppState,
    delivery: &Delivery<'_>,
    parsed: Result<Effect, String>,
) -> Result<Response, ApiError> {
    let Some(mut tx) = begin_or_reject(state, delivery, parsed.as_ref().err()).await? else {
        return Ok(accepted("duplicate", "delivery already received"));
    };
    let effect = parsed.expect("rejected deliveries returned above");
    let mut batch = Batch {
        mode: WriteMode::Merge,
        ..Batch::default()
    };
    let (status, note) = match effect {
        Effect::Ignored(why) => ("ignored", why),
        Effect::Build(build) => {
            let note = format!("build {} of {}", build.id, build.service);
            batch.builds.push(build);
            ("accepted", note)
        }
        Effect::Push(push) => {
            let ids: Vec<String> = push.commits.iter().map(|c| c.id.clone()).collect();
            tx.record_push(&push.service, &push.head, &ids).await?;
            let note = format!("push of {} commits to {}", ids.len(), push.service);
            batch.changes = push.commits;
            ("accepted", note)
        }
        Effect::PullRequest(request) => {
            let key = format!(
                "{}:pull_request:{}#{}",
                delivery.source, request.service, request.number
            );
            let known: Option<PullRequest> = match tx.get_meta(&key).await? {
                Some(json) => serde_json::from_str(&json).ok(),
                None => None,
            };
            let merged = match known {
                Some(known) => known.merge(request),
                None => request,
            };
            tx.set_meta(
                &key,
                &serde_json::to_string(&merged).expect("a pull request serializes"),
            )
            .await?;
            let note = match merged.change() {
                Some(change) => {
                    let note = format!(
                        "request #{} of {}: change {}",
                        merged.number, merged.service, change.id
                    );
                    batch.changes.push(change);
                    note
                }
                None => format!(
                    "request #{} of {}: not merged yet",
                    merged.number, merged.service
                ),
            };
            ("accepted", note)
        }
        Effect::Deployment(mut deployment) => {
            if deployment.status == DeploymentStatus::Success
                && deployment.environment == PRODUCTION
                && let Some(commit) = deployment.commit.clone()
            {
                deployment.changes = tx
                    .ship(&deployment.service, &deployment.id, &commit)
                    .await?;
            }
            let note = format!(
                "deployment {} of {} ({}, {} changes)",
                deployment.id,
                deployment.service,
                deployment.environment,
                deployment.changes.len()
            );
            batch.deployments.push(deployment);
            ("accepted", note)
        }
    };
    tx.write(&batch).await?;
    tx.commit(&format!("{status}: {note}")).await?;
    Ok(accepted(status, &note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_githubs_documented_example() {
        // GitHub's documentation: secret "It's a Secret to Everybody", payload
        // "Hello, World!".
        let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(github_signature_valid(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            signature
        ));
        assert!(!github_signature_valid(
            b"It's a Secret to Everybody",
            b"Hello, World?",
            signature
        ));
        assert!(!github_signature_valid(b"x", b"Hello, World!", "sha1=abc"));
        assert!(!github_signature_valid(b"x", b"Hello, World!", "sha256=zz"));
    }

    #[test]
    fn tokens_must_match_exactly() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cret", "s3cre"));
        assert!(!token_matches("s3cret", "s3cret "));
    }
}
