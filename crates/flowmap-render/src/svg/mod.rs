//! The value stream map as an SVG picture.
//!
//! Layout is by DAG layer: a step's column is the longest number of flow edges from a
//! start, so every arrow points right; steps that share a column (parallel branches) are
//! stacked in rows, the critical-path step on top so the main line runs straight. Maps
//! wider than [`MAX_COLUMNS_PER_BAND`](layout::MAX_COLUMNS_PER_BAND) columns wrap into bands below each other, joined
//! by numbered connectors, so a 15-step map stays readable on a 1280 px screen.
//!
//! The SVG uses presentation attributes only, no `<style>` and no `id`s: it is embedded
//! inline in HTML pages, where a stylesheet would leak into the page and ids of two maps
//! on one page would collide.

mod ladder;
mod layout;
mod measured;
mod rework;
mod shapes;
mod steps;

use std::collections::BTreeMap;

use flowmap_core::map::{Analysis, Estimate, Map, Period, StepAnalysis, Stream, format_hours};
use flowmap_core::measure::{MeasureReport, StepMeasurement};

use crate::palette::{self, INK, MUTED, RED, RED_DARK, REWORK};
use crate::text::{chars_fitting, escape, num, percent, text_width, truncate, wrap};

use layout::*;
pub use measured::measured_map_svg;
use rework::*;
use shapes::*;
use steps::*;

pub(crate) const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

/// Draws a value stream map with its analysis as a standalone SVG document.
///
/// The picture reads left to right in flow order: one box per step, coloured by team
/// (with a legend), showing the step's name, team, process time (P/T), %C&A, people and,
/// when rework makes work pass more than once, its expected passes. Left of each box a
/// yellow queue triangle shows the wait before the step. Solid arrows are the flow
/// (`after` edges; darker along the critical path), dashed loops are rework, labelled
/// with the share of work sent back (1 − %C&A). The bottleneck — the step with the longest
/// wait — has a red border, a red queue triangle and a "BOTTLENECK" badge.
///
/// Under the boxes runs the timeline ladder along the critical path: waits on the upper
/// rung, process times on the lower, totals at the end. A summary box at the bottom
/// repeats the analysis: lead time, process time, activity ratio, rolled %C&A,
/// handoffs, expected lead time with rework, and the simulated p50/p85/p95 when the map
/// has ranges.
///
/// The SVG has a `viewBox` and `width="100%"`, so it scales to its container; long names
/// wrap or are cut with `…`, and every box carries a `<title>` tooltip with the full
/// text. Every string from the map is escaped. The output is deterministic: the same map
/// and analysis give the same bytes.
///
/// ```
/// use flowmap_core::map::{analyze, parse_map, AnalysisOptions, Format};
///
/// let text = "name: Demo\nsteps:\n  - id: code\n    process: 4h\n  - id: review\n    wait: 1d\n    process: 30m\n";
/// let map = parse_map(text, Format::Yaml).unwrap().map;
/// let svg = flowmap_render::map_svg(&map, &analyze(&map, &AnalysisOptions::default()));
/// assert!(svg.starts_with("<svg"));
/// assert!(svg.contains("BOTTLENECK"));
/// ```
pub fn map_svg(map: &Map, analysis: &Analysis) -> String {
    Scene::new(map, analysis).draw()
}

struct Scene<'a> {
    map: &'a Map,
    analysis: &'a Analysis,
    preds: Vec<Vec<usize>>,
    placed: Vec<Placed>,
    critical: Vec<usize>,
    bottleneck: Option<usize>,
    per_band: usize,
    bands: Vec<Band>,
    loops: Vec<Loop>,
    width: f64,
    summary_top: f64,
    cards: Vec<(f64, f64, Card)>,
    height: f64,
    /// The data the map is held against, when drawing a measured map.
    measured: Option<&'a MeasureReport>,
    /// The measured map's bottleneck.
    measured_bottleneck: Option<usize>,
}

