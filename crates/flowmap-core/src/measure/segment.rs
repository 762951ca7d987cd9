//! Segment statistics: how long items spend between two lifecycle points, and how many
//! are between them right now.
//!
//! Over a window [since, until): the sample is the items whose `TO` lies in the window and
//! that have `FROM`, each contributing `TO − FROM` in hours. Negative values are left out
//! and counted as anomalies (and listed, for `--explain`); items with `TO` in the window
//! but no `FROM` are counted as missing. Work in progress at `until`: the items whose
//! `FROM` lies in the window and whose `TO` is absent or not before `until`, aged
//! `until − FROM`.

use jiff::Timestamp;
use serde::Serialize;

use crate::stats::percentile_in_place;

use super::points::Segment;

/// How many of the oldest items in progress a segment lists.
pub const WIP_OLDEST: usize = 5;

/// The statistics of one segment over a window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentStats {
    pub from: String,
    pub to: String,
    /// Items in the sample (`TO` in the window, `FROM` present, `TO − FROM ≥ 0`).
    pub n: usize,
    pub p50_hours: Option<f64>,
    pub p85_hours: Option<f64>,
    pub mean_hours: Option<f64>,
    /// Items with `TO` in the window and no `FROM`.
    pub missing: usize,
    /// Items with `TO` in the window whose `TO` is before their `FROM`.
    pub anomalies: usize,
    /// Items in progress at `until`.
    pub wip: usize,
    pub wip_age_p50_hours: Option<f64>,
    /// The oldest items in progress, oldest first, ties by id.
    pub wip_oldest: Vec<WipItem>,
}

/// One item in progress and how long it has been since its `FROM`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WipItem {
    pub id: String,
    pub age_hours: f64,
}

/// An item whose `TO` comes before its `FROM`: left out of the sample, listed here.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NegativeSegment {
    pub segment: String,
    pub id: String,
    pub from_at: Timestamp,
    pub to_at: Timestamp,
    pub hours: f64,
}

/// A point's time as microseconds since the Unix epoch, or [`ABSENT`]: the compact form
/// the measurement works in (a column of a million points is 8 MB, and a segment is one
/// subtraction per item).
pub type Micros = i64;

/// No time: the item does not have the point.
pub const ABSENT: Micros = i64::MIN;

/// `time` as [`Micros`].
pub fn micros(time: Option<Timestamp>) -> Micros {
    time.map_or(ABSENT, Timestamp::as_microsecond)
}

/// [`Micros`] back as a time (every value the measurement holds came from a time).
pub fn timestamp(micros: Micros) -> Option<Timestamp> {
    (micros != ABSENT)
        .then(|| Timestamp::from_microsecond(micros).ok())
        .flatten()
}

const MICROS_PER_HOUR: f64 = 3_600_000_000.0;

pub(crate) fn hours_between(from: Micros, to: Micros) -> f64 {
    (to - from) as f64 / MICROS_PER_HOUR
}

/// The statistics of `segment` over [since, until) for items with ids `ids` and the two
/// points' times `from` and `to` (one entry per item, in the same order), with the
/// negative values listed.
pub fn segment_stats(
    segment: &Segment,
    ids: &[&str],
    from: &[Option<Timestamp>],
    to: &[Option<Timestamp>],
    since: Timestamp,
    until: Timestamp,
) -> (SegmentStats, Vec<NegativeSegment>) {
    let from: Vec<Micros> = from.iter().map(|t| micros(*t)).collect();
    let to: Vec<Micros> = to.iter().map(|t| micros(*t)).collect();
    segment_stats_micros(segment, ids, &from, &to, since, until)
}

/// [`segment_stats`] over columns of [`Micros`], as [`Items`](super::Items) holds them.
pub fn segment_stats_micros(
    segment: &Segment,
    ids: &[&str],
    from: &[Micros],
    to: &[Micros],
    since: Timestamp,
    until: Timestamp,
) -> (SegmentStats, Vec<NegativeSegment>) {
    segment_stats_with(segment, ids, from, to, since, until, &mut Vec::new())
}

/// [`segment_stats_micros`] with the sample collected in `scratch` (cleared first), so that
/// measuring many segments of a million items allocates the sample once.
pub(crate) fn segment_stats_with(
    segment: &Segment,
    ids: &[&str],
    from: &[Micros],
    to: &[Micros],
    since: Timestamp,
    until: Timestamp,
    scratch: &mut Vec<f64>,
) -> (SegmentStats, Vec<NegativeSegment>) {
    debug_assert!(ids.len() == from.len() && from.len() == to.len());
    let (since_us, until_us) = (since.as_microsecond(), until.as_microsecond());
    // ABSENT is below every window, so one range check also says "present".
    let in_window = |t: Micros| since_us <= t && t < until_us;
    scratch.clear();
    let sample = scratch;
    let mut missing = 0;
    let mut negatives = Vec::new();
    // (FROM, item) of the items in progress.
    let mut wip: Vec<(Micros, usize)> = Vec::new();
    for (item, (&f, &t)) in from.iter().zip(to).enumerate() {
        if in_window(t) {
            if f == ABSENT {
                missing += 1;
            } else if t < f {
                negatives.push(NegativeSegment {
                    segment: segment.to_string(),
                    id: ids[item].to_owned(),
                    from_at: timestamp(f).unwrap_or(since),
                    to_at: timestamp(t).unwrap_or(since),
                    hours: hours_between(f, t),
                });
            } else {
                sample.push(hours_between(f, t));
            }
        }
        if in_window(f) && (t == ABSENT || t >= until_us) {
            wip.push((f, item));
        }
    }

    let n = sample.len();
    let mean_hours = (n > 0).then(|| sample.iter().sum::<f64>() / n as f64);
    let p50_hours = percentile_in_place(sample, 50.0);
    let p85_hours = percentile_in_place(sample, 85.0);

    let mut ages: Vec<f64> = wip
        .iter()
        .map(|(f, _)| hours_between(*f, until_us))
        .collect();
    let wip_age_p50_hours = percentile_in_place(&mut ages, 50.0);
    let oldest_first =
        |a: &(Micros, usize), b: &(Micros, usize)| (a.0, ids[a.1]).cmp(&(b.0, ids[b.1]));
    if wip.len() > WIP_OLDEST {
        wip.select_nth_unstable_by(WIP_OLDEST - 1, oldest_first);
    }
    let mut oldest: Vec<(Micros, usize)> = wip.iter().take(WIP_OLDEST).copied().collect();
    oldest.sort_by(oldest_first);
    let wip_oldest = oldest
        .into_iter()
        .map(|(f, item)| WipItem {
            id: ids[item].to_owned(),
            age_hours: hours_between(f, until_us),
        })
        .collect();

    let stats = SegmentStats {
        from: segment.from.to_string(),
        to: segment.to.to_string(),
        n,
        p50_hours,
        p85_hours,
        mean_hours,
        missing,
        anomalies: negatives.len(),
        wip: wip.len(),
        wip_age_p50_hours,
        wip_oldest,
    };
    (stats, negatives)
}
