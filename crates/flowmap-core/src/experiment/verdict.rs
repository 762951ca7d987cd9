//! An experiment's verdict: the before and after samples compared, and one sentence that
//! says what the data shows and no more.
//!
//! Rules:
//! - `insufficient data` when either side has fewer items than the metric needs (8 items;
//!   for deployment frequency 4 complete weeks). The shift, interval and p are still given.
//! - `improved` when the whole 95 % interval lies strictly on the good side of 0 (below for
//!   times and rates, above for frequency), `worsened` when strictly on the bad side, and
//!   `inconclusive` otherwise — an interval that touches or contains 0, or none at all.

use serde::Serialize;

use super::mann_whitney::mann_whitney_p;
use super::rates::{fisher_exact_p, newcombe_interval};
use super::shift::hodges_lehmann;

/// What an experiment concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "insufficient data")]
    InsufficientData,
    #[serde(rename = "improved")]
    Improved,
    #[serde(rename = "worsened")]
    Worsened,
    #[serde(rename = "inconclusive")]
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::InsufficientData => "insufficient data",
            Verdict::Improved => "improved",
            Verdict::Worsened => "worsened",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// Which way is better for a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Times and rates.
    Lower,
    /// Deployment frequency.
    Higher,
}

/// The unit a metric's values and shift are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Hours,
    PerWeek,
    /// A proportion in [0, 1], spoken as percentage points.
    Fraction,
}

/// What is being compared, for the verdict rules and the sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject<'a> {
    /// The metric in words: "lead time", "change fail rate", "the review step".
    pub name: &'a str,
    pub unit: Unit,
    pub better: Better,
    /// What one item of the sample is, plural: "changes", "deployments", "weeks".
    pub items: &'a str,
    /// The fewest items a side needs for a verdict.
    pub minimum: u64,
}

/// The fewest items per side for a verdict (changes, failures, deployments).
pub const MINIMUM_ITEMS: u64 = 8;
/// The fewest complete weeks per side for a deployment frequency verdict.
pub const MINIMUM_WEEKS: u64 = 4;

/// The comparison of a before and an after sample.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// After minus before: the Hodges–Lehmann shift, or p₂ − p₁ for rates.
    pub shift: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub p_value: Option<f64>,
    pub verdict: Verdict,
    pub sentence: String,
}

/// Compares two samples of durations or weekly counts: Hodges–Lehmann shift and interval,
/// Mann–Whitney p.
pub fn compare_samples(subject: &Subject<'_>, before: &[f64], after: &[f64]) -> Comparison {
    let estimate = hodges_lehmann(before, after);
    let p_value = mann_whitney_p(before, after);
    decide(
        subject,
        (before.len() as u64, after.len() as u64),
        estimate.map(|e| e.shift),
        estimate.and_then(|e| e.ci_low.zip(e.ci_high)),
        p_value,
    )
}

/// Compares two proportions, `before_k` of `before_n` against `after_k` of `after_n`:
/// difference with Newcombe's interval, Fisher's exact p.
pub fn compare_proportions(
    subject: &Subject<'_>,
    (before_k, before_n): (u64, u64),
    (after_k, after_n): (u64, u64),
) -> Comparison {
    let interval = newcombe_interval(before_k, before_n, after_k, after_n);
    decide(
        subject,
        (before_n, after_n),
        interval.map(|(d, _, _)| d),
        interval.map(|(_, low, high)| (low, high)),
        fisher_exact_p(before_k, before_n, after_k, after_n),
    )
}

fn decide(
    subject: &Subject<'_>,
    (n_before, n_after): (u64, u64),
    shift: Option<f64>,
    interval: Option<(f64, f64)>,
    p_value: Option<f64>,
) -> Comparison {
    let shift = shift.filter(|v| v.is_finite());
    let interval = interval.filter(|(l, h)| l.is_finite() && h.is_finite());
    let p_value = p_value.filter(|v| v.is_finite());
    let verdict = if n_before < subject.minimum || n_after < subject.minimum {
        Verdict::InsufficientData
    } else {
        match interval {
            Some((low, high)) if high < 0.0 || low > 0.0 => {
                let lower = high < 0.0;
                if lower == (subject.better == Better::Lower) {
                    Verdict::Improved
                } else {
                    Verdict::Worsened
                }
            }
            _ => Verdict::Inconclusive,
        }
    };
    let sentence = sentence(
        subject,
        verdict,
        (n_before, n_after),
        shift,
        interval,
        p_value,
    );
    Comparison {
        shift,
        ci_low: interval.map(|(l, _)| l),
        ci_high: interval.map(|(_, h)| h),
        p_value,
        verdict,
        sentence,
    }
}

