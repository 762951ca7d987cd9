//! Comparing two maps of one stream: current against future, or two dates (SPEC §3).

use serde::Serialize;

use super::{Analysis, Map};

/// How one headline number changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricDelta {
    pub metric: &'static str,
    pub old: f64,
    pub new: f64,
    /// `new − old`.
    pub delta: f64,
}

/// What happened to one step, matched by id.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum StepChange {
    Added {
        id: String,
        lead_time_hours: f64,
    },
    Removed {
        id: String,
        lead_time_hours: f64,
    },
    Changed {
        id: String,
        /// The fields that differ, each with its old and new value.
        fields: Vec<MetricDelta>,
    },
}

/// The difference between two maps: `map diff OLD NEW`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MapDiff {
    pub old_name: String,
    pub new_name: String,
    pub metrics: Vec<MetricDelta>,
    pub steps: Vec<StepChange>,
    /// Bottleneck before and after, when it moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bottleneck_moved: Option<(String, String)>,
}

/// Compares two analysed maps. Steps are matched by id; unchanged steps are left out.
pub fn diff(old: (&Map, &Analysis), new: (&Map, &Analysis)) -> MapDiff {
    let ((old_map, a), (new_map, b)) = (old, new);
    let metrics = vec![
        delta("lead_time_hours", a.lead_time_hours, b.lead_time_hours),
        delta(
            "process_time_hours",
            a.process_time_hours,
            b.process_time_hours,
        ),
        delta("wait_time_hours", a.wait_time_hours, b.wait_time_hours),
        delta("activity_ratio", a.activity_ratio, b.activity_ratio),
        delta("rolled_ca", a.rolled_ca, b.rolled_ca),
        delta("handoffs", a.handoffs as f64, b.handoffs as f64),
        delta(
            "expected_lead_time_hours",
            a.expected_lead_time_hours,
            b.expected_lead_time_hours,
        ),
        delta(
            "steps",
            old_map.steps.len() as f64,
            new_map.steps.len() as f64,
        ),
    ];

    let mut steps = Vec::new();
    for old_step in &a.steps {
        match b.steps.iter().find(|s| s.id == old_step.id) {
            None => steps.push(StepChange::Removed {
                id: old_step.id.clone(),
                lead_time_hours: old_step.lead_time_hours,
            }),
            Some(new_step) => {
                let fields: Vec<MetricDelta> = [
                    delta("wait_hours", old_step.wait_hours, new_step.wait_hours),
                    delta(
                        "process_hours",
                        old_step.process_hours,
                        new_step.process_hours,
                    ),
                    delta("ca", old_step.ca, new_step.ca),
                    delta(
                        "expected_passes",
                        old_step.expected_passes,
                        new_step.expected_passes,
                    ),
                ]
                .into_iter()
                .filter(|d| d.delta.abs() > 1e-12)
                .collect();
                if !fields.is_empty() {
                    steps.push(StepChange::Changed {
                        id: old_step.id.clone(),
                        fields,
                    });
                }
            }
        }
    }
    for new_step in &b.steps {
        if !a.steps.iter().any(|s| s.id == new_step.id) {
            steps.push(StepChange::Added {
                id: new_step.id.clone(),
                lead_time_hours: new_step.lead_time_hours,
            });
        }
    }

    MapDiff {
        old_name: a.name.clone(),
        new_name: b.name.clone(),
        metrics,
        steps,
        bottleneck_moved: (a.bottleneck != b.bottleneck)
            .then(|| (a.bottleneck.clone(), b.bottleneck.clone())),
    }
}

fn delta(metric: &'static str, old: f64, new: f64) -> MetricDelta {
    MetricDelta {
        metric,
        old,
        new,
        delta: new - old,
    }
}
