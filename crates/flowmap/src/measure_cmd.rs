//! `flowmap map measure` and `flowmap map from-data`: a map held against the stored data,
//! and a starting map written from it. The numbers come from `flowmap_core::measure`
//! through the application layer; this module reads flags and prints.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use flowmap_app::measure::MeasureRequest;
use flowmap_app::{App, AppError};
use flowmap_core::dora::{DEFAULT_ENVIRONMENT, DEFAULT_WINDOW, parse_window_bound};
use flowmap_core::format::{duration, or_missing};
use flowmap_core::map::{Format, Stream, parse_duration, parse_map};
use flowmap_core::measure::{FromDataOptions, MeasureReport, SegmentStats, StepMeasurement};
use jiff::{SignedDuration, Timestamp};

use crate::map_cmd::{OutputFormat, SimulationArgs, load};

/// The scope and window both commands share.
#[derive(Args)]
pub struct WindowArgs {
    /// Deployments to this environment ship the changes (`deployed`).
    #[arg(long = "env", value_name = "E", default_value = DEFAULT_ENVIRONMENT)]
    pub(crate) environment: String,
    /// Start of the window, inclusive: a date (midnight UTC) or an RFC 3339 time.
    /// Default: 90 days before --until.
    #[arg(long, value_name = "T", value_parser = parse_window_bound)]
    since: Option<Timestamp>,
    /// End of the window, exclusive. Default: now.
    #[arg(long, value_name = "T", value_parser = parse_window_bound)]
    until: Option<Timestamp>,
    /// As for `flowmap dora`: an incident this soon after a deployment marks it failed.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_attribution)]
    pub(crate) attribution_window: SignedDuration,
}

impl WindowArgs {
    pub(crate) fn window(&self) -> (Timestamp, Timestamp) {
        let until = self.until.unwrap_or_else(Timestamp::now);
        (self.since.unwrap_or_else(|| until - DEFAULT_WINDOW), until)
    }
}

fn parse_attribution(text: &str) -> Result<SignedDuration, String> {
    let hours = parse_duration(text).map_err(|e| e.to_string())?;
    SignedDuration::try_from_secs_f64(hours * 3600.0).map_err(|e| e.to_string())
}

