//! From counted facts to the reported metrics, levels, scores and notes.
//!
//! The engine first reduces the events of each service to [`Facts`] (counts, deployment
//! days as bit masks per ISO week, lead and recovery times tagged with their week); the
//! pooled totals are the facts of all services merged. Every number in a [`Metrics`] is
//! then a formula over one `Facts`, so per-service and pooled numbers cannot drift apart.

use jiff::Timestamp;

use crate::stats::{median, percentile_in_place};

use super::calendar::{WeekGrid, utc_day, week_label};
use super::levels::{
    change_failure_rate_level, deployment_frequency_level, lead_time_level, recovery_time_level,
};
use super::quick_check::{self, Edition, QuickCheckInputs};
use super::report::{
    ChangeFailureRate, DeploymentFrequency, LeadTime, Metrics, RecoveryTime, ReworkRate, Week,
};

/// The window a report covers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub(crate) since: Timestamp,
    pub(crate) until: Timestamp,
    /// Length in days (fractional).
    pub(crate) days: f64,
    pub(crate) grid: WeekGrid,
}

impl Window {
    pub(crate) fn contains(&self, t: Timestamp) -> bool {
        self.since <= t && t < self.until
    }

    /// The week slot of `t`, when it is in the window.
    pub(crate) fn slot(&self, t: Timestamp) -> Option<usize> {
        self.contains(t).then(|| self.grid.slot_of_day(utc_day(t)))
    }

    fn per_week(&self, count: f64) -> f64 {
        count / self.days * 7.0
    }
}

/// One ISO week's counts.
#[derive(Clone, Debug, Default)]
pub(crate) struct WeekFacts {
    pub(crate) deployments: u64,
    /// Bit `d` set = a deployment on weekday `d` (0 = Monday).
    pub(crate) days: u8,
    pub(crate) failed: u64,
    pub(crate) rework: u64,
}

/// A first deployment in the window that ships changes (see `explain.first_deployments`).
#[derive(Clone, Debug)]
pub(crate) struct FirstNote {
    pub(crate) deployment: String,
    pub(crate) service: String,
    pub(crate) environment: String,
    pub(crate) changes: u64,
    pub(crate) earliest_committed_at: Option<Timestamp>,
}

/// Everything the metrics of one service (or a pool) are computed from.
#[derive(Clone, Debug, Default)]
pub(crate) struct Facts {
    pub(crate) deployments: u64,
    pub(crate) rework: u64,
    pub(crate) failed: u64,
    pub(crate) recovered: u64,
    pub(crate) anomalous_recoveries: u64,
    pub(crate) weeks: Vec<WeekFacts>,
    /// (lead time hours, week slot) of each counted change.
    pub(crate) lead: Vec<(f64, u32)>,
    /// (recovery hours, week slot) of each timed recovery.
    pub(crate) recovery: Vec<(f64, u32)>,
    pub(crate) negative: u64,
    pub(crate) unknown_listed: u64,
    pub(crate) failed_runs: u64,
    pub(crate) orphans: u64,
    pub(crate) unattributed: u64,
    pub(crate) ignored_fixes: u64,
    pub(crate) first_deployments: Vec<FirstNote>,
    /// Whether the data holds any event for the service (always true for a pool).
    pub(crate) has_events: bool,
}

impl Facts {
    pub(crate) fn new(weeks: usize, has_events: bool) -> Facts {
        Facts {
            weeks: vec![WeekFacts::default(); weeks],
            has_events,
            ..Facts::default()
        }
    }

    /// The facts of several services seen as one system: counts add up, deployment days
    /// are united (two services deploying on the same day make one deployment day), and
    /// the lead and recovery samples are concatenated.
    pub(crate) fn pooled(parts: &[Facts], weeks: usize) -> Facts {
        let mut all = Facts::new(weeks, true);
        for part in parts {
            all.deployments += part.deployments;
            all.rework += part.rework;
            all.failed += part.failed;
            all.recovered += part.recovered;
            all.anomalous_recoveries += part.anomalous_recoveries;
            for (sum, w) in all.weeks.iter_mut().zip(&part.weeks) {
                sum.deployments += w.deployments;
                sum.days |= w.days;
                sum.failed += w.failed;
                sum.rework += w.rework;
            }
            all.lead.extend_from_slice(&part.lead);
            all.recovery.extend_from_slice(&part.recovery);
            all.negative += part.negative;
            all.unknown_listed += part.unknown_listed;
            all.failed_runs += part.failed_runs;
            all.orphans += part.orphans;
            all.unattributed += part.unattributed;
            all.ignored_fixes += part.ignored_fixes;
            all.first_deployments
                .extend_from_slice(&part.first_deployments);
        }
        all
    }

