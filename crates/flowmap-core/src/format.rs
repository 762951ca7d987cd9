//! Numbers and reasons as people read them: the one place durations, rates, percents and
//! failure reasons are put into words, so the CLI, the pages and the report agree.
//!
//! Durations are `f64` hours, rates and shares fractions in [0, 1], as everywhere in
//! flowmap. A missing value is shown as the caller's `missing` marker, never as 0.
//!
//! - Durations use at most two units, largest first: `45s`, `12m`, `5h 30m`, `3d 4h`,
//!   `1w 6d`, `2y 3w` — on cards, in tables and on chart axes alike. They never show a
//!   negative or non-finite value as a measurement.
//! - Rates stay honest when small: `3.2 / week`, `2.5 / month`, `1 per 5 months`, never
//!   `0.0 / week` for something that does happen.
//! - Differences of ratios are percentage points.

use crate::dora::FailureReason;
use crate::map::format_hours;

/// A duration short enough for a table cell, in at most two units ([`duration`]):
/// `45m`, `5h 8m`, `3d 5h`, `6w`.
pub fn hours_short(hours: f64) -> String {
    duration(hours)
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

/// Seconds in each unit a duration may be written in, largest first.
const UNITS: [(&str, f64); 6] = [
    ("y", 365.0 * 86_400.0),
    ("w", 7.0 * 86_400.0),
    ("d", 86_400.0),
    ("h", 3_600.0),
    ("m", 60.0),
    ("s", 1.0),
];

/// Days in an average month, for rates per month.
const MONTH_DAYS: f64 = 365.25 / 12.0;

/// A duration in hours in at most two units, rounded to the smaller one:
/// `0.75` → `45m`, `12.9` → `12h 54m`, `316` → `1w 6d`. Zero is `0m`; a negative or
/// non-finite value (never a measurement) is `—`.
///
/// ```
/// use flowmap_core::format::duration;
/// assert_eq!(duration(316.0), "1w 6d");
/// assert_eq!(duration(12.9), "12h 54m");
/// assert_eq!(duration(0.75), "45m");
/// ```
pub fn duration(hours: f64) -> String {
    if !hours.is_finite() || hours < 0.0 {
        return "—".to_owned();
    }
    let seconds = hours * 3_600.0;
    if seconds < 0.5 {
        return "0m".to_owned();
    }
    if seconds < 60.0 {
        return format!("{}s", seconds.round() as u64);
    }
    // The largest unit that fits, then the next one down. Rounding happens first, to
    // the smaller unit, so that 59.6 minutes reads as `1h`, not `60m`.
    let unit_of = |secs: f64| {
        UNITS
            .iter()
            .position(|&(_, size)| secs >= size)
            .unwrap_or(UNITS.len() - 1)
    };
    // Seconds are only shown alone: below an hour, minutes are the finest unit.
    let granularity = |big: usize| match UNITS.get(big + 1) {
        Some(&(name, size)) if name != "s" => size,
        _ => UNITS[big].1,
    };
    let round_to = |big: usize| (seconds / granularity(big)).round() * granularity(big);
    let mut big = unit_of(seconds);
    let mut rounded = round_to(big);
    // Rounding may carry into a larger unit (never a smaller one).
    if unit_of(rounded) < big {
        big = unit_of(rounded);
        rounded = round_to(big);
    }
    let (big_name, big_size) = UNITS[big];
    let small_size = granularity(big);
    let mut whole = (rounded / big_size).floor();
    let mut rest = ((rounded - whole * big_size) / small_size).round();
    // A remainder within one small unit of the next big one (52 weeks of a year) is it.
    if (whole + 1.0) * big_size - rounded < small_size {
        whole += 1.0;
        rest = 0.0;
    }
    if rest == 0.0 || small_size == big_size {
        return format!("{}{big_name}", whole as u64);
    }
    let small_name = UNITS[big + 1].0;
    format!("{}{big_name} {}{small_name}", whole as u64, rest as u64)
}

/// An optional duration: `—` when there is none.
pub fn maybe_duration(hours: Option<f64>) -> String {
    hours.map_or_else(|| "—".to_owned(), duration)
}

/// How often something happened: `count` times in `days` days, in the largest unit that
/// gives at least one: `3.2 / week`, `2.5 / month`, else `1 per 5 months` or
/// `1 per 2 years`. Zero is `none`.
///
/// ```
/// use flowmap_core::format::rate;
/// assert_eq!(rate(5, 730.0), "1 per 5 months");
/// assert_eq!(rate(40, 91.0), "3.1 / week");
/// assert_eq!(rate(0, 91.0), "none");
/// ```
pub fn rate(count: u64, days: f64) -> String {
    if count == 0 || !days.is_finite() || days <= 0.0 {
        return "none".to_owned();
    }
    let count = count as f64;
    let per_week = count / days * 7.0;
    if per_week >= 1.0 {
        return format!("{} / week", decimal(per_week));
    }
    let per_month = count / days * MONTH_DAYS;
    if per_month >= 1.0 {
        return format!("{} / month", decimal(per_month));
    }
    let months_apart = (days / count / MONTH_DAYS).round() as u64;
    if months_apart < 12 {
        return format!("1 per {months_apart} months");
    }
    let years_apart = (days / count / 365.25).round() as u64;
    if years_apart <= 1 {
        "1 per year".to_owned()
    } else {
        format!("1 per {years_apart} years")
    }
}

/// A number with one decimal below 10 and none above: `3.2`, `12`, `0.4`.
pub fn decimal(value: f64) -> String {
    if !value.is_finite() {
        return "—".to_owned();
    }
    if value.abs() >= 10.0 {
        format!("{}", value.round() as i64)
    } else {
        let text = format!("{value:.1}");
        if text == "-0.0" {
            "0.0".to_owned()
        } else {
            text
        }
    }
}

/// An optional fraction as a percentage: `—` when there is none.
pub fn maybe_percent(fraction: Option<f64>) -> String {
    or_missing(fraction, "—", percent)
}

/// The difference of two fractions in percentage points, signed: `+3.2 pp`, `-10 pp`,
/// `0 pp`.
pub fn percentage_points(delta: f64) -> String {
    if !delta.is_finite() {
        return "—".to_owned();
    }
    let text = trimmed(delta * 100.0, 1);
    match text.as_str() {
        "0" => "0 pp".to_owned(),
        t if t.starts_with('-') => format!("{t} pp"),
        t => format!("+{t} pp"),
    }
}

/// `value` with at most `decimals` decimals, trailing zeros dropped, never `-0`.
pub fn trimmed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    if text == "-0" { "0".to_owned() } else { text }
}

