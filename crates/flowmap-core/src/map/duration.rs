//! Durations and ranges as people write them in a map: `45s`, `30m`, `4h`, `2d`, `1w`,
//! `1d 4h`, `0`, and ranges `2h..6h`.
//!
//! Durations are calendar time (`d` = 24 h, `w` = 7 d) held as hours in an `f64`, the unit
//! of every number flowmap reports.

use std::fmt;

use serde::Serialize;

/// A time estimate: a single value, or a range `low..high` meaning "somewhere between".
///
/// Both ends are hours. A single value has `low == high`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Estimate {
    pub low: f64,
    pub high: f64,
}

impl Estimate {
    /// An exact value of `hours`.
    pub const fn exact(hours: f64) -> Self {
        Estimate {
            low: hours,
            high: hours,
        }
    }

    /// The point value used by the analysis: the midpoint of a range.
    pub fn point(self) -> f64 {
        (self.low + self.high) / 2.0
    }

    /// Whether this is a true range (`low < high`), which makes the map need a simulation.
    pub fn is_range(self) -> bool {
        self.low < self.high
    }
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_range() {
            write!(f, "{}..{}", format_hours(self.low), format_hours(self.high))
        } else {
            f.write_str(&format_hours(self.low))
        }
    }
}

/// Why a text is not a duration or an estimate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("expected a duration such as `30m`, `4h`, `2d` or `1d 4h`")]
    Empty,
    #[error(
        "`{text}` is not a duration: expected a number before `{found}` (e.g. `30m`, `4h`, `1d 4h`)"
    )]
    NoNumber { text: String, found: char },
    #[error("`{0}` is not a number")]
    BadNumber(String),
    #[error("`{text}` needs a unit: s, m, h, d or w (e.g. `{number}h`)")]
    NoUnit { text: String, number: String },
    #[error("`{0}` is not a duration unit: use s, m, h, d (24h) or w (7d)")]
    BadUnit(String),
    #[error("`{0}` is too large a duration")]
    TooLarge(String),
    #[error("range `{0}` runs backwards: its start must not exceed its end")]
    Backwards(String),
}

/// Parses an estimate: a duration, or a range `a..b` of two durations with `a ≤ b`.
///
/// ```
/// use flowmap_core::map::{parse_estimate, Estimate};
/// assert_eq!(parse_estimate("1d..3d"), Ok(Estimate { low: 24.0, high: 72.0 }));
/// assert_eq!(parse_estimate("30m"), Ok(Estimate::exact(0.5)));
/// ```
pub fn parse_estimate(text: &str) -> Result<Estimate, DurationError> {
    match text.split_once("..") {
        Some((low, high)) => {
            let low = parse_duration(low)?;
            let high = parse_duration(high)?;
            if low > high {
                return Err(DurationError::Backwards(text.trim().to_owned()));
            }
            Ok(Estimate { low, high })
        }
        None => parse_duration(text).map(Estimate::exact),
    }
}

/// Parses one duration into hours: one or more `<number><unit>` parts (units `s`, `m`,
/// `h`, `d`, `w`), optionally separated by spaces, or a bare `0`.
///
/// ```
/// use flowmap_core::map::parse_duration;
/// assert_eq!(parse_duration("1d 4h"), Ok(28.0));
/// assert_eq!(parse_duration("1.5h"), Ok(1.5));
/// assert_eq!(parse_duration("0"), Ok(0.0));
/// assert!(parse_duration("4").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<f64, DurationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationError::Empty);
    }
    if trimmed.parse::<f64>() == Ok(0.0) {
        return Ok(0.0);
    }
    let mut hours = 0.0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return Err(DurationError::NoNumber {
                text: trimmed.to_owned(),
                found: rest.chars().next().unwrap_or_default(),
            });
        }
        let number: f64 = rest[..number_len]
            .parse()
            .map_err(|_| DurationError::BadNumber(rest[..number_len].to_owned()))?;
        rest = rest[number_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit_hours = match &rest[..unit_len] {
            "s" => 1.0 / 3600.0,
            "m" | "min" => 1.0 / 60.0,
            "h" => 1.0,
            "d" => 24.0,
            "w" => 168.0,
            "" => {
                return Err(DurationError::NoUnit {
                    text: trimmed.to_owned(),
                    number: number.to_string(),
                });
            }
            other => {
                return Err(DurationError::BadUnit(other.to_owned()));
            }
        };
        hours += number * unit_hours;
        rest = rest[unit_len..].trim_start();
    }
    if !hours.is_finite() {
        return Err(DurationError::TooLarge(trimmed.to_owned()));
    }
    Ok(hours)
}

