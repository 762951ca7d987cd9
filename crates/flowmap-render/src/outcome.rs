//! An outcome's page: the journey picture ([`journey_svg`]) — the metric week by week, the
//! baseline and target lines, the deadline, every experiment as a shaded span with its
//! verdict, every map version as a marker with its lead time — and the tables around it
//! ([`outcome_section`]), or all of it as one self-contained file ([`outcome_report`]).
//!
//! Every number comes from `flowmap-core` ([`OutcomeStatus`], [`WeekPoint`]); this module
//! only places it. Text from the outcome file is escaped.

use flowmap_core::experiment::Verdict;
use flowmap_core::format::duration;
use flowmap_core::outcome::{Outcome, OutcomeStatus, Status, WeekPoint};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::palette::{INK, MUTED, RED};
use crate::svg::FONT;
use crate::text::{escape, num};

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 380.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = 72.0;
const LINE: &str = "#2563eb";
const GREEN: &str = "#047857";
const GRID: &str = "#e2e8f0";

/// A saved version of a map, drawn as a marker on the journey.
#[derive(Clone, Debug, PartialEq)]
pub struct MapMarker {
    pub at: Timestamp,
    /// "checkout v2".
    pub label: String,
    /// The version's expected lead time, as its analysis gives it.
    pub lead_time_hours: f64,
}

/// Everything the outcome page shows.
#[derive(Clone, Copy, Debug)]
pub struct OutcomeView<'a> {
    pub outcome: &'a Outcome,
    pub status: &'a OutcomeStatus,
    pub weeks: &'a [WeekPoint],
    pub maps: &'a [MapMarker],
}

/// A value in the status's unit, for labels: "44 h" as "1d 20h", "3.5/week", "12%".
pub fn format_value(unit: &str, value: f64) -> String {
    match unit {
        "hours" => duration(value),
        "per_week" => format!("{}/week", num(value)),
        _ => format!("{}%", num(value * 100.0)),
    }
}

/// The colour of a verdict's span and badge.
fn verdict_colors(verdict: Verdict) -> (&'static str, &'static str) {
    match verdict {
        Verdict::Improved => ("#dcfce7", GREEN),
        Verdict::Worsened => ("#fee2e2", RED),
        Verdict::Inconclusive => ("#e2e8f0", "#475569"),
        Verdict::InsufficientData => ("#fef3c7", "#b45309"),
    }
}

