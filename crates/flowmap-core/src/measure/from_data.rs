//! `map from-data`: a starting map written from the data alone.
//!
//! Delivery steps `code` (first_commit..pr_opened), `pickup` (wait
//! pr_opened..first_review), `review` (first_review..approved), `merge`
//! (approved..merged), `build` (build_started..build_finished) and `deploy`
//! (merged..deployed, or build_finished..deployed when builds are recorded); recovery steps
//! `detect` (failed..detected), `respond` (detected..acknowledged), `fix`
//! (acknowledged..fix_deployed) and `restore` (fix_deployed..recovered). A step is written
//! only where some item in the window has both points; it binds its segment, and its
//! estimate is the measured median rounded for people, with the sample in a comment.

use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};

use crate::map::Stream;

use super::MeasureError;
use super::lifecycle::{ItemScope, Items, MeasureData, lifecycle};
use super::points::{Point, Segment};
use super::segment::{SegmentStats, segment_stats_micros};

/// Whose data and which window a map is written from.
#[derive(Clone, Debug, PartialEq)]
pub struct FromDataOptions {
    pub service: String,
    pub environment: String,
    pub since: Timestamp,
    pub until: Timestamp,
    pub attribution_window: SignedDuration,
}

impl FromDataOptions {
    pub(crate) fn scope(&self) -> ItemScope {
        ItemScope {
            service: self.service.clone(),
            environment: self.environment.clone(),
            attribution_window: self.attribution_window,
        }
    }
}

/// Which part of a step a segment fills.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Part {
    Wait,
    Process,
}

/// A step `from-data` can write.
pub(crate) struct Candidate {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) part: Part,
    pub(crate) segment: Segment,
}

/// Every point the candidate steps of `stream` read.
pub(crate) fn candidate_points(stream: Stream) -> Vec<Point> {
    candidates(stream)
        .iter()
        .flat_map(|c| [c.segment.from.clone(), c.segment.to.clone()])
        .chain([Point::BuildFinished])
        .filter(|p| stream == Stream::Delivery || *p != Point::BuildFinished)
        .collect()
}

/// The candidate steps some item in [since, until) has both points of, with their
/// statistics; `deploy` starts at `build_finished` once a `build` step is written.
pub(crate) fn steps_with_data(
    candidates: Vec<Candidate>,
    items: &Items<'_>,
    since: Timestamp,
    until: Timestamp,
) -> Vec<(Candidate, SegmentStats)> {
    let mut written: Vec<(Candidate, SegmentStats)> = Vec::new();
    for mut c in candidates {
        if c.id == "deploy" && written.iter().any(|(w, _)| w.id == "build") {
            c.segment.from = Point::BuildFinished;
        }
        let stats = segment_of(items, &c.segment, since, until);
        if stats.n > 0 {
            written.push((c, stats));
        }
    }
    written
}

/// The statistics of `segment` (both points read) over [since, until).
pub(crate) fn segment_of(
    items: &Items<'_>,
    segment: &Segment,
    since: Timestamp,
    until: Timestamp,
) -> SegmentStats {
    let from = items.times(&segment.from).unwrap_or_default();
    let to = items.times(&segment.to).unwrap_or_default();
    segment_stats_micros(segment, &items.ids, from, to, since, until).0
}

fn candidate(
    id: &'static str,
    name: &'static str,
    part: Part,
    from: Point,
    to: Point,
) -> Candidate {
    Candidate {
        id,
        name,
        part,
        segment: Segment { from, to },
    }
}

pub(crate) fn candidates(stream: Stream) -> Vec<Candidate> {
    use Part::{Process, Wait};
    use Point::*;
    match stream {
        Stream::Delivery => vec![
            candidate("code", "Write code", Process, FirstCommit, PrOpened),
            candidate("pickup", "Wait for review", Wait, PrOpened, FirstReview),
            candidate("review", "Code review", Process, FirstReview, Approved),
            candidate("merge", "Merge", Process, Approved, Merged),
            candidate("build", "Build", Process, BuildStarted, BuildFinished),
            candidate("deploy", "Deploy", Process, Merged, Deployed),
        ],
        Stream::Recovery => vec![
            candidate("detect", "Detect", Process, Failed, Detected),
            candidate("respond", "Respond", Process, Detected, Acknowledged),
            candidate("fix", "Fix", Process, Acknowledged, FixDeployed),
            candidate("restore", "Restore", Process, FixDeployed, Recovered),
        ],
    }
}

