//! A map's history: two saved versions compared (`map diff` of version A and version B),
//! rendered as a page — the headline numbers side by side, what happened to each step,
//! and the newer version's picture.

use askama::Template;
use axum::extract::{Path, Query, State};
use flowmap_app::analysis::{self, Analysed};
use flowmap_core::format::duration;
use flowmap_core::map::{self, AnalysisOptions, StepChange};
use serde::Deserialize;

use super::{PageResult, page, time_text};
use crate::AppState;
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
pub struct DiffParams {
    from: Option<u32>,
    to: Option<u32>,
}

/// One headline number in both versions.
struct Row {
    label: &'static str,
    old: String,
    new: String,
    change: String,
    /// `better`, `worse` or empty, for colouring.
    direction: &'static str,
}

#[derive(Template)]
#[template(path = "map_diff.html")]
struct DiffPage {
    title: String,
    nav: &'static str,
    id: String,
    from: u32,
    to: u32,
    /// (version, saved at, saved by) of every version, newest first.
    versions: Vec<(u32, String, String)>,
    rows: Vec<Row>,
    steps: Vec<String>,
    bottleneck: Option<(String, String)>,
    svg: String,
}

/// The label, the display of one value, and whether lower is better.
fn describe(metric: &str) -> (&'static str, fn(f64) -> String, Option<bool>) {
    fn hours(v: f64) -> String {
        duration(v)
    }
    fn share(v: f64) -> String {
        format!("{:.1}%", v * 100.0)
    }
    fn count(v: f64) -> String {
        format!("{v:.0}")
    }
    match metric {
        "lead_time_hours" => ("Lead time", hours, Some(true)),
        "process_time_hours" => ("Process time", hours, None),
        "wait_time_hours" => ("Wait time", hours, Some(true)),
        "activity_ratio" => ("Activity ratio", share, Some(false)),
        "rolled_ca" => ("Rolled %C&A", share, Some(false)),
        "handoffs" => ("Handoffs", count, Some(true)),
        "expected_lead_time_hours" => ("Expected lead time with rework", hours, Some(true)),
        "steps" => ("Steps", count, None),
        _ => ("Other", count, None),
    }
}

/// A number with at most two decimals, trailing zeros dropped: `0.75`, `1.82`, `3`.
fn decimals(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub async fn map_diff(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<DiffParams>,
) -> PageResult {
    let versions = state.store().map_versions(&id).await?;
    let Some(latest) = versions.first().map(|v| v.version) else {
        return Err(ApiError::not_found(format!("no map {id:?}")).into());
    };
    let to = params.to.unwrap_or(latest);
    let from = params.from.unwrap_or(to.saturating_sub(1).max(1));
    let old = state.app().map(&id, Some(from)).await?;
    let new = state.app().map(&id, Some(to)).await?;
    let options = AnalysisOptions::default();
    let Analysed {
        map: old_map,
        analysis: a,
    } = analysis::analyse(old, options).await?;
    let Analysed {
        map: new_map,
        analysis: b,
    } = analysis::analyse(new, options).await?;
    let diff = map::diff((&old_map, &a), (&new_map, &b));
    let rows = diff
        .metrics
        .iter()
        .map(|m| {
            let (label, show, lower_is_better) = describe(m.metric);
            let direction = match lower_is_better {
                _ if m.delta.abs() < 1e-9 => "",
                Some(true) if m.delta < 0.0 => "better",
                Some(false) if m.delta > 0.0 => "better",
                Some(_) => "worse",
                None => "",
            };
            let change = if m.delta.abs() < 1e-9 {
                "no change".to_string()
            } else {
                format!(
                    "{} {}",
                    if m.delta < 0.0 { "−" } else { "+" },
                    show(m.delta.abs())
                )
            };
            Row {
                label,
                old: show(m.old),
                new: show(m.new),
                change,
                direction,
            }
        })
        .collect();
    let steps = diff
        .steps
        .iter()
        .map(|change| match change {
            StepChange::Added {
                id,
                lead_time_hours,
            } => format!("added {id} ({})", duration(*lead_time_hours)),
            StepChange::Removed {
                id,
                lead_time_hours,
            } => format!("removed {id} ({})", duration(*lead_time_hours)),
            StepChange::Changed { id, fields } => {
                let what: Vec<String> = fields
                    .iter()
                    .map(|f| {
                        if f.metric.ends_with("_hours") {
                            format!(
                                "{} {} → {}",
                                f.metric.trim_end_matches("_hours"),
                                duration(f.old),
                                duration(f.new)
                            )
                        } else {
                            format!("{} {} → {}", f.metric, decimals(f.old), decimals(f.new))
                        }
                    })
                    .collect();
                format!("changed {id}: {}", what.join(", "))
            }
        })
        .collect();
    Ok(page(&DiffPage {
        title: format!("{} — v{from} against v{to}", new_map.name),
        nav: "maps",
        id,
        from,
        to,
        versions: versions
            .iter()
            .map(|v| {
                (
                    v.version,
                    time_text(v.saved_at),
                    v.saved_by.clone().unwrap_or_default(),
                )
            })
            .collect(),
        rows,
        steps,
        bottleneck: diff.bottleneck_moved,
        svg: flowmap_render::map_svg(&new_map, &b),
    }))
}