/// The journey as a standalone SVG (a `viewBox`, `width="100%"`, no ids, no styles).
pub fn journey_svg(view: &OutcomeView<'_>) -> String {
    let status = view.status;
    let mut start = status.deadline.min(status.at);
    for w in view.weeks {
        start = start.min(w.since);
    }
    for e in &status.experiments {
        start = start.min(e.before.since);
    }
    for m in view.maps {
        start = start.min(m.at);
    }
    let end = status.deadline.max(status.at);
    let span = end.duration_since(start).as_secs_f64().max(1.0);
    let plot_width = WIDTH - LEFT - RIGHT;
    let x = |t: Timestamp| LEFT + t.duration_since(start).as_secs_f64() / span * plot_width;

    let mut top = status.target.value;
    for v in view.weeks.iter().filter_map(|w| w.value) {
        top = top.max(v);
    }
    if let Some(b) = status.baseline_value {
        top = top.max(b);
    }
    let tick = nice_step(top / 4.0);
    let ticks = (top / tick).ceil().max(1.0);
    let top = tick * ticks * 1.05;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let y = |v: f64| TOP + plot_height - v / top * plot_height;

    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"100%\" role=\"img\" font-family=\"{FONT}\" font-size=\"12\">\n<title>{} — {} week by week</title>\n",
        escape(&status.outcome),
        escape(&status.metric)
    );
    out.push_str(&format!(
        "<rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>\n"
    ));

    // Experiments first, so lines draw over their shading.
    for (i, e) in status.experiments.iter().enumerate() {
        let (fill, ink) = verdict_colors(e.verdict);
        let (x1, x2) = (
            x(e.after.since),
            x(e.after.until).max(x(e.after.since) + 2.0),
        );
        out.push_str(&format!(
            "<rect class=\"experiment\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" fill-opacity=\"0.8\"><title>{}</title></rect>\n",
            num(x1),
            num(TOP),
            num(x2 - x1),
            num(plot_height),
            escape(&e.sentence)
        ));
        let label_y = TOP - 8.0 - 14.0 * (i % 2) as f64;
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" fill=\"{ink}\" font-weight=\"600\">{} · {}</text>\n",
            num(x1 + 2.0),
            num(label_y),
            escape(&e.id),
            e.verdict.as_str()
        ));
    }

    // Value grid.
    for step in 0..=(ticks as u32) {
        let value = tick * f64::from(step);
        let gy = y(value);
        out.push_str(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{GRID}\"/>\n<text x=\"{}\" y=\"{}\" fill=\"{MUTED}\" text-anchor=\"end\">{}</text>\n",
            num(LEFT),
            num(gy),
            num(WIDTH - RIGHT),
            num(gy),
            num(LEFT - 6.0),
            num(gy + 4.0),
            escape(&format_value(status.unit, value))
        ));
    }

    // Month labels along the time axis.
    let axis_y = TOP + plot_height;
    out.push_str(&format!(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{MUTED}\"/>\n",
        num(LEFT),
        num(axis_y),
        num(WIDTH - RIGHT),
        num(axis_y)
    ));
    for (at, label) in months(start, end) {
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" fill=\"{MUTED}\">{label}</text>\n",
            num(x(at) + 2.0),
            num(axis_y + 14.0)
        ));
    }

    // Baseline and target.
    if let Some(baseline) = status.baseline_value {
        horizontal(
            &mut out,
            y(baseline),
            MUTED,
            "6 4",
            &format!("baseline {}", format_value(status.unit, baseline)),
        );
    }
    horizontal(
        &mut out,
        y(status.target.value),
        GREEN,
        "",
        &format!(
            "target {} {}",
            status.target.op.symbol(),
            format_value(status.unit, status.target.value)
        ),
    );

    // The metric, week by week, broken where a week has no data.
    let mut path = String::new();
    let mut pen_down = false;
    for w in view.weeks {
        let mid = Timestamp::from_second((w.since.as_second() + w.until.as_second()) / 2)
            .unwrap_or(w.since);
        match w.value {
            Some(v) => {
                path.push_str(&format!(
                    "{}{} {} ",
                    if pen_down { "L" } else { "M" },
                    num(x(mid)),
                    num(y(v))
                ));
                pen_down = true;
                out.push_str(&format!(
                    "<circle class=\"week\" cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"{LINE}\"><title>week of {}: {}</title></circle>\n",
                    num(x(mid)),
                    num(y(v)),
                    date(w.since),
                    escape(&format_value(status.unit, v))
                ));
            }
            None => pen_down = false,
        }
    }
    if !path.is_empty() {
        out.push_str(&format!(
            "<path d=\"{}\" fill=\"none\" stroke=\"{LINE}\" stroke-width=\"2\"/>\n",
            path.trim_end()
        ));
    }

    // Deadline and now.
    vertical(
        &mut out,
        x(status.deadline),
        RED,
        &format!("deadline {}", date(status.deadline)),
        TOP,
        plot_height,
    );
    vertical(&mut out, x(status.at), INK, "", TOP, plot_height);
    out.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" fill=\"{INK}\" text-anchor=\"end\" font-size=\"11\">now</text>\n",
        num(x(status.at) - 3.0),
        num(TOP + 26.0)
    ));

    // Map versions under the axis.
    for (i, m) in view.maps.iter().enumerate() {
        let mx = x(m.at);
        let my = axis_y + 30.0 + 16.0 * (i % 2) as f64;
        out.push_str(&format!(
            "<path class=\"map-version\" d=\"M{} {}l5 5l-5 5l-5 -5z\" fill=\"#7c3aed\"/>\n<text x=\"{}\" y=\"{}\" fill=\"#7c3aed\">{} · {}</text>\n",
            num(mx),
            num(my - 9.0),
            num(mx + 8.0),
            num(my),
            escape(&m.label),
            escape(&duration(m.lead_time_hours))
        ));
    }
    out.push_str("</svg>\n");
    out
}

