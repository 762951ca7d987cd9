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

fn hours_between(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64() / 3600.0
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
    debug_assert!(ids.len() == from.len() && from.len() == to.len());
    let in_window = |t: Timestamp| since <= t && t < until;
    let mut sample = Vec::new();
    let mut missing = 0;
    let mut negatives = Vec::new();
    // (FROM, item) of the items in progress.
    let mut wip: Vec<(Timestamp, usize)> = Vec::new();
    for (item, (&f, &t)) in from.iter().zip(to).enumerate() {
        if let Some(t) = t
            && in_window(t)
        {
            match f {
                None => missing += 1,
                Some(f) => {
                    let hours = hours_between(f, t);
                    if hours < 0.0 {
                        negatives.push(NegativeSegment {
                            segment: segment.to_string(),
                            id: ids[item].to_owned(),
                            from_at: f,
                            to_at: t,
                            hours,
                        });
                    } else {
                        sample.push(hours);
                    }
                }
            }
        }
        if let Some(f) = f
            && in_window(f)
            && t.is_none_or(|t| t >= until)
        {
            wip.push((f, item));
        }
    }

    let n = sample.len();
    let mean_hours = (n > 0).then(|| sample.iter().sum::<f64>() / n as f64);
    let p50_hours = percentile_in_place(&mut sample, 50.0);
    let p85_hours = percentile_in_place(&mut sample, 85.0);

    let mut ages: Vec<f64> = wip.iter().map(|(f, _)| hours_between(*f, until)).collect();
    let wip_age_p50_hours = percentile_in_place(&mut ages, 50.0);
    let oldest_first =
        |a: &(Timestamp, usize), b: &(Timestamp, usize)| (a.0, ids[a.1]).cmp(&(b.0, ids[b.1]));
    if wip.len() > WIP_OLDEST {
        wip.select_nth_unstable_by(WIP_OLDEST - 1, oldest_first);
    }
    let mut oldest: Vec<(Timestamp, usize)> = wip.iter().take(WIP_OLDEST).copied().collect();
    oldest.sort_by(oldest_first);
    let wip_oldest = oldest
        .into_iter()
        .map(|(f, item)| WipItem {
            id: ids[item].to_owned(),
            age_hours: hours_between(f, until),
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
