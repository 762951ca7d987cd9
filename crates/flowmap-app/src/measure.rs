//! Measuring a map against delivery data, writing a map from the data, and a service's
//! delivery time broken down by step: loaded through
//! the same path as a DORA report (`LoadQuery::for_measure`, the DORA load plus the
//! service's builds and milestones) and computed by core on the blocking pool.

use flowmap_core::dora::DoraError;
use flowmap_core::map::{AnalysisOptions, Map, Stream};
use flowmap_core::measure::{
    Breakdown, FromDataOptions, MeasureData, MeasureError, MeasureOptions, MeasureReport,
    breakdown, from_data, measure_map,
};
use flowmap_store::{Dataset, LoadQuery};
use jiff::{SignedDuration, Timestamp};

use crate::{AppError, Reports};

/// What to measure a map against.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasureRequest {
    /// The service; `None` = the map's own `service:`.
    pub service: Option<String>,
    pub environment: String,
    pub since: Timestamp,
    pub until: Timestamp,
    pub attribution_window: SignedDuration,
    pub analysis: AnalysisOptions,
    /// List every negative segment.
    pub explain: bool,
}

fn measure_error(err: MeasureError) -> AppError {
    match err {
        MeasureError::Options(err) => AppError::Dora(err),
        no_data @ MeasureError::NoData { .. } => AppError::Invalid(no_data.to_string()),
    }
}

fn data(dataset: &Dataset) -> MeasureData<'_> {
    MeasureData {
        deployments: &dataset.deployments,
        changes: &dataset.changes,
        incidents: &dataset.incidents,
        builds: &dataset.builds,
        milestones: &dataset.milestones,
    }
}

fn check_window(since: Timestamp, until: Timestamp) -> Result<(), AppError> {
    if since >= until {
        return Err(AppError::Dora(DoraError::EmptyWindow { since, until }));
    }
    Ok(())
}

impl Reports {
    /// Holds `map` against the data of the request's service (or the map's `service:`).
    pub async fn measure(
        &self,
        map: Map,
        request: MeasureRequest,
    ) -> Result<MeasureReport, AppError> {
        let service = request
            .service
            .or_else(|| map.service.clone())
            .ok_or_else(|| {
                AppError::Invalid(
                    "no service to measure: pass --service (or ?service=) or write `service:` in \
                 the map"
                        .into(),
                )
            })?;
        check_window(request.since, request.until)?;
        let dataset = self.store.load(&LoadQuery::for_measure(&service)).await?;
        let options = MeasureOptions {
            service,
            environment: request.environment,
            since: request.since,
            until: request.until,
            attribution_window: request.attribution_window,
            analysis: request.analysis,
            explain: request.explain,
        };
        tokio::task::spawn_blocking(move || measure_map(&map, &data(&dataset), &options))
            .await
            .map_err(|_| AppError::Background("the map measurement"))?
            .map_err(measure_error)
    }

    /// Where the delivery time of the options' service goes over their window: the
    /// from-data steps week by week and the work in progress at the window's end.
    pub async fn breakdown(&self, options: FromDataOptions) -> Result<Breakdown, AppError> {
        check_window(options.since, options.until)?;
        let dataset = self
            .store
            .load(&LoadQuery::for_measure(&options.service))
            .await?;
        tokio::task::spawn_blocking(move || breakdown(&data(&dataset), &options))
            .await
            .map_err(|_| AppError::Background("the delivery time breakdown"))?
            .map_err(AppError::Dora)
    }

    /// A starting map of `stream` written from the data alone (YAML text).
    pub async fn map_from_data(
        &self,
        stream: Stream,
        options: FromDataOptions,
    ) -> Result<String, AppError> {
        check_window(options.since, options.until)?;
        let dataset = self
            .store
            .load(&LoadQuery::for_measure(&options.service))
            .await?;
        tokio::task::spawn_blocking(move || from_data(stream, &data(&dataset), &options))
            .await
            .map_err(|_| AppError::Background("writing a map from data"))?
            .map_err(measure_error)
    }
}
