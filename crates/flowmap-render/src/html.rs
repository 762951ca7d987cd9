//! The self-contained HTML report: one file to mail around or attach to a ticket, that
//! opens anywhere without a network.

use flowmap_core::format::duration;
use flowmap_core::map::{Analysis, Map, Period, State, Step, StepAnalysis, Stream};

use crate::map_svg;
use crate::svg::FONT;
use crate::text::{escape, num, percent};

/// Writes a complete HTML page for a map: the map's picture (the SVG of [`map_svg`],
/// inline), a summary table of the analysis, a table of every step (wait, process, lead
/// time, %C&A, expected passes, queue sizes when arrivals are known, whether it is on the
/// critical path, and how often it was critical in the simulation when there is one), the
/// simulation's percentiles when the map has ranges, and for each drill-down step the
/// sub-map's own picture and tables.
///
/// The page is self-contained: CSS is inline, fonts are the reader's system fonts, there
/// are no scripts and no links to anything outside the file. All text from the map is
/// escaped.
///
/// ```
/// use flowmap_core::map::{analyze, parse_map, AnalysisOptions, Format};
///
/// let text = "name: Demo\nsteps:\n  - id: code\n    process: 4h\n";
/// let map = parse_map(text, Format::Yaml).unwrap().map;
/// let page = flowmap_render::html_report(&map, &analyze(&map, &AnalysisOptions::default()));
/// assert!(page.starts_with("<!DOCTYPE html>"));
/// assert!(page.contains("<svg"));
/// assert!(!page.contains("https://") && !page.contains("<script"));
/// ```
pub fn html_report(map: &Map, analysis: &Analysis) -> String {
    let mut out = String::with_capacity(128 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"generator\" content=\"flowmap\">\n");
    out.push_str(&format!(
        "<title>{} — value stream map</title>\n",
        escape(&map.name)
    ));
    out.push_str("<style>\n");
    out.push_str(&CSS.replace("FONT_STACK", FONT));
    out.push_str("</style>\n</head>\n<body>\n<main>\n");
    out.push_str(&format!(
        "<header>\n<h1>{}</h1>\n<p class=\"sub\">{}</p>\n</header>\n",
        escape(&map.name),
        escape(&subtitle(map))
    ));
    section(&mut out, map, analysis, 2);
    out.push_str(
        "<footer>Made with flowmap. Durations: d = 24 h, w = 7 d (calendar time). \
         A range <code>low..high</code> counts as its midpoint in every total; the simulation \
         draws from the whole range.</footer>\n",
    );
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// A map's picture and tables, then its drill-downs as nested sections, with headings
/// starting at `<h{level}>`.
fn section(out: &mut String, map: &Map, analysis: &Analysis, level: usize) {
    let h = level.min(6);
    out.push_str("<figure class=\"map\">\n");
    out.push_str(&map_svg(map, analysis));
    out.push_str("</figure>\n");

    out.push_str(&format!("<h{h}>Summary</h{h}>\n"));
    summary_table(out, map, analysis);

    out.push_str(&format!("<h{h}>Steps</h{h}>\n"));
    steps_table(out, map, analysis);

    if let Some(sim) = &analysis.simulation {
        out.push_str(&format!("<h{h}>Simulated lead time</h{h}>\n"));
        out.push_str(&format!(
            "<p class=\"note\">{} Monte Carlo runs (seed {}): every pass of a step draws its wait \
             and process time uniformly within its range, rework included. The percentiles say \
             how long an item takes at most, in that share of runs.</p>\n",
            thousands(u64::from(sim.runs)),
            sim.seed
        ));
        out.push_str("<div class=\"table-wrap\"><table class=\"compact\">\n<thead><tr><th>Percentile</th><th class=\"num\">Lead time</th><th class=\"num\">Hours</th></tr></thead>\n<tbody>\n");
        for (label, hours) in [
            ("p50 (median)", sim.p50_hours),
            ("p85", sim.p85_hours),
            ("p95", sim.p95_hours),
        ] {
            out.push_str(&format!(
                "<tr><th scope=\"row\">{label}</th><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                escape(&duration(hours)),
                num(hours)
            ));
        }
        out.push_str("</tbody></table></div>\n");
    }

    drill_downs(out, map, analysis, level, section);
}

/// The map page's detail for a page that brings its own styles: the table of every step
/// (as in [`html_report`]), then each drill-down step's sub-map with its picture, its
/// steps and its own drill-downs, with headings starting at `<h{level}>`.
///
/// ```
/// use flowmap_core::map::{analyze, parse_map, AnalysisOptions, Format};
///
/// let text = "name: Demo\nsteps:\n  - id: code\n    process: 4h\n";
/// let map = parse_map(text, Format::Yaml).unwrap().map;
/// let part = flowmap_render::map_details(&map, &analyze(&map, &AnalysisOptions::default()), 2);
/// assert!(part.starts_with("<h2>Steps</h2>"));
/// assert!(part.contains("<table class=\"steps\">"));
/// ```
pub fn map_details(map: &Map, analysis: &Analysis, level: usize) -> String {
    let mut out = String::new();
    details(&mut out, map, analysis, level);
    out
}

fn details(out: &mut String, map: &Map, analysis: &Analysis, level: usize) {
    let h = level.min(6);
    out.push_str(&format!("<h{h}>Steps</h{h}>\n"));
    steps_table(out, map, analysis);
    drill_downs(
        out,
        map,
        analysis,
        level,
        |out, sub, sub_analysis, level| {
            out.push_str("<figure class=\"map map-picture\">\n");
            out.push_str(&map_svg(sub, sub_analysis));
            out.push_str("</figure>\n");
            details(out, sub, sub_analysis, level);
        },
    );
}

/// A section for each drill-down step of `map`, its sub-map written by `body` with
/// headings one level down.
fn drill_downs(
    out: &mut String,
    map: &Map,
    analysis: &Analysis,
    level: usize,
    body: impl Fn(&mut String, &Map, &Analysis, usize),
) {
    let h = level.min(6);
    for (step, sa) in map.steps.iter().zip(step_analyses(map, analysis)) {
        let (Some(sub), Some(sub_analysis)) =
            (&step.drill_down, sa.and_then(|s| s.drill_down.as_deref()))
        else {
            continue;
        };
        out.push_str("<section class=\"drill-down\">\n");
        out.push_str(&format!(
            "<h{h}>Drill-down: {}</h{h}>\n<p class=\"sub\">The steps inside <strong>{}</strong>, analysed as a map of their own.</p>\n",
            escape(&step.name),
            escape(&step.name)
        ));
        body(out, sub, sub_analysis, level + 1);
        out.push_str("</section>\n");
    }
}

fn summary_table(out: &mut String, map: &Map, a: &Analysis) {
    let step_name = |id: &str| {
        map.step_index(id)
            .map_or(id.to_string(), |i| map.steps[i].name.clone())
    };
    let mut rows: Vec<(&str, String, String)> = vec![
        (
            "Lead time",
            duration(a.lead_time_hours),
            "wait + process along the critical path".into(),
        ),
        (
            "Process time",
            duration(a.process_time_hours),
            "touch time along the critical path".into(),
        ),
        (
            "Wait time",
            duration(a.wait_time_hours),
            "lead time − process time".into(),
        ),
        (
            "Activity ratio",
            percent(a.activity_ratio),
            "process time ÷ lead time (flow efficiency)".into(),
        ),
        (
            "Rolled %C&A",
            percent(a.rolled_ca),
            "share of items that pass the critical path without rework".into(),
        ),
        (
            "Handoffs",
            a.handoffs.to_string(),
            "flow edges between two different teams".into(),
        ),
        (
            "Expected lead time with rework",
            duration(a.expected_lead_time_hours),
            "critical path when every step takes its expected passes × (wait + process)".into(),
        ),
    ];
    if let Some(i) = map.step_index(&a.bottleneck) {
        rows.push((
            "Bottleneck",
            map.steps[i].name.clone(),
            format!("the longest wait: {}", map.steps[i].wait),
        ));
    }
    if let Some(i) = map.step_index(&a.longest_step) {
        let lead = map.steps[i].wait.point() + map.steps[i].process.point();
        rows.push((
            "Longest step",
            map.steps[i].name.clone(),
            format!("the longest wait + process: {}", duration(lead)),
        ));
    }
    rows.push((
        "Critical path",
        a.critical_path
            .iter()
            .map(|id| step_name(id))
            .collect::<Vec<_>>()
            .join(" → "),
        "the longest path through the flow".into(),
    ));
    if let Some(lambda) = a.arrivals_per_hour {
        rows.push((
            "Arrivals",
            format!("{} per hour", trimmed(lambda, 3)),
            "used for the queue sizes (Little's law)".into(),
        ));
    }
    if let Some(sim) = &a.simulation {
        rows.push((
            "Simulated lead time",
            format!(
                "p50 {} · p85 {} · p95 {}",
                duration(sim.p50_hours),
                duration(sim.p85_hours),
                duration(sim.p95_hours)
            ),
            format!("{} runs, seed {}", thousands(u64::from(sim.runs)), sim.seed),
        ));
    }
    out.push_str("<div class=\"table-wrap\"><table class=\"summary\">\n<tbody>\n");
    for (label, value, note) in rows {
        out.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td><span class=\"value\">{}</span><span class=\"why\">{}</span></td></tr>\n",
            escape(label),
            escape(&value),
            escape(&note)
        ));
    }
    out.push_str("</tbody></table></div>\n");
}

