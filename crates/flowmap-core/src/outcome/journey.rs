//! An outcome's journey: its metric week by week, for the picture that lets a team look
//! back over the year.
//!
//! Each point is the metric over one ISO week (Monday 00:00 UTC to the next Monday),
//! computed exactly as the outcome's current value is, only over that week: the median lead
//! time of the changes deployed that week, the deployments per week, the share of that
//! week's deployments that failed. The first and last weeks are cut to the range asked for.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::status::{OutcomeData, measure_value};
use super::{Baseline, Outcome};
use crate::dora::calendar;

/// The metric over one week.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct WeekPoint {
    /// Monday 00:00 UTC (or the start of the range, for a first partial week).
    pub since: Timestamp,
    pub until: Timestamp,
    /// `None` when the week has no data for the metric.
    pub value: Option<f64>,
}

/// The metric of `outcome` for every ISO week overlapping [since, until).
pub fn weekly_series(
    outcome: &Outcome,
    data: &OutcomeData<'_>,
    since: Timestamp,
    until: Timestamp,
) -> Vec<WeekPoint> {
    let mut points = Vec::new();
    if since >= until {
        return points;
    }
    let first_week = calendar::iso_week_of_day(calendar::utc_day(since));
    let mut week = first_week;
    loop {
        let monday = calendar::day_start(calendar::first_day_of_week(week));
        if monday >= until {
            break;
        }
        let start = monday.max(since);
        let end = (monday + SignedDuration::from_hours(7 * 24)).min(until);
        points.push(WeekPoint {
            since: start,
            until: end,
            value: measure_value(
                &outcome.metric,
                outcome.service.as_deref(),
                &outcome.environment,
                start,
                end,
                data,
            ),
        });
        week += 1;
    }
    points
}

/// Where an outcome's journey starts: the start of a window baseline, or 12 weeks before a
/// value baseline ends; earlier when an experiment's before window starts earlier. `None`
/// when a value baseline has no end yet (no `started`, never saved) and no experiment.
pub fn journey_start(outcome: &Outcome, first_saved: Option<Timestamp>) -> Option<Timestamp> {
    let baseline_start = match outcome.baseline {
        Baseline::Window { since, .. } => Some(since),
        Baseline::Value(_) => outcome
            .started
            .or(first_saved)
            .map(|end| end - SignedDuration::from_hours(12 * 7 * 24)),
    };
    let experiments = outcome
        .experiments
        .iter()
        .map(|e| e.before.map_or(e.started, |(since, _)| since));
    baseline_start.into_iter().chain(experiments).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dora::{DoraInput, parse_window_bound};
    use crate::events::Deployment;
    use crate::map::Format;
    use crate::outcome::parse_outcome;

    #[test]
    fn deployments_per_week_week_by_week() {
        let t = |s: &str| parse_window_bound(s).unwrap();
        // 2026-03-02 is a Monday. Two deployments in its week, one in the next.
        let deployments = [
            Deployment::new("a", "svc", t("2026-03-03T10:00:00Z")),
            Deployment::new("b", "svc", t("2026-03-06T10:00:00Z")),
            Deployment::new("c", "svc", t("2026-03-10T10:00:00Z")),
        ];
        let data = OutcomeData {
            events: DoraInput {
                deployments: &deployments,
                changes: &[],
                incidents: &[],
            },
            steps: None,
        };
        let no_maps = |_: &str, _: &str| Err::<(), String>("none".into());
        let outcome = parse_outcome(
            "outcome: x\nmetric: deployment_frequency\nbaseline: 1/week\ntarget: '>= 5/week'\ndeadline: 2026-06-01\n",
            Format::Yaml,
            &no_maps,
        )
        .unwrap();
        let points = weekly_series(&outcome, &data, t("2026-03-02"), t("2026-03-16"));
        let values: Vec<Option<f64>> = points.iter().map(|p| p.value).collect();
        assert_eq!(values, [Some(2.0), Some(1.0)]);
        assert_eq!(points[1].since, t("2026-03-09"));
        // A range starting mid-week cuts the first week: Thursday to Monday holds one
        // deployment in 4 days, 1.75 per week.
        let cut = weekly_series(&outcome, &data, t("2026-03-05"), t("2026-03-09"));
        assert_eq!(cut.len(), 1);
        assert_eq!(cut[0].value, Some(1.75));
        assert_eq!(journey_start(&outcome, None), None);
        assert_eq!(
            journey_start(&outcome, Some(t("2026-06-01"))),
            Some(t("2026-03-09"))
        );
    }
}
