//! DORA Quick Check scores (0–10 per metric) and the industry benchmarks to compare them with.
//!
//! The Quick Check (dora.dev) asks a team five questions and scores each answer from 0
//! (worst) to 10 (best). flowmap answers the questions from measured data:
//!
//! - **lead time** and **recovery time**: the median in hours picks the answer bucket,
//!   `< 1 h` → 6, `< 24 h` → 5, `< 168 h` → 4, `< 720 h` → 3, `< 4380 h` → 2, else 1;
//! - **deployment frequency**: deployments per day `d` (deployments ÷ window days) picks it,
//!   `d > 1` → 6 (on demand), `d ≥ 1` → 5, `d ≥ 1/7` → 4, `d ≥ 1/30` → 3, `d ≥ 1/182` → 2,
//!   else 1;
//! - a bucket `b` scores `10·(b − 1)/5`;
//! - **change fail rate** and **rework rate** are percentages `p` and score `10 − p/10`
//!   (the Quick Check rounds the answer to a whole percent; flowmap keeps the measured
//!   fraction);
//! - **overall** is the mean of the edition's metric scores (2025: all five; 2024: the first
//!   four, no rework), **throughput** the mean of lead time, deployment frequency and
//!   recovery time, **stability** the mean of the edition's percentage metrics. Like the Quick
//!   Check with an unanswered question, a metric without data is left out of these means and
//!   named in `missing`.
//!
//! The benchmark data (dora-team/dora.dev, Apache-2.0) ships inside the crate. It stores
//! change failure, rework and instability as "higher is worse"; the Quick Check shows them as
//! `10 − mean` with the same standard deviation, and recomputes the overall benchmark mean
//! as the mean of the shown metric means. flowmap does the same.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::DoraError;

/// Which year's Quick Check to score and compare against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Edition {
    /// Four metrics; no deployment rework rate.
    #[serde(rename = "2024")]
    E2024,
    /// Five metrics, including deployment rework rate. The default.
    #[default]
    #[serde(rename = "2025")]
    E2025,
}

impl Edition {
    /// `"2024"` or `"2025"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Edition::E2024 => "2024",
            Edition::E2025 => "2025",
        }
    }

    fn has_rework(self) -> bool {
        self == Edition::E2025
    }
}

/// A Quick Check edition flowmap does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Quick Check edition {0:?}; expected 2024 or 2025")]
pub struct UnknownEdition(pub String);

impl std::str::FromStr for Edition {
    type Err = UnknownEdition;

    fn from_str(s: &str) -> Result<Edition, UnknownEdition> {
        match s {
            "2024" => Ok(Edition::E2024),
            "2025" => Ok(Edition::E2025),
            other => Err(UnknownEdition(other.to_owned())),
        }
    }
}

/// Whether to compare with teams of the same industry or of the same organisation size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BenchmarkGroup {
    #[default]
    Industry,
    OrganizationSize,
}

impl BenchmarkGroup {
    /// `"industry"` or `"organization_size"`.
    pub fn as_str(self) -> &'static str {
        match self {
            BenchmarkGroup::Industry => "industry",
            BenchmarkGroup::OrganizationSize => "organization_size",
        }
    }
}

/// Which benchmark the scores are compared with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickCheckOptions {
    pub edition: Edition,
    pub group: BenchmarkGroup,
    /// The group's key in the data, e.g. `all`, `technology`, `financial_services` for
    /// industries, `fewer_than_100` for organisation sizes. See [`benchmark_keys`].
    pub key: String,
}

impl Default for QuickCheckOptions {
    /// The 2025 edition compared with all industries.
    fn default() -> QuickCheckOptions {
        QuickCheckOptions {
            edition: Edition::E2025,
            group: BenchmarkGroup::Industry,
            key: "all".to_owned(),
        }
    }
}

/// One metric's 0–10 score in the benchmark population.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
}