impl<'a> Scene<'a> {
    fn step_analysis(&self, i: usize) -> Option<&'a StepAnalysis> {
        let id = &self.map.steps[i].id;
        self.analysis.steps.iter().find(|s| &s.id == id)
    }

    fn draw(&self) -> String {
        let mut out = String::with_capacity(64 * 1024);
        out.push_str(&format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" \
             role=\"img\" font-family=\"{FONT}\" class=\"flowmap-map\">\n",
            w = num(self.width),
            h = num(self.height),
        ));
        out.push_str(&format!(
            "<title>{}</title>\n",
            escape(&format!("Value stream map: {}", self.map.name))
        ));
        out.push_str(&format!(
            "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n",
            num(self.width),
            num(self.height)
        ));
        self.draw_title(&mut out);
        self.draw_legend(&mut out);
        self.draw_edges(&mut out);
        for i in 0..self.map.steps.len() {
            self.draw_step(&mut out, i);
        }
        for i in 0..self.map.steps.len() {
            self.draw_wait(&mut out, i);
        }
        for l in &self.loops {
            self.draw_loop(&mut out, l);
        }
        for b in 0..self.bands.len() {
            self.draw_ladder(&mut out, b);
        }
        self.draw_summary(&mut out);
        out.push_str("</svg>\n");
        out
    }

    fn draw_title(&self, out: &mut String) {
        let max = chars_fitting(self.width - 2.0 * MARGIN, 24.0, true);
        let title = truncate(&self.map.name, max);
        out.push_str(&format!(
            "<text x=\"{MARGIN}\" y=\"44\" font-size=\"24\" font-weight=\"700\" fill=\"{INK}\">{}</text>\n",
            escape(&title)
        ));
        let stream = match self.map.stream {
            Stream::Delivery => "Delivery stream",
            Stream::Recovery => "Recovery stream",
        };
        let state = match self.map.state {
            flowmap_core::map::State::Current => "current state",
            flowmap_core::map::State::Future => "future state",
        };
        let mut subtitle = format!("{stream} · {state} · unit: {}", self.map.unit);
        if let Some(arrivals) = self.map.arrivals {
            let period = match arrivals.period {
                Period::Day => "day",
                Period::Week => "week",
                Period::Month => "month",
            };
            subtitle.push_str(&format!(" · arrivals: {}/{period}", num(arrivals.count)));
        }
        subtitle.push_str(&format!(" · {} steps", self.map.steps.len()));
        let max = chars_fitting(self.width - 2.0 * MARGIN, 14.0, false);
        out.push_str(&format!(
            "<text x=\"{MARGIN}\" y=\"68\" font-size=\"14\" fill=\"{MUTED}\">{}</text>\n",
            escape(&truncate(&subtitle, max))
        ));
    }

    fn draw_legend(&self, out: &mut String) {
        out.push_str("<g class=\"legend\">\n");
        for item in legend_items(self.map, self.width) {
            let (x, y) = (item.x, item.y);
            let cy = y + 8.0;
            match item.symbol {
                Symbol::Team(color) => out.push_str(&format!(
                    "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"14\" rx=\"3\" fill=\"{color}\"/>\n",
                    num(x),
                    num(y + 1.0)
                )),
                Symbol::Wait => out.push_str(&triangle(x + 7.0, cy, 8.0, false)),
                Symbol::Rework => out.push_str(&format!(
                    "<path d=\"M{} {cy} H{}\" stroke=\"{REWORK}\" stroke-width=\"1.8\" stroke-dasharray=\"5 4\" fill=\"none\"/>\n",
                    num(x),
                    num(x + 16.0),
                    cy = num(cy)
                )),
                Symbol::Bottleneck => out.push_str(&format!(
                    "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"14\" rx=\"3\" fill=\"#ffffff\" stroke=\"{RED}\" stroke-width=\"2.5\"/>\n",
                    num(x),
                    num(y + 1.0)
                )),
                Symbol::Critical => out.push_str(&format!(
                    "<path d=\"M{} {cy} H{}\" stroke=\"{INK}\" stroke-width=\"2.4\" fill=\"none\"/>\n",
                    num(x),
                    num(x + 16.0),
                    cy = num(cy)
                )),
            }
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"13\" fill=\"{INK}\">{}{}</text>\n",
                num(x + 22.0),
                num(y + 12.5),
                title_tag(item.full.as_deref()),
                escape(&item.text)
            ));
        }
        out.push_str("</g>\n");
    }

    fn draw_summary(&self, out: &mut String) {
        let top = self.summary_top;
        let bottom = self.height - MARGIN;
        out.push_str("<g class=\"summary\">\n");
        out.push_str(&format!(
            "<rect x=\"{MARGIN}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\" fill=\"#f8fafc\" stroke=\"#e2e8f0\"/>\n",
            num(top),
            num(self.width - 2.0 * MARGIN),
            num(bottom - top)
        ));
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"15\" font-weight=\"700\" fill=\"{INK}\">Summary</text>\n",
            num(MARGIN + 16.0),
            num(top + 26.0)
        ));
        for (x, y, card) in &self.cards {
            out.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{CARD_H}\" rx=\"6\" fill=\"#ffffff\" stroke=\"#e2e8f0\"/>\n",
                num(*x),
                num(*y),
                num(card.width)
            ));
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"10.5\" letter-spacing=\"0.6\" fill=\"{MUTED}\">{}</text>\n",
                num(x + 12.0),
                num(y + 18.0),
                escape(&card.label.to_uppercase())
            ));
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"18\" font-weight=\"700\" fill=\"{INK}\">{}</text>\n",
                num(x + 12.0),
                num(y + 40.0),
                escape(&card.value)
            ));
            if let Some(note) = &card.note {
                out.push_str(&format!(
                    "<text x=\"{}\" y=\"{}\" font-size=\"10.5\" fill=\"{MUTED}\">{}</text>\n",
                    num(x + 12.0),
                    num(y + 57.0),
                    escape(note)
                ));
            }
        }
        out.push_str("</g>\n");
    }
}