/// The sentence: size, interval, p and both n, worded by the verdict so it never claims
/// more than the interval shows.
fn sentence(
    subject: &Subject<'_>,
    verdict: Verdict,
    (n_before, n_after): (u64, u64),
    shift: Option<f64>,
    interval: Option<(f64, f64)>,
    p_value: Option<f64>,
) -> String {
    let counts = format!("{n_before} → {n_after} {}", subject.items);
    let p = p_value.map_or_else(|| "p unknown".to_string(), format_p);
    let name = subject.name;
    let Some(shift) = shift else {
        return format!("{name}: no comparison possible, one side has no data ({counts})");
    };
    let interval_text = |(low, high): (f64, f64)| {
        format!(
            "95 % CI {} to {}",
            amount(subject.unit, low, true),
            amount(subject.unit, high, true)
        )
    };
    match verdict {
        Verdict::Improved | Verdict::Worsened => {
            // Both bounds on one side of 0: say the direction and give the interval as
            // magnitudes, smaller first.
            let (low, high) = interval.unwrap_or((shift, shift));
            let (near, far) = if high < 0.0 {
                (-high, -low)
            } else {
                (low, high)
            };
            let moved = if shift < 0.0 { "fell" } else { "rose" };
            format!(
                "{name} {moved} by {} (95 % CI {} to {}; {p}; {counts})",
                amount(subject.unit, shift.abs(), false),
                amount(subject.unit, near, false),
                amount(subject.unit, far, false),
            )
        }
        Verdict::Inconclusive => match interval {
            Some(interval) => format!(
                "no clear change in {name}: shift {} but the {} includes no change ({p}; {counts})",
                amount(subject.unit, shift, true),
                interval_text(interval)
            ),
            None => format!(
                "no clear change in {name}: shift {}, too few items for an interval ({p}; {counts})",
                amount(subject.unit, shift, true)
            ),
        },
        Verdict::InsufficientData => {
            let interval = interval.map_or_else(|| "no interval".to_string(), interval_text);
            format!(
                "insufficient data for {name}: {counts}, at least {} {} needed on each side (shift {}; {interval}; {p})",
                subject.minimum,
                subject.items,
                amount(subject.unit, shift, true)
            )
        }
    }
}

/// A value in the subject's unit for a sentence, with a sign when `signed`.
fn amount(unit: Unit, value: f64, signed: bool) -> String {
    let (number, suffix) = match unit {
        Unit::Hours => (value, " h"),
        Unit::PerWeek => (value, "/week"),
        Unit::Fraction => (value * 100.0, " points"),
    };
    let text = significant(number.abs());
    let sign = if !signed || text == "0" {
        ""
    } else if number < 0.0 {
        "−"
    } else {
        "+"
    };
    format!("{sign}{text}{suffix}")
}

/// Two significant figures (whole numbers from 100 up): "9.5", "16", "0.042", "130".
fn significant(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return "0".into();
    }
    if value >= 100.0 {
        return format!("{value:.0}");
    }
    let decimals = (1 - value.log10().floor() as i32).max(0) as usize;
    let text = format!("{value:.decimals$}");
    // Rounding can carry into a new digit ("9.96" → "10.0"): drop what is then spurious.
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.');
        trimmed.to_string()
    } else {
        text
    }
}

