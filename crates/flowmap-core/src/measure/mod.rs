//! Measured value streams: a map held against the data (SPEC §11).
//!
//! A map's steps bind to *lifecycle points* of the stream's items ([`Point`]): a change's
//! `pr_opened`, its `deployed@staging`, a failed deployment's `detected`, a milestone
//! `event:qa_passed`. A *segment* `FROM..TO` of two points is measured over a window
//! ([`segment_stats`]): the sample of `TO − FROM`, the items missing `FROM`, the negative
//! ones (anomalies), and the work in progress at the end of the window.
//!
//! [`measure_map`] measures every bound step against its estimate, flags the steps whose
//! estimate is far off, and analyses the *measured map* (the map with every bound part
//! replaced by its median) exactly as the drawn one; [`from_data`] writes a starting map
//! from the data alone, and [`breakdown`] shows the same steps week by week with the work
//! in progress. [`StepTimes`] gives one step's time per item, the samples of an outcome's
//! `step:MAP#STEP` metric. The points come from [`lifecycle`], which reads the links the
//! DORA engine makes.
//!
//! An item re-entering a step (a pull request reviewed twice) is measured at the earliest
//! time of each point: a change field holds one value, and a milestone recorded several
//! times counts at its earliest.

mod breakdown;
mod from_data;
mod lifecycle;
mod points;
mod segment;
mod steps;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::dora::DoraError;
use crate::map::{Analysis, AnalysisOptions, CaMeasure, Estimate, Map, Step, Stream, analyze};

pub use breakdown::{Breakdown, BreakdownStep, BreakdownWeek, breakdown};
pub use from_data::{FromDataOptions, from_data, round_for_people};
pub use lifecycle::{ItemScope, Items, MeasureData, lifecycle};
pub use points::{Point, Segment, is_milestone_name};
pub use segment::{
    ABSENT, Micros, NegativeSegment, SegmentStats, WIP_OLDEST, WipItem, micros, segment_stats,
    segment_stats_micros, timestamp,
};
pub use steps::{StepItems, StepTimes, find_step, step_items};

/// Below this many items in a bound part, a step's comparison is flagged `too little data`.
pub const ENOUGH_DATA: usize = 5;

/// What to measure: the scope, the window, and how to analyse the maps.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasureOptions {
    pub service: String,
    pub environment: String,
    /// Start of the window, inclusive.
    pub since: Timestamp,
    /// End of the window, exclusive.
    pub until: Timestamp,
    /// As for DORA: an incident this soon after a deployment marks it failed.
    pub attribution_window: SignedDuration,
    /// The analysis (simulation runs and seed) of the drawn and the measured map.
    pub analysis: AnalysisOptions,
    /// Whether to list the negative segments ([`MeasureReport::negative_segments`]).
    pub explain: bool,
}

/// Why a map cannot be measured.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeasureError {
    #[error(transparent)]
    Options(#[from] DoraError),
    #[error(
        "no {stream} item of {service} has two points of any step in the window: there is nothing to draw a map from"
    )]
    NoData {
        stream: &'static str,
        service: String,
    },
}

/// How a step's estimate compares with its measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Flag {
    /// Neither wait nor process is bound (even if `ca` is).
    #[serde(rename = "not measured")]
    NotMeasured,
    /// A bound part has fewer than [`ENOUGH_DATA`] items.
    #[serde(rename = "too little data")]
    TooLittleData,
    /// Measured at least twice the estimate (or measured > 0 against an estimate of 0).
    #[serde(rename = "under-estimated")]
    UnderEstimated,
    /// Measured at most half the estimate.
    #[serde(rename = "over-estimated")]
    OverEstimated,
    #[serde(rename = "ok")]
    Ok,
}

impl Flag {
    /// The flag as written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::NotMeasured => "not measured",
            Flag::TooLittleData => "too little data",
            Flag::UnderEstimated => "under-estimated",
            Flag::OverEstimated => "over-estimated",
            Flag::Ok => "ok",
        }
    }
}

/// One step held against the data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepMeasurement {
    pub id: String,
    /// The midpoints of the bound parts (wait, process) added; null when neither is bound.
    pub estimate_hours: Option<f64>,
    /// The medians of the bound parts added (a part with n = 0 adds nothing); null when
    /// neither is bound or no bound part has data.
    pub measured_hours: Option<f64>,
    /// measured ÷ estimate; null when either is null or the estimate is 0.
    pub ratio: Option<f64>,
    pub flag: Flag,
    pub wait: Option<SegmentStats>,
    pub process: Option<SegmentStats>,
    /// 1 − the change fail rate, when `ca` is bound and there were deployments.
    pub ca: Option<f64>,
    /// The drill-down's sub-steps, measured the same way.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepMeasurement>,
}

