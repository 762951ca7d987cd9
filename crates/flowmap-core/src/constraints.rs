//! Which step to improve: every step's what-ifs, ranked by how much each would shorten the
//! expected lead time.
//!
//! For every step of a map three what-ifs are analysed exactly as the map itself is (the
//! expected lead time with rework, on point values): its wait halved, its process time
//! halved, and its `ca` made 100 %. Each gives the hours of expected lead time saved and
//! that as a share of the map's expected lead time; the `ca` what-if also gives the rolled
//! %C&A with that step at 100 %. Steps are ranked by the largest of their three gains,
//! compared after rounding to 6 decimals so that rounding noise cannot reorder equal
//! gains; equal gains keep list order.
//!
//! Each step carries the DORA capabilities the map names for it, or — when it names none —
//! the catalogue's keyword suggestions for its id, name and team.

use serde::Serialize;

use crate::capabilities;
use crate::map::{AnalysisOptions, Estimate, Map, analyze};

/// The what-ifs of a whole map. Serializes to the `map constraints --format json` fields.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Constraints {
    /// The map's expected lead time with rework, the base every gain is measured from.
    pub expected_lead_time_hours: f64,
    /// Step ids, the step whose best what-if gains most first.
    pub ranking: Vec<String>,
    /// One entry per step, in ranking order.
    pub steps: Vec<StepConstraint>,
}

/// One step's what-ifs. Gains are hours of expected lead time saved (never negative);
/// shares are those hours as a fraction of the map's expected lead time (0 when it is 0).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepConstraint {
    pub id: String,
    pub name: String,
    pub wait_halved_hours: f64,
    pub wait_halved_share: f64,
    pub process_halved_hours: f64,
    pub process_halved_share: f64,
    pub ca_perfect_hours: f64,
    pub ca_perfect_share: f64,
    /// The map's rolled %C&A with this step at 100 %.
    pub ca_perfect_rolled_ca: f64,
    /// The capabilities the map names for this step.
    pub capabilities: Vec<String>,
    /// Keyword suggestions from the catalogue, only when the step names none.
    pub suggested_capabilities: Vec<String>,
}

impl StepConstraint {
    /// The largest of the three gains, in hours.
    pub fn best_gain_hours(&self) -> f64 {
        self.wait_halved_hours
            .max(self.process_halved_hours)
            .max(self.ca_perfect_hours)
    }
}

/// The what-ifs for every step of `map` (its own steps; drill-downs count as the step they
/// belong to).
pub fn constraints(map: &Map) -> Constraints {
    let base_map = point_values(map);
    let (base, _) = expected(&base_map);
    let share = |gain: f64| if base > 0.0 { gain / base } else { 0.0 };
    let gain = |what_if: &Map| (base - expected(what_if).0).max(0.0);
    let mut steps: Vec<StepConstraint> = base_map
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let wait_halved = gain(&with_step(&base_map, index, |s| {
                s.wait = Estimate::exact(s.wait.point() / 2.0)
            }));
            let process_halved = gain(&with_step(&base_map, index, |s| {
                s.process = Estimate::exact(s.process.point() / 2.0)
            }));
            let perfect = with_step(&base_map, index, |s| s.ca = 1.0);
            let (perfect_expected, perfect_rolled_ca) = expected(&perfect);
            let ca_perfect = (base - perfect_expected).max(0.0);
            let team = step
                .team
                .as_deref()
                .and_then(|t| map.team(t))
                .map(|t| t.name.as_str())
                .unwrap_or_default();
            let suggested = if step.capabilities.is_empty() {
                capabilities::suggest(&[&step.id, &step.name, team])
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            } else {
                Vec::new()
            };
            StepConstraint {
                id: step.id.clone(),
                name: step.name.clone(),
                wait_halved_hours: wait_halved,
                wait_halved_share: share(wait_halved),
                process_halved_hours: process_halved,
                process_halved_share: share(process_halved),
                ca_perfect_hours: ca_perfect,
                ca_perfect_share: share(ca_perfect),
                ca_perfect_rolled_ca: perfect_rolled_ca,
                capabilities: step.capabilities.clone(),
                suggested_capabilities: suggested,
            }
        })
        .collect();
    // A stable sort: equal (rounded) gains keep list order.
    steps.sort_by(|a, b| rounded(b.best_gain_hours()).total_cmp(&rounded(a.best_gain_hours())));
    Constraints {
        expected_lead_time_hours: base,
        ranking: steps.iter().map(|s| s.id.clone()).collect(),
        steps,
    }
}

/// A gain rounded to 6 decimals for ranking.
fn rounded(hours: f64) -> f64 {
    (hours * 1e6).round() / 1e6
}

