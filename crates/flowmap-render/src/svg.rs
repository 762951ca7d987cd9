//! The value stream map as an SVG picture.
//!
//! Layout is by DAG layer: a step's column is the longest number of flow edges from a
//! start, so every arrow points right; steps that share a column (parallel branches) are
//! stacked in rows, the critical-path step on top so the main line runs straight. Maps
//! wider than [`MAX_COLUMNS_PER_BAND`] columns wrap into bands below each other, joined
//! by numbered connectors, so a 15-step map stays readable on a 1280 px screen.
//!
//! The SVG uses presentation attributes only, no `<style>` and no `id`s: it is embedded
//! inline in HTML pages, where a stylesheet would leak into the page and ids of two maps
//! on one page would collide.

use std::collections::BTreeMap;

use flowmap_core::map::{Analysis, Estimate, Map, Period, StepAnalysis, Stream, format_hours};
use flowmap_core::measure::{Flag, MeasureReport, StepMeasurement};

use crate::palette::{self, INK, MUTED, RED, RED_DARK, REWORK};
use crate::text::{chars_fitting, escape, num, percent, text_width, truncate, wrap};

const MARGIN: f64 = 32.0;
const BOX_W: f64 = 144.0;
const BOX_H: f64 = 150.0;
const HEADER_H: f64 = 44.0;
const FOOTER_H: f64 = 20.0;
/// The space left of every box: the queue (wait) marker sits here, on the incoming arrow.
const GAP: f64 = 72.0;
const COL_W: f64 = BOX_W + GAP;
const ROW_GAP: f64 = 44.0;
/// Seven columns of [`COL_W`] keep box text at about 11 px on a 1280 px screen.
const MAX_COLUMNS_PER_BAND: usize = 7;
/// Room right of the last column for the ladder's totals and outgoing connectors.
const END_W: f64 = 156.0;
const MIN_WIDTH: f64 = 1000.0;
/// Vertical distance between two nested rework loops.
const LEVEL_H: f64 = 22.0;
const LADDER_H: f64 = 92.0;
const BAND_GAP: f64 = 18.0;
/// Where an arrow that changes rows turns, measured from the start of the gap.
const ELBOW: f64 = 14.0;
const CARD_H: f64 = 66.0;
const CARD_GAP: f64 = 12.0;

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

/// The map as drawn, held against the data: every bound box shows both numbers ("est 1d ·
/// data 3.4d") with its sample size and flag, every bound queue its work in progress, and
/// the bottleneck of the measured map is marked beside the drawn one. Numbers come from
/// the [`MeasureReport`]; nothing is computed here.
pub fn measured_map_svg(map: &Map, report: &MeasureReport) -> String {
    let mut scene = Scene::new(map, &report.estimate);
    scene.measured = Some(report);
    scene.measured_bottleneck = map.step_index(&report.measured.bottleneck);
    scene.draw()
}

/// The colour a flag is written in.
fn flag_color(flag: Flag) -> &'static str {
    match flag {
        Flag::UnderEstimated => RED_DARK,
        Flag::OverEstimated => "#b45309",
        Flag::Ok => "#15803d",
        Flag::TooLittleData | Flag::NotMeasured => MUTED,
    }
}

/// The smallest sample among a step's bound parts.
fn sample_size(m: &StepMeasurement) -> Option<usize> {
    [&m.wait, &m.process]
        .into_iter()
        .flatten()
        .map(|s| s.n)
        .min()
}

/// Where one step is drawn.
#[derive(Clone, Copy, Debug)]
struct Placed {
    column: usize,
    row: usize,
    band: usize,
    x: f64,
    y: f64,
}

impl Placed {
    fn right(&self) -> f64 {
        self.x + BOX_W
    }

    fn mid_y(&self) -> f64 {
        self.y + BOX_H / 2.0
    }

    /// Where the gap left of the box starts.
    fn gap_x(&self) -> f64 {
        self.x - GAP
    }
}

/// The vertical extent of one band of columns.
#[derive(Clone, Copy, Debug, Default)]
struct Band {
    rows: usize,
    rows_top: f64,
    rows_bottom: f64,
    ladder_top: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    /// Above the boxes: both ends are in the top row.
    Above,
    /// Below the boxes: an end is in a lower row, so a loop above would cross boxes.
    Below,
    /// The target is in another band: the loop leaves the band at its left (or right)
    /// edge, labelled with the target's name; above the boxes from the top row, below
    /// them from lower rows.
    Away { left: bool, above: bool },
    /// A step in a lower row reworking itself: a small loop just under its box, in the
    /// space between rows, so it needs no lane.
    Under,
}

impl Lane {
    fn above(self) -> bool {
        match self {
            Lane::Above => true,
            Lane::Below | Lane::Under => false,
            Lane::Away { above, .. } => above,
        }
    }
}

/// A rework loop from a step back to its `rework_to` step.
#[derive(Clone, Debug)]
struct Loop {
    from: usize,
    to: usize,
    lane: Lane,
    /// Column span, for stacking: loops whose spans overlap get different levels.
    lo: usize,
    hi: usize,
    level: usize,
}

struct LoopShape {
    d: String,
    head: String,
    label: String,
    label_x: f64,
    label_y: f64,
    anchor: &'static str,
}