/// A map held against the data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeasureReport {
    pub name: String,
    pub service: String,
    pub environment: String,
    pub since: Timestamp,
    pub until: Timestamp,
    /// The map's end-to-end segment.
    pub lead_time: SegmentStats,
    pub steps: Vec<StepMeasurement>,
    /// The analysis of the map as written.
    pub estimate: Analysis,
    /// The analysis of the measured map.
    pub measured: Analysis,
    /// Plain-language notes: points nobody records, the sum of medians against the median
    /// of the whole.
    pub notes: Vec<String>,
    /// Every negative segment (`TO` before `FROM`), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_segments: Option<Vec<NegativeSegment>>,
}

/// Every point `map` binds, the end-to-end segment's included.
fn bound_points(map: &Map, lead_time: &Segment) -> Vec<Point> {
    fn of_steps(steps: &[Step], out: &mut Vec<Point>) {
        for step in steps {
            if let Some(m) = &step.measure {
                for s in [&m.wait, &m.process].into_iter().flatten() {
                    out.extend([s.from.clone(), s.to.clone()]);
                }
            }
            if let Some(sub) = &step.drill_down {
                of_steps(&sub.steps, out);
            }
        }
    }
    let mut out = vec![lead_time.from.clone(), lead_time.to.clone()];
    of_steps(&map.steps, &mut out);
    out
}

/// The segment statistics of one segment over the options' window.
struct Measurer<'i, 'a> {
    items: &'i Items<'a>,
    options: &'i MeasureOptions,
    negatives: Vec<NegativeSegment>,
    /// Points with no time for any item, for a note.
    unrecorded: Vec<String>,
    /// The sample buffer every segment reuses.
    scratch: Vec<f64>,
}

impl Measurer<'_, '_> {
    fn stats(&mut self, segment: &Segment) -> SegmentStats {
        let (Some(from), Some(to)) = (
            self.items.times(&segment.from),
            self.items.times(&segment.to),
        ) else {
            // Every bound point is computed before any segment is measured.
            return empty_stats(segment);
        };
        for (point, column) in [(&segment.from, from), (&segment.to, to)] {
            let name = point.to_string();
            if column.iter().all(|&t| t == ABSENT) && !self.unrecorded.contains(&name) {
                self.unrecorded.push(name);
            }
        }
        let (stats, negatives) = segment::segment_stats_with(
            segment,
            &self.items.ids,
            from,
            to,
            self.options.since,
            self.options.until,
            &mut self.scratch,
        );
        self.negatives.extend(negatives);
        stats
    }

    fn step(&mut self, step: &Step) -> StepMeasurement {
        let binding = step.measure.clone().unwrap_or_default();
        let wait = binding.wait.as_ref().map(|s| self.stats(s));
        let process = binding.process.as_ref().map(|s| self.stats(s));
        let ca = binding
            .ca
            .and_then(|CaMeasure::ChangeFailRate| self.items.change_fail_rate())
            .map(|rate| 1.0 - rate);
        let parts: Vec<(&SegmentStats, Estimate)> = [(&wait, step.wait), (&process, step.process)]
            .into_iter()
            .filter_map(|(stats, estimate)| stats.as_ref().map(|s| (s, estimate)))
            .collect();
        let steps = step
            .drill_down
            .as_ref()
            .map(|sub| sub.steps.iter().map(|s| self.step(s)).collect())
            .unwrap_or_default();
        if parts.is_empty() {
            return StepMeasurement {
                id: step.id.clone(),
                estimate_hours: None,
                measured_hours: None,
                ratio: None,
                flag: Flag::NotMeasured,
                wait,
                process,
                ca,
                steps,
            };
        }
        let estimate: f64 = parts.iter().map(|(_, e)| e.point()).sum();
        let medians: Vec<f64> = parts.iter().filter_map(|(s, _)| s.p50_hours).collect();
        let measured = (!medians.is_empty()).then(|| medians.iter().sum::<f64>());
        let ratio = measured.filter(|_| estimate > 0.0).map(|m| m / estimate);
        let flag = if parts.iter().any(|(s, _)| s.n < ENOUGH_DATA) {
            Flag::TooLittleData
        } else {
            let measured = measured.unwrap_or(0.0);
            match ratio {
                Some(r) if r >= 2.0 => Flag::UnderEstimated,
                Some(r) if r <= 0.5 => Flag::OverEstimated,
                None if measured > 0.0 => Flag::UnderEstimated,
                _ => Flag::Ok,
            }
        };
        StepMeasurement {
            id: step.id.clone(),
            estimate_hours: Some(estimate),
            measured_hours: measured,
            ratio,
            flag,
            wait,
            process,
            ca,
            steps,
        }
    }
}

fn empty_stats(segment: &Segment) -> SegmentStats {
    SegmentStats {
        from: segment.from.to_string(),
        to: segment.to.to_string(),
        n: 0,
        p50_hours: None,
        p85_hours: None,
        mean_hours: None,
        missing: 0,
        anomalies: 0,
        wip: 0,
        wip_age_p50_hours: None,
        wip_oldest: Vec::new(),
    }
}

