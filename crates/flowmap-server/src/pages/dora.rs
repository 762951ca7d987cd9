//! The DORA pages: the overview of every service, and a page per service with its
//! metrics, weekly charts, lead-time histogram, where its delivery time goes (a stacked
//! bar of the steps per week), its work in progress and recent deployments.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use flowmap_app::scope::is_empty;
use flowmap_core::dora::{DoraOptions, DoraReport, Metrics, ServiceMetrics};
use flowmap_core::format::{self, failure_reason};
use flowmap_core::measure::{FromDataOptions, SegmentStats};
use flowmap_render::chart::{self, ChartOptions, Marker, Point, SeriesStyle, Stack, ValueKind};
use jiff::Timestamp;

use super::{
    PageResult, Picker, Stat, hours_text, level_name, page, percent_text, time_text, url_segment,
};
use crate::AppState;
use crate::query::WindowParams;

struct ServiceRow {
    name: String,
    href: String,
    frequency: String,
    frequency_level: String,
    lead_time: String,
    lead_time_level: String,
    fail_rate: String,
    fail_rate_level: String,
    recovery: String,
    recovery_level: String,
    rework: String,
    sparkline: String,
}

impl ServiceRow {
    fn new(name: &str, m: &Metrics, days: f64) -> ServiceRow {
        // Whole weeks only: a week still in progress would look like a drop.
        let weekly: Vec<Option<f64>> = m
            .weekly
            .iter()
            .filter(|w| w.complete)
            .map(|w| Some(w.deployments as f64))
            .collect();
        ServiceRow {
            name: name.to_owned(),
            href: format!("/services/{}", url_segment(name)),
            frequency: format::rate(m.deployment_frequency.deployments, days),
            frequency_level: m.deployment_frequency.level.as_str().to_owned(),
            lead_time: hours_text(m.lead_time.median_hours),
            lead_time_level: level_name(m.lead_time.level),
            fail_rate: percent_text(m.change_failure_rate.rate),
            fail_rate_level: level_name(m.change_failure_rate.level),
            recovery: hours_text(m.recovery_time.median_hours),
            recovery_level: level_name(m.recovery_time.level),
            rework: percent_text(m.rework_rate.rate),
            sparkline: chart::sparkline(&weekly, 120.0, 28.0),
        }
    }
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    title: String,
    nav: &'static str,
    picker: Picker,
    rows: Vec<ServiceRow>,
    /// Whether the database holds any delivery data at all.
    has_data: bool,
}

fn service_list(report: &DoraReport) -> Vec<(&str, &Metrics)> {
    match (&report.services, &report.service) {
        (Some(list), _) => list
            .iter()
            .map(|ServiceMetrics { service, metrics }| (service.as_str(), metrics))
            .collect(),
        (None, Some(service)) => vec![(service.as_str(), &report.metrics)],
        (None, None) => Vec::new(),
    }
}

/// The window's length in days, for rates.
fn window_days(options: &DoraOptions) -> f64 {
    options.until.duration_since(options.since).as_secs_f64() / 86_400.0
}

pub async fn overview(
    State(state): State<AppState>,
    Query(mut params): Query<WindowParams>,
) -> PageResult {
    let now = Timestamp::now();
    // The overview is every service; a service has its own page.
    params.service = None;
    let window = params.window(now)?;
    let options = params.options(now)?;
    state
        .app()
        .check_environments(&params.named_environments())
        .await?;
    let report = state
        .app()
        .reports()
        .dora_in(&options, &window, now)
        .await?;
    let extent = state.app().data_extent(&options).await?;
    let days = window_days(&options);
    let rows = service_list(&report)
        .into_iter()
        .map(|(name, metrics)| ServiceRow::new(name, metrics, days))
        .collect();
    Ok(page(&OverviewPage {
        title: "Overview".into(),
        nav: "overview",
        picker: Picker::new(
            "/",
            &window,
            &options,
            extent.as_ref(),
            is_empty(&report),
            now,
        ),
        has_data: !state.app().reports().services().await?.is_empty(),
        rows,
    }))
}