/// A team's Quick Check: one 0–10 score per metric (10 best) and the summaries.
///
/// A score is `None` when its metric has no data (no changes shipped, no failures to
/// recover from, no deployments to rate); [`QuickCheck::missing`] names those metrics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QuickCheck {
    pub lead_time: Option<f64>,
    pub deployment_frequency: Option<f64>,
    pub recovery_time: Option<f64>,
    pub change_failure_rate: Option<f64>,
    pub rework_rate: Option<f64>,
    /// Mean of the edition's metric scores that have data.
    pub overall: Option<f64>,
    /// Mean of the lead time, deployment frequency and recovery time scores that have data.
    pub throughput: Option<f64>,
    /// Mean of the edition's percentage scores (change fail rate, and rework rate in 2025).
    pub stability: Option<f64>,
    /// The Quick Check answer each measured value falls in, as the questionnaire words it.
    pub answers: QuickCheckAnswers,
    /// The metrics without data, left out of `overall`, `throughput` and `stability`.
    pub missing: Vec<String>,
}

/// The Quick Check's wording of the answer bucket each measurement falls into.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QuickCheckAnswers {
    pub lead_time: Option<String>,
    pub deployment_frequency: Option<String>,
    pub recovery_time: Option<String>,
}

/// The measured values a Quick Check is scored from; `None` = no data.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QuickCheckInputs {
    pub lead_time_median_hours: Option<f64>,
    pub deployments_per_day: Option<f64>,
    pub recovery_time_median_hours: Option<f64>,
    /// A fraction in [0, 1].
    pub change_failure_rate: Option<f64>,
    /// A fraction in [0, 1].
    pub rework_rate: Option<f64>,
}

/// The benchmark a report compares with: each metric's mean and standard deviation on the
/// same 0–10, higher-is-better scale as the team's scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuickCheckBenchmark {
    pub edition: Edition,
    pub group: BenchmarkGroup,
    pub key: String,
    /// The group's name as the Quick Check shows it, e.g. "All industries".
    pub name: String,
    pub lead_time: MeanStd,
    pub deployment_frequency: MeanStd,
    pub recovery_time: MeanStd,
    pub change_failure_rate: MeanStd,
    /// Only in the 2025 edition.
    pub rework_rate: Option<MeanStd>,
    pub overall: Option<MeanStd>,
    /// Only in the 2025 edition.
    pub throughput: Option<MeanStd>,
    /// Only in the 2025 edition.
    pub stability: Option<MeanStd>,
}

/// The answer bucket (1 worst … 6 best) of a lead time or recovery time given in hours.
///
/// ```
/// use flowmap_core::dora::quick_check::duration_bucket;
/// assert_eq!(duration_bucket(0.5), 6); // less than one hour
/// assert_eq!(duration_bucket(30.0), 4); // one day to one week
/// assert_eq!(duration_bucket(5000.0), 1); // more than six months
/// ```
pub fn duration_bucket(hours: f64) -> u8 {
    if hours < 1.0 {
        6
    } else if hours < 24.0 {
        5
    } else if hours < 168.0 {
        4
    } else if hours < 720.0 {
        3
    } else if hours < 4380.0 {
        2
    } else {
        1
    }
}

/// The answer bucket (1 worst … 6 best) of a deployment frequency in deployments per day.
///
/// ```
/// use flowmap_core::dora::quick_check::deployment_frequency_bucket;
/// assert_eq!(deployment_frequency_bucket(3.0), 6); // on demand
/// assert_eq!(deployment_frequency_bucket(1.0), 5); // once per hour to once per day
/// assert_eq!(deployment_frequency_bucket(1.0 / 7.0), 4); // once per day to once per week
/// ```
pub fn deployment_frequency_bucket(deployments_per_day: f64) -> u8 {
    let d = deployments_per_day;
    if d > 1.0 {
        6
    } else if d >= 1.0 {
        5
    } else if d >= 1.0 / 7.0 {
        4
    } else if d >= 1.0 / 30.0 {
        3
    } else if d >= 1.0 / 182.0 {
        2
    } else {
        1
    }
}

/// The 0–10 score of a bucket answer: `10·(b − 1)/5`.
pub fn bucket_score(bucket: u8) -> f64 {
    10.0 * f64::from(bucket.clamp(1, 6) - 1) / 5.0
}

/// The 0–10 score of a rate given as a fraction: `10 − p/10` with `p` the percentage.
pub fn rate_score(rate: f64) -> f64 {
    10.0 - rate.clamp(0.0, 1.0) * 100.0 / 10.0
}

