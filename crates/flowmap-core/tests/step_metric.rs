//! `step:MAP#STEP` outcome metrics, by hand: the per-item time of a bound step, counted in
//! the window of its last part's end, measured into an outcome's status and experiments.

use flowmap_core::dora::{DEFAULT_ATTRIBUTION_WINDOW, DoraInput, parse_window_bound};
use flowmap_core::events::Change;
use flowmap_core::experiment::Verdict;
use flowmap_core::map::{Format, Map, parse_map};
use flowmap_core::measure::{MeasureData, StepTimes};
use flowmap_core::outcome::{
    Outcome, OutcomeData, Status, StepRef, StepSamples, check_step, parse_outcome, status,
};
use jiff::{SignedDuration, Timestamp};

/// `h` hours after 2026-03-02 00:00 UTC.
fn at(h: f64) -> Timestamp {
    parse_window_bound("2026-03-02").unwrap() + SignedDuration::from_secs_f64(h * 3600.0)
}

const MAP: &str = "name: Checkout
service: checkout
steps:
  - id: code
    process: 1h
  - id: review
    wait: 4h
    process: 1h
    measure:
      wait: pr_opened..first_review
      process: first_review..approved
  - id: deploy
    process: 1h
";

fn map() -> Map {
    parse_map(MAP, Format::Yaml).unwrap().map
}

/// Changes of `checkout` with (pr_opened, first_review, approved), hours after the origin:
///
/// | change | pr | review | approved | counts? | hours | at |
/// | a | 0 | 2 | 5 | yes | 2 + 3 = 5 | 5 |
/// | b | 1 | 9 | 10 | yes | 8 + 1 = 9 | 10 |
/// | c | 2 | 3 | — | no: no process end | | |
/// | d | — | 4 | 6 | no: no wait start | | |
/// | e | 10 | 8 | 12 | no: negative wait | | |
/// | f | 19 | 21 | 29 | yes | 2 + 8 = 10 | 29 |
/// | g | 3 | 4 | 4 | yes | 1 + 0 = 1 | 4 |
///
/// and one change of another service that would count if it were in scope.
fn changes() -> Vec<Change> {
    /// id, service, pr_opened, first_review, approved.
    type Row<'a> = (&'a str, &'a str, Option<f64>, Option<f64>, Option<f64>);
    let rows: [Row<'_>; 8] = [
        ("a", "checkout", Some(0.0), Some(2.0), Some(5.0)),
        ("b", "checkout", Some(1.0), Some(9.0), Some(10.0)),
        ("c", "checkout", Some(2.0), Some(3.0), None),
        ("d", "checkout", None, Some(4.0), Some(6.0)),
        ("e", "checkout", Some(10.0), Some(8.0), Some(12.0)),
        ("f", "checkout", Some(19.0), Some(21.0), Some(29.0)),
        ("g", "checkout", Some(3.0), Some(4.0), Some(4.0)),
        ("x", "billing", Some(0.0), Some(1.0), Some(2.0)),
    ];
    rows.iter()
        .map(|&(id, service, pr, review, approved)| {
            let mut c = Change::new(id, service, at(0.0));
            c.pr_opened_at = pr.map(at);
            c.first_review_at = review.map(at);
            c.approved_at = approved.map(at);
            c
        })
        .collect()
}

fn data(changes: &[Change]) -> MeasureData<'_> {
    MeasureData {
        changes,
        ..MeasureData::default()
    }
}

fn outcome(text: &str) -> Outcome {
    let map = map();
    let resolver = |file: &str, step: &str| {
        if file == "checkout.yaml" {
            check_step(&map, file, step)
        } else {
            Err(format!("no map `{file}`"))
        }
    };
    parse_outcome(text, Format::Yaml, &resolver).unwrap()
}

const OUTCOME: &str = "outcome: Reviews within four hours
service: checkout
metric: step:checkout.yaml#review
baseline: 8h
target: '<= 4h'
deadline: 2026-06-01
started: 2026-02-01
window: 1d
experiments:
  - id: review-rota
    started: 2026-03-02T06:00:00Z
    ended: 2026-03-03T06:00:00Z
";

fn review() -> StepRef {
    StepRef {
        map: "checkout.yaml".into(),
        step: "review".into(),
    }
}

