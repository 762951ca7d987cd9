//! The time of one map step per item: the samples of a `step:MAP#STEP` outcome metric.
//!
//! An item counts for a step when it has every bound part of the step (`wait`, `process`)
//! with both points and no negative part; its value is the parts' durations added, in
//! hours, and it counts in the window that holds its last part's `TO` (the latest of the
//! parts' ends). A step that binds neither `wait` nor `process` cannot be measured.
//!
//! The points are read once, for all time (lifecycle points do not depend on a window),
//! so the many windows of an outcome's journey and experiments are each a binary search.

use jiff::{SignedDuration, Timestamp};

use crate::dora::DoraError;
use crate::map::{Map, Step};
use crate::outcome::{Outcome, StepRef, StepSamples};

use super::lifecycle::{ItemScope, MeasureData, lifecycle};
use super::points::Segment;
use super::segment::{ABSENT, Micros, hours_between};

/// One step's items: (the time it counts at, its duration in hours), by time.
pub type StepItems = Vec<(Micros, f64)>;

/// The step `id` of `map` or of any of its drill-downs.
pub fn find_step<'m>(map: &'m Map, id: &str) -> Option<&'m Step> {
    map.steps.iter().find_map(|s| {
        if s.id == id {
            Some(s)
        } else {
            s.drill_down.as_deref().and_then(|sub| find_step(sub, id))
        }
    })
}

/// The durations of `step` (of a map of `map`'s stream) per item of `scope`, ordered by
/// the time each counts at; `None` when the step binds neither wait nor process.
///
/// # Errors
///
/// When the scope's attribution window is negative.
pub fn step_items(
    map: &Map,
    step: &Step,
    data: &MeasureData<'_>,
    scope: &ItemScope,
) -> Result<Option<StepItems>, DoraError> {
    let Some(binding) = &step.measure else {
        return Ok(None);
    };
    let parts: Vec<&Segment> = [&binding.wait, &binding.process]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        return Ok(None);
    }
    let points: Vec<_> = parts
        .iter()
        .flat_map(|s| [s.from.clone(), s.to.clone()])
        .collect();
    // Links do not depend on the window: the widest one reads every item's points.
    let items = lifecycle(
        data,
        scope,
        map.stream,
        &points,
        Timestamp::MIN,
        Timestamp::MAX,
    )?;
    let columns: Vec<(&[Micros], &[Micros])> = parts
        .iter()
        .filter_map(|s| Some((items.times(&s.from)?, items.times(&s.to)?)))
        .collect();
    let mut out = Vec::new();
    'items: for item in 0..items.ids.len() {
        let (mut hours, mut last) = (0.0, ABSENT);
        for (from, to) in &columns {
            let (f, t) = (from[item], to[item]);
            if f == ABSENT || t == ABSENT || t < f {
                continue 'items;
            }
            hours += hours_between(f, t);
            last = last.max(t);
        }
        out.push((last, hours));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    Ok(Some(out))
}

/// The step metrics an outcome and its experiments name, measured once from the data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepTimes {
    steps: Vec<(StepRef, Option<StepItems>)>,
}

impl StepTimes {
    /// Measures every `step:MAP#STEP` metric of `outcome` (its own and its experiments'),
    /// finding each map with `map_of` (by `MAP` as written). The scope is the outcome's
    /// service, else the map's `service:`; with neither, or a map or step not found, the
    /// step has no samples.
    ///
    /// # Errors
    ///
    /// When the attribution window is negative.
    pub fn measure<'m>(
        outcome: &Outcome,
        map_of: &dyn Fn(&str) -> Option<&'m Map>,
        data: &MeasureData<'_>,
        attribution_window: SignedDuration,
    ) -> Result<StepTimes, DoraError> {
        let mut steps: Vec<(StepRef, Option<StepItems>)> = Vec::new();
        let metrics =
            std::iter::once(&outcome.metric).chain(outcome.experiments.iter().map(|e| &e.metric));
        for metric in metrics {
            let crate::outcome::Metric::Step(step_ref) = metric else {
                continue;
            };
            if steps.iter().any(|(r, _)| r == step_ref) {
                continue;
            }
            let found = map_of(&step_ref.map).and_then(|map| {
                let step = find_step(map, &step_ref.step)?;
                let service = outcome.service.clone().or_else(|| map.service.clone())?;
                Some((map, step, service))
            });
            let items = match found {
                Some((map, step, service)) => {
                    let scope = ItemScope {
                        service,
                        environment: outcome.environment.clone(),
                        attribution_window,
                    };
                    step_items(map, step, data, &scope)?
                }
                None => None,
            };
            steps.push((step_ref.clone(), items));
        }
        Ok(StepTimes { steps })
    }
}

impl StepSamples for StepTimes {
    fn step_samples(&self, step: &StepRef, since: Timestamp, until: Timestamp) -> Option<Vec<f64>> {
        let items = self.steps.iter().find(|(r, _)| r == step)?.1.as_ref()?;
        let (since, until) = (since.as_microsecond(), until.as_microsecond());
        let start = items.partition_point(|(at, _)| *at < since);
        let end = items.partition_point(|(at, _)| *at < until);
        Some(
            items[start..end.max(start)]
                .iter()
                .map(|(_, h)| *h)
                .collect(),
        )
    }
}
