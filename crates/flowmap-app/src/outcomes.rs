//! Outcomes: saving them (checked, version-checked, with their author), and measuring them
//! against the stored delivery events — the status, the experiments' verdicts and the
//! weekly journey with the map versions along it.
//!
//! An outcome names map steps as `MAP#STEP`; a stored outcome's `MAP` is a stored map's id,
//! with or without a file extension (`checkout` or `checkout.yaml`).

use std::collections::HashMap;

use flowmap_core::constraints::constraints;
use flowmap_core::dora::{DEFAULT_ATTRIBUTION_WINDOW, DoraInput};
use flowmap_core::map::{Format, Map, parse_map};
use flowmap_core::measure::{MeasureData, StepTimes};
use flowmap_core::outcome::{
    Metric, Outcome, OutcomeData, OutcomeStatus, StepRef, WeekPoint, check_step, journey_start,
    parse_outcome, status, weekly_series,
};
use flowmap_store::{DocumentKind, LoadQuery, StoredOutcome, TimeRange};
use jiff::Timestamp;

use crate::documents::{SaveDocument, file_name};
use crate::{Actor, App, AppError, Role};

/// An outcome to save.
pub type SaveOutcome<'a> = SaveDocument<'a>;

/// A saved map version on an outcome's journey.
#[derive(Clone, Debug, PartialEq)]
pub struct MapVersion {
    pub map: String,
    pub version: u32,
    pub saved_at: Timestamp,
    pub saved_by: Option<String>,
    /// The version's expected lead time with rework (point values).
    pub expected_lead_time_hours: f64,
}

/// Everything an outcome page shows, measured at one time.
#[derive(Clone, Debug, PartialEq)]
pub struct OutcomeReport {
    pub status: OutcomeStatus,
    /// The metric week by week from the journey's start to the status time.
    pub weeks: Vec<WeekPoint>,
    /// Versions of the maps the outcome names (all maps when it names none), oldest first.
    pub maps: Vec<MapVersion>,
}

/// The stored map id a `MAP` of `MAP#STEP` refers to: its file name without extension.
pub fn map_id_of(reference: &str) -> &str {
    let name = reference.rsplit('/').next().unwrap_or(reference);
    match name.rsplit_once('.') {
        Some((stem, "yaml" | "yml" | "toml" | "json")) => stem,
        _ => name,
    }
}

/// The steps `outcome` and its experiments measure as `step:MAP#STEP` metrics.
pub fn step_metrics(outcome: &Outcome) -> impl Iterator<Item = &StepRef> {
    std::iter::once(&outcome.metric)
        .chain(outcome.experiments.iter().map(|e| &e.metric))
        .filter_map(|metric| match metric {
            Metric::Step(step) => Some(step),
            _ => None,
        })
}

impl App {
    /// The latest version of every stored map, parsed (maps that no longer parse are left
    /// out), by id.
    async fn stored_maps(&self) -> Result<HashMap<String, Map>, AppError> {
        Ok(self
            .store
            .maps()
            .await?
            .into_iter()
            .filter_map(|m| {
                let map = parse_map(&m.text, m.format).ok()?.map;
                Some((m.id, map))
            })
            .collect())
    }

    /// Checks `text` as an outcome whose `MAP#STEP` references name stored maps.
    pub async fn check_outcome(
        &self,
        file: &str,
        text: &str,
        format: Format,
    ) -> Result<Outcome, AppError> {
        let maps = self.stored_maps().await?;
        let resolver = |map: &str, step: &str| match maps.get(map_id_of(map)) {
            Some(found) => check_step(found, map, step),
            None => Err(format!("no saved map `{}`", map_id_of(map))),
        };
        parse_outcome(text, format, &resolver).map_err(|diagnostics| AppError::InvalidOutcome {
            file: file.to_owned(),
            diagnostics,
        })
    }

    /// Checks `save.text` as an outcome and saves it as the next version, recording
    /// `actor` as its author.
    pub async fn save_outcome(
        &self,
        actor: &Actor,
        save: SaveOutcome<'_>,
    ) -> Result<StoredOutcome, AppError> {
        actor.require(Role::Editor, "save outcomes")?;
        self.check_outcome(&file_name(save.id, save.format), save.text, save.format)
            .await?;
        self.store_document(actor, DocumentKind::Outcome, save)
            .await
    }