    /// The metrics of these facts.
    pub(crate) fn metrics(&self, window: &Window, edition: Edition) -> Metrics {
        let grid = &window.grid;
        let lead = Summary::of(&self.lead, grid.len());
        let recovery = Summary::of(&self.recovery, grid.len());

        let deploy_days: u64 = self
            .weeks
            .iter()
            .map(|w| u64::from(w.days.count_ones()))
            .sum();
        let complete: Vec<f64> = (0..grid.len())
            .filter(|&slot| grid.is_complete(slot))
            .map(|slot| f64::from(self.weeks[slot].days.count_ones()))
            .collect();
        let deploy_days_per_week = window.per_week(deploy_days as f64);
        let deployment_frequency = DeploymentFrequency {
            deployments: self.deployments,
            per_week: window.per_week(self.deployments as f64),
            deploy_days_per_week,
            deploy_days_per_week_median: median(&complete),
            complete_weeks: complete.len() as u64,
            level: deployment_frequency_level(deploy_days_per_week),
        };

        let lead_median = lead.median;
        let lead_time = LeadTime {
            changes: self.lead.len() as u64,
            median_hours: lead_median,
            p90_hours: lead.p90,
            level: lead_median.map(lead_time_level),
            negative_excluded: self.negative,
        };

        let failure_rate = ratio(self.failed, self.deployments);
        let change_failure_rate = ChangeFailureRate {
            deployments: self.deployments,
            failed: self.failed,
            rate: failure_rate,
            level: failure_rate.map(change_failure_rate_level),
        };

        let recovery_median = recovery.median;
        let recovery_time = RecoveryTime {
            failures: self.failed,
            recovered: self.recovered,
            unrecovered: self.failed - self.recovered,
            median_hours: recovery_median,
            p90_hours: recovery.p90,
            level: recovery_median.map(recovery_time_level),
        };

        let rework_rate = ReworkRate {
            deployments: self.deployments,
            rework: self.rework,
            rate: ratio(self.rework, self.deployments),
        };

        let quick_check = quick_check::score(
            edition,
            &QuickCheckInputs {
                lead_time_median_hours: lead_median,
                deployments_per_day: Some(self.deployments as f64 / window.days),
                recovery_time_median_hours: recovery_median,
                change_failure_rate: failure_rate,
                rework_rate: rework_rate.rate,
            },
        );

        let weekly = (0..grid.len())
            .map(|slot| {
                let w = &self.weeks[slot];
                Week {
                    week: week_label(grid.week(slot)),
                    start: grid.start(slot),
                    complete: grid.is_complete(slot),
                    deployments: w.deployments,
                    deploy_days: u64::from(w.days.count_ones()),
                    changes: lead.weeks[slot].0,
                    lead_time_median_hours: lead.weeks[slot].1,
                    failed: w.failed,
                    rework: w.rework,
                    recovery_median_hours: recovery.weeks[slot].1,
                }
            })
            .collect();

        let mut metrics = Metrics {
            deployment_frequency,
            lead_time,
            change_failure_rate,
            recovery_time,
            rework_rate,
            recovery_volume_per_week: window.per_week(self.failed as f64),
            quick_check,
            weekly,
            notes: Vec::new(),
        };
        metrics.notes = self.notes(&metrics);
        metrics
    }

