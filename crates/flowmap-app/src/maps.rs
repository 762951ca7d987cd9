//! Versioned value stream maps: saving (checked, version-checked, with its author),
//! finding and deleting them.
//!
//! A stored map always parses: text with errors is refused with every diagnostic. A save
//! states which version it was based on ([`Expected`]); when someone saved in between, the
//! save is an [`AppError::Conflict`] and nothing is written.

use flowmap_core::map::parse_map;
use flowmap_store::{DocumentKind, StoredMap};

use crate::documents::SaveDocument;
pub use crate::documents::{file_name, format_named};
use crate::{Actor, App, AppError, Role};

/// A map to save.
pub type SaveMap<'a> = SaveDocument<'a>;

impl App {
    /// Checks `save.text` as a map and saves it as the next version, recording `actor`
    /// as its author.
    pub async fn save_map(&self, actor: &Actor, save: SaveMap<'_>) -> Result<StoredMap, AppError> {
        actor.require(Role::Editor, "save maps")?;
        if let Err(diagnostics) = parse_map(save.text, save.format) {
            return Err(AppError::InvalidMap {
                file: file_name(save.id, save.format),
                diagnostics,
            });
        }
        self.store_document(actor, DocumentKind::Map, save).await
    }

    /// Version `version` of map `id` (the latest when `None`).
    pub async fn map(&self, id: &str, version: Option<u32>) -> Result<StoredMap, AppError> {
        self.document(DocumentKind::Map, id, version).await
    }

    /// Deletes map `id` with its history.
    pub async fn delete_map(&self, actor: &Actor, id: &str) -> Result<(), AppError> {
        self.delete_document(actor, DocumentKind::Map, id).await
    }
}

#[cfg(test)]
mod tests {
    use flowmap_store::testing::TestDb;
    use flowmap_store::{Expected, MapFormat};

    use super::*;

    const MAP: &str = "name: Checkout\nsteps:\n  - id: code\n    process: 1h\n";

    fn save(expected: Expected, text: &str) -> SaveMap<'_> {
        SaveMap {
            id: "checkout",
            format: MapFormat::Yaml,
            text,
            expected,
        }
    }

    #[tokio::test]
    async fn a_stale_save_is_a_conflict_and_writes_nothing() {
        let db = TestDb::sqlite();
        let app = App::new(flowmap_store::Store::open(&db.location()).await.unwrap());
        let ana = Actor::new("ana", Role::Editor);
        let first = app.save_map(&ana, save(Expected::New, MAP)).await.unwrap();
        assert_eq!((first.version, first.saved_by.as_deref()), (1, Some("ana")));

        // Two editors both start from version 1; the second to save is refused.
        let bo = Actor::new("bo", Role::Editor);
        app.save_map(&bo, save(Expected::Version(1), MAP))
            .await
            .unwrap();
        let err = app
            .save_map(&ana, save(Expected::Version(1), MAP))
            .await
            .unwrap_err();
        assert!(
            matches!(err, AppError::Conflict { latest: 2, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "map \"checkout\" was saved as version 2 since version 1 was read: \
             reload it and apply the edit again"
        );
        let err = app
            .save_map(&ana, save(Expected::New, MAP))
            .await
            .unwrap_err();
        assert!(
            matches!(err, AppError::Conflict { latest: 2, .. }),
            "{err:?}"
        );
        let latest = app.map("checkout", None).await.unwrap();
        assert_eq!(
            (latest.version, latest.saved_by.as_deref()),
            (2, Some("bo"))
        );
    }

    #[tokio::test]
    async fn invalid_maps_and_viewers_are_refused() {
        let db = TestDb::sqlite();
        let app = App::new(flowmap_store::Store::open(&db.location()).await.unwrap());
        let err = app
            .save_map(
                &Actor::anonymous(),
                save(Expected::Any, "name: x\nsteps: 3\n"),
            )
            .await
            .unwrap_err();
        let lines = err.diagnostic_lines();
        assert!(!lines.is_empty());
        assert!(
            lines.iter().all(|l| l.starts_with("checkout.yaml:")),
            "{lines:?}"
        );

        let viewer = Actor::new("vi", Role::Viewer);
        let err = app
            .save_map(&viewer, save(Expected::Any, MAP))
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::Forbidden { .. }), "{err:?}");
        assert!(matches!(
            app.map("checkout", None).await.unwrap_err(),
            AppError::NotFound(_)
        ));
    }
}
