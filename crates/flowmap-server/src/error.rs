//! How failures become HTTP responses.
//!
//! A failure the client can act on (a bad parameter, a missing map, an invalid map, a
//! stale save) is answered with its message. An internal one (the database failed) is
//! logged with the request's id and answered with a generic message naming that id, so
//! an operator can find the cause and a client never sees database text.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use flowmap_app::AppError;
use serde_json::json;

use crate::request_id;

/// An error a handler returns: a status and a message a person can act on, sent as
/// `{"error": "..."}` (with `"diagnostics"` for an invalid map).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Each problem of an invalid map as `FILE:LINE:COL: message`.
    pub diagnostics: Vec<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            diagnostics: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// A failure that is ours, not the client's: logged in full with the request id, and
    /// answered with only that id.
    pub fn internal(err: &dyn std::error::Error) -> ApiError {
        let id = request_id::current();
        tracing::error!(request_id = %id, error = %err, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error; the server log has the details under request id {id}"),
        )
    }
}

/// An upload form that could not be read: its own status (413 beyond the size limit, 400
/// for a malformed form) with axum's explanation.
impl From<axum::extract::multipart::MultipartError> for ApiError {
    fn from(err: axum::extract::multipart::MultipartError) -> ApiError {
        ApiError::new(err.status(), err.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = if self.diagnostics.is_empty() {
            json!({ "error": self.message })
        } else {
            json!({ "error": self.message, "diagnostics": self.diagnostics })
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> ApiError {
        let status = match &err {
            AppError::Forbidden { .. } | AppError::Denied(_) => StatusCode::FORBIDDEN,
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Invalid(_) | AppError::Rejected(_) | AppError::Dora(_) => {
                StatusCode::BAD_REQUEST
            }
            AppError::InvalidMap { .. } | AppError::InvalidOutcome { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            // An outside API (GitHub, GitLab, PagerDuty) failed or refused the token.
            AppError::Backfill(_) => StatusCode::BAD_GATEWAY,
            AppError::Git(_) | AppError::Store(_) | AppError::Background(_) => {
                return ApiError::internal(&err);
            }
        };
        let diagnostics = err.diagnostic_lines();
        let message = if diagnostics.is_empty() {
            err.to_string()
        } else {
            diagnostics.join("\n")
        };
        ApiError {
            status,
            message,
            diagnostics,
        }
    }
}

impl From<flowmap_store::StoreError> for ApiError {
    fn from(err: flowmap_store::StoreError) -> ApiError {
        AppError::from(err).into()
    }
}