#[test]
fn step_samples_count_items_with_every_part_in_the_window_of_the_last_end() {
    let changes = changes();
    let map = map();
    let times = StepTimes::measure(
        &outcome(OUTCOME),
        &|file| (file == "checkout.yaml").then_some(&map),
        &data(&changes),
        DEFAULT_ATTRIBUTION_WINDOW,
    )
    .unwrap();
    let samples = |since: f64, until: f64| times.step_samples(&review(), at(since), at(until));
    // The first day: g (1 h at 4), a (5 h at 5), b (9 h at 10), in the order they end.
    assert_eq!(samples(0.0, 24.0), Some(vec![1.0, 5.0, 9.0]));
    // The window's end is exclusive: a ends at 5.
    assert_eq!(samples(0.0, 5.0), Some(vec![1.0]));
    assert_eq!(samples(5.0, 6.0), Some(vec![5.0]));
    // f ends at 29: the next day.
    assert_eq!(samples(24.0, 48.0), Some(vec![10.0]));
    assert_eq!(samples(48.0, 72.0), Some(vec![]));
    // A step the outcome does not name has no samples.
    let code = StepRef {
        map: "checkout.yaml".into(),
        step: "code".into(),
    };
    assert_eq!(times.step_samples(&code, at(0.0), at(24.0)), None);
}

#[test]
fn a_step_outcome_has_a_status_and_experiment_samples() {
    let changes = changes();
    let map = map();
    let outcome = outcome(OUTCOME);
    let times = StepTimes::measure(
        &outcome,
        &|file| (file == "checkout.yaml").then_some(&map),
        &data(&changes),
        DEFAULT_ATTRIBUTION_WINDOW,
    )
    .unwrap();
    let input = OutcomeData {
        events: DoraInput {
            changes: &changes,
            ..DoraInput::default()
        },
        steps: Some(&times),
    };
    let result = status(&outcome, &input, at(24.0), None);
    // The current window is the day before: 1, 5 and 9 hours, median 5.
    assert_eq!(result.current_value, Some(5.0));
    assert_eq!(result.baseline_value, Some(8.0));
    assert_eq!(result.met, Some(false));
    // (5 − 8) / (4 − 8) = 0.75.
    assert_eq!(result.progress, Some(0.75));
    assert_eq!(result.unit, "hours");
    assert_eq!(result.metric, "step:checkout.yaml#review");
    assert_eq!(result.status, Status::OnTrack);
    // Before [03-01 06:00, 03-02 06:00): g and a. After: from 03-02 06:00 to the status
    // time (the experiment runs until 03-03 06:00): b only; f ends at 03-03 05:00.
    let experiment = &result.experiments[0];
    assert!(experiment.running);
    assert_eq!((experiment.before.n, experiment.after.n), (2, 1));
    assert_eq!(experiment.before.value, Some(3.0));
    assert_eq!(experiment.after.value, Some(9.0));
    assert_eq!(experiment.verdict, Verdict::InsufficientData);
    // Once it ended, the after window holds b and f: 9 and 10 hours.
    let later = status(&outcome, &input, at(48.0), None);
    let experiment = &later.experiments[0];
    assert!(!experiment.running);
    assert_eq!((experiment.before.n, experiment.after.n), (2, 2));
    assert_eq!(experiment.after.value, Some(9.5));

    // Without the step times (no maps given), the same outcome has no data.
    let blind = OutcomeData {
        steps: None,
        ..input
    };
    assert_eq!(
        status(&outcome, &blind, at(24.0), None).status,
        Status::NoData
    );
}

#[test]
fn a_step_without_a_service_or_binding_has_no_samples() {
    let changes = changes();
    // Neither the outcome nor the map names a service.
    let unscoped = map();
    let unscoped = Map {
        service: None,
        ..unscoped
    };
    let no_service = OUTCOME.replace("service: checkout\n", "");
    let times = StepTimes::measure(
        &outcome(&no_service),
        &|_| Some(&unscoped),
        &data(&changes),
        DEFAULT_ATTRIBUTION_WINDOW,
    )
    .unwrap();
    assert_eq!(times.step_samples(&review(), at(0.0), at(24.0)), None);
    // A step that binds nothing cannot be measured; a map that is not there neither.
    let map = map();
    let on_code = OUTCOME.replace("#review", "#code");
    let times = StepTimes::measure(
        &outcome(&on_code),
        &|_| Some(&map),
        &data(&changes),
        DEFAULT_ATTRIBUTION_WINDOW,
    )
    .unwrap();
    let code = StepRef {
        map: "checkout.yaml".into(),
        step: "code".into(),
    };
    assert_eq!(times.step_samples(&code, at(0.0), at(24.0)), None);
    let times = StepTimes::measure(
        &outcome(OUTCOME),
        &|_| None,
        &data(&changes),
        DEFAULT_ATTRIBUTION_WINDOW,
    )
    .unwrap();
    assert_eq!(times.step_samples(&review(), at(0.0), at(24.0)), None);
}