struct Card {
    label: String,
    value: String,
    note: Option<String>,
    width: f64,
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
    fn new(map: &'a Map, analysis: &'a Analysis) -> Self {
        let n = map.steps.len();
        let preds: Vec<Vec<usize>> = map
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                step.after
                    .iter()
                    .filter_map(|id| map.step_index(id))
                    .filter(|&p| p < i)
                    .collect()
            })
            .collect();
        let critical: Vec<usize> = analysis
            .critical_path
            .iter()
            .filter_map(|id| map.step_index(id))
            .collect();
        let bottleneck = map.step_index(&analysis.bottleneck);

        let mut column = vec![0usize; n];
        for i in 0..n {
            column[i] = preds[i].iter().map(|&p| column[p] + 1).max().unwrap_or(0);
        }
        let columns = column.iter().max().map_or(1, |c| c + 1);
        let mut by_column: Vec<Vec<usize>> = vec![Vec::new(); columns];
        for (i, &c) in column.iter().enumerate() {
            by_column[c].push(i);
        }
        let mut row = vec![0usize; n];
        for steps in &mut by_column {
            // Stable: the critical-path step first, the rest in list order.
            steps.sort_by_key(|i| !critical.contains(i));
            for (r, &i) in steps.iter().enumerate() {
                row[i] = r;
            }
        }
        let band_count = columns.div_ceil(MAX_COLUMNS_PER_BAND);
        let per_band = columns.div_ceil(band_count);
        let band_of = |c: usize| c / per_band;

        let mut loops = rework_loops(map, &column, &row, band_of, per_band, columns);
        assign_levels(&mut loops, &column, band_of);

        let width = (2.0 * MARGIN + per_band as f64 * COL_W + END_W).max(MIN_WIDTH);
        let legend_top = 90.0;
        let mut y = legend_top + legend_height(map, width) + 12.0;
        let mut bands = vec![Band::default(); band_count];
        for (b, band) in bands.iter_mut().enumerate() {
            let levels = |lane_above: bool| {
                loops
                    .iter()
                    .filter(|l| {
                        band_of(column[l.from]) == b
                            && l.lane != Lane::Under
                            && l.lane.above() == lane_above
                    })
                    .map(|l| l.level + 1)
                    .max()
                    .unwrap_or(0)
            };
            let above = levels(true);
            let below = levels(false);
            band.rows = by_column
                .iter()
                .enumerate()
                .filter(|(c, _)| band_of(*c) == b)
                .map(|(_, steps)| steps.len())
                .max()
                .unwrap_or(1)
                .max(1);
            band.rows_top = y + if above > 0 {
                32.0 + (above - 1) as f64 * LEVEL_H + 12.0
            } else {
                12.0
            };
            band.rows_bottom =
                band.rows_top + band.rows as f64 * BOX_H + (band.rows - 1) as f64 * ROW_GAP;
            band.ladder_top = band.rows_bottom
                + if below > 0 {
                    32.0 + (below - 1) as f64 * LEVEL_H + 14.0
                } else {
                    22.0
                };
            y = band.ladder_top + LADDER_H + BAND_GAP;
        }
        let placed = (0..n)
            .map(|i| {
                let band = band_of(column[i]);
                let x = MARGIN + ((column[i] % per_band) + 1) as f64 * COL_W - BOX_W;
                let y = bands[band].rows_top + row[i] as f64 * (BOX_H + ROW_GAP);
                Placed {
                    column: column[i],
                    row: row[i],
                    band,
                    x,
                    y,
                }
            })
            .collect();

        let mut scene = Scene {
            map,
            analysis,
            preds,
            placed,
            critical,
            bottleneck,
            per_band,
            bands,
            loops,
            width,
            summary_top: y,
            cards: Vec::new(),
            height: 0.0,
            measured: None,
            measured_bottleneck: None,
        };
        scene.layout_cards();
        scene
    }

    /// The measurement of step `i`, when drawing a measured map.
    fn step_measurement(&self, i: usize) -> Option<&'a StepMeasurement> {
        let id = &self.map.steps[i].id;
        self.measured?.steps.iter().find(|m| &m.id == id)
    }

    /// Two lines inside a bound box: both numbers, then the sample and the flag.
    fn draw_measurement(&self, out: &mut String, i: usize, p: Placed) {
        let Some(m) = self.step_measurement(i) else {
            return;
        };
        if m.estimate_hours.is_none() {
            return;
        }
        let data = match m.measured_hours {
            Some(h) => rough_hours(h),
            None => "none".to_owned(),
        };
        let first = format!(
            "est {} · data {data}",
            rough_hours(m.estimate_hours.unwrap_or(0.0))
        );
        let n = sample_size(m).unwrap_or(0);
        let second = format!("n={n} · {}", m.flag.as_str());
        let max = chars_fitting(BOX_W - 10.0, 11.5, false);
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"11.5\" font-weight=\"700\" fill=\"{INK}\" text-anchor=\"middle\" class=\"measured\">{}</text>\n",
            num(p.x + BOX_W / 2.0),
            num(p.y + 109.0),
            escape(&truncate(&first, max))
        ));
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" font-weight=\"600\" fill=\"{}\" text-anchor=\"middle\" class=\"flag\">{}</text>\n",
            num(p.x + BOX_W / 2.0),
            num(p.y + 123.0),
            flag_color(m.flag),
            escape(&truncate(&second, max))
        ));
    }

    fn step_analysis(&self, i: usize) -> Option<&'a StepAnalysis> {
        let id = &self.map.steps[i].id;
        self.analysis.steps.iter().find(|s| &s.id == id)
    }

    fn layout_cards(&mut self) {
        let a = self.analysis;
        let mut cards = vec![
            card(
                "Lead time",
                rough_hours(a.lead_time_hours),
                Some("critical path"),
            ),
            card("Process time", rough_hours(a.process_time_hours), None),
            card("Wait time", rough_hours(a.wait_time_hours), None),
            card(
                "Activity ratio",
                percent(a.activity_ratio),
                Some("process ÷ lead time"),
            ),
            card(
                "Rolled %C&A",
                percent(a.rolled_ca),
                Some("right first time"),
            ),
            card("Handoffs", a.handoffs.to_string(), Some("between teams")),
            card(
                "Expected lead time",
                rough_hours(a.expected_lead_time_hours),
                Some("with rework"),
            ),
        ];
        if let Some(i) = self.bottleneck {
            let step = &self.map.steps[i];
            cards.push(card(
                "Bottleneck",
                truncate(&step.name, 22),
                Some(&format!("waits {}", step.wait)),
            ));
        }
        if let Some(sim) = &a.simulation {
            cards.push(card(
                "Simulated lead time",
                format!(
                    "p50 {} · p85 {} · p95 {}",
                    rough_hours(sim.p50_hours),
                    rough_hours(sim.p85_hours),
                    rough_hours(sim.p95_hours)
                ),
                Some(&format!(
                    "{} runs, seed {}",
                    crate::html::thousands(u64::from(sim.runs)),
                    sim.seed
                )),
            ));
        }
        let left = MARGIN + 16.0;
        let right = self.width - MARGIN - 16.0;
        let mut x = left;
        let mut y = self.summary_top + 40.0;
        for card in cards {
            if x > left && x + card.width > right {
                x = left;
                y += CARD_H + CARD_GAP;
            }
            let at = (x, y);
            x += card.width + CARD_GAP;
            self.cards.push((at.0, at.1, card));
        }
        self.height = y + CARD_H + 16.0 + MARGIN;
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

    fn draw_edges(&self, out: &mut String) {
        let mut connectors: BTreeMap<usize, usize> = BTreeMap::new();
        let mut incoming_connectors: BTreeMap<usize, usize> = BTreeMap::new();
        for (s, preds) in self.preds.iter().enumerate() {
            let to = self.placed[s];
            if preds.is_empty() {
                // A start step still gets a short arrow for its queue triangle to sit on.
                out.push_str(&arrow_line(to.gap_x() + 6.0, to.mid_y(), to.x, MUTED, 1.6));
            }
            for &p in preds {
                let from = self.placed[p];
                let critical = self.is_critical_edge(p, s);
                let (color, width) = if critical { (INK, 2.4) } else { (MUTED, 1.6) };
                if from.band != to.band {
                    let next = connectors.len() + 1;
                    let first = !connectors.contains_key(&p);
                    let label = *connectors.entry(p).or_insert(next);
                    let stacked = incoming_connectors.entry(s).or_insert(0);
                    let cy = to.mid_y() + *stacked as f64 * 24.0;
                    *stacked += 1;
                    if first {
                        self.draw_connector_out(out, &from, label, color, width);
                    }
                    let cx = to.gap_x() + ELBOW;
                    out.push_str(&connector_circle(cx, cy, label));
                    let path = format!(
                        "M{} {} H{} V{} H{}",
                        num(cx + 10.0),
                        num(cy),
                        num(to.gap_x() + ELBOW + 16.0),
                        num(to.mid_y()),
                        num(to.x - 7.0)
                    );
                    out.push_str(&path_el(&path, color, width, false));
                    out.push_str(&arrowhead_right(to.x, to.mid_y(), color));
                    continue;
                }
                let (x1, y1) = (from.right(), from.mid_y());
                let (x2, y2) = (to.x, to.mid_y());
                let elbow = to.gap_x() + ELBOW;
                let d = if to.column == from.column + 1 || self.free_row(from.row, &from, &to) {
                    if (y1 - y2).abs() < 0.5 {
                        format!("M{} {} H{}", num(x1), num(y1), num(x2 - 7.0))
                    } else {
                        format!(
                            "M{} {} H{} V{} H{}",
                            num(x1),
                            num(y1),
                            num(elbow),
                            num(y2),
                            num(x2 - 7.0)
                        )
                    }
                } else {
                    let channel = self.channel_y(&from, &to);
                    format!(
                        "M{} {} H{} V{} H{} V{} H{}",
                        num(x1),
                        num(y1),
                        num(x1 + ELBOW),
                        num(channel),
                        num(elbow),
                        num(y2),
                        num(x2 - 7.0)
                    )
                };
                out.push_str(&path_el(&d, color, width, false));
                out.push_str(&arrowhead_right(x2, y2, color));
            }
        }
    }

    /// An arrow out of a box to a numbered circle, the place the flow continues in the
    /// next band. Drawn once per step, however many edges leave it.
    fn draw_connector_out(
        &self,
        out: &mut String,
        from: &Placed,
        label: usize,
        color: &str,
        width: f64,
    ) {
        let cx = from.right() + 26.0;
        let y = from.mid_y();
        out.push_str(&path_el(
            &format!("M{} {} H{}", num(from.right()), num(y), num(cx - 10.0)),
            color,
            width,
            false,
        ));
        out.push_str(&connector_circle(cx, y, label));
    }

    fn is_critical_edge(&self, from: usize, to: usize) -> bool {
        self.critical.windows(2).any(|w| w[0] == from && w[1] == to)
    }

    /// Whether another box is stacked under this step's box in its column.
    fn has_box_below(&self, i: usize) -> bool {
        let p = self.placed[i];
        self.placed
            .iter()
            .any(|q| q.column == p.column && q.row > p.row)
    }

    /// Whether a straight line at `row` runs free through every column between two steps.
    fn free_row(&self, row: usize, from: &Placed, to: &Placed) -> bool {
        self.placed
            .iter()
            .all(|p| p.row != row || p.column <= from.column || p.column >= to.column)
    }

    /// The height at which an arrow that skips columns passes them: just under the lowest
    /// box in the columns it skips.
    fn channel_y(&self, from: &Placed, to: &Placed) -> f64 {
        let band = self.bands[from.band];
        let lowest = self
            .placed
            .iter()
            .filter(|p| p.column > from.column && p.column < to.column)
            .map(|p| p.row)
            .max()
            .unwrap_or(0);
        if lowest + 1 < band.rows {
            band.rows_top + (lowest + 1) as f64 * (BOX_H + ROW_GAP) - ROW_GAP / 2.0
        } else {
            band.rows_bottom + 12.0
        }
    }

    fn draw_step(&self, out: &mut String, i: usize) {
        let step = &self.map.steps[i];
        let p = self.placed[i];
        let sa = self.step_analysis(i);
        let team_index = step
            .team
            .as_ref()
            .and_then(|t| self.map.teams.iter().position(|team| &team.id == t));
        let (color, tint) = palette::team(team_index);
        let is_bottleneck = self.bottleneck == Some(i);
        let team_name = step.team.as_ref().map(|t| {
            self.map
                .team(t)
                .map_or(t.as_str(), |team| team.name.as_str())
        });

        let mut classes = String::from("step");
        if is_bottleneck {
            classes.push_str(" bottleneck");
        }
        if sa.is_some_and(|s| s.on_critical_path) {
            classes.push_str(" critical");
        }
        out.push_str(&format!(
            "<g class=\"{classes}\" data-step=\"{}\">\n",
            escape(&step.id)
        ));
        out.push_str(&format!(
            "<title>{}</title>\n",
            escape(&self.tooltip(i, team_name))
        ));
        if step.drill_down.is_some() {
            // Stacked sheets behind the box say "there is more inside".
            for offset in [8.0, 4.0] {
                out.push_str(&format!(
                    "<rect x=\"{}\" y=\"{}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\" fill=\"#ffffff\" stroke=\"{color}\" stroke-width=\"1\"/>\n",
                    num(p.x + offset),
                    num(p.y - offset)
                ));
            }
        }
        out.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\" fill=\"{tint}\"/>\n",
            num(p.x),
            num(p.y)
        ));
        out.push_str(&format!(
            "<path d=\"{}\" fill=\"{color}\"/>\n",
            rounded_top(p.x, p.y, BOX_W, HEADER_H, 6.0)
        ));
        let max = chars_fitting(BOX_W - 12.0, 14.0, true);
        let (lines, _) = wrap(&step.name, max, 2);
        let first = p.y + if lines.len() > 1 { 19.0 } else { 27.5 };
        for (k, line) in lines.iter().enumerate() {
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"14\" font-weight=\"700\" fill=\"#ffffff\" text-anchor=\"middle\">{}</text>\n",
                num(p.x + BOX_W / 2.0),
                num(first + k as f64 * 17.0),
                escape(line)
            ));
        }
        let body = p.y + HEADER_H;
        if let Some(team) = team_name {
            let max = chars_fitting(BOX_W - 12.0, 12.0, true);
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"{color}\" font-weight=\"600\" text-anchor=\"middle\">{}</text>\n",
                num(p.x + BOX_W / 2.0),
                num(body + 17.0),
                escape(&truncate(team, max))
            ));
        }
        let mut facts: Vec<(&str, String)> = vec![
            ("P/T", step.process.to_string()),
            ("%C&A", percent(step.ca)),
        ];
        // A measured map keeps the box's lower lines for the data.
        if self.measured.is_none() {
            if let Some(people) = step.people {
                facts.push(("People", people.to_string()));
            }
            if let Some(passes) = sa.map(|s| s.expected_passes).filter(|&v| v >= 1.005) {
                facts.push(("Passes", format!("×{passes:.2}")));
            }
        }
        for (k, (label, value)) in facts.iter().enumerate() {
            let y = body + 36.0 + k as f64 * 16.5;
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"12.5\" fill=\"{MUTED}\">{}</text>\n",
                num(p.x + 10.0),
                num(y),
                escape(label)
            ));
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"13\" font-weight=\"700\" fill=\"{INK}\" text-anchor=\"end\">{}</text>\n",
                num(p.right() - 10.0),
                num(y),
                escape(value)
            ));
        }
        self.draw_measurement(out, i, p);
        let footer_y = p.y + BOX_H - FOOTER_H;
        let data_bottleneck = self.measured_bottleneck == Some(i);
        if self.measured.is_some() && (is_bottleneck || data_bottleneck) {
            let (fill, label) = match (is_bottleneck, data_bottleneck) {
                (true, true) => (RED, "BOTTLENECK · DRAWN & DATA"),
                (true, false) => (RED, "DRAWN BOTTLENECK"),
                _ => ("#b45309", "DATA BOTTLENECK"),
            };
            out.push_str(&format!(
                "<path d=\"{}\" fill=\"{fill}\" class=\"{}\"/>\n",
                rounded_bottom(p.x, footer_y, BOX_W, FOOTER_H, 6.0),
                if data_bottleneck {
                    "data-bottleneck"
                } else {
                    "drawn-bottleneck"
                }
            ));
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"10.5\" font-weight=\"700\" fill=\"#ffffff\" text-anchor=\"middle\">{label}</text>\n",
                num(p.x + BOX_W / 2.0),
                num(footer_y + 14.0)
            ));
        } else if is_bottleneck {
            out.push_str(&format!(
                "<path d=\"{}\" fill=\"{RED}\"/>\n",
                rounded_bottom(p.x, footer_y, BOX_W, FOOTER_H, 6.0)
            ));
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"11.5\" font-weight=\"700\" fill=\"#ffffff\" text-anchor=\"middle\" letter-spacing=\"1\">BOTTLENECK</text>\n",
                num(p.x + BOX_W / 2.0),
                num(footer_y + 14.0)
            ));
        } else if let Some(sub) = &step.drill_down {
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"11.5\" fill=\"{MUTED}\" text-anchor=\"middle\">▸ drill-down: {} steps</text>\n",
                num(p.x + BOX_W / 2.0),
                num(footer_y + 14.0),
                sub.steps.len()
            ));
        }
        let (stroke, stroke_width) = if is_bottleneck {
            (RED, 3.0)
        } else {
            (color, 1.5)
        };
        out.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{stroke_width}\"/>\n",
            num(p.x),
            num(p.y)
        ));
        out.push_str("</g>\n");
    }

    /// The full text of a step, for the box's tooltip.
    fn tooltip(&self, i: usize, team_name: Option<&str>) -> String {
        let step = &self.map.steps[i];
        let mut lines = vec![format!("{} ({})", step.name, step.id)];
        if let Some(team) = team_name {
            lines.push(format!("Team: {team}"));
        }
        lines.push(format!("Wait: {}", step.wait));
        lines.push(format!("Process: {}", step.process));
        lines.push(format!("%C&A: {}", percent(step.ca)));
        if let Some(sa) = self.step_analysis(i) {
            lines.push(format!("Expected passes: {:.2}", sa.expected_passes));
            if let Some(q) = sa.queue_waiting {
                lines.push(format!("Waiting (Little's law): {q:.1}"));
            }
        }
        if let Some(people) = step.people {
            lines.push(format!("People: {people}"));
        }
        if !step.systems.is_empty() {
            lines.push(format!("Systems: {}", step.systems.join(", ")));
        }
        if let Some(notes) = &step.notes {
            lines.push(format!("Notes: {notes}"));
        }
        if let Some(sub) = &step.drill_down {
            lines.push(format!("Drill-down: {} steps", sub.steps.len()));
        }
        lines.join("\n")
    }

    /// The queue triangle left of a box: the wait before the step, and how many items
    /// wait there when arrivals are known.
    fn draw_wait(&self, out: &mut String, i: usize) {
        let step = &self.map.steps[i];
        let wip = self
            .step_measurement(i)
            .and_then(|m| m.wait.as_ref())
            .map(|w| w.wip);
        if step.wait.high <= 0.0 && wip.is_none() {
            return;
        }
        let p = self.placed[i];
        let is_bottleneck = self.bottleneck == Some(i);
        let cx = p.x - GAP / 2.0;
        let cy = p.mid_y();
        out.push_str(&format!(
            "<g class=\"wait\" data-step=\"{}\">\n",
            escape(&step.id)
        ));
        out.push_str(&format!(
            "<title>{}</title>\n",
            escape(&format!("Waits {} before {}", step.wait, step.name))
        ));
        out.push_str(&triangle(cx, cy, 11.0, is_bottleneck));
        let color = if is_bottleneck { RED_DARK } else { INK };
        for (k, line) in estimate_lines(step.wait).iter().enumerate() {
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"13\" font-weight=\"700\" fill=\"{color}\" text-anchor=\"middle\"{HALO}>{}</text>\n",
                num(cx),
                num(cy + 28.0 + k as f64 * 15.0),
                escape(line)
            ));
        }
        let queued = self.step_analysis(i).and_then(|s| s.queue_waiting);
        if let Some(q) = queued {
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"11.5\" fill=\"{MUTED}\" text-anchor=\"middle\"{HALO}>{} queued</text>\n",
                num(cx),
                num(cy - 18.0),
                escape(&queue_count(q))
            ));
        }
        if let Some(wip) = wip {
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"11.5\" font-weight=\"700\" fill=\"#b45309\" text-anchor=\"middle\" class=\"wip\"{HALO}>WIP {wip}</text>\n",
                num(cx),
                num(cy - if queued.is_some() { 32.0 } else { 18.0 }),
            ));
        }
        out.push_str("</g>\n");
    }

    /// The path, arrowhead and label of a rework loop.
    fn loop_shape(&self, l: &Loop) -> LoopShape {
        let from = self.placed[l.from];
        let to = self.placed[l.to];
        let share = percent(1.0 - self.map.steps[l.from].ca);
        let band = self.bands[from.band];
        let r = 8.0;
        if l.lane == Lane::Under {
            let (x_from, x_to, bottom) = (from.right() - 18.0, from.right() - 58.0, from.y + BOX_H);
            let d = format!(
                "M{} {} V{} Q{} {} {} {} H{} Q{} {} {} {} V{}",
                num(x_from),
                num(bottom),
                num(bottom + 16.0 - r),
                num(x_from),
                num(bottom + 16.0),
                num(x_from - r),
                num(bottom + 16.0),
                num(x_to + r),
                num(x_to),
                num(bottom + 16.0),
                num(x_to),
                num(bottom + 16.0 - r),
                num(bottom + 8.0)
            );
            return LoopShape {
                d,
                head: arrowhead_up(x_to, bottom),
                label: format!("{share} rework"),
                label_x: (x_from + x_to) / 2.0,
                label_y: bottom + 16.0,
                anchor: "middle",
            };
        }
        let above = l.lane.above();
        // A loop below the boxes that starts or ends at a box with boxes under it would
        // cross them; it uses the free strip beside the box instead (right of the source,
        // left of the target), entering from the side.
        let side_from = !above && self.has_box_below(l.from);
        let side_to = !above && matches!(l.lane, Lane::Below) && self.has_box_below(l.to);
        let side_y = |p: &Placed| p.y + BOX_H - 16.0;
        let x_from = if side_from {
            from.right() + 8.0
        } else if l.from == l.to {
            from.right() - 18.0
        } else {
            from.right() - 22.0
        };
        let x_to = if side_to {
            to.x - 8.0
        } else if l.from == l.to {
            from.right() - 58.0
        } else {
            to.x + 22.0
        };
        // `v` points from the boxes towards the lane the loop runs in.
        let (v, lane_y, from_y, to_y) = if above {
            let lane_y = band.rows_top - 32.0 - l.level as f64 * LEVEL_H;
            (-1.0, lane_y, from.y, to.y)
        } else {
            let lane_y = band.rows_bottom + 32.0 + l.level as f64 * LEVEL_H;
            (1.0, lane_y, from.y + BOX_H, to.y + BOX_H)
        };
        let (end_x, dir) = match l.lane {
            Lane::Away { left: true, .. } => (MARGIN, -1.0),
            Lane::Away { left: false, .. } => (MARGIN + self.per_band as f64 * COL_W + 24.0, 1.0),
            _ if x_to < x_from => (x_to, -1.0),
            _ => (x_to, 1.0),
        };
        let mut d = if side_from {
            format!(
                "M{} {} H{} ",
                num(from.right()),
                num(side_y(&from)),
                num(x_from)
            )
        } else {
            format!("M{} {} ", num(x_from), num(from_y))
        };
        d.push_str(&format!(
            "V{} Q{} {} {} {} ",
            num(lane_y - v * r),
            num(x_from),
            num(lane_y),
            num(x_from + dir * r),
            num(lane_y)
        ));
        let (label, anchor, label_x, head) = match l.lane {
            Lane::Away { left, .. } => {
                d.push_str(&format!("H{}", num(end_x - dir * 8.0)));
                let target = truncate(&self.map.steps[l.to].name, 24);
                if left {
                    (
                        format!("{share} rework to {target}"),
                        "start",
                        end_x + 14.0,
                        arrowhead_left(end_x, lane_y, REWORK),
                    )
                } else {
                    (
                        format!("{share} rework to {target}"),
                        "end",
                        end_x - 14.0,
                        arrowhead_right(end_x, lane_y, REWORK),
                    )
                }
            }
            Lane::Above | Lane::Below | Lane::Under => {
                d.push_str(&format!(
                    "H{} Q{} {} {} {} ",
                    num(x_to - dir * r),
                    num(x_to),
                    num(lane_y),
                    num(x_to),
                    num(lane_y - v * r)
                ));
                let head = if side_to {
                    d.push_str(&format!("V{} H{}", num(side_y(&to)), num(to.x - 7.0)));
                    arrowhead_right(to.x, side_y(&to), REWORK)
                } else if above {
                    d.push_str(&format!("V{}", num(to_y - 8.0)));
                    arrowhead_down(x_to, to_y)
                } else {
                    d.push_str(&format!("V{}", num(to_y + 8.0)));
                    arrowhead_up(x_to, to_y)
                };
                (
                    format!("{share} rework"),
                    "middle",
                    (x_from + x_to) / 2.0,
                    head,
                )
            }
        };
        LoopShape {
            d,
            head,
            label,
            label_x,
            label_y: lane_y,
            anchor,
        }
    }

    /// Writes one rework loop: its dashed path, arrowhead and label, with a tooltip.
    fn draw_loop(&self, out: &mut String, l: &Loop) {
        let shape = self.loop_shape(l);
        let share = percent(1.0 - self.map.steps[l.from].ca);
        out.push_str(&format!(
            "<g class=\"rework\" data-from=\"{}\" data-to=\"{}\">\n",
            escape(&self.map.steps[l.from].id),
            escape(&self.map.steps[l.to].id)
        ));
        out.push_str(&format!(
            "<title>{}</title>\n",
            escape(&format!(
                "{share} of work leaving {} returns to {}",
                self.map.steps[l.from].name, self.map.steps[l.to].name
            ))
        ));
        out.push_str(&path_el(&shape.d, REWORK, 1.8, true));
        out.push_str(&shape.head);
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" font-weight=\"600\" fill=\"{REWORK}\" text-anchor=\"{}\"{HALO}>{}</text>\n",
            num(shape.label_x),
            num(shape.label_y + 4.0),
            shape.anchor,
            escape(&shape.label)
        ));
        out.push_str("</g>\n");
    }

    /// The timeline ladder of one band: for each critical-path step in the band, its wait
    /// on the upper rung (from the previous critical box to this one) and its process time
    /// on the lower rung (under the box). The last band with a critical step gets the
    /// totals.
    fn draw_ladder(&self, out: &mut String, b: usize) {
        let band = self.bands[b];
        let upper = band.ladder_top + 22.0;
        let lower = upper + 26.0;
        let steps: Vec<(usize, usize)> = self
            .critical
            .iter()
            .enumerate()
            .filter(|&(_, &i)| self.placed[i].band == b)
            .map(|(k, &i)| (k, i))
            .collect();
        if steps.is_empty() {
            return;
        }
        out.push_str("<g class=\"ladder\">\n");
        let mut d = String::new();
        for &(k, i) in &steps {
            let p = self.placed[i];
            let start = match k.checked_sub(1).map(|prev| self.critical[prev]) {
                Some(prev) if self.placed[prev].band == b => self.placed[prev].right(),
                _ => MARGIN,
            };
            d.push_str(&format!(
                "M{} {} H{} V{} H{} V{} ",
                num(start),
                num(upper),
                num(p.x),
                num(lower),
                num(p.right()),
                num(upper)
            ));
            let step = &self.map.steps[i];
            let is_bottleneck = self.bottleneck == Some(i);
            let (color, weight) = if is_bottleneck {
                (RED_DARK, "700")
            } else {
                (INK, "600")
            };
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"13\" font-weight=\"{weight}\" fill=\"{color}\" text-anchor=\"middle\">{}</text>\n",
                num((start + p.x) / 2.0),
                num(upper - 6.0),
                escape(&step.wait.to_string())
            ));
            out.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"13\" font-weight=\"600\" fill=\"{INK}\" text-anchor=\"middle\">{}</text>\n",
                num(p.x + BOX_W / 2.0),
                num(lower + 17.0),
                escape(&step.process.to_string())
            ));
        }
        let last = *self.critical.last().expect("steps is not empty");
        let totals_x = MARGIN + self.per_band as f64 * COL_W + 14.0;
        if self.placed[last].band == b {
            d.push_str(&format!(
                "M{} {} H{}",
                num(self.placed[last].right()),
                num(upper),
                num(totals_x)
            ));
        }
        out.push_str(&path_el(d.trim_end(), INK, 1.6, false));
        if b == 0 {
            out.push_str(&format!(
                "<text x=\"{MARGIN}\" y=\"{}\" font-size=\"12\" fill=\"{MUTED}\">Timeline along the critical path: waiting on the upper rung, processing on the lower</text>\n",
                num(lower + 36.0)
            ));
        }
        if self.placed[last].band == b {
            let a = self.analysis;
            let w = END_W - 14.0 - 8.0;
            out.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"70\" rx=\"6\" fill=\"#f8fafc\" stroke=\"{INK}\" stroke-width=\"1.2\"/>\n",
                num(totals_x),
                num(band.ladder_top + 2.0),
                num(w)
            ));
            let rows = [
                ("LEAD TIME", rough_hours(a.lead_time_hours), 16.0),
                ("PROCESS TIME", rough_hours(a.process_time_hours), 50.0),
            ];
            for (label, value, dy) in rows {
                out.push_str(&format!(
                    "<text x=\"{}\" y=\"{}\" font-size=\"10.5\" letter-spacing=\"0.6\" fill=\"{MUTED}\">{label}</text>\n",
                    num(totals_x + 10.0),
                    num(band.ladder_top + 2.0 + dy)
                ));
                out.push_str(&format!(
                    "<text x=\"{}\" y=\"{}\" font-size=\"14\" font-weight=\"700\" fill=\"{INK}\">{}</text>\n",
                    num(totals_x + 10.0),
                    num(band.ladder_top + 2.0 + dy + 16.0),
                    escape(&value)
                ));
            }
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

