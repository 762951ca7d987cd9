//! `/metrics` (Prometheus text format) and `/healthz`.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use flowmap_core::dora::{DoraReport, Metrics};
use jiff::Timestamp;

use crate::AppState;
use crate::error::ApiError;
use crate::query::WindowParams;

/// `ok` while the database answers (one primary-key read).
pub async fn healthz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store().data_version().await?;
    Ok("ok\n")
}

/// One gauge: its name, help text, and how to read it from a service's metrics.
struct Gauge {
    name: &'static str,
    help: &'static str,
    value: fn(&Metrics) -> Option<f64>,
}

const GAUGES: &[Gauge] = &[
    Gauge {
        name: "flowmap_deployments",
        help: "Successful production deployments in the last 90 days.",
        value: |m| Some(m.deployment_frequency.deployments as f64),
    },
    Gauge {
        name: "flowmap_lead_time_median_hours",
        help: "Median change lead time (commit to production) over the last 90 days, in hours.",
        value: |m| m.lead_time.median_hours,
    },
    Gauge {
        name: "flowmap_change_fail_rate",
        help: "Failed deployments divided by deployments over the last 90 days (0 to 1).",
        value: |m| m.change_failure_rate.rate,
    },
    Gauge {
        name: "flowmap_recovery_time_median_hours",
        help: "Median failed deployment recovery time over the last 90 days, in hours.",
        value: |m| m.recovery_time.median_hours,
    },
    Gauge {
        name: "flowmap_rework_rate",
        help: "Hotfix and rollback deployments divided by deployments over the last 90 days (0 to 1).",
        value: |m| m.rework_rate.rate,
    },
];

/// Every service's DORA numbers over the 90 days before now (the `flowmap dora`
/// default window), one gauge per metric labelled by service. A metric without data is
/// left out for that service rather than reported as 0.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let params = WindowParams::default();
    let options = params.options(now)?;
    let report = state
        .app()
        .reports()
        .dora_in(&options, &params.window(now)?, now)
        .await?;
    let body = exposition(&report);
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response())
}

/// The report as Prometheus text exposition.
pub(crate) fn exposition(report: &DoraReport) -> String {
    let services: Vec<(&str, &Metrics)> = match (&report.services, &report.service) {
        (Some(list), _) => list
            .iter()
            .map(|s| (s.service.as_str(), &s.metrics))
            .collect(),
        (None, Some(service)) => vec![(service.as_str(), &report.metrics)],
        (None, None) => Vec::new(),
    };
    let mut out = String::new();
    for gauge in GAUGES {
        let _ = writeln!(out, "# HELP {} {}", gauge.name, gauge.help);
        let _ = writeln!(out, "# TYPE {} gauge", gauge.name);
        for (service, metrics) in &services {
            if let Some(value) = (gauge.value)(metrics) {
                let _ = writeln!(
                    out,
                    "{}{{service=\"{}\"}} {value}",
                    gauge.name,
                    label_value(service)
                );
            }
        }
    }
    out
}

/// Escapes a label value as the text format requires: `\`, `"` and newlines.
fn label_value(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