/// The map with every estimate at its point value and no drill-downs: what-ifs are about
/// the expected lead time, which only point values decide, and a map without ranges is
/// analysed without a simulation.
fn point_values(map: &Map) -> Map {
    let mut map = map.clone();
    for step in &mut map.steps {
        step.wait = Estimate::exact(step.wait.point());
        step.process = Estimate::exact(step.process.point());
        step.drill_down = None;
    }
    map
}

fn with_step(map: &Map, index: usize, change: impl FnOnce(&mut crate::map::Step)) -> Map {
    let mut map = map.clone();
    change(&mut map.steps[index]);
    map
}

/// The expected lead time with rework and the rolled %C&A of a map without ranges.
fn expected(map: &Map) -> (f64, f64) {
    let analysis = analyze(map, &AnalysisOptions::default());
    (analysis.expected_lead_time_hours, analysis.rolled_ca)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::{Format, parse_map};

    fn map(text: &str) -> Map {
        parse_map(text, Format::Yaml).unwrap().map
    }

    #[test]
    fn linear_map_gains_follow_the_closed_form() {
        // Linear map, default rework: v = 1/ca, expected LT = Σ (w + p)/ca.
        // code: (0 + 4)/1 = 4; review: (24 + 2)/0.8 = 32.5; deploy: (8 + 1)/0.9 = 10.
        let m = map(
            "name: m\nsteps:\n  - { id: code, process: 4h }\n  - { id: review, wait: 1d, process: 2h, ca: 80% }\n  - { id: deploy, wait: 8h, process: 1h, ca: 90% }\n",
        );
        let result = constraints(&m);
        assert!((result.expected_lead_time_hours - 46.5).abs() < 1e-9);
        let review = result.steps.iter().find(|s| s.id == "review").unwrap();
        // Wait halved: (12 + 2)/0.8 = 17.5, saves 15.
        assert!((review.wait_halved_hours - 15.0).abs() < 1e-9);
        // Process halved: (24 + 1)/0.8 = 31.25, saves 1.25.
        assert!((review.process_halved_hours - 1.25).abs() < 1e-9);
        // ca 100 %: 26 instead of 32.5, saves 6.5; rolled ca becomes 0.9.
        assert!((review.ca_perfect_hours - 6.5).abs() < 1e-9);
        assert!((review.ca_perfect_rolled_ca - 0.9).abs() < 1e-12);
        assert!((review.wait_halved_share - 15.0 / 46.5).abs() < 1e-12);
        // deploy: wait halved saves 4/0.9 = 4.44, ca 100 % saves 1.
        // code: process halved saves 2.
        assert_eq!(result.ranking, ["review", "deploy", "code"]);
        let code = result.steps.iter().find(|s| s.id == "code").unwrap();
        assert_eq!(code.wait_halved_hours, 0.0);
        assert_eq!(code.ca_perfect_hours, 0.0);
        assert!((code.ca_perfect_rolled_ca - 0.72).abs() < 1e-12);
    }

    #[test]
    fn ties_keep_list_order_and_ranges_count_at_their_midpoint() {
        let m = map(
            "name: m\nsteps:\n  - { id: b, wait: 2h }\n  - { id: a, wait: 1h..3h }\n  - { id: c, wait: 4h }\n",
        );
        let result = constraints(&m);
        assert_eq!(result.ranking, ["c", "b", "a"]);
        assert!((result.expected_lead_time_hours - 8.0).abs() < 1e-12);
    }

    #[test]
    fn capabilities_are_listed_or_suggested() {
        let m = map(
            "name: m\nteams: [{ id: ops, name: Platform team }]\nsteps:\n  - { id: review, capabilities: [streamlining-change-approval] }\n  - { id: deploy, team: ops }\n",
        );
        let result = constraints(&m);
        let review = result.steps.iter().find(|s| s.id == "review").unwrap();
        assert_eq!(review.capabilities, ["streamlining-change-approval"]);
        assert!(review.suggested_capabilities.is_empty());
        let deploy = result.steps.iter().find(|s| s.id == "deploy").unwrap();
        assert_eq!(
            deploy.suggested_capabilities,
            [
                "deployment-automation",
                "continuous-delivery",
                "platform-engineering"
            ]
        );
    }

    #[test]
    fn an_empty_map_has_no_gains_and_no_nan() {
        let result = constraints(&map("name: m\nsteps:\n  - { id: a }\n"));
        assert_eq!(result.expected_lead_time_hours, 0.0);
        let a = &result.steps[0];
        assert_eq!((a.wait_halved_share, a.ca_perfect_rolled_ca), (0.0, 1.0));
    }
}
