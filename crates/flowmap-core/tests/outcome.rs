//! Outcome files (every problem located) and outcome status measured from events.

use flowmap_core::dora::DoraInput;
use flowmap_core::events::{Change, Deployment, Incident};
use flowmap_core::experiment::Verdict;
use flowmap_core::map::{Diagnostic, Format};
use flowmap_core::outcome::{
    Baseline, Metric, Operator, Outcome, OutcomeData, Status, parse_outcome, status,
};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

/// The steps the outcome files in these tests may name: `checkout.yaml` has `code`,
/// `manual-qa` and `deploy`.
fn checkout_steps(map: &str, step: &str) -> Result<(), String> {
    if map != "checkout.yaml" {
        return Err(format!("no map file `{map}`"));
    }
    if ["code", "manual-qa", "deploy"].contains(&step) {
        Ok(())
    } else {
        Err(format!("map `{map}` has no step `{step}`"))
    }
}

const EXAMPLE: &str = r#"outcome: Reduce the share of deployments that fail in production to under 10 % within 3 months
mandate: Ship the new checkout without hurting reliability
service: checkout
environment: production
metric: change_failure_rate
baseline: 2026-06-01..2026-09-01
target: "< 10%"
deadline: 2026-12-01
window: 28d
started: 2026-09-01
concerns:
  - { text: Manual QA misses regressions, category: testing, votes: 4 }
benefits: [Fewer weekend pages]
obstacles: [No staging data]
next_steps: [Contract tests for the payment API]
experiments:
  - id: contract-tests
    hypothesis: Contract tests in CI catch the integration bugs manual QA misses
    constraint: checkout.yaml#manual-qa
    capability: test-automation
    metric: change_failure_rate
    started: 2026-09-15
    ended: 2026-11-15
    before: 2026-06-15..2026-09-15
"#;

fn t(text: &str) -> Timestamp {
    flowmap_core::dora::parse_window_bound(text).unwrap()
}

fn parse(text: &str) -> Result<Outcome, Vec<Diagnostic>> {
    parse_outcome(text, Format::Yaml, &checkout_steps)
}

fn located(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("expected errors"),
        Err(errors) => errors
            .iter()
            .map(|d| format!("{}:{}: {}", d.pos.line, d.pos.column, d.message))
            .collect(),
    }
}

#[track_caller]
fn assert_error(text: &str, at: &str, needle: &str) {
    let found = located(text);
    assert!(
        found
            .iter()
            .any(|e| e.starts_with(at) && e.contains(needle)),
        "expected an error at {at} containing {needle:?}, got {found:#?}"
    );
}

#[test]
fn the_documented_example_reads_completely() {
    let outcome = parse(EXAMPLE).unwrap();
    assert_eq!(outcome.metric, Metric::ChangeFailureRate);
    assert_eq!(
        outcome.baseline,
        Baseline::Window {
            since: t("2026-06-01"),
            until: t("2026-09-01")
        }
    );
    assert_eq!(outcome.target.op, Operator::Less);
    assert!((outcome.target.value - 0.1).abs() < 1e-15);
    assert_eq!(outcome.deadline, t("2026-12-01"));
    assert_eq!(outcome.window_hours, 28.0 * 24.0);
    assert_eq!(outcome.service.as_deref(), Some("checkout"));
    assert_eq!(outcome.concerns[0].votes, 4);
    assert_eq!(outcome.concerns[0].category.as_deref(), Some("testing"));
    assert_eq!(outcome.next_steps, ["Contract tests for the payment API"]);
    let experiment = &outcome.experiments[0];
    assert_eq!(experiment.id, "contract-tests");
    assert_eq!(experiment.constraint.as_ref().unwrap().step, "manual-qa");
    assert_eq!(experiment.capability.as_deref(), Some("test-automation"));
    assert_eq!(experiment.ended, Some(t("2026-11-15")));
    assert_eq!(experiment.before, Some((t("2026-06-15"), t("2026-09-15"))));
}