/// Scores measured values as the Quick Check of `edition` scores answers.
///
/// ```
/// use flowmap_core::dora::quick_check::{score, Edition, QuickCheckInputs};
/// let qc = score(Edition::E2025, &QuickCheckInputs {
///     lead_time_median_hours: Some(30.0),     // bucket 4 → 6
///     deployments_per_day: Some(0.5),         // bucket 4 → 6
///     recovery_time_median_hours: Some(2.0),  // bucket 5 → 8
///     change_failure_rate: Some(0.1),         // 10 − 1 → 9
///     rework_rate: Some(0.05),                // 10 − 0.5 → 9.5
/// });
/// assert_eq!(qc.overall, Some((6.0 + 6.0 + 8.0 + 9.0 + 9.5) / 5.0));
/// assert_eq!(qc.throughput, Some((6.0 + 6.0 + 8.0) / 3.0));
/// assert_eq!(qc.stability, Some((9.0 + 9.5) / 2.0));
/// ```
pub fn score(edition: Edition, inputs: &QuickCheckInputs) -> QuickCheck {
    let lead_bucket = inputs.lead_time_median_hours.map(duration_bucket);
    let freq_bucket = inputs.deployments_per_day.map(deployment_frequency_bucket);
    let recovery_bucket = inputs.recovery_time_median_hours.map(duration_bucket);

    let lead_time = lead_bucket.map(bucket_score);
    let deployment_frequency = freq_bucket.map(bucket_score);
    let recovery_time = recovery_bucket.map(bucket_score);
    let change_failure_rate = inputs.change_failure_rate.map(rate_score);
    let rework_rate = inputs.rework_rate.map(rate_score);

    let mut metrics = vec![
        ("lead_time", lead_time),
        ("deployment_frequency", deployment_frequency),
        ("recovery_time", recovery_time),
        ("change_failure_rate", change_failure_rate),
    ];
    let mut stability = vec![change_failure_rate];
    if edition.has_rework() {
        metrics.push(("rework_rate", rework_rate));
        stability.push(rework_rate);
    }
    let missing = metrics
        .iter()
        .filter(|(_, s)| s.is_none())
        .map(|(name, _)| (*name).to_owned())
        .collect();

    let answers = &*ANSWERS;
    QuickCheck {
        lead_time,
        deployment_frequency,
        recovery_time,
        change_failure_rate,
        rework_rate,
        overall: mean_of_present(metrics.iter().map(|(_, s)| *s)),
        throughput: mean_of_present([lead_time, deployment_frequency, recovery_time]),
        stability: mean_of_present(stability),
        answers: QuickCheckAnswers {
            lead_time: lead_bucket.map(|b| answers.text(&answers.leadtime, b)),
            deployment_frequency: freq_bucket.map(|b| answers.text(&answers.deployfreq, b)),
            recovery_time: recovery_bucket.map(|b| answers.text(&answers.failurerecovery, b)),
        },
        missing,
    }
}

