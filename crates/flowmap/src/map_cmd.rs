//! `flowmap map …`: check, analyse, render and compare map files.

use crate::output::{out, outln};
use crate::terminal::safe_report;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use flowmap_core::format;
use flowmap_core::map::{self, Analysis, AnalysisOptions, Format, Map, MapDiff, StepChange};

#[derive(Subcommand)]
pub enum MapCommand {
    /// Check map files and report every problem as FILE:LINE:COL.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Compute a map's lead time, flow efficiency, rework, queues and bottleneck.
    Analyze(AnalyzeArgs),
    /// Draw a map as SVG, a self-contained HTML report, or a Mermaid flowchart.
    Render {
        file: PathBuf,
        /// Output file; its extension (.svg, .html or .mmd) picks the format.
        #[arg(short, long)]
        output: PathBuf,
        #[command(flatten)]
        simulation: SimulationArgs,
    },
    /// Hold a map against the stored data: per step the estimate, the measured median
    /// and 85th percentile, the work in progress and a flag.
    Measure(crate::measure_cmd::MeasureArgs),
    /// Write a starting map of the delivery or recovery stream from the stored data alone.
    FromData(crate::measure_cmd::FromDataArgs),
    /// Rank the steps by what improving each would gain: wait halved, process halved,
    /// %C&A made 100 %, with DORA capabilities named or suggested.
    Constraints(ConstraintsArgs),
    /// Compare two maps of a stream (current vs future, or two dates).
    Diff {
        old: PathBuf,
        new: PathBuf,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

#[derive(Args)]
pub struct ConstraintsArgs {
    file: PathBuf,
    /// Rank the measured map (every bound part at its median in the data) instead of the
    /// estimates written in the file.
    #[arg(long)]
    measured: bool,
    /// With --measured: the service; default: the map's `service:`.
    #[arg(long, value_name = "S", requires = "measured")]
    service: Option<String>,
    #[command(flatten)]
    window: crate::measure_cmd::WindowArgs,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

#[derive(Args)]
pub struct AnalyzeArgs {
    file: PathBuf,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    #[command(flatten)]
    simulation: SimulationArgs,
}

/// The simulation's settings, used when a map has ranges.
#[derive(Args)]
pub struct SimulationArgs {
    /// Monte Carlo runs when the map has ranges.
    #[arg(long, default_value_t = AnalysisOptions::default().runs, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Seed of the simulation; the same seed gives the same result.
    #[arg(long, default_value_t = AnalysisOptions::default().seed)]
    seed: u64,
}

impl SimulationArgs {
    pub(crate) fn options(&self) -> AnalysisOptions {
        AnalysisOptions {
            runs: self.runs,
            seed: self.seed,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

pub fn run(command: MapCommand, db: &str) -> anyhow::Result<ExitCode> {
    match command {
        MapCommand::Measure(args) => crate::measure_cmd::measure(args, db),
        MapCommand::FromData(args) => crate::measure_cmd::from_data(args, db),
        MapCommand::Check { files } => check(&files),
        MapCommand::Analyze(args) => {
            let map = load(&args.file)?;
            let analysis = map::analyze(&map, &args.simulation.options());
            match args.format {
                OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&analysis)?)?,
                OutputFormat::Text => out!("{}", analysis_text(&map, &analysis))?,
            }
            Ok(ExitCode::SUCCESS)
        }
        MapCommand::Render {
            file,
            output,
            simulation,
        } => {
            let map = load(&file)?;
            let analysis = map::analyze(&map, &simulation.options());
            let extension = output
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            let rendered = match extension.as_deref() {
                Some("svg") => flowmap_render::map_svg(&map, &analysis),
                Some("html" | "htm") => flowmap_render::html_report(&map, &analysis),
                Some("mmd") => flowmap_render::mermaid(&map),
                _ => bail!(
                    "{}: cannot tell the output format: name the file .svg, .html or .mmd",
                    output.display()
                ),
            };
            std::fs::write(&output, rendered)
                .with_context(|| format!("{}: cannot write", output.display()))?;
            eprintln!("wrote {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
        MapCommand::Constraints(args) => {
            let written = load(&args.file)?;
            let map = if args.measured {
                measured(&written, &args, db)?
            } else {
                written
            };
            let result = flowmap_core::constraints::constraints(&map);
            match args.format {
                OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&result)?)?,
                OutputFormat::Text => out!("{}", constraints_text(&map, &result))?,
            }
            Ok(ExitCode::SUCCESS)
        }
        MapCommand::Diff { old, new, format } => {
            let options = AnalysisOptions::default();
            let (old_map, new_map) = (load(&old)?, load(&new)?);
            let (a, b) = (
                map::analyze(&old_map, &options),
                map::analyze(&new_map, &options),
            );
            if old_map.stream != new_map.stream {
                eprintln!(
                    "warning: {} is a {} map and {} a {} map: they describe different streams, \
                     so the differences compare unlike things",
                    old.display(),
                    stream_name(&old_map),
                    new.display(),
                    stream_name(&new_map)
                );
            }
            let diff = map::diff((&old_map, &a), (&new_map, &b));
            match format {
                OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&diff)?)?,
                OutputFormat::Text => out!("{}", diff_text(&diff))?,
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The measured map of `map`: every bound part at its median over the window's data.
fn measured(map: &Map, args: &ConstraintsArgs, db: &str) -> anyhow::Result<Map> {
    let (since, until) = args.window.window();
    let request = flowmap_app::measure::MeasureRequest {
        service: args.service.clone(),
        environment: args.window.environment.clone(),
        since,
        until,
        attribution_window: args.window.attribution_window,
        analysis: AnalysisOptions::default(),
        explain: false,
    };
    let report = crate::database::runtime()?.block_on(async {
        let store = crate::database::open(db).await?;
        let report = flowmap_app::App::new(store.clone())
            .reports()
            .measure(map.clone(), request)
            .await;
        store.close().await;
        report.map_err(crate::measure_cmd::app_error)
    })?;
    Ok(flowmap_core::measure::measured_map(map, &report.steps))
}

/// The ranking as a table, biggest gain first, with capabilities or suggestions.
fn constraints_text(map: &Map, result: &flowmap_core::constraints::Constraints) -> String {
    let mut out = format!(
        "{}: expected lead time {}\n\n{:<20} {:>18} {:>18} {:>18}  rolled %C&A at 100%\n",
        map.name,
        hours(result.expected_lead_time_hours),
        "step (by best gain)",
        "wait halved",
        "process halved",
        "ca 100%",
    );
    let gain = |h: f64, share: f64| {
        if h > 0.0 {
            format!("−{} ({:.0}%)", format::duration(h), share * 100.0)
        } else {
            "0".to_string()
        }
    };
    for step in &result.steps {
        let _ = writeln!(
            out,
            "{:<20} {:>18} {:>18} {:>18}  {}",
            step.id,
            gain(step.wait_halved_hours, step.wait_halved_share),
            gain(step.process_halved_hours, step.process_halved_share),
            gain(step.ca_perfect_hours, step.ca_perfect_share),
            format::percent(step.ca_perfect_rolled_ca),
        );
        if !step.capabilities.is_empty() {
            let _ = writeln!(
                out,
                "{:<20} capabilities: {}",
                "",
                step.capabilities.join(", ")
            );
        } else if !step.suggested_capabilities.is_empty() {
            let _ = writeln!(
                out,
                "{:<20} suggested capabilities: {}",
                "",
                step.suggested_capabilities.join(", ")
            );
        }
    }
    out
}

fn check(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    check_files(files, load, |map| format!("{} steps", map.steps.len()))
}

/// Checks every file with `load`, printing `FILE: ok (SUMMARY)` for each good one and the
/// error of each bad one; fails (exit status 1) when any file did.
pub(crate) fn check_files<T>(
    files: &[PathBuf],
    load: impl Fn(&Path) -> anyhow::Result<T>,
    summary: impl Fn(&T) -> String,
) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    for file in files {
        match load(file) {
            Ok(checked) => outln!("{}: ok ({})", file.display(), summary(&checked))?,
            Err(err) => {
                eprintln!("error: {}", safe_report(&format!("{err:#}")));
                failed += 1;
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} files failed the check", files.len());
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads and checks a map file, printing its warnings; the error names every problem.
pub(crate) fn load(path: &Path) -> anyhow::Result<Map> {
    let name = path.display().to_string();
    let format = Format::from_path(&name).with_context(|| {
        format!("{name}: cannot tell the map format: name the file .yaml, .yml, .toml or .json")
    })?;
    let text = std::fs::read_to_string(path).with_context(|| format!("{name}: cannot read"))?;
    match map::parse_map(&text, format) {
        Ok(parsed) => {
            for warning in &parsed.warnings {
                eprintln!("{}", safe_report(&warning.display(&name).to_string()));
            }
            Ok(parsed.map)
        }
        Err(errors) => {
            for error in &errors {
                eprintln!("{}", safe_report(&error.display(&name).to_string()));
            }
            let count = errors.len();
            bail!(
                "{name} is not a valid map ({count} problem{})",
                if count == 1 { "" } else { "s" }
            )
        }
    }
}

fn hours(h: f64) -> String {
    format!("{} ({h:.1} h)", format::duration(h))
}

fn analysis_text(map: &Map, analysis: &Analysis) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({} stream, {} state; unit: {})\n",
        analysis.name,
        analysis.stream.as_str(),
        map.state.as_str(),
        map.unit
    );
    let _ = writeln!(
        out,
        "  {:<16} {:>12} {:>12} {:>12} {:>7} {:>7}",
        "step", "wait", "process", "lead time", "%C&A", "passes"
    );
    for (step, numbers) in map.steps.iter().zip(&analysis.steps) {
        let mut marks = Vec::new();
        if numbers.on_critical_path {
            marks.push("critical");
        }
        if step.id == analysis.bottleneck {
            marks.push("BOTTLENECK");
        }
        if step.drill_down.is_some() {
            marks.push("drill-down");
        }
        let _ = writeln!(
            out,
            "  {:<16} {:>12} {:>12} {:>12} {:>7} {:>7.2}  {}",
            step.id,
            step.wait.to_string(),
            step.process.to_string(),
            format::duration(numbers.lead_time_hours),
            format::percent(numbers.ca),
            numbers.expected_passes,
            marks.join(", ")
        );
    }
    let _ = writeln!(out);
    let rows = [
        ("Lead time", hours(analysis.lead_time_hours)),
        ("Process time", hours(analysis.process_time_hours)),
        ("Wait time", hours(analysis.wait_time_hours)),
        ("Activity ratio", format::percent(analysis.activity_ratio)),
        ("Rolled %C&A", format::percent(analysis.rolled_ca)),
        ("Handoffs", analysis.handoffs.to_string()),
        ("Bottleneck", analysis.bottleneck.clone()),
        ("Longest step", analysis.longest_step.clone()),
        (
            "With rework",
            hours(analysis.expected_lead_time_hours) + " expected lead time",
        ),
        ("Critical path", analysis.critical_path.join(" → ")),
    ];
    for (label, value) in rows {
        let _ = writeln!(out, "{label:<15} {value}");
    }
    if let Some(sim) = &analysis.simulation {
        let _ = writeln!(
            out,
            "Simulation      p50 {}  p85 {}  p95 {}  ({} runs, seed {})",
            format::duration(sim.p50_hours),
            format::duration(sim.p85_hours),
            format::duration(sim.p95_hours),
            sim.runs,
            sim.seed
        );
        if let Some(note) = &sim.note {
            let _ = writeln!(out, "                {note}");
        }
    }
    if analysis.steps.iter().any(|s| s.queue_waiting.is_some()) {
        let _ = writeln!(out, "\nQueues (Little's law, {}):", arrivals_text(map));
        for s in &analysis.steps {
            if let (Some(waiting), Some(in_process)) = (s.queue_waiting, s.queue_in_process) {
                let _ = writeln!(
                    out,
                    "  {:<16} {waiting:>8.1} waiting {in_process:>8.1} in process",
                    s.id
                );
            }
        }
    }
    out
}

/// A number from a diff, in the unit its name says.
fn metric_value(metric: &str, value: f64) -> String {
    if metric.ends_with("_hours") {
        format::duration(value)
    } else if is_ratio(metric) {
        format::percent(value)
    } else if value.fract() == 0.0 {
        format!("{}", value as i64)
    } else {
        format!("{value:.2}")
    }
}

fn arrivals_text(map: &Map) -> String {
    map.arrivals.map_or_else(String::new, |a| {
        format!("{} {}s per {:?}", a.count, map.unit, a.period).to_lowercase()
    })
}

/// The stream a map describes, in words.
fn stream_name(map: &Map) -> String {
    serde_json::to_value(map.stream)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "value stream".to_owned())
}

/// What a diff's metric key means, for people.
fn metric_label(metric: &str) -> &str {
    match metric {
        "lead_time_hours" => "lead time",
        "process_time_hours" => "process time",
        "wait_time_hours" => "wait time",
        "activity_ratio" => "activity ratio",
        "rolled_ca" => "rolled %C&A",
        "handoffs" => "handoffs",
        "expected_lead_time_hours" => "expected lead time (with rework)",
        "steps" => "steps",
        "wait_hours" => "wait",
        "process_hours" => "process",
        "ca" => "%C&A",
        "expected_passes" => "expected passes",
        other => other,
    }
}

/// A change of a metric: durations in time units, ratios in percentage points, counts
/// as whole numbers.
fn delta_text(metric: &str, delta: f64) -> String {
    if delta.abs() < 1e-12 {
        return "unchanged".to_owned();
    }
    let sign = if delta < 0.0 { "-" } else { "+" };
    if metric.ends_with("_hours") {
        format!("{sign}{}", format::duration(delta.abs()))
    } else if is_ratio(metric) {
        format::percentage_points(delta)
    } else if matches!(metric, "handoffs" | "steps") {
        format!("{sign}{}", delta.abs().round() as u64)
    } else {
        format!("{sign}{}", format::trimmed(delta.abs(), 2))
    }
}

fn is_ratio(metric: &str) -> bool {
    matches!(metric, "ca" | "activity_ratio" | "rolled_ca")
}

fn diff_text(diff: &MapDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} → {}\n", diff.old_name, diff.new_name);
    for m in &diff.metrics {
        let _ = writeln!(
            out,
            "  {:<34} {:>8} → {:<8}  ({})",
            metric_label(m.metric),
            metric_value(m.metric, m.old),
            metric_value(m.metric, m.new),
            delta_text(m.metric, m.delta),
        );
    }
    if let Some((old, new)) = &diff.bottleneck_moved {
        let _ = writeln!(out, "\n  bottleneck moved: {old} → {new}");
    }
    if !diff.steps.is_empty() {
        let _ = writeln!(out, "\nSteps:");
    }
    for change in &diff.steps {
        let _ = match change {
            StepChange::Added {
                id,
                lead_time_hours,
            } => writeln!(out, "  + {id} ({})", format::duration(*lead_time_hours)),
            StepChange::Removed {
                id,
                lead_time_hours,
            } => writeln!(out, "  - {id} ({})", format::duration(*lead_time_hours)),
            StepChange::Changed { id, fields } => writeln!(
                out,
                "  ~ {id}: {}",
                fields
                    .iter()
                    .map(|f| format!(
                        "{} {} → {}",
                        metric_label(f.metric),
                        metric_value(f.metric, f.old),
                        metric_value(f.metric, f.new)
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
    }
    out
}