fn steps_table(out: &mut String, map: &Map, a: &Analysis) {
    let queues = a.arrivals_per_hour.is_some();
    let simulated = a.simulation.as_ref();
    out.push_str("<div class=\"table-wrap\"><table class=\"steps\">\n<thead><tr>");
    out.push_str("<th class=\"num\">#</th><th>Step</th><th>Team</th><th class=\"num\">Wait</th><th class=\"num\">Process</th><th class=\"num\">Lead time</th><th class=\"num\">%C&amp;A</th><th class=\"num\" title=\"expected passes with rework\">Passes</th>");
    if queues {
        out.push_str("<th class=\"num\" title=\"items waiting before the step (Little's law)\">Queued</th><th class=\"num\" title=\"items being worked on (Little's law)\">In process</th>");
    }
    out.push_str("<th class=\"mark\" title=\"on the critical path\">Critical</th>");
    if simulated.is_some() {
        out.push_str("<th class=\"num\" title=\"share of simulation runs in which the step was on the critical path\">Critical in runs</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (k, (step, sa)) in map.steps.iter().zip(step_analyses(map, a)).enumerate() {
        let is_bottleneck = step.id == a.bottleneck;
        out.push_str(if is_bottleneck {
            "<tr class=\"bottleneck\">"
        } else {
            "<tr>"
        });
        out.push_str(&format!("<td class=\"num\">{}</td>", k + 1));
        out.push_str(&format!(
            "<td><span class=\"name\">{}</span>{} <span class=\"id\">{}</span>",
            escape(&step.name),
            if is_bottleneck {
                " <span class=\"badge\">bottleneck</span>"
            } else {
                ""
            },
            escape(&step.id)
        ));
        if !step.systems.is_empty() {
            out.push_str(&format!(
                "<span class=\"meta\">Systems: {}</span>",
                escape(&step.systems.join(", "))
            ));
        }
        if let Some(notes) = &step.notes {
            out.push_str(&format!("<span class=\"meta\">{}</span>", escape(notes)));
        }
        out.push_str("</td>");
        out.push_str(&format!("<td>{}</td>", escape(&team_name(map, step))));
        out.push_str(&estimate_cell(step.wait));
        out.push_str(&estimate_cell(step.process));
        match sa {
            Some(sa) => {
                out.push_str(&format!(
                    "<td class=\"num\" title=\"{} h\">{}</td>",
                    num(sa.lead_time_hours),
                    escape(&duration(sa.lead_time_hours))
                ));
                out.push_str(&format!("<td class=\"num\">{}</td>", percent(sa.ca)));
                out.push_str(&format!("<td class=\"num\">{:.2}</td>", sa.expected_passes));
                if queues {
                    for q in [sa.queue_waiting, sa.queue_in_process] {
                        out.push_str(&format!(
                            "<td class=\"num\">{}</td>",
                            q.map_or("—".to_string(), |q| trimmed(q, 2))
                        ));
                    }
                }
                out.push_str(&if sa.on_critical_path {
                    "<td class=\"mark\"><span class=\"dot\" title=\"on the critical path\">●</span><span class=\"visually-hidden\"> yes</span></td>".to_string()
                } else {
                    "<td class=\"mark\"></td>".to_string()
                });
            }
            None => {
                let blanks = if queues { 6 } else { 4 };
                out.push_str(&"<td class=\"num\">—</td>".repeat(blanks));
            }
        }
        if let Some(sim) = simulated {
            out.push_str(&format!(
                "<td class=\"num\">{}</td>",
                sim.critical_frequency
                    .get(&step.id)
                    .map_or("—".to_string(), |f| percent(*f))
            ));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

/// The analysis of each step, matched by id so a mismatched analysis shows gaps rather
/// than wrong numbers.
fn step_analyses<'a>(map: &Map, a: &'a Analysis) -> Vec<Option<&'a StepAnalysis>> {
    map.steps
        .iter()
        .map(|step| a.steps.iter().find(|s| s.id == step.id))
        .collect()
}

fn estimate_cell(estimate: flowmap_core::map::Estimate) -> String {
    if estimate.is_range() {
        format!(
            "<td class=\"num\" title=\"midpoint {}\">{}</td>",
            escape(&duration(estimate.point())),
            escape(&estimate.to_string())
        )
    } else {
        format!("<td class=\"num\">{}</td>", escape(&estimate.to_string()))
    }
}

fn team_name(map: &Map, step: &Step) -> String {
    step.team.as_ref().map_or(String::new(), |t| {
        map.team(t).map_or(t.clone(), |team| team.name.clone())
    })
}

fn subtitle(map: &Map) -> String {
    let stream = match map.stream {
        Stream::Delivery => "Delivery stream",
        Stream::Recovery => "Recovery stream",
    };
    let state = match map.state {
        State::Current => "current state",
        State::Future => "future state",
    };
    let mut text = format!("{stream} · {state} · unit: {}", map.unit);
    if let Some(arrivals) = map.arrivals {
        let period = match arrivals.period {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        };
        text.push_str(&format!(" · arrivals: {}/{period}", num(arrivals.count)));
    }
    text
}

/// A count with thousands separators: `10000` → `10,000`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A number with at most `decimals` decimals and no trailing zeros: `0.178571` → `0.179`.
fn trimmed(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

pub(crate) const CSS: &str = r#"*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: #f1f5f9; color: #1f2937; font: 16px/1.55 FONT_STACK; }
main { max-width: 1480px; margin: 0 auto; padding: 32px 24px 48px; }
h1 { font-size: 2rem; line-height: 1.2; margin: 0 0 6px; letter-spacing: -0.01em; }
h2 { font-size: 1.35rem; margin: 40px 0 12px; }
h3 { font-size: 1.15rem; margin: 32px 0 10px; }
h4, h5, h6 { font-size: 1rem; margin: 24px 0 8px; }
.sub { color: #64748b; margin: 0 0 20px; }
.note { color: #475569; max-width: 75ch; }
figure.map { margin: 0; background: #ffffff; border: 1px solid #e2e8f0; border-radius: 10px; overflow-x: auto; }
figure.map svg { display: block; min-width: 960px; height: auto; }
.table-wrap { overflow-x: auto; background: #ffffff; border: 1px solid #e2e8f0; border-radius: 10px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
.table-wrap:has(> table.summary), .table-wrap:has(> table.compact) { display: inline-block; max-width: 100%; }
table.summary { max-width: 960px; }
th, td { padding: 8px 14px; border-bottom: 1px solid #e2e8f0; text-align: left; vertical-align: top; }
tbody tr:last-child th, tbody tr:last-child td { border-bottom: none; }
thead th { position: sticky; top: 0; background: #f8fafc; color: #475569; font-size: 0.75rem; font-weight: 600; text-transform: uppercase; letter-spacing: 0.04em; white-space: normal; vertical-align: bottom; }
tbody th { font-weight: 600; white-space: nowrap; }
.value { display: block; font-weight: 700; }
.why { display: block; color: #64748b; font-size: 0.85rem; }
.meta { display: block; color: #64748b; font-size: 0.85rem; max-width: 40ch; }
.num { text-align: right; white-space: nowrap; }
.mark { text-align: center; }
.dot { color: #1f2937; }
.id { color: #94a3b8; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.8rem; }
.name { font-weight: 600; }
table.steps td:nth-child(2) { min-width: 18ch; }
tr.bottleneck td { background: #fef2f2; }
.badge { display: inline-block; padding: 0 8px; border-radius: 999px; background: #dc2626; color: #ffffff; font-size: 0.72rem; font-weight: 700; letter-spacing: 0.04em; text-transform: uppercase; vertical-align: 1px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
section.drill-down { margin-top: 56px; padding-top: 8px; border-top: 3px solid #cbd5e1; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
footer { margin-top: 48px; color: #64748b; font-size: 0.875rem; }
@media print { body { background: #ffffff; } main { max-width: none; padding: 0; } thead th { position: static; } }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_counts_and_rates() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(trimmed(30.0 / 168.0, 3), "0.179");
        assert_eq!(trimmed(2.0, 3), "2");
        assert_eq!(trimmed(0.5, 2), "0.5");
    }
}
