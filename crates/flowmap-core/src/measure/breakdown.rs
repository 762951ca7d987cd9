//! Where a service's delivery time goes: the steps `map from-data` would write, their
//! medians week by week (a stacked bar per week), and the work in progress at the end of
//! the window with the oldest items.
//!
//! A week is an ISO week (Monday 00:00 UTC to the next Monday) cut to the window; a step's
//! value for a week is the median of the segment over the items whose `TO` lies in that
//! week, as everywhere else ([`super::segment_stats`]). The stacked medians are not the
//! median lead time of the week (a sum of medians is not the median of the sums), which is
//! why the end-to-end segment is reported beside them.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::dora::{DoraError, calendar};
use crate::map::Stream;

use super::from_data::{
    FromDataOptions, candidate_points, candidates, segment_of, steps_with_data,
};
use super::lifecycle::{MeasureData, lifecycle};
use super::points::{Point, Segment};
use super::segment::SegmentStats;

/// One step of the breakdown over the whole window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakdownStep {
    /// `code`, `pickup`, `review`, `merge`, `build`, `deploy`.
    pub id: &'static str,
    pub name: &'static str,
    /// The segment, `FROM..TO`.
    pub segment: String,
    /// Over the window, with the work in progress at its end.
    pub stats: SegmentStats,
}

/// The steps' medians over one week.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BreakdownWeek {
    /// The ISO week, as the DORA report's weeks name it (`2026-W09`).
    pub week: String,
    /// Monday 00:00 UTC, or the window's start for a first partial week.
    pub since: Timestamp,
    pub until: Timestamp,
    /// Whether the week is whole (not cut by the window).
    pub complete: bool,
    /// One median per step of [`Breakdown::steps`], in the same order; `None` where no
    /// item finished the step that week.
    pub p50_hours: Vec<Option<f64>>,
}

/// Where the delivery time of a service goes over a window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Breakdown {
    /// The steps some change in the window has both points of, in flow order.
    pub steps: Vec<BreakdownStep>,
    pub weeks: Vec<BreakdownWeek>,
    /// `committed..deployed` over the window: the lead time and the changes committed but
    /// not deployed at its end.
    pub lead_time: SegmentStats,
}

/// The delivery breakdown of the options' service over their window.
///
/// # Errors
///
/// When the window is empty or the attribution window negative.
pub fn breakdown(
    data: &MeasureData<'_>,
    options: &FromDataOptions,
) -> Result<Breakdown, DoraError> {
    let lead = Segment::default_lead_time(Stream::Delivery);
    let mut points = candidate_points(Stream::Delivery);
    points.extend([Point::Committed, Point::Deployed]);
    let (since, until) = (options.since, options.until);
    let items = lifecycle(
        data,
        &options.scope(),
        Stream::Delivery,
        &points,
        since,
        until,
    )?;
    let written = steps_with_data(candidates(Stream::Delivery), &items, since, until);
    let mut weeks = Vec::new();
    let mut week = calendar::iso_week_of_day(calendar::utc_day(since));
    loop {
        let monday = calendar::day_start(calendar::first_day_of_week(week));
        if monday >= until {
            break;
        }
        let next = monday + SignedDuration::from_hours(7 * 24);
        let (start, end) = (monday.max(since), next.min(until));
        weeks.push(BreakdownWeek {
            week: calendar::week_label(week),
            since: start,
            until: end,
            complete: start == monday && end == next,
            p50_hours: written
                .iter()
                .map(|(c, _)| segment_of(&items, &c.segment, start, end).p50_hours)
                .collect(),
        });
        week += 1;
    }
    Ok(Breakdown {
        steps: written
            .into_iter()
            .map(|(c, stats)| BreakdownStep {
                id: c.id,
                name: c.name,
                segment: c.segment.to_string(),
                stats,
            })
            .collect(),
        weeks,
        lead_time: segment_of(&items, &lead, since, until),
    })
}
