//! UTC days and ISO weeks: the calendar that deployment days and weekly series are counted in.
//!
//! Days are whole UTC days numbered from 1970-01-01 (day 0). Weeks are ISO weeks (Monday to
//! Sunday, UTC), numbered so that week 0 starts on Monday 1969-12-29. Plain integers keep
//! the hot loops free of calendar objects; [`week_label`] turns a week back into the
//! `2026-W09` form people read.

use jiff::Timestamp;
use jiff::tz::TimeZone;

const SECONDS_PER_DAY: i64 = 86_400;
pub(crate) const NANOS_PER_DAY: f64 = 86_400e9;

/// The UTC day that contains `t`.
pub(crate) fn utc_day(t: Timestamp) -> i64 {
    // `as_second` truncates toward zero; a time just before 1970 belongs to day −1.
    let mut seconds = t.as_second();
    if t.subsec_nanosecond() < 0 {
        seconds -= 1;
    }
    seconds.div_euclid(SECONDS_PER_DAY)
}

/// The ISO week that contains UTC day `day`. 1970-01-01 was a Thursday, three days after
/// the Monday that starts week 0.
pub(crate) fn iso_week_of_day(day: i64) -> i64 {
    (day + 3).div_euclid(7)
}

/// 0 for Monday … 6 for Sunday.
pub(crate) fn weekday_of_day(day: i64) -> u32 {
    (day + 3).rem_euclid(7) as u32
}

/// The Monday (a UTC day) that starts ISO week `week`.
pub(crate) fn first_day_of_week(week: i64) -> i64 {
    week * 7 - 3
}

/// Midnight UTC at the start of `day`.
pub(crate) fn day_start(day: i64) -> Timestamp {
    // Days reached here come from valid timestamps, a few weeks apart at most, so the
    // range check cannot fail; saturate rather than panic all the same.
    Timestamp::from_second(day * SECONDS_PER_DAY).unwrap_or(if day < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// `2026-W09`: the ISO week-numbering year and week of a week's Monday.
pub(crate) fn week_label(week: i64) -> String {
    let date = TimeZone::UTC
        .to_datetime(day_start(first_day_of_week(week)))
        .date()
        .iso_week_date();
    format!("{:04}-W{:02}", date.year(), date.week())
}

/// The ISO weeks that a window [since, until) touches, with the rule for which of them lie
/// wholly inside it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WeekGrid {
    first: i64,
    len: usize,
    since: Timestamp,
    until: Timestamp,
}

impl WeekGrid {
    /// The weeks from the one containing `since` to the one containing the last instant
    /// before `until`. `since < until` is the caller's promise.
    pub(crate) fn new(since: Timestamp, until: Timestamp) -> WeekGrid {
        let first = iso_week_of_day(utc_day(since));
        let last_instant = until - jiff::SignedDuration::from_nanos(1);
        let last = iso_week_of_day(utc_day(last_instant));
        WeekGrid {
            first,
            len: (last - first + 1) as usize,
            since,
            until,
        }
    }

    /// How many weeks the window touches.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The slot of the week containing UTC day `day` (which must lie in the window).
    pub(crate) fn slot_of_day(&self, day: i64) -> usize {
        (iso_week_of_day(day) - self.first) as usize
    }

    /// The ISO week number of slot `slot` (for [`week_label`]).
    pub(crate) fn week(&self, slot: usize) -> i64 {
        self.first + slot as i64
    }

    /// Midnight UTC on the Monday starting slot `slot`.
    pub(crate) fn start(&self, slot: usize) -> Timestamp {
        day_start(first_day_of_week(self.week(slot)))
    }

    /// Whether the whole week (Monday 00:00 to the next Monday 00:00) lies inside the window.
    pub(crate) fn is_complete(&self, slot: usize) -> bool {
        let start = first_day_of_week(self.week(slot));
        self.since <= day_start(start) && day_start(start + 7) <= self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn days_and_weeks_follow_utc_and_iso() {
        assert_eq!(utc_day(ts("1970-01-01T23:59:59Z")), 0);
        assert_eq!(utc_day(ts("1969-12-31T23:59:59.5Z")), -1);
        // 2026-03-02 is a Monday.
        let monday = utc_day(ts("2026-03-02T00:00:00Z"));
        assert_eq!(weekday_of_day(monday), 0);
        assert_eq!(weekday_of_day(monday + 6), 6);
        assert_eq!(iso_week_of_day(monday), iso_week_of_day(monday + 6));
        assert_eq!(iso_week_of_day(monday) + 1, iso_week_of_day(monday + 7));
        assert_eq!(week_label(iso_week_of_day(monday)), "2026-W10");
        // 2027-01-01 (a Friday) belongs to ISO week 53 of 2026.
        assert_eq!(
            week_label(iso_week_of_day(utc_day(ts("2027-01-01T12:00:00Z")))),
            "2026-W53"
        );
    }

    #[test]
    fn a_grid_knows_its_complete_weeks() {
        // Wednesday 2026-03-04 to Monday 2026-03-23: touches W10, W11 and W12;
        // W10 starts before the window, W11 and W12 lie wholly inside it.
        let grid = WeekGrid::new(ts("2026-03-04T00:00:00Z"), ts("2026-03-23T00:00:00Z"));
        assert_eq!(grid.len(), 3);
        assert!(!grid.is_complete(0));
        assert!(grid.is_complete(1));
        assert!(grid.is_complete(2));
        assert_eq!(grid.start(1), ts("2026-03-09T00:00:00Z"));
        // Ending one second early breaks the last week.
        let grid = WeekGrid::new(ts("2026-03-04T00:00:00Z"), ts("2026-03-22T23:59:59Z"));
        assert_eq!(grid.len(), 3);
        assert!(!grid.is_complete(2));
    }
}