#[test]
fn toml_and_json_read_the_same_outcome() {
    let toml = r#"
outcome = "Faster reviews"
metric = "step:checkout.yaml#manual-qa"
baseline = "3d"
target = "<= 1d"
deadline = "2026-12-01"
started = "2026-09-01"

[[experiments]]
id = "pairing"
started = "2026-09-10"
"#;
    let json = r#"{"outcome": "Faster reviews", "metric": "step:checkout.yaml#manual-qa",
        "baseline": "3d", "target": "<= 1d", "deadline": "2026-12-01", "started": "2026-09-01",
        "experiments": [{"id": "pairing", "started": "2026-09-10"}]}"#;
    let from_toml = parse_outcome(toml, Format::Toml, &checkout_steps).unwrap();
    let from_json = parse_outcome(json, Format::Json, &checkout_steps).unwrap();
    assert_eq!(from_toml.metric, from_json.metric);
    assert_eq!(from_toml.baseline, Baseline::Value(72.0));
    assert_eq!(from_json.baseline, Baseline::Value(72.0));
    assert_eq!(from_toml.target, from_json.target);
    assert_eq!(from_toml.experiments[0].metric, from_toml.metric);
    // TOML errors are located too.
    let errors = parse_outcome(
        &toml.replace("metric = ", "metirc = "),
        Format::Toml,
        &checkout_steps,
    )
    .unwrap_err();
    assert!(
        errors
            .iter()
            .any(|d| d.pos.line == 3 && d.message.contains("did you mean `metric`"))
    );
}

#[test]
fn unknown_fields_metrics_and_capabilities_have_a_did_you_mean() {
    assert_error(
        &EXAMPLE.replace("mandate:", "mandat:"),
        "2:1",
        "unknown field `mandat` in outcome: did you mean `mandate`?",
    );
    assert_error(
        &EXAMPLE.replace(
            "metric: change_failure_rate\nbaseline",
            "metric: change_fail_rate\nbaseline",
        ),
        "5:9",
        "unknown metric `change_fail_rate`: did you mean `change_failure_rate`?",
    );
    assert_error(
        &EXAMPLE.replace("capability: test-automation", "capability: test-automaton"),
        "20:17",
        "did you mean `test-automation`?",
    );
    assert_error(
        &EXAMPLE.replace("    hypothesis:", "    hypotesis:"),
        "18:5",
        "did you mean `hypothesis`?",
    );
}

