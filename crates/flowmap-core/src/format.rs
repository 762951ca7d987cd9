//! Numbers and reasons as people read them: the one place durations, rates, percents and
//! failure reasons are put into words, so the CLI, the pages and the report agree.
//!
//! Durations are `f64` hours, rates and shares fractions in [0, 1], as everywhere in
//! flowmap. A missing value is shown as the caller's `missing` marker, never as 0.

use crate::dora::FailureReason;
use crate::map::format_hours;

/// A duration short enough for a table cell: `45m`, `5.1h`, `3.2d`, `6.0w`.
pub fn hours_short(hours: f64) -> String {
    match hours {
        h if h < 1.0 => format!("{:.0}m", h * 60.0),
        h if h < 48.0 => format!("{h:.1}h"),
        h if h < 24.0 * 14.0 => format!("{:.1}d", h / 24.0),
        h => format!("{:.1}w", h / 24.0 / 7.0),
    }
}

/// A duration in hours with one decimal: `5.1h`.
pub fn hours_decimal(hours: f64) -> String {
    format!("{hours:.1}h")
}

/// A fraction as a percent with one decimal: `0.125` → `12.5%`.
pub fn percent(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

/// `value` formatted by `format`, or `missing` when there is no value.
pub fn or_missing(value: Option<f64>, missing: &str, format: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| missing.to_owned(), format)
}

/// Why a deployment counts as failed, in words: `incident i7 names it`, `incident i7
/// started 2h after it`, `hotfix d9 fixes it`.
pub fn failure_reason(reason: &FailureReason) -> String {
    match reason {
        FailureReason::CausedBy { incident } => format!("incident {incident} names it"),
        FailureReason::IncidentInWindow {
            incident,
            hours_after_deployment,
        } => format!(
            "incident {incident} started {} after it",
            format_hours(*hours_after_deployment)
        ),
        FailureReason::FixedBy { deployment, kind } => {
            let kind = if kind.is_rework() {
                kind.as_str()
            } else {
                "deployment"
            };
            format!("{kind} {deployment} fixes it")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::DeploymentKind;

    #[test]
    fn durations_are_short() {
        assert_eq!(or_missing(None, "—", hours_short), "—");
        assert_eq!(hours_short(0.75), "45m");
        assert_eq!(hours_short(5.14), "5.1h");
        assert_eq!(hours_short(76.8), "3.2d");
        assert_eq!(hours_short(1008.0), "6.0w");
        assert_eq!(hours_decimal(5.14), "5.1h");
        assert_eq!(percent(0.125), "12.5%");
    }

    #[test]
    fn reasons_read_as_sentences() {
        let reason = |r: FailureReason| failure_reason(&r);
        assert_eq!(
            reason(FailureReason::CausedBy {
                incident: "i7".into()
            }),
            "incident i7 names it"
        );
        assert_eq!(
            reason(FailureReason::IncidentInWindow {
                incident: "i7".into(),
                hours_after_deployment: 2.0
            }),
            "incident i7 started 2h after it"
        );
        assert_eq!(
            reason(FailureReason::FixedBy {
                deployment: "d9".into(),
                kind: DeploymentKind::Hotfix
            }),
            "hotfix d9 fixes it"
        );
        assert_eq!(
            reason(FailureReason::FixedBy {
                deployment: "d9".into(),
                kind: DeploymentKind::Normal
            }),
            "deployment d9 fixes it"
        );
    }
}
