//! Map analyses off the async threads.
//!
//! Analysing a map is quick, but a map with estimate ranges also runs a Monte Carlo
//! simulation of thousands of runs; on the threads that serve requests that would stall
//! every other request. These functions run the work on tokio's blocking pool.

use flowmap_core::map::{Analysis, AnalysisOptions, Diagnostic, Map, analyze, parse_map};
use flowmap_store::StoredMap;

use crate::AppError;
use crate::documents::file_name;

/// A stored map, parsed and analysed.
#[derive(Clone, Debug)]
pub struct Analysed {
    pub map: Map,
    pub analysis: Analysis,
}

/// Parses and analyses a stored map; `Err` holds the diagnostics of a map that no longer
/// parses (the format changed since it was saved).
fn analyse_stored(
    stored: &StoredMap,
    options: &AnalysisOptions,
) -> Result<Analysed, Vec<Diagnostic>> {
    let parsed = parse_map(&stored.text, stored.format)?;
    let analysis = analyze(&parsed.map, options);
    Ok(Analysed {
        map: parsed.map,
        analysis,
    })
}

/// Runs `work` on the blocking pool.
async fn off_the_async_threads<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| AppError::Background("the map analysis"))
}

/// Analyses a stored map; a map that no longer parses is an [`AppError::InvalidMap`].
pub async fn analyse(stored: StoredMap, options: AnalysisOptions) -> Result<Analysed, AppError> {
    off_the_async_threads(move || {
        analyse_stored(&stored, &options).map_err(|diagnostics| AppError::InvalidMap {
            file: file_name(&stored.id, stored.format),
            diagnostics,
        })
    })
    .await?
}

/// Analyses every map of a list in one background task, each with its own result in
/// the same order.
pub async fn analyse_all(
    stored: Vec<StoredMap>,
    options: AnalysisOptions,
) -> Result<Vec<(StoredMap, Option<Analysed>)>, AppError> {
    off_the_async_threads(move || {
        stored
            .into_iter()
            .map(|m| {
                let analysed = analyse_stored(&m, &options).ok();
                (m, analysed)
            })
            .collect()
    })
    .await
}

/// Parses and analyses map text that has not been saved (the editor's live preview);
/// `Err` holds its diagnostics.
pub async fn preview(
    text: String,
    format: flowmap_core::map::Format,
    options: AnalysisOptions,
) -> Result<Result<Analysed, Vec<Diagnostic>>, AppError> {
    off_the_async_threads(move || {
        let parsed = parse_map(&text, format)?;
        let analysis = analyze(&parsed.map, &options);
        Ok(Analysed {
            map: parsed.map,
            analysis,
        })
    })
    .await
}

/// The maps of a list that name `service` as theirs, as `(id, name)` in the list's order;
/// maps that no longer parse are left out. Parses only: nothing is analysed.
pub async fn maps_of_service(
    stored: Vec<StoredMap>,
    service: String,
) -> Result<Vec<(String, String)>, AppError> {
    off_the_async_threads(move || {
        stored
            .into_iter()
            .filter_map(|m| {
                let parsed = parse_map(&m.text, m.format).ok()?;
                (parsed.map.service.as_deref() == Some(service.as_str()))
                    .then_some((m.id, parsed.map.name))
            })
            .collect()
    })
    .await
}
