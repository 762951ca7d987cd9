//! Performance levels of the `dora-2023` benchmark (SPEC §5).
//!
//! Each function takes the number the report shows and returns its level, so a reader can
//! check a level against the thresholds below by eye.
//!
//! | metric | elite | high | medium | low |
//! | --- | --- | --- | --- | --- |
//! | change lead time (median) | < 1 day | < 1 week | < 30 days | otherwise |
//! | recovery time (median) | < 1 hour | < 1 day | < 1 week | otherwise |
//! | change fail rate | ≤ 5 % | ≤ 10 % | ≤ 15 % | otherwise |
//! | deployment days per week | ≥ 5 | ≥ 1 | ≥ 12/52 (monthly) | otherwise |

use serde::{Deserialize, Serialize};

/// The name of the only level benchmark flowmap implements, shown in reports.
pub const BENCHMARK: &str = "dora-2023";

/// A performance level, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Elite,
    High,
    Medium,
    Low,
}

impl Level {
    /// The lowercase name used in JSON and text output.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Elite => "elite",
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The level of a median change lead time in hours.
///
/// ```
/// use flowmap_core::dora::levels::{lead_time_level, Level};
/// assert_eq!(lead_time_level(23.9), Level::Elite);
/// assert_eq!(lead_time_level(24.0), Level::High);
/// ```
pub fn lead_time_level(median_hours: f64) -> Level {
    if median_hours < 24.0 {
        Level::Elite
    } else if median_hours < 7.0 * 24.0 {
        Level::High
    } else if median_hours < 30.0 * 24.0 {
        Level::Medium
    } else {
        Level::Low
    }
}

/// The level of a median failed deployment recovery time in hours.
///
/// ```
/// use flowmap_core::dora::levels::{recovery_time_level, Level};
/// assert_eq!(recovery_time_level(0.5), Level::Elite);
/// assert_eq!(recovery_time_level(1.0), Level::High);
/// ```
pub fn recovery_time_level(median_hours: f64) -> Level {
    if median_hours < 1.0 {
        Level::Elite
    } else if median_hours < 24.0 {
        Level::High
    } else if median_hours < 7.0 * 24.0 {
        Level::Medium
    } else {
        Level::Low
    }
}

/// The level of a change fail rate given as a fraction in [0, 1].
///
/// The edges are inclusive: exactly 5 % is elite. A rate computed as `failed as f64 /
/// deployments as f64` lands exactly on these edges (division is correctly rounded), so
/// 1 failure in 20 deployments is elite.
pub fn change_failure_rate_level(rate: f64) -> Level {
    if rate <= 0.05 {
        Level::Elite
    } else if rate <= 0.10 {
        Level::High
    } else if rate <= 0.15 {
        Level::Medium
    } else {
        Level::Low
    }
}

/// The level of deployment frequency, judged by deployment days per week (not by the
/// number of deployments: ten deployments on one day are one deployment day).
///
/// ```
/// use flowmap_core::dora::levels::{deployment_frequency_level, Level};
/// assert_eq!(deployment_frequency_level(5.0), Level::Elite);
/// // Three deployment days in 13 weeks is exactly "monthly".
/// assert_eq!(deployment_frequency_level(3.0 * 7.0 / 91.0), Level::Medium);
/// ```
pub fn deployment_frequency_level(deploy_days_per_week: f64) -> Level {
    if deploy_days_per_week >= 5.0 {
        Level::Elite
    } else if deploy_days_per_week >= 1.0 {
        Level::High
    } else if deploy_days_per_week >= 12.0 / 52.0 {
        Level::Medium
    } else {
        Level::Low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_time_edges() {
        assert_eq!(lead_time_level(0.0), Level::Elite);
        assert_eq!(lead_time_level(167.99), Level::High);
        assert_eq!(lead_time_level(168.0), Level::Medium);
        assert_eq!(lead_time_level(719.99), Level::Medium);
        assert_eq!(lead_time_level(720.0), Level::Low);
    }

    #[test]
    fn recovery_time_edges() {
        assert_eq!(recovery_time_level(0.99), Level::Elite);
        assert_eq!(recovery_time_level(23.99), Level::High);
        assert_eq!(recovery_time_level(24.0), Level::Medium);
        assert_eq!(recovery_time_level(167.99), Level::Medium);
        assert_eq!(recovery_time_level(168.0), Level::Low);
    }

    #[test]
    fn change_failure_rate_edges_are_inclusive() {
        assert_eq!(change_failure_rate_level(1.0 / 20.0), Level::Elite);
        assert_eq!(change_failure_rate_level(3.0 / 60.0), Level::Elite);
        assert_eq!(change_failure_rate_level(0.0500001), Level::High);
        assert_eq!(change_failure_rate_level(2.0 / 20.0), Level::High);
        assert_eq!(change_failure_rate_level(3.0 / 20.0), Level::Medium);
        assert_eq!(change_failure_rate_level(0.16), Level::Low);
    }

    #[test]
    fn deployment_frequency_edges() {
        assert_eq!(deployment_frequency_level(20.0 * 7.0 / 28.0), Level::Elite);
        assert_eq!(deployment_frequency_level(4.99), Level::High);
        assert_eq!(deployment_frequency_level(1.0), Level::High);
        assert_eq!(deployment_frequency_level(0.99), Level::Medium);
        assert_eq!(deployment_frequency_level(2.0 * 7.0 / 91.0), Level::Low);
        assert_eq!(deployment_frequency_level(0.0), Level::Low);
    }
}
