//! Versioned value stream maps: saving (checked, version-checked, with its author),
//! finding and deleting them.
//!
//! A stored map always parses: text with errors is refused with every diagnostic. A save
//! states which version it was based on ([`Expected`]); when someone saved in between, the
//! save is an [`AppError::Conflict`] and nothing is written.

use flowmap_core::map::parse_map;
use flowmap_store::{Expected, MapFormat, StoredMap};

use crate::{Actor, App, AppError, Role};

/// A map to save: the text as the user wrote it.
#[derive(Clone, Copy, Debug)]
pub struct SaveMap<'a> {
    pub id: &'a str,
    pub format: MapFormat,
    pub text: &'a str,
    /// The latest version the text was based on ([`Expected::New`] to create the map,
    /// [`Expected::Any`] when the client does not say).
    pub expected: Expected,
}

/// The file name a stored map's diagnostics are shown against: `checkout.yaml`.
pub fn file_name(id: &str, format: MapFormat) -> String {
    format!("{id}.{}", format.as_str())
}

/// The map format named `name` (`yaml`, `yml`, `toml`, `json`); absent means YAML.
pub fn format_named(name: Option<&str>) -> Result<MapFormat, AppError> {
    match name {
        None => Ok(MapFormat::Yaml),
        Some(name) => MapFormat::from_name(name).ok_or_else(|| {
            AppError::Invalid(format!("format: expected yaml, toml or json, got {name:?}"))
        }),
    }
}

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
        let saved = self
            .store
            .save_map_version(
                save.id,
                save.format,
                save.text,
                save.expected,
                Some(&actor.name),
            )
            .await;
        let outcome = match &saved {
            Ok(map) => format!("saved version {}", map.version),
            Err(err) => format!("refused: {err}"),
        };
        self.audit(actor, "save map", save.id, &outcome).await?;
        Ok(saved?)
    }

    /// Version `version` of map `id` (the latest when `None`).
    pub async fn map(&self, id: &str, version: Option<u32>) -> Result<StoredMap, AppError> {
        self.store
            .map(id, version)
            .await?
            .ok_or_else(|| match version {
                Some(v) => AppError::NotFound(format!("map {id:?} has no version {v}")),
                None => AppError::NotFound(format!("no map {id:?}")),
            })
    }

    /// Deletes map `id` with its history.
    pub async fn delete_map(&self, actor: &Actor, id: &str) -> Result<(), AppError> {
        actor.require(Role::Editor, "delete maps")?;
        let deleted = self.store.delete_map(id).await?;
        self.audit(
            actor,
            "delete map",
            id,
            if deleted { "deleted" } else { "not found" },
        )
        .await?;
        if deleted {
            Ok(())
        } else {
            Err(AppError::NotFound(format!("no map {id:?}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use flowmap_store::testing::TestDb;

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
