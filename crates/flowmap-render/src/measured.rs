//! A map held against the data, as HTML: the map as drawn beside the map as measured, and
//! a table of every step's estimate, measured median and 85th percentile, sample, work in
//! progress and flag. Shared by the `flowmap map measure -o OUT.html` report and the
//! dashboard's map page, so both show the same table.

use flowmap_core::format::{duration, maybe_duration};
use flowmap_core::map::Map;
use flowmap_core::measure::{MeasureReport, SegmentStats, StepMeasurement};

use crate::html::CSS;
use crate::svg::FONT;
use crate::text::escape;
use crate::{map_svg, measured_map_svg};

/// A duration in at most two units, or `—` for no value.
fn hours(value: Option<f64>) -> String {
    maybe_duration(value)
}

fn part_row(out: &mut String, part: &str, s: &SegmentStats) {
    let oldest: Vec<String> = s
        .wip_oldest
        .iter()
        .map(|w| format!("{} ({})", w.id, duration(w.age_hours)))
        .collect();
    out.push_str(&format!(
        "<tr class=\"part\"><td></td><td>{part} <code>{}..{}</code></td><td></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td title=\"{}\">{}</td><td></td></tr>\n",
        escape(&s.from),
        escape(&s.to),
        escape(&hours(s.p50_hours)),
        escape(&hours(s.p85_hours)),
        s.n,
        s.missing,
        s.anomalies,
        escape(&oldest.join(", ")),
        s.wip,
    ));
}

fn step_rows(out: &mut String, m: &StepMeasurement, depth: usize) {
    let ratio = m.ratio.map_or("—".to_owned(), |r| format!("×{r:.2}"));
    out.push_str(&format!(
        "<tr class=\"step\" data-step=\"{}\"><td>{}{}</td><td></td><td>{}</td><td>{}</td><td></td><td></td><td></td><td></td><td></td><td class=\"flag\" data-flag=\"{}\">{} {}</td></tr>\n",
        escape(&m.id),
        "· ".repeat(depth),
        escape(&m.id),
        escape(&hours(m.estimate_hours)),
        escape(&hours(m.measured_hours)),
        m.flag.as_str(),
        escape(m.flag.as_str()),
        escape(&ratio),
    ));
    if let Some(s) = &m.wait {
        part_row(out, "wait", s);
    }
    if let Some(s) = &m.process {
        part_row(out, "process", s);
    }
    for sub in &m.steps {
        step_rows(out, sub, depth + 1);
    }
}

/// The table of a measured map: one row per step (estimate, measured, flag and ratio) and
/// one per bound part (segment, p50, p85, n, missing, anomalies, work in progress with the
/// oldest items as a tooltip), the lead time segment, and the notes. The table sits in a
/// `table-wrap` box that scrolls sideways on its own, so a phone's page never does.
pub fn measured_table(report: &MeasureReport) -> String {
    let mut out = String::new();
    out.push_str(
        "<div class=\"table-wrap\"><table class=\"measured\">\n<thead><tr><th>step</th><th>part</th><th>estimate</th>\
         <th>measured p50</th><th>p85</th><th>n</th><th>missing</th><th>anomalies</th>\
         <th>WIP</th><th>flag</th></tr></thead>\n<tbody>\n",
    );
    for m in &report.steps {
        step_rows(&mut out, m, 0);
    }
    out.push_str("<tr class=\"step\"><td>lead time</td><td></td><td>");
    out.push_str(&escape(&hours(Some(report.estimate.lead_time_hours))));
    out.push_str("</td><td>");
    out.push_str(&escape(&hours(Some(report.measured.lead_time_hours))));
    out.push_str("</td><td></td><td></td><td></td><td></td><td></td><td>sum of step medians on the critical path</td></tr>\n");
    part_row(&mut out, "end to end", &report.lead_time);
    out.push_str("</tbody>\n</table></div>\n");
    if !report.notes.is_empty() {
        out.push_str("<ul class=\"notes\">\n");
        for note in &report.notes {
            out.push_str(&format!("<li>{}</li>\n", escape(note)));
        }
        out.push_str("</ul>\n");
    }
    out
}

/// A self-contained page: the map as drawn above the map as measured, each the full width
/// so that its text stays legible, and the table.
pub fn measured_html_report(map: &Map, report: &MeasureReport) -> String {
    let mut out = String::with_capacity(256 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!(
        "<title>{} — measured</title>\n<style>\n{}\n.side {{ display: grid; grid-template-columns: minmax(0, 1fr); gap: 1rem; }}\n.side figure {{ min-width: 0; margin: 0; }}\n</style>\n</head>\n<body>\n<main>\n",
        escape(&map.name),
        CSS.replace("FONT_STACK", FONT)
    ));
    out.push_str(&format!(
        "<header>\n<h1>{}</h1>\n<p class=\"sub\">measured against {} in {}, {} to {}</p>\n</header>\n",
        escape(&map.name),
        escape(&report.service),
        escape(&report.environment),
        report.since,
        report.until
    ));
    out.push_str("<div class=\"side\">\n<figure class=\"map\"><figcaption>As drawn</figcaption>\n");
    out.push_str(&map_svg(map, &report.estimate));
    out.push_str("</figure>\n<figure class=\"map\"><figcaption>As measured</figcaption>\n");
    out.push_str(&measured_map_svg(map, report));
    out.push_str("</figure>\n</div>\n<h2>Estimate against data</h2>\n");
    out.push_str(&measured_table(report));
    out.push_str("<footer>Made with flowmap. Durations: d = 24 h, w = 7 d.</footer>\n</main>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::hours;

    #[test]
    fn durations_in_the_table_use_two_units_at_most() {
        // 1 week 6 days and 5 minutes reads as the two largest units.
        assert_eq!(hours(Some(316.0 + 5.0 / 60.0)), "1w 6d");
        assert_eq!(hours(Some(12.9)), "12h 54m");
        assert_eq!(hours(None), "—");
        assert_eq!(hours(Some(f64::NAN)), "—");
    }
}
