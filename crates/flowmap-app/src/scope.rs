//! What a report is about: the one default window every view uses, the services a
//! report may name, and — when a window holds nothing — where the data is.

use flowmap_core::dora::{DEFAULT_WINDOW, DoraOptions, DoraReport};
use flowmap_core::map::closest;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::{App, AppError};

/// The window of a report: `[since, until)`, and whether it is the default one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub since: Timestamp,
    pub until: Timestamp,
    /// Neither bound was chosen: the window is the default, the 90 days before now.
    pub is_default: bool,
}

impl Window {
    /// The window for the bounds a person chose, if any. The one default, used by
    /// `flowmap dora`, the API, every page and `/metrics`: `until` is now, to the whole
    /// minute (so every request within a minute asks the same question, and a cached
    /// report can answer it), `since` is 90 days before `until`.
    pub fn choose(since: Option<Timestamp>, until: Option<Timestamp>, now: Timestamp) -> Window {
        let minute = now.as_second().div_euclid(60) * 60;
        let now = Timestamp::from_second(minute).unwrap_or(now);
        let until_or_now = until.unwrap_or(now);
        Window {
            since: since.unwrap_or(until_or_now - DEFAULT_WINDOW),
            until: until_or_now,
            is_default: since.is_none() && until.is_none(),
        }
    }

    /// How many whole days the default window spans.
    pub fn default_days() -> i64 {
        DEFAULT_WINDOW.as_hours() / 24
    }

    /// The window in words: `the last 90 days (2026-09-02 to 2026-12-01)` for the
    /// default, `2026-01-01 to 2026-03-31` otherwise (the last day shown is the last one
    /// included).
    pub fn describe(&self) -> String {
        let range = format!(
            "{} to {}",
            day(self.since),
            day(self.until - SignedDuration::from_millis(1))
        );
        if self.is_default {
            format!("the last {} days ({range})", Window::default_days())
        } else {
            range
        }
    }
}

/// The UTC date of `at`.
pub fn day(at: Timestamp) -> Date {
    TimeZone::UTC.to_datetime(at).date()
}

/// Where a scope's data lies when the chosen window holds none of it, and the window
/// that covers it: whole UTC days from the first record's to the last one's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataRange {
    pub first: Timestamp,
    pub last: Timestamp,
    /// The first day with data (`--since`).
    pub since: Date,
    /// The day after the last day with data (`--until`, exclusive).
    pub until: Date,
}

impl DataRange {
    /// The range as a window.
    pub fn window(&self) -> Window {
        let midnight = |d: Date| {
            TimeZone::UTC
                .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
                .unwrap_or(Timestamp::MAX)
        };
        Window {
            since: midnight(self.since),
            until: midnight(self.until),
            is_default: false,
        }
    }
}

/// Whether a report counted nothing: no deployment and no change shipped in its window.
pub fn is_empty(report: &DoraReport) -> bool {
    report.metrics.deployment_frequency.deployments == 0 && report.metrics.lead_time.changes == 0
}

impl App {
    /// Checks that every service `options` names has data; an unknown one is
    /// [`AppError::NotFound`] with the nearest known name, or the known names.
    pub async fn check_services(&self, options: &DoraOptions) -> Result<(), AppError> {
        if options.services.is_empty() {
            return Ok(());
        }
        let known = self.reports.services().await?;
        for name in &options.services {
            if known.contains(name) {
                continue;
            }
            return Err(AppError::NotFound(unknown_name(
                "service",
                name,
                known.as_slice(),
            )));
        }
        Ok(())
    }

    /// Checks environments a user named (not the default): one that no deployment went
    /// to is [`AppError::NotFound`] with the nearest known name, or the known names. With
    /// no deployment at all there is nothing to compare with, and the empty report's
    /// hints speak instead.
    pub async fn check_environments(&self, environments: &[String]) -> Result<(), AppError> {
        if environments.is_empty() {
            return Ok(());
        }
        let known = self.reports.environments().await?;
        if known.is_empty() {
            return Ok(());
        }
        for name in environments {
            if !known.contains(name) {
                return Err(AppError::NotFound(unknown_name(
                    "environment",
                    name,
                    known.as_slice(),
                )));
            }
        }
        Ok(())
    }