/// A round step for value ticks: 1, 2, 2.5 or 5 times a power of ten, at least `rough`.
fn nice_step(rough: f64) -> f64 {
    if rough.is_nan() || rough <= 0.0 || rough.is_infinite() {
        return 1.0;
    }
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * power)
}

fn horizontal(out: &mut String, y: f64, color: &str, dash: &str, label: &str) {
    let dash = if dash.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{dash}\"")
    };
    out.push_str(&format!(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{color}\" stroke-width=\"1.5\"{dash}/>\n<text x=\"{}\" y=\"{}\" fill=\"{color}\" text-anchor=\"end\">{}</text>\n",
        num(LEFT),
        num(y),
        num(WIDTH - RIGHT),
        num(y),
        num(WIDTH - RIGHT - 4.0),
        num(y - 4.0),
        escape(label)
    ));
}

fn vertical(out: &mut String, x: f64, color: &str, label: &str, top: f64, height: f64) {
    out.push_str(&format!(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{color}\" stroke-dasharray=\"4 3\"/>\n",
        num(x),
        num(top),
        num(x),
        num(top + height),
    ));
    if !label.is_empty() {
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" fill=\"{color}\" text-anchor=\"end\" font-size=\"11\">{}</text>\n",
            num(x - 3.0),
            num(top + 12.0),
            escape(label)
        ));
    }
}

/// The first day of every month in [start, end], with a short label ("Jun", "Jan 2027").
fn months(start: Timestamp, end: Timestamp) -> Vec<(Timestamp, String)> {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let first = TimeZone::UTC.to_datetime(start).date();
    let mut month = Date::new(first.year(), first.month(), 1).unwrap_or(first);
    let mut labels = Vec::new();
    let mut guard = 0;
    while guard < 240 {
        guard += 1;
        let Ok(at) = TimeZone::UTC.to_timestamp(month.to_datetime(jiff::civil::Time::midnight()))
        else {
            break;
        };
        if at > end {
            break;
        }
        if at >= start {
            let name = NAMES[(month.month() - 1) as usize];
            let label = if month.month() == 1 || labels.is_empty() {
                format!("{name} {}", month.year())
            } else {
                name.to_string()
            };
            labels.push((at, label));
        }
        let Ok(next) = month.checked_add(jiff::Span::new().months(1)) else {
            break;
        };
        month = next;
    }
    labels
}

fn date(t: Timestamp) -> String {
    TimeZone::UTC.to_datetime(t).date().to_string()
}

fn status_words(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Met => ("met", GREEN),
        Status::OnTrack => ("on track", GREEN),
        Status::OffTrack => ("off track", "#b45309"),
        Status::Overdue => ("overdue", RED),
        Status::NoData => ("no data", MUTED),
    }
}

