//! DORA's five software delivery metrics, computed from delivery events and explained
//! (SPEC §5).
//!
//! [`compute`] is a pure function: slices of [`Deployment`]s, [`Change`]s and
//! [`Incident`]s plus [`DoraOptions`] in, a [`DoraReport`] out. It computes
//!
//! - **deployment frequency**: successful deployments finished in [since, until), per week,
//!   deployment days per week, and the median deployment days of the complete ISO weeks;
//! - **change lead time**: deployment `finished_at` − change `committed_at`, for the changes
//!   whose deployment finished in the window (median and p90, hours);
//! - **change fail rate**: failed deployments ÷ deployments, each failure with its reasons;
//! - **failed deployment recovery time**: from the failed deployment to the last resolution
//!   of its incidents, or to its fix (median and p90 of the recovered; the others are
//!   counted and listed);
//! - **deployment rework rate**: hotfix and rollback deployments ÷ deployments;
//!
//! with `dora-2023` [levels], DORA [Quick Check](quick_check) scores compared with the
//! industry, a weekly series, plain-language notes about missing data, and on request the
//! evidence for every number ([`Explain`]). `docs/metrics.md` documents every definition for
//! users; the rules that decide edge cases are also stated on the modules that apply them.
//!
//! ```
//! use flowmap_core::dora::{compute, DoraInput, DoraOptions};
//! use flowmap_core::events::{Deployment, DeploymentKind, DeploymentStatus};
//!
//! let deploy = |id: &str, at: &str| Deployment {
//!     id: id.into(),
//!     service: "checkout".into(),
//!     environment: "production".into(),
//!     status: DeploymentStatus::Success,
//!     started_at: None,
//!     finished_at: at.parse().unwrap(),
//!     commit: None,
//!     changes: vec![],
//!     kind: DeploymentKind::Normal,
//!     fixes: None,
//! };
//! let deployments = [
//!     deploy("d1", "2026-03-02T10:00:00Z"),
//!     deploy("d2", "2026-03-02T15:00:00Z"),
//!     deploy("d3", "2026-03-04T10:00:00Z"),
//! ];
//! let mut options = DoraOptions::new(
//!     "2026-03-02T00:00:00Z".parse().unwrap(),
//!     "2026-03-09T00:00:00Z".parse().unwrap(),
//! );
//! options.services = vec!["checkout".into()];
//! let input = DoraInput { deployments: &deployments, changes: &[], incidents: &[] };
//! let report = compute(&input, &options).unwrap();
//! let frequency = &report.metrics.deployment_frequency;
//! assert_eq!(frequency.deployments, 3);
//! assert_eq!(frequency.deploy_days_per_week, 2.0);
//! // No changes linked: lead time is unknown, not zero.
//! assert_eq!(report.metrics.lead_time.median_hours, None);
//! ```

mod assemble;
pub(crate) mod calendar;
mod engine;
mod failures;
pub(crate) mod keys;
pub mod levels;
mod linked;
mod linking;
pub mod quick_check;
mod report;
mod scope;

#[cfg(test)]
mod grouped_tests;
#[cfg(test)]
mod tests;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::events::{Change, Deployment, Incident};

pub use engine::{GroupedReport, compute};
pub use levels::Level;
pub use linked::{DoraLinks, FailedDeploymentLinks, links};
pub use quick_check::{QuickCheck, QuickCheckBenchmark, QuickCheckOptions};
pub use report::*;

/// The environment a report looks at unless told otherwise.
pub const DEFAULT_ENVIRONMENT: &str = crate::events::PRODUCTION;

/// How long after a deployment an incident of its service is blamed on it, unless told
/// otherwise.
pub const DEFAULT_ATTRIBUTION_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// The events to compute from, borrowed: a store's loaded data set, a test's fixtures.
///
/// Give it every event that can matter, not only those inside the window: deployments
/// before `since` decide which deployment first shipped a change, deployments and incidents
/// after `until` can mark a deployment in the window as failed or recovered, and changes
/// committed long before the window can ship inside it. Events of other services and
/// environments are ignored.
#[derive(Clone, Copy, Debug, Default)]
pub struct DoraInput<'a> {
    pub deployments: &'a [Deployment],
    pub changes: &'a [Change],
    pub incidents: &'a [Incident],
}

/// What to compute: which services and environments, which window, which rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DoraOptions {
    /// The services to report; empty = every service in the data. Exactly one gives a
    /// single-service report; otherwise the report pools them and lists each.
    pub services: Vec<String>,
    /// The environment set; only successful deployments to these environments are
    /// deployments. Each environment is its own timeline (see `docs/metrics.md`).
    pub environments: Vec<String>,
    /// Start of the window, inclusive.
    pub since: Timestamp,
    /// End of the window, exclusive.
    pub until: Timestamp,
    /// An incident starting this long after a deployment (and before the next one) marks
    /// it failed. Zero turns the rule off.
    pub attribution_window: SignedDuration,
    /// Which Quick Check edition and benchmark to score and compare with.
    pub quick_check: QuickCheckOptions,
    /// Whether to attach the evidence ([`DoraReport::explain`]).
    pub explain: bool,
}

impl DoraOptions {
    /// All services, `production`, a 24 h attribution window, the 2025 Quick Check against
    /// all industries, no evidence.
    pub fn new(since: Timestamp, until: Timestamp) -> DoraOptions {
        DoraOptions {
            services: Vec::new(),
            environments: vec![DEFAULT_ENVIRONMENT.to_owned()],
            since,
            until,
            attribution_window: DEFAULT_ATTRIBUTION_WINDOW,
            quick_check: QuickCheckOptions::default(),
            explain: false,
        }
    }
}