#[test]
fn targets_and_baselines_must_be_in_the_metric_unit() {
    assert_error(
        &EXAMPLE.replace(r#"target: "< 10%""#, r#"target: "< 1d""#),
        "7:9",
        "`target` for `change_failure_rate` must be a rate like `10%` or `0.1`",
    );
    assert_error(
        &EXAMPLE.replace(r#"target: "< 10%""#, r#"target: "10%""#),
        "7:9",
        "needs a comparison",
    );
    assert_error(
        &EXAMPLE
            .replace(
                "metric: change_failure_rate\nbaseline",
                "metric: lead_time\nbaseline",
            )
            .replace(r#"target: "< 10%""#, r#"target: "< 10/week""#),
        "7:9",
        "a duration like `1d`",
    );
    assert_error(
        &EXAMPLE.replace(
            "baseline: 2026-06-01..2026-09-01",
            "baseline: 2026-09-01..2026-06-01",
        ),
        "6:11",
        "`baseline` is empty",
    );
}

#[test]
fn constraints_must_name_an_existing_map_step() {
    assert_error(
        &EXAMPLE.replace("checkout.yaml#manual-qa", "checkout.yaml#qa"),
        "19:17",
        "map `checkout.yaml` has no step `qa`",
    );
    assert_error(
        &EXAMPLE.replace("checkout.yaml#manual-qa", "payments.yaml#qa"),
        "19:17",
        "no map file `payments.yaml`",
    );
    assert_error(
        &EXAMPLE.replace("checkout.yaml#manual-qa", "manual-qa"),
        "19:17",
        "must name a map step as `MAP#STEP`",
    );
}

#[test]
fn experiment_windows_must_make_sense() {
    assert_error(
        &EXAMPLE.replace("ended: 2026-11-15", "ended: 2026-09-01"),
        "23:12",
        "`ended` (2026-09-01T00:00:00Z) must come after `started` (2026-09-15T00:00:00Z)",
    );
    assert_error(
        &EXAMPLE.replace(
            "before: 2026-06-15..2026-09-15",
            "before: 2026-06-15..2026-10-01",
        ),
        "24:13",
        "`before` overlaps the experiment",
    );
    assert_error(
        &EXAMPLE.replace("    started: 2026-09-15\n", ""),
        "17:5",
        "missing field `started` in experiment",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = EXAMPLE
        .replace("mandate:", "mandat:")
        .replace(r#"target: "< 10%""#, r#"target: "< 1d""#)
        .replace("ended: 2026-11-15", "ended: 2026-09-01");
    assert_eq!(located(&text).len(), 3, "{:#?}", located(&text));
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse_outcome(&text, Format::Yaml, &checkout_steps);
        let _ = parse_outcome(&text, Format::Toml, &checkout_steps);
        let _ = parse_outcome(&text, Format::Json, &checkout_steps);
    }

    #[test]
    fn mangled_examples_never_panic(cut in 0usize..1000, insert in "[ :#\\[\\]{}\\-a-z0-9<>%.]{0,6}") {
        let cut = cut.min(EXAMPLE.len());
        let cut = (0..=cut).rev().find(|&i| EXAMPLE.is_char_boundary(i)).unwrap_or(0);
        let text = format!("{}{}{}", &EXAMPLE[..cut], insert, &EXAMPLE[cut..]);
        let _ = parse_outcome(&text, Format::Yaml, &checkout_steps);
    }
}

/// One deployment of `checkout` a day at 12:00 UTC from 2026-06-01 to 2026-12-31, each
/// shipping one change. Before 2026-09-15 a change waits 40–49 h (cycling by day), from
/// then on 20–29 h. Before 2026-09-15 every third deployment fails (an incident names it);
/// from then on every tenth.
fn year() -> (Vec<Deployment>, Vec<Change>, Vec<Incident>) {
    let first = t("2026-06-01") + SignedDuration::from_hours(12);
    let switch = t("2026-09-15");
    let (mut deployments, mut changes, mut incidents) = (Vec::new(), Vec::new(), Vec::new());
    for day in 0..214i64 {
        let at = first + SignedDuration::from_hours(24 * day);
        let after = at >= switch;
        let lead = if after { 20 } else { 40 } + day % 10;
        let mut deployment = Deployment::new(format!("d{day}"), "checkout", at);
        deployment.changes = vec![format!("c{day}")];
        deployments.push(deployment);
        changes.push(Change::new(
            format!("c{day}"),
            "checkout",
            at - SignedDuration::from_hours(lead),
        ));
        if day % if after { 10 } else { 3 } == 0 {
            let mut incident = Incident::new(
                format!("i{day}"),
                "checkout",
                at + SignedDuration::from_hours(1),
            );
            incident.caused_by = Some(format!("d{day}"));
            incident.resolved_at = Some(at + SignedDuration::from_hours(3));
            incidents.push(incident);
        }
    }
    (deployments, changes, incidents)
}

const LEAD_TIME_OUTCOME: &str = "outcome: Changes reach production within a day
service: checkout
metric: lead_time
baseline: 2026-06-01..2026-09-01
target: '<= 1d'
deadline: 2026-12-01
experiments:
  - id: smaller-prs
    started: 2026-09-15
    ended: 2026-10-15
  - id: too-early
    started: 2026-10-14
    ended: 2026-10-16
";

#[test]
fn lead_time_outcome_status_by_hand() {
    let (deployments, changes, incidents) = year();
    let data = OutcomeData {
        events: DoraInput {
            deployments: &deployments,
            changes: &changes,
            incidents: &incidents,
        },
        steps: None,
    };
    let outcome = parse(LEAD_TIME_OUTCOME).unwrap();
    let at = t("2026-10-20");
    let result = status(&outcome, &data, at, None);
    // Baseline June–August, days 0..=91: 40 + day % 10 gives 40 and 41 ten times each and
    // 42..=49 nine times each; the 46th and 47th of the 92 sorted values are both 44.
    assert_eq!(result.baseline_value, Some(44.0));
    // Current window [09-22, 10-20): days 113..=140, all after the switch, 20 + day % 10:
    // 20 three times, 21 and 22 twice, 23..=29 three times each; the 14th and 15th of the
    // 28 sorted values are both 25.
    assert_eq!(result.current_value, Some(25.0));
    assert_eq!(result.met, Some(false));
    // Progress (25 − 44) / (24 − 44) = 19 / 20.
    assert!((result.progress.unwrap() - 0.95).abs() < 1e-12);
    // Expected: 49 of the 91 days from 09-01 to 12-01.
    assert!((result.expected_progress.unwrap() - 49.0 / 91.0).abs() < 1e-12);
    assert_eq!(result.status, Status::OnTrack);
    assert_eq!(result.unit, "hours");

    let experiment = &result.experiments[0];
    assert_eq!(experiment.before.since, t("2026-08-16"));
    assert_eq!(experiment.before.until, t("2026-09-15"));
    assert_eq!((experiment.before.n, experiment.after.n), (30, 30));
    assert_eq!(experiment.shift, Some(-20.0));
    assert_eq!(experiment.verdict, Verdict::Improved);
    assert!(!experiment.running);
    assert!(
        experiment
            .sentence
            .starts_with("lead time fell by 20 h (95 % CI "),
        "{}",
        experiment.sentence
    );
    assert!(experiment.sentence.ends_with("p < 0.001; 30 → 30 changes)"));
    // Two days after against two days before: too few changes for a verdict.
    assert_eq!(result.experiments[1].verdict, Verdict::InsufficientData);

    // After the deadline, not met: overdue. Long before any data: no data.
    let late = status(&outcome, &data, t("2026-12-10"), None);
    assert_eq!(late.status, Status::Overdue);
    let early = status(&outcome, &data, t("2026-01-10"), None);
    assert_eq!(early.status, Status::NoData);
    assert_eq!(early.current_value, None);
    // A target the current value satisfies: met.
    let relaxed = parse(&LEAD_TIME_OUTCOME.replace("'<= 1d'", "'<= 25h'")).unwrap();
    assert_eq!(status(&relaxed, &data, at, None).status, Status::Met);
}

#[test]
fn change_fail_rate_experiment_uses_newcombe_and_fisher() {
    let (deployments, changes, incidents) = year();
    let data = OutcomeData {
        events: DoraInput {
            deployments: &deployments,
            changes: &changes,
            incidents: &incidents,
        },
        steps: None,
    };
    let outcome = parse(EXAMPLE).unwrap();
    let result = status(&outcome, &data, t("2026-12-01"), None);
    let experiment = &result.experiments[0];
    // Before 06-15..09-15: 92 daily deployments, days 14..=105; failed when day % 3 == 0:
    // 15, 18, ..., 105 → 31 failed. After 09-15..11-15: 61 deployments, days 106..=166;
    // failed when day % 10 == 0: 110, ..., 160 → 6 failed.
    assert_eq!((experiment.before.n, experiment.after.n), (92, 61));
    let (d, low, high) = flowmap_core::experiment::newcombe_interval(31, 92, 6, 61).unwrap();
    assert_eq!(experiment.shift, Some(d));
    assert_eq!(
        (experiment.ci_low, experiment.ci_high),
        (Some(low), Some(high))
    );
    assert_eq!(
        experiment.p_value,
        flowmap_core::experiment::fisher_exact_p(31, 92, 6, 61)
    );
    assert!(high < 0.0);
    assert_eq!(experiment.verdict, Verdict::Improved);
    assert!(
        experiment
            .sentence
            .starts_with("change fail rate fell by 24 points"),
        "{}",
        experiment.sentence
    );
    // The outcome itself: the window [11-03, 12-01) has 28 deployments, days 155..=182,
    // 3 failed (160, 170, 180): 3/28 ≈ 10.7 % is not under 10 %, and the deadline is here.
    assert_eq!(result.current_value, Some(3.0 / 28.0));
    assert_eq!(result.status, Status::Overdue);
}