/// The outcome as an HTML fragment (a `<section>`): statement and status, the journey,
/// the experiments with their numbers, and the outcome-mapping record. The dashboard's
/// outcome page and [`outcome_report`] both show it.
pub fn outcome_section(view: &OutcomeView<'_>) -> String {
    let (outcome, status) = (view.outcome, view.status);
    let unit = status.unit;
    let value = |v: Option<f64>| v.map_or_else(|| "no data".to_string(), |v| format_value(unit, v));
    let (words, color) = status_words(status.status);
    let mut out = String::from("<section class=\"outcome\">\n");
    out.push_str(&format!("<h1>{}</h1>\n", escape(&outcome.outcome)));
    if let Some(mandate) = &outcome.mandate {
        out.push_str(&format!(
            "<p class=\"mandate\">Mandate: {}</p>\n",
            escape(mandate)
        ));
    }
    out.push_str(&format!(
        "<p class=\"status\"><span class=\"badge\" style=\"background:{color}\">{words}</span> {} of {} · {} · as of {}</p>\n",
        escape(&status.metric),
        escape(status.service.as_deref().unwrap_or("all services")),
        escape(&status.environment),
        date(status.at)
    ));
    out.push_str("<table class=\"numbers\">\n");
    let progress =
        |p: Option<f64>| p.map_or_else(|| "—".to_string(), |p| format!("{}%", num(p * 100.0)));
    for (label, text) in [
        ("Baseline", value(status.baseline_value)),
        ("Current", value(status.current_value)),
        (
            "Target",
            format!(
                "{} {}",
                status.target.op.symbol(),
                format_value(unit, status.target.value)
            ),
        ),
        ("Deadline", date(status.deadline)),
        ("Progress", progress(status.progress)),
        ("Expected by now", progress(status.expected_progress)),
    ] {
        out.push_str(&format!(
            "<tr><th>{label}</th><td>{}</td></tr>\n",
            escape(&text)
        ));
    }
    out.push_str("</table>\n<figure class=\"journey\">\n");
    out.push_str(&journey_svg(view));
    out.push_str("<figcaption>The metric week by week. Shaded: experiments (their after windows) with their verdicts; dashed grey: baseline; green: target; red: deadline; purple diamonds: map versions with their expected lead time.</figcaption>\n</figure>\n");

    out.push_str("<h2>Experiments</h2>\n");
    if status.experiments.is_empty() {
        out.push_str("<p>No experiments yet.</p>\n");
    } else {
        out.push_str("<table class=\"experiments\">\n<tr><th>Experiment</th><th>Before</th><th>After</th><th>Shift</th><th>95 % CI</th><th>p</th><th>Verdict</th></tr>\n");
        for e in &status.experiments {
            let (fill, ink) = verdict_colors(e.verdict);
            let unit = e.unit;
            let value =
                |v: Option<f64>| v.map_or_else(|| "no data".to_string(), |v| format_value(unit, v));
            let shift = e.shift.map_or_else(|| "—".to_string(), |s| signed(unit, s));
            let ci = match (e.ci_low, e.ci_high) {
                (Some(l), Some(h)) => format!("{} to {}", signed(unit, l), signed(unit, h)),
                _ => "—".to_string(),
            };
            let p = e.p_value.map_or_else(
                || "—".to_string(),
                |p| {
                    if p < 0.001 {
                        "< 0.001".to_string()
                    } else {
                        format!("{p:.3}")
                    }
                },
            );
            let side = |w: &flowmap_core::outcome::WindowValue| {
                format!(
                    "{} → {}<br>n = {} · {}",
                    date(w.since),
                    date(w.until),
                    w.n,
                    value(w.value)
                )
            };
            let mut about = format!("<b>{}</b>", escape(&e.id));
            if let Some(h) = &e.hypothesis {
                about.push_str(&format!("<br>{}", escape(h)));
            }
            if let Some(c) = &e.constraint {
                about.push_str(&format!("<br><small>constraint {}</small>", escape(c)));
            }
            if let Some(c) = &e.capability {
                about.push_str(&format!("<br><small>capability {}</small>", escape(c)));
            }
            if e.running {
                about.push_str("<br><small>running</small>");
            }
            out.push_str(&format!(
                "<tr><td>{about}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><span class=\"verdict\" style=\"background:{fill};color:{ink}\">{}</span><br><small>{}</small></td></tr>\n",
                side(&e.before),
                side(&e.after),
                escape(&shift),
                escape(&ci),
                escape(&p),
                e.verdict.as_str(),
                escape(&e.sentence)
            ));
        }
        out.push_str("</table>\n");
    }

    if !outcome.concerns.is_empty() {
        out.push_str("<h2>Concerns</h2>\n<ul>\n");
        let mut concerns: Vec<_> = outcome.concerns.iter().collect();
        concerns.sort_by_key(|c| std::cmp::Reverse(c.votes));
        for c in concerns {
            let category = c
                .category
                .as_deref()
                .map_or_else(String::new, |c| format!(" <small>({})</small>", escape(c)));
            out.push_str(&format!(
                "<li>{}{category} — {} vote{}</li>\n",
                escape(&c.text),
                c.votes,
                if c.votes == 1 { "" } else { "s" }
            ));
        }
        out.push_str("</ul>\n");
    }
    for (title, items) in [
        ("Benefits", &outcome.benefits),
        ("Obstacles", &outcome.obstacles),
        ("Next steps", &outcome.next_steps),
    ] {
        if !items.is_empty() {
            out.push_str(&format!("<h2>{title}</h2>\n<ul>\n"));
            for item in items {
                out.push_str(&format!("<li>{}</li>\n", escape(item)));
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str("</section>\n");
    out
}

/// A signed value in the unit: "−9.5 h" as "-9h 30m", "+2/week", "−5 points".
fn signed(unit: &str, value: f64) -> String {
    let sign = if value < 0.0 {
        "−"
    } else if value > 0.0 {
        "+"
    } else {
        ""
    };
    let magnitude = value.abs();
    match unit {
        "fraction" => format!("{sign}{} points", num(magnitude * 100.0)),
        _ => format!("{sign}{}", format_value(unit, magnitude)),
    }
}

/// The outcome page as one self-contained HTML file (inline CSS, no scripts, no links
/// outside the file), for a retro.
pub fn outcome_report(view: &OutcomeView<'_>) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"flowmap\">\n",
    );
    out.push_str(&format!(
        "<title>{} — outcome</title>\n<style>\n{}{OUTCOME_SECTION_CSS}</style>\n</head>\n<body>\n<main>\n",
        escape(&view.outcome.outcome),
        PAGE_CSS.replace("FONT_STACK", FONT),
    ));
    out.push_str(&outcome_section(view));
    out.push_str("<footer>Made with flowmap. Shift: the Hodges–Lehmann estimate (times, weekly deployments) or the difference of proportions (rates), after minus before, with its 95 % interval; a verdict is given only when the whole interval lies on one side of no change.</footer>\n</main>\n</body>\n</html>\n");
    out
}

/// The standalone report's page styles.
const PAGE_CSS: &str = "body{margin:0;font-family:FONT_STACK;color:#1f2937;background:#f8fafc}
main{max-width:1040px;margin:0 auto;padding:16px}
footer{color:#64748b;font-size:.8rem;margin-top:24px}
";

/// The styles of [`outcome_section`], all scoped to `.outcome`, for any page that shows it.
pub const OUTCOME_SECTION_CSS: &str = ".outcome h1{font-size:1.4rem;margin:.2em 0}
.outcome .mandate{color:#475569;margin:.2em 0}
.outcome .badge{color:#fff;border-radius:4px;padding:2px 8px;font-weight:600}
.outcome table{border-collapse:collapse;background:#fff;margin:8px 0}
.outcome th,.outcome td{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top}
.outcome table.experiments{width:100%;font-size:.9rem}
.outcome .verdict{border-radius:4px;padding:1px 6px;font-weight:600;white-space:nowrap}
.outcome figure{margin:12px 0;background:#fff;border:1px solid #e2e8f0;padding:8px;overflow-x:auto}
.outcome figure svg{min-width:720px}
.outcome figcaption{color:#64748b;font-size:.85rem}
.outcome small{color:#64748b}
@media (max-width:600px){.outcome table.experiments{display:block;overflow-x:auto}}
";

#[cfg(test)]
mod tests {
    use super::*;
    use flowmap_core::dora::parse_window_bound;

    #[test]
    fn month_labels_name_the_year_at_the_start_and_in_january() {
        let t = |s: &str| parse_window_bound(s).unwrap();
        let labels: Vec<String> = months(t("2026-11-15"), t("2027-02-10"))
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(labels, ["Dec 2026", "Jan 2027", "Feb"]);
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_step(0.107), 0.2);
        assert_eq!(nice_step(11.0), 20.0);
        assert_eq!(nice_step(2.3), 2.5);
        assert_eq!(nice_step(0.0), 1.0);
    }

    #[test]
    fn values_in_each_unit() {
        assert_eq!(format_value("hours", 28.0), "1d 4h");
        assert_eq!(format_value("per_week", 3.5), "3.5/week");
        assert_eq!(format_value("fraction", 0.125), "12.5%");
        assert_eq!(signed("fraction", -0.25), "−25 points");
        assert_eq!(signed("hours", 2.0), "+2h");
    }
}