/// How far back a report looks when no `since` is given.
pub const DEFAULT_WINDOW: SignedDuration = SignedDuration::from_hours(90 * 24);

/// Parses a window bound as `flowmap dora` and the API take it: a bare date
/// (`2026-01-05`, meaning midnight UTC) or an RFC 3339 time with an offset.
///
/// Anything else is an error, never a guess: `2026-01-05 10:00` has no offset, and is not
/// silently read as the date it starts with.
///
/// ```
/// use flowmap_core::dora::parse_window_bound;
/// assert_eq!(parse_window_bound("2026-01-05").unwrap().to_string(), "2026-01-05T00:00:00Z");
/// assert_eq!(parse_window_bound("2026-01-05T10:00:00+01:00").unwrap().to_string(), "2026-01-05T09:00:00Z");
/// assert!(parse_window_bound("2026-01-05 10:00").is_err());
/// ```
pub fn parse_window_bound(text: &str) -> Result<Timestamp, WindowBoundError> {
    let text = text.trim();
    // A bare date, with the expanded signed years RFC 3339 allows none of (`-009999-01-01`)
    // read as dates too, so that they are refused as out of range rather than malformed.
    let bound = if !text.contains(['T', 't', ' '])
        && let Ok(date) = text.parse::<jiff::civil::Date>()
    {
        jiff::tz::TimeZone::UTC
            .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
            .map_err(|_| {
                WindowBoundError::OutOfRange(format!(
                    "the window bound {text} is out of range: use a time from 1900-01-01 to \
                     3000-01-01"
                ))
            })?
    } else {
        text.parse::<Timestamp>()
            .map_err(|e| WindowBoundError::Malformed(e.to_string()))?
    };
    check_window_bound(bound).map_err(|e| WindowBoundError::OutOfRange(e.to_string()))?;
    Ok(bound)
}

/// The earliest window bound accepted: 1900-01-01T00:00:00Z.
pub const EARLIEST_WINDOW_BOUND: Timestamp = Timestamp::constant(-2_208_988_800, 0);
/// The latest window bound accepted: 3000-01-01T00:00:00Z.
pub const LATEST_WINDOW_BOUND: Timestamp = Timestamp::constant(32_503_680_000, 0);

/// Checks that a window bound lies in [`EARLIEST_WINDOW_BOUND`, `LATEST_WINDOW_BOUND`].
///
/// Report windows are moved by days, weeks and the default 90 days; bounds near the ends
/// of the representable time range (year −9999) made that arithmetic overflow. Delivery
/// data lives far inside these years, so the range costs nothing and makes every window
/// computation safe.
pub fn check_window_bound(bound: Timestamp) -> Result<(), DoraError> {
    if (EARLIEST_WINDOW_BOUND..=LATEST_WINDOW_BOUND).contains(&bound) {
        Ok(())
    } else {
        Err(DoraError::BoundOutOfRange(bound))
    }
}

/// Why a text is not a window bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowBoundError {
    /// Neither a date nor an RFC 3339 time with an offset.
    #[error(
        "expected a date (2026-01-01) or an RFC 3339 time with offset (2026-01-01T12:00:00Z): {0}"
    )]
    Malformed(String),
    /// A time outside the years a report window may span.
    #[error("{0}")]
    OutOfRange(String),
}

/// Why a report cannot be computed: the options contradict themselves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DoraError {
    #[error("the window bound {0} is out of range: use a time from 1900-01-01 to 3000-01-01")]
    BoundOutOfRange(Timestamp),
    #[error("the window is empty: since ({since}) must be before until ({until})")]
    EmptyWindow { since: Timestamp, until: Timestamp },
    #[error("the attribution window must not be negative (got {0})")]
    NegativeAttributionWindow(SignedDuration),
    #[error("at least one environment is needed")]
    NoEnvironment,
    #[error("the {edition} Quick Check has no {group} benchmark {key:?}; known: {known}")]
    UnknownBenchmark {
        edition: &'static str,
        group: &'static str,
        key: String,
        known: String,
    },
    #[error("a report computed group by group covers every service and has no evidence")]
    NotGroupable,
}

/// Window bounds are checked where they are parsed.
#[cfg(test)]
mod window_bound_tests {
    use super::*;

    #[test]
    fn window_bounds_outside_1900_to_3000_are_errors() {
        for text in [
            "-009999-03-03T00:00:00Z",
            "9999-12-30T00:00:00Z",
            "1899-12-31",
            "3000-01-01T00:00:00.001Z",
        ] {
            let err = parse_window_bound(text).unwrap_err();
            assert!(
                matches!(err, WindowBoundError::OutOfRange(_)),
                "{text}: {err}"
            );
            assert!(err.to_string().contains("out of range"), "{text}: {err}");
        }
        for text in [
            "1900-01-01",
            "3000-01-01T00:00:00Z",
            "2026-01-05T10:00:00+01:00",
        ] {
            assert!(parse_window_bound(text).is_ok(), "{text}");
        }
        // The edges are exactly the documented ones.
        assert_eq!(EARLIEST_WINDOW_BOUND.to_string(), "1900-01-01T00:00:00Z");
        assert_eq!(LATEST_WINDOW_BOUND.to_string(), "3000-01-01T00:00:00Z");
    }
}