fn mean_of_present(scores: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let (sum, n) = scores
        .into_iter()
        .flatten()
        .fold((0.0, 0u32), |(sum, n), s| (sum + s, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// The benchmark keys of a group in an edition, e.g. `all`, `technology`, … for industries.
pub fn benchmark_keys(edition: Edition, group: BenchmarkGroup) -> Vec<&'static str> {
    benchmark_file(edition, group)
        .keys()
        .map(String::as_str)
        .collect()
}

/// The benchmark that `options` names, on the Quick Check's shown (higher is better) scale.
///
/// # Errors
///
/// [`DoraError::UnknownBenchmark`] when the group has no such key in that edition; the
/// error lists the keys that exist.
pub fn benchmark(options: &QuickCheckOptions) -> Result<QuickCheckBenchmark, DoraError> {
    let file = benchmark_file(options.edition, options.group);
    let raw = file
        .get(&options.key)
        .ok_or_else(|| DoraError::UnknownBenchmark {
            edition: options.edition.as_str(),
            group: options.group.as_str(),
            key: options.key.clone(),
            known: benchmark_keys(options.edition, options.group).join(", "),
        })?;
    let inverted = |m: MeanStd| MeanStd {
        mean: 10.0 - m.mean,
        std: m.std,
    };
    let change_failure_rate = inverted(raw.changefailure);
    let rework_rate = raw
        .rework
        .filter(|_| options.edition.has_rework())
        .map(inverted);
    let mut shown = vec![
        raw.leadtime.mean,
        raw.deployfreq.mean,
        raw.failurerecovery.mean,
        change_failure_rate.mean,
    ];
    shown.extend(rework_rate.map(|m| m.mean));
    let overall = raw.performance_average.map(|avg| MeanStd {
        mean: shown.iter().sum::<f64>() / shown.len() as f64,
        std: avg.std,
    });
    Ok(QuickCheckBenchmark {
        edition: options.edition,
        group: options.group,
        key: options.key.clone(),
        name: raw.name.clone(),
        lead_time: raw.leadtime,
        deployment_frequency: raw.deployfreq,
        recovery_time: raw.failurerecovery,
        change_failure_rate,
        rework_rate,
        overall,
        throughput: raw.software_delivery_throughput,
        stability: raw.software_delivery_instability.map(inverted),
    })
}

/// One benchmark group as stored in dora.dev's data files.
#[derive(Deserialize)]
struct RawGroup {
    name: String,
    performance_average: Option<MeanStd>,
    software_delivery_throughput: Option<MeanStd>,
    software_delivery_instability: Option<MeanStd>,
    leadtime: MeanStd,
    deployfreq: MeanStd,
    changefailure: MeanStd,
    failurerecovery: MeanStd,
    rework: Option<MeanStd>,
}

type RawFile = BTreeMap<String, RawGroup>;

/// The answer wording, per metric and bucket ("1" … "6").
#[derive(Deserialize)]
struct Answers {
    leadtime: BTreeMap<String, String>,
    deployfreq: BTreeMap<String, String>,
    failurerecovery: BTreeMap<String, String>,
}

impl Answers {
    fn text(&self, metric: &BTreeMap<String, String>, bucket: u8) -> String {
        metric.get(&bucket.to_string()).cloned().unwrap_or_default()
    }
}

// The data files are part of the source tree and checked by the tests below, so a parse
// failure is a build defect, not bad user input.
fn parse_bundled<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> T {
    serde_json::from_str(text)
        .unwrap_or_else(|err| panic!("bundled Quick Check data {name} is invalid: {err}"))
}

static ANSWERS: LazyLock<Answers> = LazyLock::new(|| {
    parse_bundled(
        "metrics_question_responses.json",
        include_str!("../../data/dora-quick-check/metrics_question_responses.json"),
    )
});

static BENCHMARKS: LazyLock<[RawFile; 4]> = LazyLock::new(|| {
    [
        parse_bundled(
            "2024_industry_metrics.json",
            include_str!("../../data/dora-quick-check/2024_industry_metrics.json"),
        ),
        parse_bundled(
            "2024_organization_size_metrics.json",
            include_str!("../../data/dora-quick-check/2024_organization_size_metrics.json"),
        ),
        parse_bundled(
            "2025_industry_metrics.json",
            include_str!("../../data/dora-quick-check/2025_industry_metrics.json"),
        ),
        parse_bundled(
            "2025_organization_size_metrics.json",
            include_str!("../../data/dora-quick-check/2025_organization_size_metrics.json"),
        ),
    ]
});

fn benchmark_file(edition: Edition, group: BenchmarkGroup) -> &'static RawFile {
    let index = match (edition, group) {
        (Edition::E2024, BenchmarkGroup::Industry) => 0,
        (Edition::E2024, BenchmarkGroup::OrganizationSize) => 1,
        (Edition::E2025, BenchmarkGroup::Industry) => 2,
        (Edition::E2025, BenchmarkGroup::OrganizationSize) => 3,
    };
    &BENCHMARKS[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn duration_buckets_follow_the_answer_wording() {
        assert_eq!(duration_bucket(0.99), 6);
        assert_eq!(duration_bucket(1.0), 5);
        assert_eq!(duration_bucket(23.99), 5);
        assert_eq!(duration_bucket(24.0), 4);
        assert_eq!(duration_bucket(168.0), 3);
        assert_eq!(duration_bucket(720.0), 2);
        assert_eq!(duration_bucket(4379.0), 2);
        assert_eq!(duration_bucket(4380.0), 1);
    }

    #[test]
    fn frequency_buckets_follow_the_answer_wording() {
        assert_eq!(deployment_frequency_bucket(1.01), 6);
        assert_eq!(deployment_frequency_bucket(1.0), 5);
        assert_eq!(deployment_frequency_bucket(0.99), 4);
        assert_eq!(deployment_frequency_bucket(1.0 / 7.0), 4);
        assert_eq!(deployment_frequency_bucket(0.14), 3);
        assert_eq!(deployment_frequency_bucket(1.0 / 30.0), 3);
        assert_eq!(deployment_frequency_bucket(1.0 / 182.0), 2);
        assert_eq!(deployment_frequency_bucket(0.0), 1);
    }

    #[test]
    fn scores_span_zero_to_ten() {
        assert_eq!(bucket_score(1), 0.0);
        assert_eq!(bucket_score(4), 6.0);
        assert_eq!(bucket_score(6), 10.0);
        assert_eq!(rate_score(0.0), 10.0);
        assert!(close(rate_score(0.15), 8.5));
        assert_eq!(rate_score(1.0), 0.0);
    }

    #[test]
    fn the_2024_edition_leaves_rework_out_of_the_means() {
        let inputs = QuickCheckInputs {
            lead_time_median_hours: Some(0.5),
            deployments_per_day: Some(2.0),
            recovery_time_median_hours: Some(0.5),
            change_failure_rate: Some(0.2),
            rework_rate: Some(1.0),
        };
        let qc = score(Edition::E2024, &inputs);
        assert_eq!(qc.rework_rate, Some(0.0));
        assert_eq!(qc.overall, Some((10.0 + 10.0 + 10.0 + 8.0) / 4.0));
        assert_eq!(qc.stability, Some(8.0));
        let qc = score(Edition::E2025, &inputs);
        assert_eq!(qc.overall, Some((10.0 + 10.0 + 10.0 + 8.0 + 0.0) / 5.0));
        assert_eq!(qc.stability, Some(4.0));
        assert_eq!(
            qc.answers.deployment_frequency.as_deref(),
            Some("On demand (multiple deploys per day)")
        );
        assert_eq!(qc.answers.lead_time.as_deref(), Some("Less than one hour"));
    }

    #[test]
    fn missing_metrics_are_named_and_left_out() {
        let qc = score(
            Edition::E2025,
            &QuickCheckInputs {
                lead_time_median_hours: Some(30.0),
                deployments_per_day: Some(0.0),
                ..QuickCheckInputs::default()
            },
        );
        assert_eq!(qc.recovery_time, None);
        assert_eq!(
            qc.missing,
            ["recovery_time", "change_failure_rate", "rework_rate"]
        );
        assert_eq!(qc.overall, Some((6.0 + 0.0) / 2.0));
        assert_eq!(qc.stability, None);
    }

    #[test]
    fn benchmarks_are_shown_higher_is_better() {
        let all = benchmark(&QuickCheckOptions::default()).unwrap();
        assert_eq!(all.name, "All industries");
        // 2025 "all": leadtime 5.5, deployfreq 4.8, failurerecovery 7.4,
        // changefailure 1.9 → 8.1, rework 2.2 → 7.8, instability 2.1 → 7.9.
        assert!(close(all.change_failure_rate.mean, 8.1));
        assert!(close(all.rework_rate.unwrap().mean, 7.8));
        assert!(close(all.stability.unwrap().mean, 7.9));
        assert!(close(all.throughput.unwrap().mean, 6.0));
        let overall = all.overall.unwrap();
        assert!(close(overall.mean, (5.5 + 4.8 + 7.4 + 8.1 + 7.8) / 5.0));
        assert!(close(overall.std, 1.2));

        let tech_2024 = benchmark(&QuickCheckOptions {
            edition: Edition::E2024,
            group: BenchmarkGroup::Industry,
            key: "technology".to_owned(),
        })
        .unwrap();
        assert_eq!(tech_2024.rework_rate, None);
        assert_eq!(tech_2024.throughput, None);
    }

    #[test]
    fn every_bundled_group_parses() {
        for edition in [Edition::E2024, Edition::E2025] {
            for group in [BenchmarkGroup::Industry, BenchmarkGroup::OrganizationSize] {
                let keys = benchmark_keys(edition, group);
                assert!(keys.contains(&"all"));
                for key in keys {
                    let options = QuickCheckOptions {
                        edition,
                        group,
                        key: key.to_owned(),
                    };
                    let b = benchmark(&options).unwrap();
                    assert!(b.overall.is_some());
                    assert_eq!(b.rework_rate.is_some(), edition == Edition::E2025);
                }
            }
        }
    }

    #[test]
    fn an_unknown_key_lists_the_known_ones() {
        let err = benchmark(&QuickCheckOptions {
            key: "astrology".to_owned(),
            ..QuickCheckOptions::default()
        })
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("astrology"), "{message}");
        assert!(message.contains("financial_services"), "{message}");
    }
}
