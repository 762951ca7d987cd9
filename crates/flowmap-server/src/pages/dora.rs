//! The DORA pages: the overview of every service, and a page per service with its
//! metrics, weekly charts, lead-time histogram and recent deployments.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use flowmap_core::dora::{DoraOptions, DoraReport, Metrics, ServiceMetrics};
use flowmap_core::format::failure_reason;
use flowmap_render::chart::{self, ChartOptions, Marker, Point, SeriesStyle};
use jiff::{SignedDuration, Timestamp};

use super::{PageResult, Stat, hours_text, level_name, page, percent_text, time_text, window_text};
use crate::AppState;
use crate::query::WindowParams;

/// Monday 00:00 UTC of the week `at` falls in.
fn week_start(at: Timestamp) -> Timestamp {
    const DAY: i64 = 86_400;
    let days = at.as_second().div_euclid(DAY);
    // 1970-01-01 was a Thursday: three days after a Monday.
    let monday = days - (days + 3).rem_euclid(7);
    Timestamp::from_second(monday * DAY).unwrap_or(at)
}

/// The window pages show by default: the current ISO week and the 11 before it.
fn twelve_weeks(now: Timestamp) -> DoraOptions {
    let since = week_start(now) - SignedDuration::from_hours(11 * 7 * 24);
    DoraOptions::new(since, now)
}

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
    fn new(name: &str, m: &Metrics) -> ServiceRow {
        let weekly: Vec<Option<f64>> = m
            .weekly
            .iter()
            .map(|w| Some(w.deployments as f64))
            .collect();
        ServiceRow {
            name: name.to_owned(),
            href: format!("/services/{}", url_segment(name)),
            frequency: format!("{:.1}", m.deployment_frequency.per_week),
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

/// A path segment with the characters that would break it percent-encoded (service
/// names are repository names like `acme/shop`).
fn url_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    title: String,
    nav: &'static str,
    window: String,
    rows: Vec<ServiceRow>,
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

pub async fn overview(State(state): State<AppState>) -> PageResult {
    let options = twelve_weeks(Timestamp::now());
    let report = state.app().reports().dora(&options).await?;
    let rows = service_list(&report)
        .into_iter()
        .map(|(name, metrics)| ServiceRow::new(name, metrics))
        .collect();
    Ok(page(&OverviewPage {
        title: "Overview".into(),
        nav: "overview",
        window: format!("the last 12 weeks: {}", window_text(&options)),
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
    window: String,
    stats: Vec<Stat>,
    charts: Vec<String>,
    histogram: String,
    deployments: Vec<DeploymentRow>,
    notes: Vec<String>,
}

pub async fn service(
    State(state): State<AppState>,
    Path(service): Path<String>,
    Query(params): Query<WindowParams>,
) -> PageResult {
    let now = Timestamp::now();
    let mut options = if params.since.is_some() || params.until.is_some() {
        params.options(now)?
    } else {
        twelve_weeks(now)
    };
    options.services = vec![service.clone()];
    options.explain = true;
    let report = state.app().reports().dora(&options).await?;
    let m = &report.metrics;
    let stats = vec![
        Stat {
            label: "Deployment frequency".into(),
            value: format!("{:.1} / week", m.deployment_frequency.per_week),
            level: m.deployment_frequency.level.as_str().into(),
            hint: format!(
                "{} deployments · {:.1} deploy days a week",
                m.deployment_frequency.deployments, m.deployment_frequency.deploy_days_per_week
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
            value: format!("{:.2} / week", m.recovery_volume_per_week),
            level: String::new(),
            hint: "failed deployments entering recovery".into(),
        },
    ];

    let week_label = |w: &flowmap_core::dora::Week| {
        w.week
            .split_once('-')
            .map_or(w.week.clone(), |(_, wk)| wk.to_owned())
    };
    let series = |title: &str,
                  unit: &str,
                  style: SeriesStyle,
                  value: &dyn Fn(&flowmap_core::dora::Week) -> Option<f64>| {
        let points: Vec<Point> = m
            .weekly
            .iter()
            .map(|w| Point::new(week_label(w), value(w)))
            .collect();
        chart::series_chart(
            &points,
            style,
            &ChartOptions {
                title: title.into(),
                unit: unit.into(),
                ..ChartOptions::default()
            },
        )
    };
    let charts = vec![
        series(
            "Deployments per week",
            "deployments",
            SeriesStyle::Bars,
            &|w| Some(w.deployments as f64),
        ),
        series(
            "Median change lead time",
            "hours",
            SeriesStyle::Line,
            &|w| w.lead_time_median_hours,
        ),
        series(
            "Failed deployments per week (recovery stream)",
            "failures",
            SeriesStyle::Bars,
            &|w| Some(w.failed as f64),
        ),
        series("Median recovery time", "hours", SeriesStyle::Line, &|w| {
            w.recovery_median_hours
        }),
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
            unit: "changes per bin, hours".into(),
            width: 960.0,
            height: 260.0,
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

    Ok(page(&ServicePage {
        title: service.clone(),
        nav: "overview",
        window: window_text(&options),
        service,
        stats,
        charts,
        histogram,
        deployments,
        notes: m.notes.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn week_start_is_monday_midnight_utc() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        // 2026-03-05 is a Thursday.
        assert_eq!(
            week_start(t("2026-03-05T15:00:00Z")),
            t("2026-03-02T00:00:00Z")
        );
        assert_eq!(
            week_start(t("2026-03-02T00:00:00Z")),
            t("2026-03-02T00:00:00Z")
        );
        assert_eq!(
            week_start(t("2026-03-08T23:59:59Z")),
            t("2026-03-02T00:00:00Z")
        );
    }

    #[test]
    fn url_segments_keep_slashes_out() {
        assert_eq!(url_segment("acme/shop v2"), "acme%2Fshop%20v2");
    }
}