/// A p-value as a reader expects it: "p = 0.004", "p = 0.31", "p < 0.001".
fn format_p(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {}", significant(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAD_TIME: Subject<'static> = Subject {
        name: "lead time",
        unit: Unit::Hours,
        better: Better::Lower,
        items: "changes",
        minimum: MINIMUM_ITEMS,
    };

    const FREQUENCY: Subject<'static> = Subject {
        name: "deployment frequency",
        unit: Unit::PerWeek,
        better: Better::Higher,
        items: "weeks",
        minimum: MINIMUM_WEEKS,
    };

    const FAIL_RATE: Subject<'static> = Subject {
        name: "change fail rate",
        unit: Unit::Fraction,
        better: Better::Lower,
        items: "deployments",
        minimum: MINIMUM_ITEMS,
    };

    #[test]
    fn a_clear_drop_in_lead_time_is_an_improvement() {
        let before: Vec<f64> = (0..20).map(|i| 30.0 + f64::from(i)).collect();
        let after: Vec<f64> = (0..20).map(|i| 15.0 + f64::from(i)).collect();
        let result = compare_samples(&LEAD_TIME, &before, &after);
        assert_eq!(result.verdict, Verdict::Improved);
        let (low, high) = (result.ci_low.unwrap(), result.ci_high.unwrap());
        assert!(low <= result.shift.unwrap() && result.shift.unwrap() <= high && high < 0.0);
        assert!(
            result
                .sentence
                .starts_with("lead time fell by 15 h (95 % CI "),
            "{}",
            result.sentence
        );
        assert!(
            result.sentence.ends_with("; 20 → 20 changes)"),
            "{}",
            result.sentence
        );
    }

    #[test]
    fn a_rise_in_frequency_is_an_improvement_and_a_rise_in_time_is_not() {
        let before = [2.0, 3.0, 2.0, 3.0, 2.0, 3.0];
        let after = [9.0, 10.0, 9.0, 10.0, 9.0, 10.0];
        let faster = compare_samples(&FREQUENCY, &before, &after);
        assert_eq!(faster.verdict, Verdict::Improved);
        assert!(
            faster
                .sentence
                .starts_with("deployment frequency rose by 7/week")
        );
        let slower = compare_samples(
            &LEAD_TIME,
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            &[21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0],
        );
        assert_eq!(slower.verdict, Verdict::Worsened);
        assert!(slower.sentence.starts_with("lead time rose by 20 h"));
    }

    #[test]
    fn overlapping_samples_are_inconclusive_and_say_so() {
        let before = [5.0, 9.0, 2.0, 7.0, 4.0, 8.0, 6.0, 3.0, 1.0];
        let after = [6.0, 3.0, 8.0, 2.0, 9.0, 5.0, 4.0, 7.0, 10.0];
        let result = compare_samples(&LEAD_TIME, &before, &after);
        assert_eq!(result.verdict, Verdict::Inconclusive);
        assert!(result.sentence.starts_with("no clear change in lead time"));
        assert!(result.sentence.contains("includes no change"));
        assert!(result.ci_low.unwrap() <= 0.0 && result.ci_high.unwrap() >= 0.0);
    }

    #[test]
    fn too_few_items_is_never_a_verdict() {
        let result = compare_samples(&LEAD_TIME, &[50.0; 7], &[1.0; 100]);
        assert_eq!(result.verdict, Verdict::InsufficientData);
        // The numbers are still reported.
        assert_eq!(result.shift, Some(-49.0));
        assert!(result.p_value.is_some());
        assert!(
            result
                .sentence
                .starts_with("insufficient data for lead time: 7 → 100 changes")
        );
        let weeks = compare_samples(&FREQUENCY, &[1.0, 2.0, 3.0], &[8.0, 9.0, 9.0, 9.0]);
        assert_eq!(weeks.verdict, Verdict::InsufficientData);
    }

    #[test]
    fn empty_sides_give_nulls_not_nan() {
        let result = compare_samples(&LEAD_TIME, &[], &[1.0, 2.0]);
        assert_eq!(result.verdict, Verdict::InsufficientData);
        assert_eq!(
            (result.shift, result.ci_low, result.p_value),
            (None, None, None)
        );
        let rates = compare_proportions(&FAIL_RATE, (0, 0), (0, 0));
        assert_eq!(rates.shift, None);
        assert_eq!(rates.verdict, Verdict::InsufficientData);
    }

    #[test]
    fn a_falling_fail_rate_is_spoken_in_points() {
        // 30 of 100 before, 5 of 100 after: Newcombe's interval lies below 0.
        let result = compare_proportions(&FAIL_RATE, (30, 100), (5, 100));
        assert_eq!(result.verdict, Verdict::Improved);
        assert!((result.shift.unwrap() + 0.25).abs() < 1e-12);
        assert!(
            result
                .sentence
                .starts_with("change fail rate fell by 25 points (95 % CI "),
            "{}",
            result.sentence
        );
        assert!(result.sentence.contains("p < 0.001"));
        assert!(result.sentence.ends_with("100 → 100 deployments)"));
    }

    #[test]
    fn significant_figures_and_p() {
        assert_eq!(significant(9.5), "9.5");
        assert_eq!(significant(16.2), "16");
        assert_eq!(significant(3.12), "3.1");
        assert_eq!(significant(0.0423), "0.042");
        assert_eq!(significant(9.96), "10");
        assert_eq!(significant(131.4), "131");
        assert_eq!(format_p(0.0041), "p = 0.0041");
        assert_eq!(format_p(0.31), "p = 0.31");
        assert_eq!(format_p(1.0), "p = 1");
        assert_eq!(format_p(0.0002), "p < 0.001");
    }
}