/// The map with every bound part replaced by its median (when n ≥ 1) and every bound `ca`
/// by 1 − change fail rate (when there were deployments and not all failed: a `ca` of 0
/// would send every item back forever, so the drawn `ca` stays then).
pub fn measured_map(map: &Map, measured: &[StepMeasurement]) -> Map {
    let mut out = map.clone();
    fn replace(steps: &mut [Step], measured: &[StepMeasurement]) {
        for (step, m) in steps.iter_mut().zip(measured) {
            if let Some(p50) = m.wait.as_ref().and_then(|s| s.p50_hours) {
                step.wait = Estimate::exact(p50);
            }
            if let Some(p50) = m.process.as_ref().and_then(|s| s.p50_hours) {
                step.process = Estimate::exact(p50);
            }
            if let Some(ca) = m.ca.filter(|ca| *ca > 0.0) {
                step.ca = ca;
            }
            if let Some(sub) = step.drill_down.as_mut() {
                replace(&mut sub.steps, &m.steps);
            }
        }
    }
    replace(&mut out.steps, measured);
    out
}

/// Holds `map` against `data` over the options' window: every bound step's segments and
/// flag, the end-to-end segment, and both the drawn and the measured map analysed.
///
/// # Errors
///
/// When the options contradict themselves (an empty window, a negative attribution
/// window). A point nobody records is not an error: its segments have `n = 0` and a note
/// says so.
pub fn measure_map(
    map: &Map,
    data: &MeasureData<'_>,
    options: &MeasureOptions,
) -> Result<MeasureReport, MeasureError> {
    let lead_segment = map
        .measure
        .as_ref()
        .and_then(|m| m.lead_time.clone())
        .unwrap_or_else(|| Segment::default_lead_time(map.stream));
    let scope = ItemScope {
        service: options.service.clone(),
        environment: options.environment.clone(),
        attribution_window: options.attribution_window,
    };
    let points = bound_points(map, &lead_segment);
    let items = lifecycle(
        data,
        &scope,
        map.stream,
        &points,
        options.since,
        options.until,
    )?;
    let mut measurer = Measurer {
        items: &items,
        options,
        negatives: Vec::new(),
        unrecorded: Vec::new(),
        scratch: Vec::new(),
    };
    let lead_time = measurer.stats(&lead_segment);
    let steps: Vec<StepMeasurement> = map.steps.iter().map(|s| measurer.step(s)).collect();

    let estimate = analyze(map, &options.analysis);
    let measured = analyze(&measured_map(map, &steps), &options.analysis);

    let mut notes = Vec::new();
    for point in &measurer.unrecorded {
        notes.push(format!(
            "no {} item of {} has the point `{point}`: segments using it have no data",
            stream_word(map.stream),
            options.service
        ));
    }
    if steps.iter().any(|s| s.ca.is_none())
        && has_ca_binding(&map.steps)
        && items.change_fail_rate().is_none()
    {
        notes.push(
            "`ca: change_fail_rate` is bound but there were no deployments in the window: \
             the drawn ca stays"
                .to_owned(),
        );
    }
    if items.change_fail_rate() == Some(1.0) && has_ca_binding(&map.steps) {
        notes.push(
            "every deployment in the window failed: a ca of 0% would never finish, so the \
             measured map keeps the drawn ca"
                .to_owned(),
        );
    }
    let sum_of_medians: f64 = steps.iter().filter_map(|s| s.measured_hours).sum();
    if let Some(whole) = lead_time.p50_hours
        && steps.iter().any(|s| s.measured_hours.is_some())
    {
        notes.push(format!(
            "the measured steps' medians add up to {sum_of_medians:.1} h and the median \
             {} is {whole:.1} h: a sum of medians is not the median of the sums (items \
             slow in one step are not the items slow in another), so the two differ by \
             nature",
            lead_segment
        ));
    }
    let anomalies = measurer.negatives.len();
    if anomalies > 0 {
        notes.push(format!(
            "{anomalies} negative segment(s) (the later point before the earlier one) are left \
             out and counted as anomalies; --explain lists them"
        ));
    }
    let negative_segments = options.explain.then_some(measurer.negatives);

    Ok(MeasureReport {
        name: map.name.clone(),
        service: options.service.clone(),
        environment: options.environment.clone(),
        since: options.since,
        until: options.until,
        lead_time,
        steps,
        estimate,
        measured,
        notes,
        negative_segments,
    })
}

fn has_ca_binding(steps: &[Step]) -> bool {
    steps.iter().any(|s| {
        s.measure.as_ref().is_some_and(|m| m.ca.is_some())
            || s.drill_down
                .as_ref()
                .is_some_and(|d| has_ca_binding(&d.steps))
    })
}

fn stream_word(stream: Stream) -> &'static str {
    match stream {
        Stream::Delivery => "delivery",
        Stream::Recovery => "recovery",
    }
}