#[derive(Args)]
pub struct MeasureArgs {
    file: PathBuf,
    /// The service to measure; default: the map's `service:`.
    #[arg(long, value_name = "S")]
    service: Option<String>,
    #[command(flatten)]
    window: WindowArgs,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Draw the map with the estimate and the data on every bound box: .svg or .html.
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// List every negative segment (an end point before its start), left out as anomalies.
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    simulation: SimulationArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum StreamArg {
    Delivery,
    Recovery,
}

#[derive(Args)]
pub struct FromDataArgs {
    #[arg(long, value_enum)]
    stream: StreamArg,
    #[arg(long, value_name = "S")]
    service: String,
    #[command(flatten)]
    window: WindowArgs,
    /// The map file to write (.yaml).
    #[arg(short, long, value_name = "OUT.yaml")]
    output: PathBuf,
}

pub(crate) fn app_error(err: AppError) -> anyhow::Error {
    match err {
        AppError::Store(err) => anyhow::Error::new(err).context("loading events"),
        err => err.into(),
    }
}

pub fn measure(args: MeasureArgs, db: &str) -> anyhow::Result<ExitCode> {
    let map = load(&args.file)?;
    let (since, until) = args.window.window();
    let request = MeasureRequest {
        service: args.service.clone(),
        environment: args.window.environment.clone(),
        since,
        until,
        attribution_window: args.window.attribution_window,
        analysis: args.simulation.options(),
        explain: args.explain,
    };
    let report = crate::database::runtime()?.block_on(async {
        let store = crate::database::open(db).await?;
        let report = App::new(store.clone())
            .reports()
            .measure(map.clone(), request)
            .await;
        store.close().await;
        report.map_err(app_error)
    })?;
    if let Some(output) = &args.output {
        let extension = output
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let drawn = match extension.as_deref() {
            Some("svg") => flowmap_render::measured_map_svg(&map, &report),
            Some("html" | "htm") => flowmap_render::measured_html_report(&map, &report),
            _ => bail!(
                "{}: cannot tell the output format: name the file .svg or .html",
                output.display()
            ),
        };
        std::fs::write(output, drawn)
            .with_context(|| format!("{}: cannot write", output.display()))?;
        eprintln!("wrote {}", output.display());
    }
    match args.format {
        OutputFormat::Json => crate::output::outln!("{}", serde_json::to_string_pretty(&report)?)?,
        OutputFormat::Text => crate::output::out!("{}", measure_text(&map, &report))?,
    }
    Ok(ExitCode::SUCCESS)
}

pub fn from_data(args: FromDataArgs, db: &str) -> anyhow::Result<ExitCode> {
    let (since, until) = args.window.window();
    let stream = match args.stream {
        StreamArg::Delivery => Stream::Delivery,
        StreamArg::Recovery => Stream::Recovery,
    };
    let options = FromDataOptions {
        service: args.service,
        environment: args.window.environment,
        since,
        until,
        attribution_window: args.window.attribution_window,
    };
    let yaml = crate::database::runtime()?.block_on(async {
        let store = crate::database::open(db).await?;
        let yaml = App::new(store.clone())
            .reports()
            .map_from_data(stream, options)
            .await;
        store.close().await;
        yaml.map_err(app_error)
    })?;
    // The written map must pass `map check`; say so loudly if it ever would not.
    if let Err(errors) = parse_map(&yaml, Format::Yaml) {
        bail!("the written map does not check: {:?}", errors);
    }
    std::fs::write(&args.output, &yaml)
        .with_context(|| format!("{}: cannot write", args.output.display()))?;
    eprintln!("wrote {}", args.output.display());
    Ok(ExitCode::SUCCESS)
}

/// A duration in at most two units, or `-` for no value.
fn hours(value: Option<f64>) -> String {
    or_missing(value.filter(|h| h.is_finite()), "-", duration)
}

fn segment_line(out: &mut String, part: &str, estimate: Option<f64>, s: &SegmentStats) {
    let _ = writeln!(
        out,
        "    {part:<8} {:<34} {:>9} {:>9} {:>9} {:>6} {:>5} {:>5} {:>5}",
        format!("{}..{}", s.from, s.to),
        hours(estimate),
        hours(s.p50_hours),
        hours(s.p85_hours),
        s.n,
        s.missing,
        s.anomalies,
        s.wip,
    );
}

fn step_lines(
    out: &mut String,
    map_step: Option<&flowmap_core::map::Step>,
    m: &StepMeasurement,
    depth: usize,
) {
    let indent = "  ".repeat(depth);
    let ratio = m.ratio.map_or("-".to_owned(), |r| format!("×{r:.2}"));
    // A step with nothing bound still shows what the map says it takes (wait + process).
    let estimate = m
        .estimate_hours
        .or_else(|| map_step.map(|s| s.wait.point() + s.process.point()));
    let name = format!("{indent}{}", m.id);
    let _ = writeln!(
        out,
        "  {name:<20} est {:>9}  data {:>9}  {:>7}  {}{}",
        hours(estimate),
        hours(m.measured_hours),
        ratio,
        m.flag.as_str(),
        m.ca.map_or(String::new(), |ca| format!("  (ca {:.1}%)", ca * 100.0)),
    );
    let estimate = |part: &str| {
        map_step.map(|s| match part {
            "wait" => s.wait.point(),
            _ => s.process.point(),
        })
    };
    if let Some(s) = &m.wait {
        segment_line(out, "wait", estimate("wait"), s);
    }
    if let Some(s) = &m.process {
        segment_line(out, "process", estimate("process"), s);
    }
    for sub in &m.steps {
        let sub_step = map_step
            .and_then(|s| s.drill_down.as_ref())
            .and_then(|d| d.steps.iter().find(|x| x.id == sub.id));
        step_lines(out, sub_step, sub, depth + 1);
    }
}

/// The report as a table for people.
fn measure_text(map: &flowmap_core::map::Map, report: &MeasureReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: measured against {} in {}, {} to {}\n",
        report.name, report.service, report.environment, report.since, report.until
    );
    let lt = &report.lead_time;
    let _ = writeln!(
        out,
        "lead time {}..{}: p50 {}, p85 {}, mean {}, n {} (missing {}, anomalies {}); in progress {} (median age {})",
        lt.from,
        lt.to,
        hours(lt.p50_hours),
        hours(lt.p85_hours),
        hours(lt.mean_hours),
        lt.n,
        lt.missing,
        lt.anomalies,
        lt.wip,
        hours(lt.wip_age_p50_hours),
    );
    let _ = writeln!(
        out,
        "map as drawn: lead time {}, bottleneck {}; as measured: lead time {}, bottleneck {}\n",
        hours(Some(report.estimate.lead_time_hours)),
        report.estimate.bottleneck,
        hours(Some(report.measured.lead_time_hours)),
        report.measured.bottleneck,
    );
    let _ = writeln!(
        out,
        "  {:<20} {:>13}  {:>14}  {:>7}  flag",
        "step", "estimate", "measured p50", "ratio"
    );
    let _ = writeln!(
        out,
        "    {:<8} {:<34} {:>9} {:>9} {:>9} {:>6} {:>5} {:>5} {:>5}",
        "part", "segment", "estimate", "p50", "p85", "n", "miss", "anom", "WIP"
    );
    for m in &report.steps {
        let step = map.steps.iter().find(|s| s.id == m.id);
        step_lines(&mut out, step, m, 0);
    }
    fn segments<'r>(steps: &'r [StepMeasurement], out: &mut Vec<&'r SegmentStats>) {
        for m in steps {
            out.extend([&m.wait, &m.process].into_iter().flatten());
            segments(&m.steps, out);
        }
    }
    let mut bound = Vec::new();
    segments(&report.steps, &mut bound);
    let oldest: Vec<String> = bound
        .into_iter()
        .chain([&report.lead_time])
        .filter(|s| !s.wip_oldest.is_empty())
        .map(|s| {
            let items: Vec<String> = s
                .wip_oldest
                .iter()
                .map(|w| format!("{} ({})", w.id, duration(w.age_hours)))
                .collect();
            format!("  {}..{}: {}", s.from, s.to, items.join(", "))
        })
        .collect();
    if !oldest.is_empty() {
        let _ = writeln!(out, "\noldest in progress:");
        for line in oldest {
            let _ = writeln!(out, "{line}");
        }
    }
    if !report.notes.is_empty() {
        let _ = writeln!(out, "\nnotes:");
        for note in &report.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    if let Some(negatives) = &report.negative_segments {
        let _ = writeln!(out, "\nnegative segments (left out, counted as anomalies):");
        if negatives.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for n in negatives {
            let _ = writeln!(
                out,
                "  {} {}: {} is {:.2} h before {}",
                n.segment, n.id, n.to_at, -n.hours, n.from_at
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::hours;

    #[test]
    fn durations_in_the_text_use_two_units_at_most() {
        // 1 week 6 days and 5 minutes reads as the two largest units.
        assert_eq!(hours(Some(316.0 + 5.0 / 60.0)), "1w 6d");
        assert_eq!(hours(Some(12.9)), "12h 54m");
        assert_eq!(hours(None), "-");
        assert_eq!(hours(Some(f64::INFINITY)), "-");
    }
}