fn card(label: &str, value: String, note: Option<&str>) -> Card {
    let width = [
        text_width(&value, 18.0, true),
        text_width(label, 10.5, false) * 1.15,
        note.map_or(0.0, |n| text_width(n, 10.5, false)),
    ]
    .into_iter()
    .fold(120.0, f64::max)
        + 24.0;
    Card {
        label: label.to_string(),
        value,
        note: note.map(str::to_string),
        width: width.ceil(),
    }
}

/// The rework loops of a map, one per step whose %C&A is below 100 %.
fn rework_loops(
    map: &Map,
    column: &[usize],
    row: &[usize],
    band_of: impl Fn(usize) -> usize,
    per_band: usize,
    columns: usize,
) -> Vec<Loop> {
    map.steps
        .iter()
        .enumerate()
        .filter(|(_, step)| step.ca < 1.0)
        .map(|(from, step)| {
            let to = map.step_index(&step.rework_to).unwrap_or(from);
            let (cf, ct) = (column[from], column[to]);
            let (bf, bt) = (band_of(cf), band_of(ct));
            let (lane, lo, hi) = if bf != bt {
                let left = bt < bf;
                let lane = Lane::Away {
                    left,
                    above: row[from] == 0,
                };
                if left {
                    (lane, bf * per_band, cf)
                } else {
                    (lane, cf, ((bf + 1) * per_band).min(columns) - 1)
                }
            } else if from == to && row[from] > 0 {
                (Lane::Under, cf, cf)
            } else if row[from] == 0 && row[to] == 0 {
                (Lane::Above, cf.min(ct), cf.max(ct))
            } else {
                (Lane::Below, cf.min(ct), cf.max(ct))
            };
            Loop {
                from,
                to,
                lane,
                lo,
                hi,
                level: 0,
            }
        })
        .collect()
}

