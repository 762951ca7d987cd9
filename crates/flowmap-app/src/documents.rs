//! What maps and outcomes share as versioned documents: the save a view asks for, the
//! file name their diagnostics are shown against, format names, and storing, finding and
//! deleting versions with their audit entries.
//!
//! `maps.rs` and `outcomes.rs` check a document's text, each against its own rules; the
//! rest is done here, once for both.

use flowmap_store::{DocumentKind, Expected, MapFormat, StoredDocument};

use crate::{Actor, App, AppError, Role};

/// A map or an outcome to save: the text as the user wrote it.
#[derive(Clone, Copy, Debug)]
pub struct SaveDocument<'a> {
    pub id: &'a str,
    pub format: MapFormat,
    pub text: &'a str,
    /// The latest version the text was based on ([`Expected::New`] to create the
    /// document, [`Expected::Any`] when the client does not say).
    pub expected: Expected,
}

/// The file name a stored document's diagnostics are shown against: `checkout.yaml`.
pub fn file_name(id: &str, format: MapFormat) -> String {
    format!("{id}.{}", format.as_str())
}

/// The document format named `name` (`yaml`, `yml`, `toml`, `json`); absent means YAML.
pub fn format_named(name: Option<&str>) -> Result<MapFormat, AppError> {
    match name {
        None => Ok(MapFormat::Yaml),
        Some(name) => MapFormat::from_name(name).ok_or_else(|| {
            AppError::Invalid(format!("format: expected yaml, toml or json, got {name:?}"))
        }),
    }
}

impl App {
    /// Saves `save` as the next version of a document whose text the caller has checked,
    /// recording `actor` as its author and the attempt, saved or refused, in the audit log.
    pub(crate) async fn store_document(
        &self,
        actor: &Actor,
        kind: DocumentKind,
        save: SaveDocument<'_>,
    ) -> Result<StoredDocument, AppError> {
        let saved = self
            .store
            .save_document(
                kind,
                save.id,
                save.format,
                save.text,
                save.expected,
                Some(&actor.name),
            )
            .await;
        let outcome = match &saved {
            Ok(stored) => format!("saved version {}", stored.version),
            Err(err) => format!("refused: {err}"),
        };
        self.audit(actor, &format!("save {}", kind.noun()), save.id, &outcome)
            .await?;
        Ok(saved?)
    }

    /// Version `version` of document `id` (the latest when `None`).
    pub(crate) async fn document(
        &self,
        kind: DocumentKind,
        id: &str,
        version: Option<u32>,
    ) -> Result<StoredDocument, AppError> {
        let noun = kind.noun();
        self.store
            .document(kind, id, version)
            .await?
            .ok_or_else(|| match version {
                Some(v) => AppError::NotFound(format!("{noun} {id:?} has no version {v}")),
                None => AppError::NotFound(format!("no {noun} {id:?}")),
            })
    }

    /// Deletes document `id` with its history.
    pub(crate) async fn delete_document(
        &self,
        actor: &Actor,
        kind: DocumentKind,
        id: &str,
    ) -> Result<(), AppError> {
        actor.require(
            Role::Editor,
            match kind {
                DocumentKind::Map => "delete maps",
                DocumentKind::Outcome => "delete outcomes",
            },
        )?;
        let noun = kind.noun();
        let deleted = self.store.delete_document(kind, id).await?;
        self.audit(
            actor,
            &format!("delete {noun}"),
            id,
            if deleted { "deleted" } else { "not found" },
        )
        .await?;
        if deleted {
            Ok(())
        } else {
            Err(AppError::NotFound(format!("no {noun} {id:?}")))
        }
    }
}