enum Symbol {
    Team(&'static str),
    Wait,
    Rework,
    Bottleneck,
    Critical,
}

struct LegendItem {
    x: f64,
    y: f64,
    symbol: Symbol,
    text: String,
    /// The full text when `text` was cut.
    full: Option<String>,
}

const LEGEND_ROW_H: f64 = 22.0;

/// The legend: one swatch per team (and "no team" when some step has none), then the
/// symbols, flowing into as many rows as the width needs.
fn legend_items(map: &Map, width: f64) -> Vec<LegendItem> {
    let mut entries: Vec<(Symbol, String)> = Vec::new();
    if map.steps.iter().any(|s| s.team.is_some()) {
        // Only teams that own a step: a drill-down inherits its parent's whole team list.
        for team in &map.teams {
            if map
                .steps
                .iter()
                .any(|s| s.team.as_deref() == Some(team.id.as_str()))
            {
                entries.push((
                    Symbol::Team(palette::team(Some(&team.id)).0),
                    team.name.clone(),
                ));
            }
        }
        if map.steps.iter().any(|s| s.team.is_none()) {
            entries.push((Symbol::Team(palette::team(None).0), "no team".to_string()));
        }
    }
    entries.push((Symbol::Wait, "wait (queue)".into()));
    entries.push((Symbol::Rework, "rework".into()));
    entries.push((Symbol::Critical, "critical path".into()));
    entries.push((Symbol::Bottleneck, "bottleneck".into()));
    let right = width - MARGIN;
    let (mut x, mut y) = (MARGIN, 90.0);
    let mut items = Vec::new();
    // Whole names: a name is only cut when it is wider than the picture itself.
    let longest = chars_fitting(right - MARGIN - 44.0, 13.0, false);
    for (symbol, text) in entries {
        let shown = truncate(&text, longest);
        let full = (shown != text).then_some(text);
        let w = 22.0 + text_width(&shown, 13.0, false) + 22.0;
        if x > MARGIN && x + w > right {
            x = MARGIN;
            y += LEGEND_ROW_H;
        }
        items.push(LegendItem {
            x,
            y,
            symbol,
            text: shown,
            full,
        });
        x += w;
    }
    items
}

fn legend_height(map: &Map, width: f64) -> f64 {
    let items = legend_items(map, width);
    items
        .last()
        .map_or(0.0, |last| last.y - 90.0 + LEGEND_ROW_H)
}

/// A white outline behind text, so lines it crosses don't make it hard to read.
pub(crate) const HALO: &str =
    " stroke=\"#ffffff\" stroke-width=\"4\" stroke-linejoin=\"round\" paint-order=\"stroke\"";