/// Formats hours the way people write them in a map: `30m`, `4h`, `1d 4h`, `2w 1d`.
///
/// Values are rounded to the minute (to the second below one minute); parts that are
/// zero are left out. Zero is `0`.
///
/// ```
/// use flowmap_core::map::format_hours;
/// assert_eq!(format_hours(28.0), "1d 4h");
/// assert_eq!(format_hours(0.75), "45m");
/// assert_eq!(format_hours(0.0), "0");
/// ```
pub fn format_hours(hours: f64) -> String {
    if !hours.is_finite() {
        return "∞".into();
    }
    let seconds = (hours.abs() * 3600.0).round() as u64;
    if seconds < 60 {
        let sign = if hours < 0.0 && seconds > 0 { "-" } else { "" };
        return if seconds == 0 {
            "0".into()
        } else {
            format!("{sign}{seconds}s")
        };
    }
    let total_minutes = (hours.abs() * 60.0).round() as u64;
    let parts = [
        (total_minutes / (7 * 24 * 60), "w"),
        (total_minutes / (24 * 60) % 7, "d"),
        (total_minutes / 60 % 24, "h"),
        (total_minutes % 60, "m"),
    ];
    let text = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect::<Vec<_>>()
        .join(" ");
    if hours < 0.0 {
        format!("-{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_unit_and_combination() {
        assert_eq!(parse_duration("45s"), Ok(45.0 / 3600.0));
        assert_eq!(parse_duration("30m"), Ok(0.5));
        assert_eq!(parse_duration("4h"), Ok(4.0));
        assert_eq!(parse_duration("2d"), Ok(48.0));
        assert_eq!(parse_duration("1w"), Ok(168.0));
        assert_eq!(parse_duration("1w 2d 3h 30m"), Ok(168.0 + 48.0 + 3.5));
        assert_eq!(parse_duration("1d4h"), Ok(28.0));
        assert_eq!(parse_duration(" 0 "), Ok(0.0));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        assert!(
            parse_duration("4")
                .unwrap_err()
                .to_string()
                .contains("needs a unit")
        );
        assert!(
            parse_duration("4y")
                .unwrap_err()
                .to_string()
                .contains("not a duration unit")
        );
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1..2..3h").is_err());
        assert!(
            parse_estimate("3d..1d")
                .unwrap_err()
                .to_string()
                .contains("backwards")
        );
    }

    #[test]
    fn range_point_is_the_midpoint() {
        let e = parse_estimate("1d..3d").unwrap();
        assert_eq!(e.point(), 48.0);
        assert!(e.is_range());
        assert_eq!(e.to_string(), "1d..3d");
    }

    #[test]
    fn formats_like_people_write() {
        assert_eq!(format_hours(168.0 + 24.0), "1w 1d");
        assert_eq!(format_hours(1.5), "1h 30m");
        assert_eq!(format_hours(45.0 / 3600.0), "45s");
        assert_eq!(format_hours(-2.0), "-2h");
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse_estimate(&text);
        }

        #[test]
        fn formatted_whole_minutes_parse_back(minutes in 0u64..10_000_000) {
            let hours = minutes as f64 / 60.0;
            let back = parse_duration(&format_hours(hours)).unwrap();
            prop_assert!((back - hours).abs() < 1e-9);
        }
    }
}
