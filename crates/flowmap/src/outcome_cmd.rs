//! `flowmap outcome …`: check outcome files, measure them against the stored events, and
//! write an outcome's page as one self-contained HTML file. Also `flowmap capabilities`,
//! the catalogue of DORA capabilities that maps and experiments may name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use flowmap_app::App;
use flowmap_app::outcomes::{OutcomeReport, step_metrics};
use flowmap_core::capabilities::CATALOGUE;
use flowmap_core::dora::parse_window_bound;
use flowmap_core::map::{self, Format, Map};
use flowmap_core::outcome::{Outcome, check_step, parse_outcome};
use flowmap_render::outcome::{MapMarker, OutcomeView, format_value, outcome_report};
use jiff::Timestamp;

use crate::map_cmd::{OutputFormat, check_files};
use crate::output::{out, outln};
use crate::terminal::safe_report;

#[derive(Subcommand)]
pub enum OutcomeCommand {
    /// Check outcome files and report every problem as FILE:LINE:COL.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Measure an outcome from the stored events: baseline, current value, progress,
    /// status and every experiment's verdict.
    Status(StatusArgs),
    /// Write the outcome's page (journey, experiments, outcome mapping) as one
    /// self-contained HTML file.
    Report {
        file: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// The time to measure at (a date or an RFC 3339 time); default now.
        #[arg(long, value_parser = parse_window_bound)]
        at: Option<Timestamp>,
    },
}

#[derive(Args)]
pub struct StatusArgs {
    file: PathBuf,
    /// The time to measure at (a date or an RFC 3339 time); default now.
    #[arg(long, value_parser = parse_window_bound)]
    at: Option<Timestamp>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

pub fn run(command: OutcomeCommand, db: &str) -> anyhow::Result<ExitCode> {
    match command {
        OutcomeCommand::Check { files } => check_files(&files, load, |outcome| {
            let experiments = outcome.experiments.len();
            let plural = if experiments == 1 { "" } else { "s" };
            format!(
                "{}, {experiments} experiment{plural}",
                outcome.metric.name()
            )
        }),
        OutcomeCommand::Status(args) => {
            let outcome = load(&args.file)?;
            let report = measure(
                db,
                &args.file,
                &outcome,
                args.at.unwrap_or_else(Timestamp::now),
            )?;
            match args.format {
                OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&report.status)?)?,
                OutputFormat::Text => out!("{}", status_text(&report))?,
            }
            Ok(ExitCode::SUCCESS)
        }
        OutcomeCommand::Report { file, output, at } => {
            let outcome = load(&file)?;
            let report = measure(db, &file, &outcome, at.unwrap_or_else(Timestamp::now))?;
            let maps: Vec<MapMarker> = report
                .maps
                .iter()
                .map(|m| MapMarker {
                    at: m.saved_at,
                    label: format!("{} v{}", m.map, m.version),
                    lead_time_hours: m.expected_lead_time_hours,
                })
                .collect();
            let page = outcome_report(&OutcomeView {
                outcome: &outcome,
                status: &report.status,
                weeks: &report.weeks,
                maps: &maps,
            });
            std::fs::write(&output, page)
                .with_context(|| format!("{}: cannot write", output.display()))?;
            eprintln!("wrote {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `flowmap capabilities`: the built-in catalogue.
pub fn capabilities(format: OutputFormat) -> anyhow::Result<ExitCode> {
    match format {
        OutputFormat::Json => {
            let list: Vec<serde_json::Value> = CATALOGUE
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "id": c.id, "name": c.name, "summary": c.summary,
                        "group": c.group.as_str(), "url": c.url(),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        OutputFormat::Text => {
            for group in ["climate for learning", "fast flow", "fast feedback", "AI"] {
                println!("{group}:");
                for c in CATALOGUE.iter().filter(|c| c.group.as_str() == group) {
                    println!("  {:<36} {}", c.id, c.summary);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads and checks an outcome file; `MAP#STEP` references are map files relative to it.
fn load(path: &Path) -> anyhow::Result<Outcome> {
    let name = path.display().to_string();
    let format = Format::from_path(&name).with_context(|| {
        format!("{name}: cannot tell the format: name the file .yaml, .yml, .toml or .json")
    })?;
    let text = std::fs::read_to_string(path).with_context(|| format!("{name}: cannot read"))?;
    let resolver = |map_file: &str, step: &str| {
        let map = read_map(path, map_file)?;
        check_step(&map, map_file, step)
    };
    match parse_outcome(&text, format, &resolver) {
        Ok(outcome) => Ok(outcome),
        Err(errors) => {
            for error in &errors {
                eprintln!("{}", safe_report(&error.display(&name).to_string()));
            }
            let count = errors.len();
            bail!(
                "{name} is not a valid outcome ({count} problem{})",
                if count == 1 { "" } else { "s" }
            )
        }
    }
}

/// The map file `map_file` names, relative to the outcome file `outcome_path`.
fn read_map(outcome_path: &Path, map_file: &str) -> Result<Map, String> {
    let base = outcome_path.parent().unwrap_or(Path::new("."));
    let map_path = base.join(map_file);
    let map_format = Format::from_path(map_file)
        .ok_or_else(|| format!("`{map_file}` is not a .yaml, .yml, .toml or .json file"))?;
    let map_text = std::fs::read_to_string(&map_path)
        .map_err(|e| format!("cannot read map file `{}`: {e}", map_path.display()))?;
    let parsed = map::parse_map(&map_text, map_format).map_err(|_| {
        format!("map file `{map_file}` is not a valid map (run `flowmap map check`)")
    })?;
    Ok(parsed.map)
}

fn measure(
    db: &str,
    path: &Path,
    outcome: &Outcome,
    at: Timestamp,
) -> anyhow::Result<OutcomeReport> {
    // The maps of the step metrics, read as the check read them.
    let mut step_maps = HashMap::new();
    for step in step_metrics(outcome) {
        let map = read_map(path, &step.map).map_err(|e| anyhow::anyhow!("{e}"))?;
        step_maps.insert(step.map.clone(), map);
    }
    let runtime = crate::database::runtime()?;
    runtime.block_on(async {
        let store = crate::database::open(db).await?;
        let report = App::new(store.clone())
            .outcome_report(outcome, at, None, step_maps)
            .await;
        store.close().await;
        Ok(report?)
    })
}

fn status_text(report: &OutcomeReport) -> String {
    let s = &report.status;
    let value =
        |v: Option<f64>| v.map_or_else(|| "no data".to_string(), |v| format_value(s.unit, v));
    let share =
        |v: Option<f64>| v.map_or_else(|| "—".to_string(), |v| format!("{:.0}%", v * 100.0));
    let mut out = format!(
        "{}\n  metric     {} ({}, {})\n  baseline   {}\n  current    {}\n  target     {} {} by {}\n  progress   {} (expected by now {})\n  status     {}\n",
        s.outcome,
        s.metric,
        s.service.as_deref().unwrap_or("all services"),
        s.environment,
        value(s.baseline_value),
        value(s.current_value),
        s.target.op.symbol(),
        format_value(s.unit, s.target.value),
        s.deadline,
        share(s.progress),
        share(s.expected_progress),
        s.status.as_str(),
    );
    if !s.experiments.is_empty() {
        out.push_str("\nExperiments\n");
        for e in &s.experiments {
            out.push_str(&format!(
                "  {} [{}{}]\n    {}\n",
                e.id,
                e.verdict.as_str(),
                if e.running { ", running" } else { "" },
                e.sentence
            ));
        }
    }
    out
}