/// Hours rounded to two significant figures in the unit people would use: seconds under a
/// minute, minutes under an hour, hours under a day, days under a week, else weeks.
///
/// ```
/// use flowmap_core::measure::round_for_people;
/// assert_eq!(round_for_people(3.4321), "3.4h");
/// assert_eq!(round_for_people(0.52), "31m");
/// assert_eq!(round_for_people(52.0), "2.2d");
/// assert_eq!(round_for_people(0.0), "0");
/// ```
pub fn round_for_people(hours: f64) -> String {
    if !hours.is_finite() || hours <= 0.0 {
        return "0".into();
    }
    let (value, unit) = if hours < 1.0 / 60.0 {
        (hours * 3600.0, "s")
    } else if hours < 1.0 {
        (hours * 60.0, "m")
    } else if hours < 24.0 {
        (hours, "h")
    } else if hours < 168.0 {
        (hours / 24.0, "d")
    } else {
        (hours / 168.0, "w")
    };
    let magnitude = value.abs().log10().floor() as i32;
    let scale = 10f64.powi(1 - magnitude);
    let rounded = (value * scale).round() / scale;
    let decimals = (1 - magnitude).max(0) as usize;
    let text = format!("{rounded:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    format!("{text}{unit}")
}

fn stream_name(stream: Stream) -> &'static str {
    match stream {
        Stream::Delivery => "delivery",
        Stream::Recovery => "recovery",
    }
}

/// Writes a YAML map of `stream` from the data of the options' service and window.
///
/// # Errors
///
/// Contradictory options, or no step with data (a map needs at least one step).
pub fn from_data(
    stream: Stream,
    data: &MeasureData<'_>,
    options: &FromDataOptions,
) -> Result<String, MeasureError> {
    let points = candidate_points(stream);
    let scope = options.scope();
    let items = lifecycle(data, &scope, stream, &points, options.since, options.until)?;
    let written = steps_with_data(candidates(stream), &items, options.since, options.until);
    if written.is_empty() {
        return Err(MeasureError::NoData {
            stream: stream_name(stream),
            service: options.service.clone(),
        });
    }

    let unit = match stream {
        Stream::Delivery => "change",
        Stream::Recovery => "failed deployment",
    };
    let quoted = |text: &str| serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into());
    let mut yaml = String::new();
    let _ = writeln!(
        yaml,
        "# Written by `flowmap map from-data` from the data of {} in {}, {} to {}.\n\
         # Every estimate is the measured median rounded to two significant figures.",
        options.service, options.environment, options.since, options.until
    );
    let _ = writeln!(
        yaml,
        "name: {}",
        quoted(&format!(
            "{} — {} (from data)",
            options.service,
            stream_name(stream)
        ))
    );
    let _ = writeln!(yaml, "stream: {}", stream_name(stream));
    let _ = writeln!(yaml, "service: {}", quoted(&options.service));
    let _ = writeln!(yaml, "unit: {unit}");
    let _ = writeln!(yaml, "steps:");
    for (c, stats) in &written {
        let p50 = stats.p50_hours.unwrap_or(0.0);
        let p85 = stats.p85_hours.unwrap_or(0.0);
        let part = match c.part {
            Part::Wait => "wait",
            Part::Process => "process",
        };
        let _ = writeln!(yaml, "  - id: {}", c.id);
        let _ = writeln!(yaml, "    name: {}", c.name);
        let _ = writeln!(
            yaml,
            "    {part}: {}   # measured: n={} {unit}s, p50 {p50:.2} h, p85 {p85:.2} h, {} missing, {} anomalies",
            round_for_people(p50),
            stats.n,
            stats.missing,
            stats.anomalies
        );
        let _ = writeln!(yaml, "    measure:");
        let _ = writeln!(yaml, "      {part}: {}", c.segment);
    }
    Ok(yaml)
}