    /// Plain words for every gap or doubt behind the numbers.
    fn notes(&self, m: &Metrics) -> Vec<String> {
        let mut notes = Vec::new();
        if !self.has_events {
            notes.push(
                "The data holds no deployments, changes or incidents for this service \
                 in the chosen environments."
                    .to_owned(),
            );
        }
        if self.deployments == 0 {
            notes.push(
                "No successful deployment finished in the window: deployment frequency is \
                 a measured 0; lead time, change fail rate and rework rate have no data."
                    .to_owned(),
            );
        } else if m.lead_time.changes == 0 {
            notes.push(
                "No change is linked to a deployment in the window, so lead time has no \
                 data: deployments must list their changes, or changes name their deployment."
                    .to_owned(),
            );
        }
        if self.unknown_listed > 0 {
            notes.push(format!(
                "{} listed by deployments in the window {} not in the change data, so {} \
                 lead time is unknown (explain.unknown_changes).",
                count(self.unknown_listed, "change id", "change ids"),
                verb(self.unknown_listed, "is", "are"),
                verb(self.unknown_listed, "its", "their"),
            ));
        }
        if self.negative > 0 {
            notes.push(format!(
                "{} committed after the deployment that shipped {} finished; left out of \
                 lead time (explain.negative_lead_times).",
                count(self.negative, "change was", "changes were"),
                verb(self.negative, "it", "them"),
            ));
        }
        for first in &self.first_deployments {
            let since = first
                .earliest_committed_at
                .map(|t| format!(", committed since {},", t.strftime("%Y-%m-%d")))
                .unwrap_or_default();
            notes.push(format!(
                "Deployment {} is the first {} deployment of {} in the data: its {}{since} \
                 {} with {} full lead time, which may include history from before \
                 deployments were recorded. Start the window after it, or load older \
                 deployments, to leave {} out (explain.first_deployments).",
                first.deployment,
                first.environment,
                first.service,
                count(first.changes, "change", "changes"),
                verb(first.changes, "counts", "count"),
                verb(first.changes, "its", "their"),
                verb(first.changes, "it", "them"),
            ));
        }
        if self.deployments > 0 && self.failed == 0 {
            notes.push(
                "No failed deployment in the window, so recovery time has no data.".to_owned(),
            );
        }
        let unrecovered = self.failed - self.recovered;
        if unrecovered > 0 {
            notes.push(format!(
                "{} not recovered yet: counted as failures, not timed; the recovery median \
                 covers the {} recovered (explain.unrecovered_failures).",
                count(
                    unrecovered,
                    "failed deployment has",
                    "failed deployments have"
                ),
                self.recovered,
            ));
        }
        if self.anomalous_recoveries > 0 {
            notes.push(format!(
                "{} left out of the statistics: the data says service was restored before \
                 the deployment finished (explain.failed_deployments[].anomaly).",
                count(
                    self.anomalous_recoveries,
                    "recovery time is",
                    "recovery times are"
                ),
            ));
        }
        if self.failed_runs > 0 {
            notes.push(format!(
                "{} failed in the window; failed runs are neither deployments nor change \
                 failures (explain.failed_runs).",
                count(self.failed_runs, "deploy run", "deploy runs"),
            ));
        }
        if self.orphans > 0 {
            notes.push(format!(
                "{} committed in the window {} shipped by no deployment in the chosen \
                 environments (explain.orphan_changes).",
                count(self.orphans, "change", "changes"),
                verb(self.orphans, "is", "are"),
            ));
        }
        if self.unattributed > 0 {
            notes.push(format!(
                "{} that started in the window {} attributed to no deployment \
                 (explain.unattributed_incidents).",
                count(self.unattributed, "incident", "incidents"),
                verb(self.unattributed, "is", "are"),
            ));
        }
        if self.ignored_fixes > 0 {
            notes.push(format!(
                "{} not followed (explain.ignored_fixes).",
                count(self.ignored_fixes, "`fixes` link was", "`fixes` links were"),
            ));
        }
        if m.deployment_frequency.complete_weeks == 0 {
            notes.push(
                "The window holds no complete ISO week, so the weekly median of deployment \
                 days has no data."
                    .to_owned(),
            );
        }
        if !m.quick_check.missing.is_empty() {
            notes.push(format!(
                "The Quick Check overall score leaves out metrics without data: {}.",
                m.quick_check.missing.join(", ")
            ));
        }
        notes
    }
}

/// The statistics of a sample of durations, each tagged with its week slot.
struct Summary {
    median: Option<f64>,
    p90: Option<f64>,
    /// Per week slot: the sample size and its median.
    weeks: Vec<(u64, Option<f64>)>,
}

impl Summary {
    /// Linear in the sample: percentiles by selection, weeks by a counting sort.
    fn of(sample: &[(f64, u32)], weeks: usize) -> Summary {
        let mut values: Vec<f64> = sample.iter().map(|&(hours, _)| hours).collect();
        let median = percentile_in_place(&mut values, 50.0);
        let p90 = percentile_in_place(&mut values, 90.0);

        let mut starts = vec![0usize; weeks + 1];
        for &(_, week) in sample {
            starts[week as usize + 1] += 1;
        }
        for w in 0..weeks {
            starts[w + 1] += starts[w];
        }
        let mut next = starts.clone();
        for &(hours, week) in sample {
            values[next[week as usize]] = hours;
            next[week as usize] += 1;
        }
        let weeks = starts
            .windows(2)
            .map(|w| {
                let week = &mut values[w[0]..w[1]];
                (week.len() as u64, percentile_in_place(week, 50.0))
            })
            .collect();
        Summary { median, p90, weeks }
    }
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn verb(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}