/// Stacks loops so that two loops over the same columns never share a height: shorter
/// loops go nearer the boxes, and each loop takes the lowest level free over its span.
fn assign_levels(loops: &mut [Loop], column: &[usize], band_of: impl Fn(usize) -> usize) {
    let mut order: Vec<usize> = (0..loops.len()).collect();
    order.sort_by_key(|&k| (loops[k].hi - loops[k].lo, loops[k].from));
    let mut placed: Vec<usize> = Vec::new();
    for k in order {
        if loops[k].lane == Lane::Under {
            continue;
        }
        let above = loops[k].lane.above();
        let band = band_of(column[loops[k].from]);
        let clashes = |level: usize| {
            placed.iter().any(|&o| {
                let other = &loops[o];
                other.level == level
                    && other.lane.above() == above
                    && band_of(column[other.from]) == band
                    && other.lo <= loops[k].hi
                    && loops[k].lo <= other.hi
            })
        };
        let level = (0..)
            .find(|&level| !clashes(level))
            .expect("levels are unbounded");
        loops[k].level = level;
        placed.push(k);
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
        for (k, team) in map.teams.iter().enumerate() {
            if map
                .steps
                .iter()
                .any(|s| s.team.as_deref() == Some(team.id.as_str()))
            {
                entries.push((Symbol::Team(palette::team(Some(k)).0), team.name.clone()));
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
    for (symbol, text) in entries {
        let shown = truncate(&text, 32);
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

/// An item count for a queue label: one decimal, and `<0.1` rather than a misleading `0`
/// for a queue that is small but not empty.
fn queue_count(q: f64) -> String {
    if q > 0.0 && q < 0.05 {
        "<0.1".to_string()
    } else {
        num(q)
    }
}

/// Hours for a headline number: whole hours once it is two days or more, since minutes
/// on a multi-week lead time are noise to a room reading it off a screen. Tables and
/// tooltips keep the exact value.
fn rough_hours(hours: f64) -> String {
    if hours >= 48.0 {
        format_hours(hours.round())
    } else {
        format_hours(hours)
    }
}

fn title_tag(text: Option<&str>) -> String {
    text.map_or(String::new(), |t| format!("<title>{}</title>", escape(t)))
}

/// An estimate as one or two lines: a range is split after `..` when it is long.
fn estimate_lines(estimate: Estimate) -> Vec<String> {
    let text = estimate.to_string();
    if text.chars().count() <= 11 || !estimate.is_range() {
        return vec![text];
    }
    vec![
        format!("{}..", format_hours(estimate.low)),
        format_hours(estimate.high),
    ]
}

fn triangle(cx: f64, cy: f64, size: f64, alarm: bool) -> String {
    let (fill, stroke) = if alarm {
        (RED, RED_DARK)
    } else {
        ("#fcd34d", "#b45309")
    };
    format!(
        "<path d=\"M{} {} L{} {} L{} {} Z\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\" stroke-linejoin=\"round\"/>\n",
        num(cx),
        num(cy - size),
        num(cx + size),
        num(cy + size * 0.8),
        num(cx - size),
        num(cy + size * 0.8)
    )
}

fn path_el(d: &str, color: &str, width: f64, dashed: bool) -> String {
    let dash = if dashed {
        " stroke-dasharray=\"6 4\""
    } else {
        ""
    };
    format!(
        "<path d=\"{d}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"{}\"{dash} stroke-linejoin=\"round\"/>\n",
        num(width)
    )
}

fn arrow_line(x1: f64, y: f64, x2: f64, color: &str, width: f64) -> String {
    path_el(
        &format!("M{} {} H{}", num(x1), num(y), num(x2 - 7.0)),
        color,
        width,
        false,
    ) + &arrowhead_right(x2, y, color)
}

fn arrowhead_right(x: f64, y: f64, color: &str) -> String {
    format!(
        "<path d=\"M{} {} L{} {} L{} {} Z\" fill=\"{color}\"/>\n",
        num(x),
        num(y),
        num(x - 9.0),
        num(y - 5.0),
        num(x - 9.0),
        num(y + 5.0)
    )
}

fn arrowhead_left(x: f64, y: f64, color: &str) -> String {
    format!(
        "<path d=\"M{} {} L{} {} L{} {} Z\" fill=\"{color}\"/>\n",
        num(x),
        num(y),
        num(x + 9.0),
        num(y - 5.0),
        num(x + 9.0),
        num(y + 5.0)
    )
}

fn arrowhead_down(x: f64, y: f64) -> String {
    format!(
        "<path d=\"M{} {} L{} {} L{} {} Z\" fill=\"{REWORK}\"/>\n",
        num(x),
        num(y),
        num(x - 5.0),
        num(y - 9.0),
        num(x + 5.0),
        num(y - 9.0)
    )
}

fn arrowhead_up(x: f64, y: f64) -> String {
    format!(
        "<path d=\"M{} {} L{} {} L{} {} Z\" fill=\"{REWORK}\"/>\n",
        num(x),
        num(y),
        num(x - 5.0),
        num(y + 9.0),
        num(x + 5.0),
        num(y + 9.0)
    )
}

fn connector_circle(cx: f64, cy: f64, label: usize) -> String {
    format!(
        "<circle cx=\"{}\" cy=\"{}\" r=\"10\" fill=\"#ffffff\" stroke=\"{INK}\" stroke-width=\"1.6\"/>\n\
         <text x=\"{}\" y=\"{}\" font-size=\"11\" font-weight=\"700\" fill=\"{INK}\" text-anchor=\"middle\">{label}</text>\n",
        num(cx),
        num(cy),
        num(cx),
        num(cy + 4.0)
    )
}

/// A rectangle path with only its top corners rounded (a box's header).
fn rounded_top(x: f64, y: f64, w: f64, h: f64, r: f64) -> String {
    format!(
        "M{} {} Q{} {} {} {} H{} Q{} {} {} {} V{} H{} Z",
        num(x),
        num(y + r),
        num(x),
        num(y),
        num(x + r),
        num(y),
        num(x + w - r),
        num(x + w),
        num(y),
        num(x + w),
        num(y + r),
        num(y + h),
        num(x)
    )
}

/// A rectangle path with only its bottom corners rounded (a box's footer).
fn rounded_bottom(x: f64, y: f64, w: f64, h: f64, r: f64) -> String {
    format!(
        "M{} {} H{} V{} Q{} {} {} {} H{} Q{} {} {} {} Z",
        num(x),
        num(y),
        num(x + w),
        num(y + h - r),
        num(x + w),
        num(y + h),
        num(x + w - r),
        num(y + h),
        num(x + r),
        num(x),
        num(y + h),
        num(x),
        num(y + h - r)
    )
}