    /// Version `version` of outcome `id` (the latest when `None`).
    pub async fn outcome(&self, id: &str, version: Option<u32>) -> Result<StoredOutcome, AppError> {
        self.document(DocumentKind::Outcome, id, version).await
    }

    /// Deletes outcome `id` with its history.
    pub async fn delete_outcome(&self, actor: &Actor, id: &str) -> Result<(), AppError> {
        self.delete_document(actor, DocumentKind::Outcome, id).await
    }

    /// A stored outcome measured at `at`; a value baseline without `started` ends on the
    /// day the outcome was first saved.
    pub async fn stored_outcome_report(
        &self,
        id: &str,
        at: Timestamp,
    ) -> Result<(StoredOutcome, Outcome, OutcomeReport), AppError> {
        let stored = self.outcome(id, None).await?;
        let first_saved = self
            .store
            .outcome_versions(id)
            .await?
            .last()
            .map(|v| v.saved_at);
        let outcome = self
            .check_outcome(&file_name(id, stored.format), &stored.text, stored.format)
            .await?;
        let stored_maps = self.stored_maps().await?;
        let step_maps = step_metrics(&outcome)
            .filter_map(|step| {
                let map = stored_maps.get(map_id_of(&step.map))?;
                Some((step.map.clone(), map.clone()))
            })
            .collect();
        let report = self
            .outcome_report(&outcome, at, first_saved, step_maps)
            .await?;
        Ok((stored, outcome, report))
    }

    /// `outcome` measured at `at` from the stored events: status, experiments, the weekly
    /// journey and the versions of the maps it names. `step_maps` holds the maps its
    /// `step:MAP#STEP` metrics name, by `MAP` as written (a step whose map is not there
    /// has no data). Computed on the blocking pool.
    pub async fn outcome_report(
        &self,
        outcome: &Outcome,
        at: Timestamp,
        first_saved: Option<Timestamp>,
        step_maps: HashMap<String, Map>,
    ) -> Result<OutcomeReport, AppError> {
        let has_steps = step_metrics(outcome).next().is_some();
        let query = LoadQuery {
            services: outcome.service.iter().cloned().collect(),
            builds: has_steps.then_some(TimeRange::ALL),
            milestones: has_steps.then_some(TimeRange::ALL),
            ..LoadQuery::default()
        };
        let data = self.store.load(&query).await?;
        let maps = self.map_versions_for(outcome).await?;
        let outcome = outcome.clone();
        tokio::task::spawn_blocking(move || {
            let measure_data = MeasureData {
                deployments: &data.deployments,
                changes: &data.changes,
                incidents: &data.incidents,
                builds: &data.builds,
                milestones: &data.milestones,
            };
            let steps = StepTimes::measure(
                &outcome,
                &|map| step_maps.get(map),
                &measure_data,
                DEFAULT_ATTRIBUTION_WINDOW,
            )?;
            let data = OutcomeData {
                events: DoraInput {
                    deployments: &data.deployments,
                    changes: &data.changes,
                    incidents: &data.incidents,
                },
                steps: Some(&steps),
            };
            let status = status(&outcome, &data, at, first_saved);
            let weeks = journey_start(&outcome, first_saved)
                .map(|start| weekly_series(&outcome, &data, start, at))
                .unwrap_or_default();
            Ok::<_, AppError>(OutcomeReport {
                status,
                weeks,
                maps,
            })
        })
        .await
        .map_err(|_| AppError::Background("the outcome status"))?
    }

    /// Every version of the maps `outcome` names (all stored maps when it names none),
    /// with each version's expected lead time, oldest first.
    async fn map_versions_for(&self, outcome: &Outcome) -> Result<Vec<MapVersion>, AppError> {
        let mut ids: Vec<String> = outcome
            .experiments
            .iter()
            .filter_map(|e| e.constraint.as_ref())
            .map(|c| map_id_of(&c.map).to_owned())
            .collect();
        ids.extend(step_metrics(outcome).map(|step| map_id_of(&step.map).to_owned()));
        if ids.is_empty() {
            ids = self.store.maps().await?.into_iter().map(|m| m.id).collect();
        }
        ids.sort();
        ids.dedup();
        let mut versions = Vec::new();
        for id in ids {
            for stored in self.store.map_versions(&id).await? {
                let Ok(parsed) = parse_map(&stored.text, stored.format) else {
                    continue;
                };
                versions.push(MapVersion {
                    map: stored.id,
                    version: stored.version,
                    saved_at: stored.saved_at,
                    saved_by: stored.saved_by,
                    expected_lead_time_hours: constraints(&parsed.map).expected_lead_time_hours,
                });
            }
        }
        versions.sort_by_key(|v| v.saved_at);
        Ok(versions)
    }
}