    /// When `report` counted nothing but its scope (services, environments) has data
    /// elsewhere in time: where that data is.
    pub async fn data_range(
        &self,
        options: &DoraOptions,
        report: &DoraReport,
    ) -> Result<Option<DataRange>, AppError> {
        if !is_empty(report) {
            return Ok(None);
        }
        self.data_extent(options).await
    }

    /// Where the data of `options`' scope (services, environments) lies in time, as
    /// whole days; `None` when the scope holds no deployment or change.
    pub async fn data_extent(&self, options: &DoraOptions) -> Result<Option<DataRange>, AppError> {
        let Some(extent) = self
            .reports
            .extent(&options.services, &options.environments)
            .await?
        else {
            return Ok(None);
        };
        let since = day(extent.first);
        let until = day(extent.last)
            .tomorrow()
            .map_err(|err| AppError::Invalid(format!("the data's last day: {err}")))?;
        Ok(Some(DataRange {
            first: extent.first,
            last: extent.last,
            since,
            until,
        }))
    }
}

/// `no service "nope": did you mean "shop"?` — or the known names when none is close.
/// `kind` is what is named: `service` or `environment`.
fn unknown_name(kind: &str, name: &str, known: &[String]) -> String {
    if known.is_empty() {
        return format!("no {kind} {name:?}: the database holds no data yet");
    }
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    if let Some(near) = closest(name, &names) {
        return format!("no {kind} {name:?}: did you mean {near:?}?");
    }
    const LISTED: usize = 10;
    let mut list = names
        .iter()
        .take(LISTED)
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LISTED {
        list.push_str(&format!(" and {} more", names.len() - LISTED));
    }
    format!("no {kind} {name:?}; known {kind}s: {list}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn the_default_window_is_the_90_days_before_now() {
        let window = Window::choose(None, None, t("2026-12-01T10:00:59.5Z"));
        assert_eq!(window.since, t("2026-09-02T10:00:00Z"));
        assert_eq!(window.until, t("2026-12-01T10:00:00Z"));
        assert!(window.is_default);
        assert_eq!(
            window.describe(),
            "the last 90 days (2026-09-02 to 2026-12-01)"
        );
        let chosen = Window::choose(
            Some(t("2026-01-01T00:00:00Z")),
            Some(t("2026-04-01T00:00:00Z")),
            t("2026-12-01T10:00:00Z"),
        );
        assert!(!chosen.is_default);
        assert_eq!(chosen.describe(), "2026-01-01 to 2026-03-31");
        let until_only = Window::choose(
            None,
            Some(t("2026-04-01T00:00:00Z")),
            t("2030-01-01T00:00:00Z"),
        );
        assert_eq!(until_only.since, t("2026-01-01T00:00:00Z"));
        assert!(!until_only.is_default);
    }

    #[test]
    fn unknown_services_get_the_nearest_name_or_the_list() {
        let known = vec!["checkout".to_owned(), "payments".to_owned()];
        assert_eq!(
            unknown_name("service", "chekout", &known),
            "no service \"chekout\": did you mean \"checkout\"?"
        );
        assert_eq!(
            unknown_name("service", "nope", &known),
            "no service \"nope\"; known services: \"checkout\", \"payments\""
        );
        assert!(unknown_name("service", "x", &[]).contains("no data yet"));
        let environments = vec!["production".to_owned(), "staging".to_owned()];
        assert_eq!(
            unknown_name("environment", "prodution", &environments),
            "no environment \"prodution\": did you mean \"production\"?"
        );
        assert_eq!(
            unknown_name("environment", "eu", &environments),
            "no environment \"eu\"; known environments: \"production\", \"staging\""
        );
    }

    #[test]
    fn a_data_range_covers_whole_days() {
        let range = DataRange {
            first: t("2019-03-04T15:00:00Z"),
            last: t("2021-07-01T23:30:00Z"),
            since: "2019-03-04".parse().unwrap(),
            until: "2021-07-02".parse().unwrap(),
        };
        let window = range.window();
        assert_eq!(window.since, t("2019-03-04T00:00:00Z"));
        assert_eq!(window.until, t("2021-07-02T00:00:00Z"));
    }
}