struct DeploymentRow {
    finished_at: String,
    id: String,
    kind: String,
    changes: u64,
    failed: bool,
    reasons: String,
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage {
    title: String,
    nav: &'static str,
    service: String,
    picker: Picker,
    stats: Vec<Stat>,
    charts: Vec<String>,
    histogram: String,
    /// The stacked bar chart of the delivery time by step.
    breakdown: String,
    wip: Vec<WipRow>,
    deployments: Vec<DeploymentRow>,
    notes: Vec<String>,
    /// The maps that name this service, as `(id, name)`.
    maps: Vec<(String, String)>,
}

pub async fn service(
    State(state): State<AppState>,
    Path(service): Path<String>,
    Query(mut params): Query<WindowParams>,
) -> PageResult {
    let now = Timestamp::now();
    params.service = Some(service.clone());
    let window = params.window(now)?;
    let mut options = params.options(now)?;
    // An unknown service is a 404 with the nearest known name, not a page of zeros.
    state.app().check_services(&options).await?;
    state
        .app()
        .check_environments(&params.named_environments())
        .await?;
    options.explain = true;
    let report = state.app().reports().dora(&options).await?;
    let extent = state.app().data_extent(&options).await?;
    let m = &report.metrics;
    let days = window_days(&options);
    let stats = vec![
        Stat {
            label: "Deployment frequency".into(),
            value: format::rate(m.deployment_frequency.deployments, days),
            level: m.deployment_frequency.level.as_str().into(),
            hint: format!(
                "{} deployments on {} a week",
                m.deployment_frequency.deployments,
                match m.deployment_frequency.deploy_days_per_week {
                    d if d >= 1.0 => format!("{} days", format::decimal(d)),
                    d => format!("{} day", format::decimal(d)),
                }
            ),
        },
        Stat {
            label: "Change lead time".into(),
            value: hours_text(m.lead_time.median_hours),
            level: level_name(m.lead_time.level),
            hint: format!(
                "median of {} changes · p90 {}",
                m.lead_time.changes,
                hours_text(m.lead_time.p90_hours)
            ),
        },
        Stat {
            label: "Change fail rate".into(),
            value: percent_text(m.change_failure_rate.rate),
            level: level_name(m.change_failure_rate.level),
            hint: format!(
                "{} of {} deployments failed",
                m.change_failure_rate.failed, m.change_failure_rate.deployments
            ),
        },
        Stat {
            label: "Failed deployment recovery".into(),
            value: hours_text(m.recovery_time.median_hours),
            level: level_name(m.recovery_time.level),
            hint: format!(
                "median · {} recovered, {} not yet",
                m.recovery_time.recovered, m.recovery_time.unrecovered
            ),
        },
        Stat {
            label: "Deployment rework rate".into(),
            value: percent_text(m.rework_rate.rate),
            level: String::new(),
            hint: format!("{} hotfixes and rollbacks", m.rework_rate.rework),
        },
        Stat {
            label: "Recovery stream volume".into(),
            value: format::rate(m.change_failure_rate.failed, days),
            level: String::new(),
            hint: "failed deployments entering recovery".into(),
        },
    ];

    let labels = format::week_labels(&m.weekly.iter().map(|w| &w.week).collect::<Vec<_>>());
    let series = |title: &str,
                  unit: &str,
                  kind: ValueKind,
                  style: SeriesStyle,
                  value: &dyn Fn(&flowmap_core::dora::Week) -> Option<f64>| {
        // Weeks cut by the window (the current one, or the first) are drawn as partial.
        let points: Vec<Point> = m
            .weekly
            .iter()
            .zip(&labels)
            .map(|(w, label)| {
                if w.complete {
                    Point::new(label.clone(), value(w))
                } else {
                    Point::in_progress(label.clone(), value(w))
                }
            })
            .collect();
        chart::series_chart(
            &points,
            style,
            &ChartOptions {
                title: title.into(),
                unit: unit.into(),
                values: kind,
                ..ChartOptions::default()
            },
        )
    };
    let charts = vec![
        series(
            "Deployments per week",
            "deployments; dashed: part of a week",
            ValueKind::Count,
            SeriesStyle::Bars,
            &|w| Some(w.deployments as f64),
        ),
        series(
            "Median change lead time",
            "commit to production",
            ValueKind::Hours,
            SeriesStyle::Line,
            &|w| w.lead_time_median_hours,
        ),
        series(
            "Failed deployments per week",
            "failures entering recovery",
            ValueKind::Count,
            SeriesStyle::Bars,
            &|w| Some(w.failed as f64),
        ),
        series(
            "Median recovery time",
            "failure to recovery",
            ValueKind::Hours,
            SeriesStyle::Line,
            &|w| w.recovery_median_hours,
        ),
    ];

    let explain = report.explain.as_ref();
    let lead_times: Vec<f64> = explain
        .map(|e| e.changes.iter().map(|c| c.lead_time_hours).collect())
        .unwrap_or_default();
    let mut markers = Vec::new();
    if let Some(median) = m.lead_time.median_hours {
        markers.push(Marker {
            label: format!("median {}", hours_text(Some(median))),
            value: median,
        });
    }
    if let Some(p90) = m.lead_time.p90_hours {
        markers.push(Marker {
            label: format!("p90 {}", hours_text(Some(p90))),
            value: p90,
        });
    }
    let histogram = chart::histogram(
        &lead_times,
        20,
        &markers,
        &ChartOptions {
            title: "Change lead time".into(),
            unit: "changes by lead time".into(),
            width: 960.0,
            height: 260.0,
            values: ValueKind::Hours,
        },
    );

    let reasons: HashMap<&str, String> = explain
        .map(|e| {
            e.failed_deployments
                .iter()
                .map(|f| {
                    let text: Vec<String> = f.reasons.iter().map(failure_reason).collect();
                    (f.deployment.as_str(), text.join("; "))
                })
                .collect()
        })
        .unwrap_or_default();
    let deployments = explain
        .map(|e| {
            e.deployments
                .iter()
                .rev()
                .take(25)
                .map(|d| DeploymentRow {
                    finished_at: time_text(d.finished_at),
                    id: d.deployment.clone(),
                    kind: d.kind.as_str().to_owned(),
                    changes: d.changes,
                    failed: d.failed,
                    reasons: reasons
                        .get(d.deployment.as_str())
                        .cloned()
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();

    let maps = flowmap_app::analysis::maps_of_service(state.store().maps().await?, service.clone())
        .await?;
    let (breakdown, wip) = delivery_breakdown(&state, &service, &options).await?;

    Ok(page(&ServicePage {
        title: service.clone(),
        maps,
        nav: "overview",
        picker: Picker::new(
            &format!("/services/{}", url_segment(&service)),
            &window,
            &options,
            extent.as_ref(),
            is_empty(&report),
            now,
        ),
        service,
        stats,
        charts,
        histogram,
        breakdown,
        wip,
        deployments,
        notes: m.notes.iter().map(|n| page_note(n)).collect(),
    }))
}

/// One row of the work in progress: a step, how many items are between its points at the
/// window's end, their median age and the oldest of them.
struct WipRow {
    step: String,
    segment: String,
    count: usize,
    age: String,
    oldest: String,
}

fn wip_row(step: &str, stats: &SegmentStats) -> WipRow {
    WipRow {
        step: step.to_owned(),
        segment: format!("{}..{}", stats.from, stats.to),
        count: stats.wip,
        age: hours_text(stats.wip_age_p50_hours),
        oldest: stats
            .wip_oldest
            .iter()
            .map(|w| format!("{} ({})", w.id, hours_text(Some(w.age_hours))))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// "Where the delivery time goes": the from-data steps' medians as a stacked bar per
/// week, and the work in progress at the end of the window (the whole lead time first,
/// then each step with items in it).
async fn delivery_breakdown(
    state: &AppState,
    service: &str,
    options: &DoraOptions,
) -> Result<(String, Vec<WipRow>), crate::pages::PageError> {
    let request = FromDataOptions {
        service: service.to_owned(),
        environment: options
            .environments
            .first()
            .cloned()
            .unwrap_or_else(|| flowmap_core::events::PRODUCTION.to_owned()),
        since: options.since,
        until: options.until,
        attribution_window: options.attribution_window,
    };
    let breakdown = state.app().reports().breakdown(request).await?;
    let labels = format::week_labels(
        &breakdown
            .weeks
            .iter()
            .map(|w| w.week.as_str())
            .collect::<Vec<_>>(),
    );
    let weeks: Vec<Point> = breakdown
        .weeks
        .iter()
        .zip(labels)
        .map(|(w, label)| {
            if w.complete {
                Point::new(label, None)
            } else {
                Point::in_progress(label, None)
            }
        })
        .collect();
    let values: Vec<Vec<Option<f64>>> = (0..breakdown.steps.len())
        .map(|k| breakdown.weeks.iter().map(|w| w.p50_hours[k]).collect())
        .collect();
    let stacks: Vec<Stack<'_>> = breakdown
        .steps
        .iter()
        .zip(&values)
        .map(|(step, values)| Stack {
            name: step.id,
            values,
        })
        .collect();
    let svg = chart::stacked_chart(
        &weeks,
        &stacks,
        &ChartOptions {
            title: "Where the delivery time goes".into(),
            unit: "median per step, by week".into(),
            width: 960.0,
            height: 280.0,
            values: ValueKind::Hours,
        },
    );
    let mut wip = Vec::new();
    if breakdown.lead_time.wip > 0 {
        wip.push(wip_row("committed, not yet deployed", &breakdown.lead_time));
    }
    wip.extend(
        breakdown
            .steps
            .iter()
            .filter(|s| s.stats.wip > 0)
            .map(|s| wip_row(s.name, &s.stats)),
    );
    Ok((svg, wip))
}

/// A report note as the page shows it: without the pointer into the JSON report
/// (`(explain.orphan_changes)`) that the note carries for readers of `--explain` output,
/// which means nothing on a page.
fn page_note(note: &str) -> String {
    match note.rfind(" (explain.") {
        Some(at) if note[at..].ends_with(").") => format!("{}.", &note[..at]),
        _ => note.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::page_note;

    #[test]
    fn notes_lose_their_json_pointer() {
        assert_eq!(
            page_note("3 changes are shipped by no deployment (explain.orphan_changes)."),
            "3 changes are shipped by no deployment."
        );
        assert_eq!(
            page_note("1 recovery time is left out (explain.failed_deployments[].anomaly)."),
            "1 recovery time is left out."
        );
        assert_eq!(page_note("No failed deployment."), "No failed deployment.");
    }
}