#[cfg(test)]
mod tests {
    use flowmap_store::testing::TestDb;
    use flowmap_store::{Expected, MapFormat};

    use super::*;

    const MAP: &str =
        "name: Checkout\nsteps:\n  - id: code\n    process: 1h\n  - id: manual-qa\n    wait: 1d\n";
    const OUTCOME: &str = "outcome: Fewer failures\nmetric: change_failure_rate\nbaseline: 20%\ntarget: '< 10%'\ndeadline: 2026-12-01\nexperiments:\n  - id: contract-tests\n    constraint: checkout.yaml#manual-qa\n    started: 2026-09-15\n";

    fn save(expected: Expected, text: &str) -> SaveOutcome<'_> {
        SaveOutcome {
            id: "fewer-failures",
            format: MapFormat::Yaml,
            text,
            expected,
        }
    }

    #[test]
    fn map_ids_from_references() {
        assert_eq!(map_id_of("checkout.yaml"), "checkout");
        assert_eq!(map_id_of("maps/checkout.toml"), "checkout");
        assert_eq!(map_id_of("checkout"), "checkout");
    }

    #[tokio::test]
    async fn outcome_saves_and_deletes_are_audited() {
        let db = TestDb::sqlite();
        let app = App::new(flowmap_store::Store::open(&db.location()).await.unwrap());
        let ana = Actor::new("ana", Role::Editor);
        let plain = "outcome: Faster\nmetric: lead_time\nbaseline: 3d\ntarget: '< 1d'\ndeadline: 2026-12-01\n";
        app.save_outcome(&ana, save(Expected::New, plain))
            .await
            .unwrap();
        let bob = Actor::new("bob", Role::Editor);
        app.save_outcome(&bob, save(Expected::New, plain))
            .await
            .unwrap_err();
        app.delete_outcome(&bob, "fewer-failures").await.unwrap();
        app.delete_outcome(&ana, "fewer-failures")
            .await
            .unwrap_err();
        let mut log: Vec<_> = app
            .store()
            .audit_log(10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{} {} {}: {}", e.actor, e.action, e.subject, e.outcome))
            .collect();
        log.reverse();
        assert_eq!(
            log,
            [
                "ana save outcome fewer-failures: saved version 1",
                "bob save outcome fewer-failures: refused: outcome \"fewer-failures\" is at version 1, but the save expected no outcome yet",
                "bob delete outcome fewer-failures: deleted",
                "ana delete outcome fewer-failures: not found",
            ]
        );
    }

    #[tokio::test]
    async fn outcomes_are_checked_against_stored_maps_and_version_checked() {
        let db = TestDb::sqlite();
        let app = App::new(flowmap_store::Store::open(&db.location()).await.unwrap());
        let ana = Actor::new("ana", Role::Editor);
        // The constraint names a map that is not saved yet: a located error.
        let err = app
            .save_outcome(&ana, save(Expected::New, OUTCOME))
            .await
            .unwrap_err();
        assert_eq!(
            err.diagnostic_lines(),
            [
                "fewer-failures.yaml:8:17: `constraint` `checkout.yaml#manual-qa`: no saved map `checkout`"
            ]
        );
        app.save_map(
            &ana,
            crate::maps::SaveMap {
                id: "checkout",
                format: MapFormat::Yaml,
                text: MAP,
                expected: Expected::New,
            },
        )
        .await
        .unwrap();
        let first = app
            .save_outcome(&ana, save(Expected::New, OUTCOME))
            .await
            .unwrap();
        assert_eq!((first.version, first.saved_by.as_deref()), (1, Some("ana")));
        let stale = app
            .save_outcome(&ana, save(Expected::New, OUTCOME))
            .await
            .unwrap_err();
        assert!(
            matches!(stale, AppError::Conflict { latest: 1, .. }),
            "{stale:?}"
        );
        // The message names the kind of document that was saved.
        assert_eq!(
            stale.to_string(),
            "an outcome \"fewer-failures\" exists already"
        );
        app.save_outcome(&ana, save(Expected::Version(1), OUTCOME))
            .await
            .unwrap();
        let stale = app
            .save_outcome(&ana, save(Expected::Version(1), OUTCOME))
            .await
            .unwrap_err();
        assert_eq!(
            stale.to_string(),
            "outcome \"fewer-failures\" was saved as version 2 since version 1 was read: \
             reload it and apply the edit again"
        );
        let viewer = Actor::new("vic", Role::Viewer);
        assert!(matches!(
            app.save_outcome(&viewer, save(Expected::Version(1), OUTCOME))
                .await,
            Err(AppError::Forbidden { .. })
        ));

        // Measured with no events: no data, the experiment has too little of it, and the
        // map's one version is on the journey with its expected lead time (1 h + 24 h).
        let at = flowmap_core::dora::parse_window_bound("2026-10-01").unwrap();
        let (_, _, report) = app
            .stored_outcome_report("fewer-failures", at)
            .await
            .unwrap();
        assert_eq!(report.status.status, flowmap_core::outcome::Status::NoData);
        assert_eq!(
            report.status.experiments[0].verdict,
            flowmap_core::experiment::Verdict::InsufficientData
        );
        assert_eq!(report.maps.len(), 1);
        assert_eq!(report.maps[0].expected_lead_time_hours, 25.0);
    }

    #[tokio::test]
    async fn a_stored_step_outcome_is_measured_from_the_stored_map() {
        let db = TestDb::sqlite();
        let store = flowmap_store::Store::open(&db.location()).await.unwrap();
        let app = App::new(store.clone());
        let ana = Actor::new("ana", Role::Editor);
        let map = "name: Checkout\nservice: checkout\nsteps:\n  - id: review\n    wait: 4h\n    measure: { wait: pr_opened..first_review }\n";
        app.save_map(
            &ana,
            crate::maps::SaveMap {
                id: "checkout",
                format: MapFormat::Yaml,
                text: map,
                expected: Expected::New,
            },
        )
        .await
        .unwrap();
        // Three pull requests first reviewed on 2026-03-10, after 1, 2 and 6 hours.
        let t = |s: &str| flowmap_core::dora::parse_window_bound(s).unwrap();
        let changes = [(1, "c1"), (2, "c2"), (6, "c3")]
            .into_iter()
            .map(|(wait, id)| {
                let reviewed = t("2026-03-10T12:00:00Z");
                let opened = reviewed - jiff::SignedDuration::from_hours(wait);
                let mut c = flowmap_core::events::Change::new(id, "checkout", opened);
                c.pr_opened_at = Some(opened);
                c.first_review_at = Some(reviewed);
                c
            })
            .collect();
        let batch = flowmap_store::Batch {
            changes,
            ..flowmap_store::Batch::default()
        };
        store.write("test", &batch).await.unwrap();
        let outcome = "outcome: Reviews within an hour\nmetric: step:checkout.yaml#review\nbaseline: 3h\ntarget: '<= 1h'\ndeadline: 2026-06-01\nstarted: 2026-03-01\n";
        app.save_outcome(
            &ana,
            SaveOutcome {
                id: "reviews",
                format: MapFormat::Yaml,
                text: outcome,
                expected: Expected::New,
            },
        )
        .await
        .unwrap();
        let (_, _, report) = app
            .stored_outcome_report("reviews", t("2026-03-20"))
            .await
            .unwrap();
        // The last 28 days hold the three waits: median 2 h, half of the way from 3 h to
        // 1 h: (2 − 3) / (1 − 3) = 0.5.
        assert_eq!(report.status.current_value, Some(2.0));
        assert_eq!(report.status.progress, Some(0.5));
        // The journey's week of 2026-03-09 has them too.
        let week = report
            .weeks
            .iter()
            .find(|w| w.since == t("2026-03-09"))
            .unwrap();
        assert_eq!(week.value, Some(2.0));
    }
}
