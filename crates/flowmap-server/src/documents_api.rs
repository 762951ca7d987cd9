//! What the maps' and the outcomes' JSON APIs share: both are versioned documents, saved
//! from the same body and shown with the same fields.

use axum::http::StatusCode;
use flowmap_app::documents::{SaveDocument, format_named};
use flowmap_store::{DocumentKind, Expected, StoredDocument};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;

/// A map or an outcome to save: its file text and format (`yaml` by default), and the
/// version the text was based on (`base_version`; without it, the save is made whatever
/// the latest version is).
#[derive(Debug, Deserialize)]
pub struct DocumentBody {
    id: Option<String>,
    format: Option<String>,
    text: String,
    base_version: Option<u32>,
}

impl DocumentBody {
    /// The id a `POST` creates: the body's, which it must name.
    pub fn new_id(&self) -> Result<&str, ApiError> {
        self.id
            .as_deref()
            .ok_or_else(|| ApiError::bad_request("id: missing"))
    }

    /// What a `PUT` to document `path_id` expects of its history; the body's id, when it
    /// names one, must be the path's.
    pub fn expected_by_update(&self, path_id: &str) -> Result<Expected, ApiError> {
        if self.id.as_deref().is_some_and(|body_id| body_id != path_id) {
            return Err(ApiError::bad_request("id: differs from the id in the path"));
        }
        Ok(self.base_version.map_or(Expected::Any, Expected::Version))
    }

    /// The save this body asks for, as document `id`.
    pub fn save<'a>(
        &'a self,
        id: &'a str,
        expected: Expected,
    ) -> Result<SaveDocument<'a>, ApiError> {
        Ok(SaveDocument {
            id,
            format: format_named(self.format.as_deref())?,
            text: &self.text,
            expected,
        })
    }
}

/// A `POST` refused because document `id` exists says how to save a new version instead.
pub fn exists_on_create(err: ApiError, kind: DocumentKind, id: &str) -> ApiError {
    if err.status == StatusCode::CONFLICT {
        let noun = kind.noun();
        ApiError::new(
            StatusCode::CONFLICT,
            format!("{noun} {id:?} exists; PUT /api/v1/{noun}s/{id} saves a new version"),
        )
    } else {
        err
    }
}

/// The fields every stored version shows: id, version, when it was saved and its format,
/// and its text when `with_text`.
pub fn document_json(stored: &StoredDocument, with_text: bool) -> Value {
    let mut value = json!({
        "id": stored.id,
        "version": stored.version,
        "saved_at": stored.saved_at,
        "format": stored.format.as_str(),
    });
    if with_text {
        value["text"] = json!(stored.text);
    }
    value
}

/// `{"items": [...]}` of every version of document `id`, newest first, each shown by
/// `show`; 404 when there is no such document.
pub fn versions_json(
    kind: DocumentKind,
    id: &str,
    versions: &[StoredDocument],
    show: impl Fn(&StoredDocument) -> Value,
) -> Result<Value, ApiError> {
    if versions.is_empty() {
        return Err(ApiError::not_found(format!("no {} {id:?}", kind.noun())));
    }
    let items: Vec<Value> = versions.iter().map(show).collect();
    Ok(json!({ "items": items }))
}
