//! `flowmap dora` (SPEC §5, §9): DORA's five metrics from the stored events, as a table for
//! people or JSON for scripts. The numbers come from `flowmap_core::dora`; this module only
//! reads flags, loads the data and prints.

use crate::output::{out, outln};
use std::fmt::Write as _;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use flowmap_app::scope::is_empty;
use flowmap_app::sources::open_for_reading;
use flowmap_app::{App, AppError};
use flowmap_app::{DataRange, Window};
use flowmap_core::dora::quick_check::{BenchmarkGroup, Edition, QuickCheckOptions};
use flowmap_core::dora::{
    DEFAULT_ENVIRONMENT, DoraOptions, DoraReport, Explain, Level, Metrics, parse_window_bound,
};
use flowmap_core::format::{self, failure_reason, or_missing};
use flowmap_core::map::parse_duration;
use jiff::{SignedDuration, Timestamp};

/// How many entries of each evidence list the text output shows.
const EVIDENCE_SHOWN: usize = 20;

#[derive(Args)]
pub struct DoraArgs {
    /// Report this service; repeat for several (pooled, with a row each). Default: every
    /// service in the database.
    #[arg(long = "service", value_name = "S")]
    services: Vec<String>,
    /// Count deployments to this environment; repeat for several. Default: production.
    #[arg(long = "env", value_name = "E")]
    environments: Vec<String>,
    /// Start of the window, inclusive: a date (`2026-01-01`, midnight UTC) or an RFC 3339
    /// time with offset. Default: 90 days before --until (the one default window of
    /// every report, page and /metrics).
    #[arg(long, value_name = "T", value_parser = parse_window_bound)]
    since: Option<Timestamp>,
    /// End of the window, exclusive: a date or an RFC 3339 time. Default: now.
    #[arg(long, value_name = "T", value_parser = parse_window_bound)]
    until: Option<Timestamp>,
    /// `text` for people, `json` for scripts.
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
    /// Show the evidence: failed deployments and why, unrecovered failures, failed runs,
    /// negative lead times, orphan changes, unattributed incidents.
    #[arg(long)]
    explain: bool,
    /// An incident starting this long after a deployment (and before the next one) marks it
    /// failed: `24h`, `90m`, `2d`, `0` to turn the rule off.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_window)]
    attribution_window: SignedDuration,
    /// DORA Quick Check edition to score with: 2024 or 2025.
    #[arg(long, value_name = "YEAR", default_value = "2025")]
    quick_check_edition: Edition,
    /// Compare Quick Check scores with this industry (`all`, `technology`,
    /// `financial_services`, …).
    #[arg(long, value_name = "KEY", default_value = "all")]
    industry: String,
    /// Compare with an organisation size instead (`fewer_than_100`, `more_than_9999`, …).
    #[arg(long, value_name = "KEY", conflicts_with = "industry")]
    org_size: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

/// A date means midnight UTC; anything else must be an RFC 3339 time with an offset.
fn parse_window(text: &str) -> anyhow::Result<SignedDuration> {
    let hours = parse_duration(text)?;
    Ok(SignedDuration::try_from_secs_f64(hours * 3600.0)?)
}

pub fn run(args: DoraArgs, db: &str) -> anyhow::Result<ExitCode> {
    let window = Window::choose(args.since, args.until, Timestamp::now());
    let mut options = DoraOptions::new(window.since, window.until);
    options.services = args.services;
    let named_environments = args.environments;
    if !named_environments.is_empty() {
        options.environments = named_environments.clone();
    }
    options.attribution_window = args.attribution_window;
    options.explain = args.explain;
    options.quick_check = match args.org_size {
        Some(key) => QuickCheckOptions {
            edition: args.quick_check_edition,
            group: BenchmarkGroup::OrganizationSize,
            key,
        },
        None => QuickCheckOptions {
            edition: args.quick_check_edition,
            group: BenchmarkGroup::Industry,
            key: args.industry,
        },
    };

    let runtime = crate::database::runtime()?;
    let (report, data_range) = runtime.block_on(async {
        let store = open_for_reading(db).await?;
        let app = App::new(store.clone());
        let answer = async {
            app.check_services(&options).await?;
            app.check_environments(&named_environments).await?;
            let report = app.reports().dora(&options).await?;
            let data_range = app.data_range(&options, &report).await?;
            Ok::<_, AppError>((report, data_range))
        }
        .await;
        store.close().await;
        match answer {
            Ok(answer) => Ok(answer),
            Err(AppError::Store(err)) => Err(anyhow::Error::new(err).context("loading events")),
            Err(err) => Err(anyhow::Error::new(err)),
        }
    })?;
    match args.format {
        OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&report)?)?,
        OutputFormat::Text => out!(
            "{}",
            crate::terminal::safe_report(&render_text(&report, &window))
        )?,
    }
    if let Some(range) = data_range {
        eprintln!("{}", empty_window_hint(&window, &range, &options));
    } else if is_empty(&report) && args.format == OutputFormat::Text {
        eprintln!(
            "note: nothing was deployed to {} in this window, and there is no data for \
             this scope at any time; {}",
            options.environments.join(", "),
            flowmap_app::sources::HOW_TO_FILL
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the data is when the window holds none of it, with the flags that show it.
fn empty_window_hint(window: &Window, range: &DataRange, options: &DoraOptions) -> String {
    let mut flags = format!("--since {} --until {}", range.since, range.until);
    for service in &options.services {
        flags.push_str(&format!(" --service {service}"));
    }
    if options.environments != [DEFAULT_ENVIRONMENT] {
        for env in &options.environments {
            flags.push_str(&format!(" --env {env}"));
        }
    }
    format!(
        "note: nothing was deployed or shipped in {}; this scope's data runs from {} to {}.\n\
         To see it: flowmap dora {flags}",
        window.describe(),
        range.first.strftime("%Y-%m-%d %H:%M UTC"),
        range.last.strftime("%Y-%m-%d %H:%M UTC"),
    )
}

/// The report as a compact table with levels, the Quick Check, notes and (with
/// `--explain`) the evidence.
fn render_text(report: &DoraReport, window: &Window) -> String {
    let mut out = String::new();
    let who = match &report.service {
        Some(service) => service.clone(),
        None => format!(
            "all services ({})",
            report.services.as_ref().map_or(0, Vec::len)
        ),
    };
    let _ = writeln!(
        out,
        "DORA metrics: {who}, {}, {} (attribution window {})\n",
        report.environment,
        window.describe(),
        format::duration(report.attribution_window_hours)
    );

    let _ = writeln!(
        out,
        "{:<20} {:>7} {:>6} {:>7}  {:>9} {:>9}  {:>13}  {:>9} {:>5}  {:>7}  levels LT/DF/CFR/RT",
        "service",
        "deploys",
        "/week",
        "days/wk",
        "lead p50",
        "lead p90",
        "change fail",
        "recovery",
        "rec'd",
        "rework",
    );
    let mut rows: Vec<(&str, &Metrics)> = Vec::new();
    if let Some(services) = &report.services {
        rows.extend(services.iter().map(|s| (s.service.as_str(), &s.metrics)));
        rows.push(("(all)", &report.metrics));
    } else {
        rows.push((
            report.service.as_deref().unwrap_or("(all)"),
            &report.metrics,
        ));
    }
    for (name, m) in &rows {
        let _ = writeln!(out, "{}", table_row(name, m));
    }

    let m = &report.metrics;
    let qc = &m.quick_check;
    let b = &report.quick_check_benchmark;
    let _ = writeln!(
        out,
        "\nQuick Check {} (0–10, vs {} mean): lead time {} ({:.1}), deployment frequency {} ({:.1}), \
         recovery {} ({:.1}), change fail {} ({:.1}), rework {} ({}), overall {} ({})",
        b.edition.as_str(),
        b.name,
        score(qc.lead_time),
        b.lead_time.mean,
        score(qc.deployment_frequency),
        b.deployment_frequency.mean,
        score(qc.recovery_time),
        b.recovery_time.mean,
        score(qc.change_failure_rate),
        b.change_failure_rate.mean,
        score(qc.rework_rate),
        b.rework_rate
            .map_or("–".to_owned(), |r| format!("{:.1}", r.mean)),
        score(qc.overall),
        b.overall
            .map_or("–".to_owned(), |r| format!("{:.1}", r.mean)),
    );
    let _ = writeln!(
        out,
        "Recovery stream: {:.2} failed deployments per week enter it.",
        m.recovery_volume_per_week
    );

    // Per-service notes first; a pooled note that only repeats one of them is left out.
    let mut notes: Vec<String> = Vec::new();
    let mut said: Vec<&str> = Vec::new();
    for s in report.services.iter().flatten() {
        for n in &s.metrics.notes {
            notes.push(format!("- {}: {n}", s.service));
            said.push(n);
        }
    }
    notes.extend(
        m.notes
            .iter()
            .filter(|n| !said.contains(&n.as_str()))
            .map(|n| format!("- {n}")),
    );
    if !notes.is_empty() {
        let _ = writeln!(out, "\nNotes:\n{}", notes.join("\n"));
    }
    if let Some(explain) = &report.explain {
        render_explain(&mut out, explain);
    }
    out
}

fn table_row(name: &str, m: &Metrics) -> String {
    let f = &m.deployment_frequency;
    let cfr = &m.change_failure_rate;
    let rt = &m.recovery_time;
    let change_fail = match cfr.rate {
        Some(rate) => format!(
            "{}/{} {}",
            cfr.failed,
            cfr.deployments,
            format::percent(rate)
        ),
        None => "–".to_owned(),
    };
    let levels = [m.lead_time.level, Some(f.level), cfr.level, rt.level]
        .map(|l| l.map_or("–", Level::as_str))
        .join("/");
    format!(
        "{:<20} {:>7} {:>6.2} {:>7.2}  {:>9} {:>9}  {:>13}  {:>9} {:>5}  {:>7}  {}",
        name,
        f.deployments,
        f.per_week,
        f.deploy_days_per_week,
        hours(m.lead_time.median_hours),
        hours(m.lead_time.p90_hours),
        change_fail,
        hours(rt.median_hours),
        format!("{}/{}", rt.recovered, rt.failures),
        m.rework_rate
            .rate
            .map_or(MISSING.to_owned(), format::percent),
        levels
    )
}

/// The table's marker for a metric with no data.
const MISSING: &str = "–";

fn hours(value: Option<f64>) -> String {
    or_missing(value, MISSING, format::duration)
}

fn score(value: Option<f64>) -> String {
    or_missing(value, MISSING, |s| format!("{s:.1}"))
}

fn render_explain(out: &mut String, e: &Explain) {
    section(out, "Failed deployments", &e.failed_deployments, |f| {
        let reasons: Vec<String> = f.reasons.iter().map(failure_reason).collect();
        let recovery = match (f.recovered, f.recovery_hours) {
            (true, Some(h)) => format!("recovered in {h:.1}h"),
            (true, None) => format!(
                "recovered, not timed ({})",
                f.anomaly.as_deref().unwrap_or("")
            ),
            (false, _) => "not recovered".to_owned(),
        };
        format!(
            "{} {} {} ({}): {}; {recovery}",
            f.service,
            f.deployment,
            f.finished_at,
            f.environment,
            reasons.join(", ")
        )
    });
    section(out, "Unrecovered failures", &e.unrecovered_failures, |u| {
        format!(
            "{} {} {}: {}",
            u.service, u.deployment, u.finished_at, u.reason
        )
    });
    section(
        out,
        "Failed deploy runs (not counted)",
        &e.failed_runs,
        |r| {
            format!(
                "{} {} {} ({})",
                r.service, r.deployment, r.finished_at, r.environment
            )
        },
    );
    section(
        out,
        "Negative lead times (excluded)",
        &e.negative_lead_times,
        |n| {
            format!(
                "{} {}: committed {}, deployed by {} at {} ({:.1}h)",
                n.service, n.change, n.committed_at, n.deployment, n.deployed_at, n.lead_time_hours
            )
        },
    );
    section(out, "Orphan changes", &e.orphan_changes, |o| {
        format!(
            "{} {} {}: {}",
            o.service, o.change, o.committed_at, o.reason
        )
    });
    section(
        out,
        "Unattributed incidents",
        &e.unattributed_incidents,
        |i| {
            format!(
                "{} {} {}: {}",
                i.service, i.incident, i.started_at, i.reason
            )
        },
    );
    section(
        out,
        "Listed changes missing from the data",
        &e.unknown_changes,
        |u| format!("{} {} (listed by {})", u.service, u.change, u.deployment),
    );
    section(out, "Ignored fixes", &e.ignored_fixes, |f| {
        format!(
            "{} {} fixes {}: {}",
            f.service, f.deployment, f.fixes, f.reason
        )
    });
    section(
        out,
        "First deployments in the data",
        &e.first_deployments,
        |f| {
            format!(
                "{} {} {}: {} change{}, earliest commit {}",
                f.service,
                f.deployment,
                f.finished_at,
                f.changes,
                if f.changes == 1 { "" } else { "s" },
                f.earliest_committed_at
                    .map_or("–".to_owned(), |t| t.to_string())
            )
        },
    );
}

/// One evidence list, at most [`EVIDENCE_SHOWN`] lines; empty lists are left out.
fn section<T>(out: &mut String, title: &str, items: &[T], line: impl Fn(&T) -> String) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title} ({}):", items.len());
    for item in items.iter().take(EVIDENCE_SHOWN) {
        let _ = writeln!(out, "  {}", line(item));
    }
    if items.len() > EVIDENCE_SHOWN {
        let _ = writeln!(
            out,
            "  … and {} more (all of them with --format json --explain)",
            items.len() - EVIDENCE_SHOWN
        );
    }
}