/// Short labels for consecutive ISO weeks (`2026-W52`): the week number alone
/// (`W52`), with the year on the first week and on every week whose year differs from the
/// one before (`2027 W01`), so a chart across New Year stays readable.
///
/// ```
/// use flowmap_core::format::week_labels;
/// assert_eq!(week_labels(&["2026-W52", "2026-W53", "2027-W01"]), ["2026 W52", "W53", "2027 W01"]);
/// ```
pub fn week_labels<S: AsRef<str>>(weeks: &[S]) -> Vec<String> {
    let mut previous_year: Option<&str> = None;
    weeks
        .iter()
        .map(|week| {
            let week = week.as_ref();
            let Some((year, number)) = week.split_once('-') else {
                return week.to_owned();
            };
            let label = if previous_year == Some(year) {
                number.to_owned()
            } else {
                format!("{year} {number}")
            };
            previous_year = Some(year);
            label
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::DeploymentKind;

    #[test]
    fn durations_are_short() {
        assert_eq!(or_missing(None, "—", hours_short), "—");
        assert_eq!(hours_short(0.75), "45m");
        assert_eq!(hours_short(5.14), "5h 8m");
        assert_eq!(hours_short(76.8), "3d 5h");
        assert_eq!(hours_short(1008.0), "6w");
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

    #[test]
    fn durations_use_two_units_at_most() {
        assert_eq!(duration(0.0), "0m");
        assert_eq!(duration(0.5 / 3600.0), "1s");
        assert_eq!(duration(59.0 / 3600.0), "59s");
        assert_eq!(duration(1.0 / 60.0), "1m");
        assert_eq!(duration(0.75), "45m");
        assert_eq!(duration(59.6 / 60.0), "1h");
        assert_eq!(duration(1.0), "1h");
        assert_eq!(duration(5.5), "5h 30m");
        assert_eq!(duration(12.9), "12h 54m");
        assert_eq!(duration(23.999), "1d");
        assert_eq!(duration(28.0), "1d 4h");
        assert_eq!(duration(316.0), "1w 6d");
        assert_eq!(duration(296.84), "1w 5d");
        assert_eq!(duration(913.06), "5w 3d");
        assert_eq!(duration(24.0 * 365.0), "1y");
        assert_eq!(duration(24.0 * 400.0), "1y 5w");
        assert_eq!(duration(1e12).split(' ').count(), 2);
    }

    #[test]
    fn durations_refuse_what_is_not_a_measurement() {
        assert_eq!(duration(-1.0), "—");
        assert_eq!(duration(f64::NAN), "—");
        assert_eq!(duration(f64::INFINITY), "—");
        assert_eq!(maybe_duration(None), "—");
    }

    #[test]
    fn rates_stay_honest_when_small() {
        assert_eq!(rate(5, 730.0), "1 per 5 months");
        assert_eq!(rate(1, 90.0), "1 per 3 months");
        assert_eq!(rate(1, 3650.0), "1 per 10 years");
        assert_eq!(rate(1, 365.0), "1 per year");
        assert_eq!(rate(3, 90.0), "1.0 / month");
        assert_eq!(rate(7, 7.0), "7.0 / week");
        assert_eq!(rate(700, 7.0), "700 / week");
        assert_eq!(rate(0, 90.0), "none");
        assert_eq!(rate(3, 0.0), "none");
        assert!(rate(u64::MAX, 1.0).ends_with("/ week"));
    }

    #[test]
    fn percentages_and_points() {
        assert_eq!(maybe_percent(Some(0.125)), "12.5%");
        assert_eq!(maybe_percent(None), "—");
        assert_eq!(percentage_points(0.032), "+3.2 pp");
        assert_eq!(percentage_points(-0.1), "-10 pp");
        assert_eq!(percentage_points(-0.00001), "0 pp");
        assert_eq!(percentage_points(f64::NAN), "—");
        assert_eq!(decimal(-0.01), "0.0");
    }

    #[test]
    fn week_labels_carry_the_year_across_new_year() {
        assert_eq!(week_labels(&["2026-W51", "2026-W52"]), ["2026 W51", "W52"]);
        assert_eq!(
            week_labels(&["2026-W53", "2027-W01"]),
            ["2026 W53", "2027 W01"]
        );
        assert!(week_labels::<&str>(&[]).is_empty());
        assert_eq!(week_labels(&["odd"]), ["odd"]);
    }
}
