//! Small SVG charts for the dashboard: a series over time as bars or a line
//! ([`series_chart`]), parts stacked per period ([`stacked_chart`]), a [`sparkline`], and
//! a [`histogram`] with marker lines.
//!
//! The charts draw numbers; they never compute metrics. A missing value (`None`) means
//! "no data for that period" and is drawn as a gap, never as zero. Like the map, each chart
//! is a standalone `<svg>` with a `viewBox` and `width="100%"`, presentation attributes
//! only and no ids, so several can sit inline on one page. Elements carry classes
//! (`bar`, `point`, `bin`, `marker`, `no-data`) for pages that want to style them.
//!
//! ```
//! use flowmap_render::chart::{series_chart, ChartOptions, Point, SeriesStyle};
//!
//! let weeks = [
//!     Point::new("W1", Some(3.0)),
//!     Point::new("W2", None),
//!     Point::new("W3", Some(5.0)),
//! ];
//! let options = ChartOptions { title: "Deployments per week".into(), ..ChartOptions::default() };
//! let svg = series_chart(&weeks, SeriesStyle::Bars, &options);
//! assert_eq!(svg.matches("class=\"bar\"").count(), 2); // the missing week is a gap
//! ```

use crate::palette::{INK, MUTED, RED};
use crate::svg::{FONT, HALO};
use crate::text::{escape, num, text_width};
use flowmap_core::format;

const SERIES_COLOR: &str = "#2563eb";
const GRID: &str = "#e2e8f0";
const MARKER_COLORS: [&str; 3] = [RED, "#7c3aed", "#047857"];

/// One labelled value of a series, such as one week's count.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Shown under the chart, e.g. `2026-W09`.
    pub label: String,
    /// `None` when there is no data for this label; drawn as a gap. Non-finite values
    /// are treated the same way.
    pub value: Option<f64>,
    /// The period is not over yet (the current week): its value is drawn faint and
    /// outlined as "so far", so an unfinished week never looks like a drop.
    pub partial: bool,
}

impl Point {
    /// A point with this label and value.
    pub fn new(label: impl Into<String>, value: Option<f64>) -> Self {
        Point {
            label: label.into(),
            value,
            partial: false,
        }
    }

    /// A point of a period still in progress (see [`Point::partial`]).
    pub fn in_progress(label: impl Into<String>, value: Option<f64>) -> Self {
        Point {
            partial: true,
            ..Point::new(label, value)
        }
    }
}

/// What the values of a chart are, which decides its ticks and labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValueKind {
    /// Plain numbers: ticks at 1, 2 or 5 × 10ⁿ with as many decimals as the step needs.
    #[default]
    Number,
    /// Counts: whole-number ticks only.
    Count,
    /// Durations in hours: ticks at human steps (15m, 1h, 6h, 1d, 1w, …), labelled
    /// like `1d 12h`.
    Hours,
}

/// How [`series_chart`] draws its points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesStyle {
    /// One bar per point, from zero: for counts per period.
    Bars,
    /// Points joined by a line, broken where values are missing: for levels such as a
    /// median lead time.
    Line,
}

/// Size and words of a chart.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartOptions {
    /// Width of the `viewBox`; the chart scales to its container.
    pub width: f64,
    /// Height of the `viewBox`.
    pub height: f64,
    /// Drawn above the plot and used as the SVG's accessible name.
    pub title: String,
    /// The unit of the values, shown above the value axis (e.g. `per week`); may be
    /// empty.
    pub unit: String,
    /// What the values are (for a [`histogram`]: what the binned values are; its
    /// heights are counts).
    pub values: ValueKind,
}

impl Default for ChartOptions {
    /// 640 × 240, no title, no unit.
    fn default() -> Self {
        ChartOptions {
            width: 640.0,
            height: 240.0,
            title: String::new(),
            unit: String::new(),
            values: ValueKind::Number,
        }
    }
}

/// A vertical line across a [`histogram`] at a value, e.g. the median.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    /// Written at the top of the line, e.g. `median 18h`.
    pub label: String,
    /// Where the line is drawn, in the histogram's units.
    pub value: f64,
}

/// The plot area inside a chart's frame.
#[derive(Clone, Copy, Debug)]
struct Plot {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
}

impl Plot {
    fn new(options: &ChartOptions) -> Self {
        let top = if options.title.is_empty() && options.unit.is_empty() {
            12.0
        } else {
            44.0
        };
        let left = 52.0;
        Plot {
            left,
            top,
            width: (options.width - left - 16.0).max(1.0),
            height: (options.height - top - 34.0).max(1.0),
        }
    }

    fn bottom(&self) -> f64 {
        self.top + self.height
    }
}

/// A value axis from `low` to `high` with evenly spaced round ticks.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Axis {
    low: f64,
    high: f64,
    step: f64,
    kind: ValueKind,
}

/// Tick steps for durations, in hours: minutes, hours, days, weeks, a quarter, half a
/// year, then years.
const DURATION_STEPS: [f64; 22] = [
    1.0 / 60.0,
    2.0 / 60.0,
    5.0 / 60.0,
    10.0 / 60.0,
    0.25,
    0.5,
    1.0,
    2.0,
    3.0,
    6.0,
    12.0,
    24.0,
    48.0,
    96.0,
    168.0,
    336.0,
    672.0,
    1344.0,
    2184.0,
    4368.0,
    8760.0,
    17520.0,
];

/// The smallest of 1, 2 or 5 × 10ⁿ that is at least `rough`.
fn nice_step(rough: f64) -> f64 {
    let magnitude = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= rough * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

impl Axis {
    /// The smallest axis with round ticks (about four of them) that holds `min`, `max`
    /// and zero: 1, 2 or 5 × 10ⁿ; whole numbers for counts; human steps for durations.
    fn covering(min: f64, max: f64, kind: ValueKind) -> Self {
        let (min, max) = (min.min(0.0), max.max(0.0));
        if max - min <= 0.0 {
            let step = match kind {
                ValueKind::Number => 0.25,
                ValueKind::Count | ValueKind::Hours => 1.0,
            };
            return Axis {
                low: 0.0,
                high: 4.0 * step,
                step,
                kind,
            };
        }
        let rough = (max - min) / 4.0;
        let step = match kind {
            ValueKind::Number => nice_step(rough),
            ValueKind::Count => nice_step(rough).max(1.0),
            ValueKind::Hours => DURATION_STEPS
                .into_iter()
                .find(|&s| s >= rough)
                .unwrap_or_else(|| 8760.0 * nice_step(rough / 8760.0)),
        };
        Axis {
            low: (min / step).floor() * step,
            high: (max / step).ceil() * step,
            step,
            kind,
        }
    }

    /// A tick's label: whole numbers for counts, durations for hours, and for plain
    /// numbers as many decimals as the step needs, so no two ticks read the same.
    fn label(&self, value: f64) -> String {
        match self.kind {
            ValueKind::Count => format!("{}", value.round() as i64),
            ValueKind::Hours => format::duration(value),
            ValueKind::Number => {
                let decimals = (-self.step.log10().floor()).max(0.0) as usize;
                format::trimmed(value, decimals)
            }
        }
    }

    fn ticks(&self) -> Vec<f64> {
        let count = ((self.high - self.low) / self.step).round() as usize;
        (0..=count)
            .map(|k| self.low + k as f64 * self.step)
            .collect()
    }

    /// The y coordinate of `value` in `plot`.
    fn y(&self, plot: &Plot, value: f64) -> f64 {
        plot.bottom() - (value - self.low) / (self.high - self.low) * plot.height
    }
}

/// Draws a series of labelled values, such as deployments per week, as bars or a line.
///
/// The value axis starts at zero (or below, for negative values) and ends at a round
/// number; bars are drawn from zero, so their heights are proportional to their values.
/// A `None` (or non-finite) value is a gap: no bar, and a break in the line. A series
/// with no values at all shows "No data". Labels are thinned out when they would
/// overlap; every bar and point has a tooltip with its label and value.
///
/// ```
/// use flowmap_render::chart::{series_chart, ChartOptions, Point, SeriesStyle};
///
/// let points = [Point::new("W1", Some(2.0)), Point::new("W2", None), Point::new("W3", Some(4.0))];
/// let svg = series_chart(&points, SeriesStyle::Line, &ChartOptions::default());
/// assert_eq!(svg.matches("class=\"point\"").count(), 2);
/// ```
pub fn series_chart(points: &[Point], style: SeriesStyle, options: &ChartOptions) -> String {
    let mut out = open_svg(options);
    let plot = Plot::new(options);
    let values: Vec<Option<f64>> = points
        .iter()
        .map(|p| p.value.filter(|v| v.is_finite()))
        .collect();
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    if known.is_empty() {
        no_data(&mut out, options);
        out.push_str("</svg>\n");
        return out;
    }
    let min = known.iter().copied().fold(f64::INFINITY, f64::min);
    let max = known.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let axis = Axis::covering(min, max, options.values);
    value_axis(&mut out, &plot, &axis);

    let slot = plot.width / points.len() as f64;
    let center = |i: usize| plot.left + (i as f64 + 0.5) * slot;
    let zero = axis.y(&plot, 0.0);
    match style {
        SeriesStyle::Bars => {
            let bar = (slot * 0.7).max(1.0);
            for (i, (point, value)) in points.iter().zip(&values).enumerate() {
                let Some(v) = *value else { continue };
                let y = axis.y(&plot, v);
                // A period in progress is an outline with a faint fill: "so far".
                let (class, look) = if point.partial {
                    (
                        "bar partial",
                        format!(
                            "fill=\"{SERIES_COLOR}\" fill-opacity=\"0.25\" stroke=\"{SERIES_COLOR}\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\""
                        ),
                    )
                } else {
                    ("bar", format!("fill=\"{SERIES_COLOR}\""))
                };
                out.push_str(&format!(
                    "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {look} rx=\"2\"><title>{}</title></rect>\n",
                    num2(center(i) - bar / 2.0),
                    num2(y.min(zero)),
                    num2(bar),
                    num2((zero - y).abs()),
                    escape(&point_title(point, &axis.label(v)))
                ));
            }
        }
        SeriesStyle::Line => {
            let mut d = String::new();
            let mut pen_down = false;
            // A period in progress stays off the line: its point is drawn on its own.
            for (i, (point, value)) in points.iter().zip(&values).enumerate() {
                match value {
                    Some(v) if !point.partial => {
                        d.push_str(&format!(
                            "{}{} {} ",
                            if pen_down { "L" } else { "M" },
                            num2(center(i)),
                            num2(axis.y(&plot, *v))
                        ));
                        pen_down = true;
                    }
                    _ => pen_down = false,
                }
            }
            out.push_str(&format!(
                "<path class=\"line\" d=\"{}\" fill=\"none\" stroke=\"{SERIES_COLOR}\" stroke-width=\"2.5\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n",
                d.trim_end()
            ));
            for (i, (point, value)) in points.iter().zip(&values).enumerate() {
                let Some(v) = *value else { continue };
                let (class, dash) = if point.partial {
                    (
                        "point partial",
                        " stroke-dasharray=\"2 2\" stroke-opacity=\"0.6\"",
                    )
                } else {
                    ("point", "")
                };
                out.push_str(&format!(
                    "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"#ffffff\" stroke=\"{SERIES_COLOR}\" stroke-width=\"2\"{dash}><title>{}</title></circle>\n",
                    num2(center(i)),
                    num2(axis.y(&plot, v)),
                    escape(&point_title(point, &axis.label(v)))
                ));
            }
        }
    }
    category_labels(&mut out, &plot, points);
    out.push_str("</svg>\n");
    out
}

/// One named part of a [`stacked_chart`]: a value per category (`None`: nothing that
/// period).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stack<'a> {
    pub name: &'a str,
    pub values: &'a [Option<f64>],
}

/// The colours of a stacked chart's parts, in order (repeated past six).
const STACK_COLORS: [&str; 6] = [
    "#2563eb", "#f59e0b", "#10b981", "#8b5cf6", "#ef4444", "#0ea5e9",
];

/// Draws one bar per category (a week) made of the stacks' values on top of each other,
/// in the stacks' order from the bottom, with a legend naming each stack in its colour.
/// The categories' values are not read; a partial category's bar is drawn faint ("so
/// far"). A category with no value in any stack has no bar; with no values at all the
/// chart shows "No data".
///
/// ```
/// use flowmap_render::chart::{stacked_chart, ChartOptions, Point, Stack};
///
/// let weeks = [Point::new("W1", None), Point::new("W2", None)];
/// let stacks = [
///     Stack { name: "review", values: &[Some(2.0), None] },
///     Stack { name: "deploy", values: &[Some(1.0), Some(3.0)] },
/// ];
/// let svg = stacked_chart(&weeks, &stacks, &ChartOptions::default());
/// assert_eq!(svg.matches("class=\"segment\"").count(), 3);
/// assert!(svg.contains(">review</text>") && svg.contains(">deploy</text>"));
/// ```
pub fn stacked_chart(categories: &[Point], stacks: &[Stack<'_>], options: &ChartOptions) -> String {
    let mut out = open_svg(&ChartOptions {
        unit: String::new(),
        ..options.clone()
    });
    // The legend takes the unit's line: the unit first, then a swatch and name per stack.
    let mut x = 12.0;
    if !options.unit.is_empty() {
        out.push_str(&format!(
            "<text x=\"12\" y=\"36\" font-size=\"11\" fill=\"{MUTED}\">{}</text>\n",
            escape(&options.unit)
        ));
        x += text_width(&options.unit, 11.0, false) + 12.0;
    }
    for (i, stack) in stacks.iter().enumerate() {
        let color = STACK_COLORS[i % STACK_COLORS.len()];
        out.push_str(&format!(
            "<rect class=\"legend\" x=\"{}\" y=\"28\" width=\"10\" height=\"10\" rx=\"2\" fill=\"{color}\"/>\n<text x=\"{}\" y=\"36\" font-size=\"11\" fill=\"{INK}\">{}</text>\n",
            num2(x),
            num2(x + 14.0),
            escape(stack.name)
        ));
        x += 14.0 + text_width(stack.name, 11.0, false) + 12.0;
    }
    let totals: Vec<f64> = (0..categories.len())
        .map(|i| {
            stacks
                .iter()
                .filter_map(|s| s.values.get(i).copied().flatten())
                .filter(|v| v.is_finite() && *v > 0.0)
                .sum()
        })
        .collect();
    let plot = Plot::new(options);
    let max = totals.iter().copied().fold(0.0, f64::max);
    if categories.is_empty() || max <= 0.0 {
        no_data(&mut out, options);
        out.push_str("</svg>\n");
        return out;
    }
    let axis = Axis::covering(0.0, max, options.values);
    value_axis(&mut out, &plot, &axis);
    let slot = plot.width / categories.len() as f64;
    let bar = (slot * 0.7).max(1.0);
    for (i, category) in categories.iter().enumerate() {
        let mut base = 0.0;
        for (k, stack) in stacks.iter().enumerate() {
            let Some(v) = stacks_value(stack, i) else {
                continue;
            };
            let color = STACK_COLORS[k % STACK_COLORS.len()];
            let (top, bottom) = (axis.y(&plot, base + v), axis.y(&plot, base));
            let faint = if category.partial {
                " fill-opacity=\"0.35\""
            } else {
                ""
            };
            out.push_str(&format!(
                "<rect class=\"segment\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{color}\"{faint}><title>{}</title></rect>\n",
                num2(plot.left + (i as f64 + 0.5) * slot - bar / 2.0),
                num2(top),
                num2(bar),
                num2(bottom - top),
                escape(&point_title(
                    category,
                    &format!("{} {}", stack.name, value_label(options.values, v))
                ))
            ));
            base += v;
        }
    }
    category_labels(&mut out, &plot, categories);
    out.push_str("</svg>\n");
    out
}

/// A stack's positive, finite value for category `i`.
fn stacks_value(stack: &Stack<'_>, i: usize) -> Option<f64> {
    stack
        .values
        .get(i)
        .copied()
        .flatten()
        .filter(|v| v.is_finite() && *v > 0.0)
}

/// Draws a small trend line without axes, to sit next to a number: the line spans the
/// values' own range (not from zero), breaks where values are missing, and ends in a dot
/// on the last known value.
///
/// With no known values it shows a faint "no data".
///
/// ```
/// use flowmap_render::chart::sparkline;
///
/// let svg = sparkline(&[Some(3.0), Some(5.0), None, Some(4.0)], 120.0, 32.0);
/// let path = svg.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
/// assert_eq!(path.matches('M').count(), 2); // the gap starts a new stroke
/// assert!(svg.contains("class=\"last\""));
/// ```
pub fn sparkline(values: &[Option<f64>], width: f64, height: f64) -> String {
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" width=\"100%\" role=\"img\" font-family=\"{FONT}\" class=\"flowmap-sparkline\">\n",
        num(width),
        num(height)
    );
    let values: Vec<Option<f64>> = values.iter().map(|v| v.filter(|v| v.is_finite())).collect();
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    if known.is_empty() {
        out.push_str(&format!(
            "<title>No data</title>\n<text class=\"no-data\" x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{MUTED}\" text-anchor=\"middle\">no data</text>\n</svg>\n",
            num(width / 2.0),
            num(height / 2.0 + 4.0),
            num((height * 0.4).clamp(8.0, 12.0))
        ));
        return out;
    }
    out.push_str("<title>Trend</title>\n");
    let min = known.iter().copied().fold(f64::INFINITY, f64::min);
    let max = known.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = 3.0;
    let x = |i: usize| {
        if values.len() == 1 {
            width / 2.0
        } else {
            pad + i as f64 * (width - 2.0 * pad) / (values.len() - 1) as f64
        }
    };
    let y = |v: f64| {
        if max > min {
            height - pad - (v - min) / (max - min) * (height - 2.0 * pad)
        } else {
            height / 2.0
        }
    };
    let mut d = String::new();
    let mut pen_down = false;
    for (i, value) in values.iter().enumerate() {
        match value {
            Some(v) => {
                d.push_str(&format!(
                    "{}{} {} ",
                    if pen_down { "L" } else { "M" },
                    num2(x(i)),
                    num2(y(*v))
                ));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    out.push_str(&format!(
        "<path class=\"line\" d=\"{}\" fill=\"none\" stroke=\"{SERIES_COLOR}\" stroke-width=\"1.75\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n",
        d.trim_end()
    ));
    if let Some((i, v)) = values
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, v)| v.map(|v| (i, v)))
    {
        out.push_str(&format!(
            "<circle class=\"last\" cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"{SERIES_COLOR}\"/>\n",
            num2(x(i)),
            num2(y(v))
        ));
    }
    out.push_str("</svg>\n");
    out
}

/// Draws the distribution of `values` as a histogram of `bins` equal-width bins over their
/// range, with a dashed vertical line and label for each marker (say the median and the
/// 90th percentile, computed by the caller).
///
/// Bar heights are proportional to the number of values in each bin; the last bin
/// includes the maximum. When all values are equal there is one bin. Non-finite values
/// are left out; with none left the chart shows "No data". `bins` is clamped to 1..=200.
///
/// ```
/// use flowmap_render::chart::{histogram, ChartOptions, Marker};
///
/// let hours = [1.0, 2.0, 2.5, 3.0, 9.0];
/// let median = Marker { label: "median 2.5h".into(), value: 2.5 };
/// let svg = histogram(&hours, 4, &[median], &ChartOptions::default());
/// assert_eq!(svg.matches("class=\"bin\"").count(), 4);
/// assert!(svg.contains("median 2.5h"));
/// ```
pub fn histogram(
    values: &[f64],
    bins: usize,
    markers: &[Marker],
    options: &ChartOptions,
) -> String {
    let mut out = open_svg(options);
    let plot = Plot::new(options);
    let known: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if known.is_empty() {
        no_data(&mut out, options);
        out.push_str("</svg>\n");
        return out;
    }
    let min = known.iter().copied().fold(f64::INFINITY, f64::min);
    let max = known.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (bins, low, high) = if max > min {
        (bins.clamp(1, 200), min, max)
    } else {
        (1, min - 0.5, max + 0.5)
    };
    let width = (high - low) / bins as f64;
    let mut counts = vec![0usize; bins];
    for v in &known {
        let k = (((v - low) / width).floor() as usize).min(bins - 1);
        counts[k] += 1;
    }
    let axis = Axis::covering(
        0.0,
        counts.iter().copied().max().unwrap_or(0) as f64,
        ValueKind::Count,
    );
    value_axis(&mut out, &plot, &axis);
    let x = |v: f64| plot.left + (v - low) / (high - low) * plot.width;
    for (k, &count) in counts.iter().enumerate() {
        let (from, to) = (low + k as f64 * width, low + (k + 1) as f64 * width);
        let y = axis.y(&plot, count as f64);
        out.push_str(&format!(
            "<rect class=\"bin\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{SERIES_COLOR}\" fill-opacity=\"0.85\" stroke=\"#ffffff\" stroke-width=\"1\"><title>{}</title></rect>\n",
            num2(x(from)),
            num2(y),
            num2(x(to) - x(from)),
            num2(plot.bottom() - y),
            escape(&format!(
                "{} – {}: {count}",
                value_label(options.values, from),
                value_label(options.values, to)
            ))
        ));
    }
    for (k, v) in [(0, low), (1, (low + high) / 2.0), (2, high)] {
        let anchor = ["start", "middle", "end"][k];
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{MUTED}\" text-anchor=\"{anchor}\">{}</text>\n",
            num2(x(v)),
            num2(plot.bottom() + 16.0),
            escape(&value_label(options.values, v))
        ));
    }
    for (k, marker) in markers.iter().enumerate() {
        if !marker.value.is_finite() {
            continue;
        }
        let color = MARKER_COLORS[k % MARKER_COLORS.len()];
        let mx = x(marker.value.clamp(low, high));
        // Labels stack downwards so two markers close together stay readable.
        let label_y = plot.top + 12.0 + k as f64 * 14.0;
        let anchor = if mx > plot.left + plot.width * 0.75 {
            "end"
        } else {
            "start"
        };
        let dx = if anchor == "end" { -4.0 } else { 4.0 };
        out.push_str(&format!(
            "<g class=\"marker\"><path d=\"M{} {} V{}\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/><text x=\"{}\" y=\"{}\" font-size=\"11.5\" font-weight=\"700\" fill=\"{color}\" text-anchor=\"{anchor}\"{HALO}>{}</text></g>\n",
            num2(mx),
            num2(plot.top),
            num2(plot.bottom()),
            num2(mx + dx),
            num2(label_y),
            escape(&marker.label)
        ));
    }
    out.push_str("</svg>\n");
    out
}

fn open_svg(options: &ChartOptions) -> String {
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" width=\"100%\" role=\"img\" font-family=\"{FONT}\" class=\"flowmap-chart\">\n",
        num(options.width),
        num(options.height)
    );
    let name = if options.title.is_empty() {
        "Chart"
    } else {
        &options.title
    };
    out.push_str(&format!("<title>{}</title>\n", escape(name)));
    if !options.title.is_empty() {
        out.push_str(&format!(
            "<text x=\"12\" y=\"20\" font-size=\"14\" font-weight=\"700\" fill=\"{INK}\">{}</text>\n",
            escape(&options.title)
        ));
    }
    if !options.unit.is_empty() {
        out.push_str(&format!(
            "<text x=\"12\" y=\"36\" font-size=\"11\" fill=\"{MUTED}\">{}</text>\n",
            escape(&options.unit)
        ));
    }
    out
}

fn no_data(out: &mut String, options: &ChartOptions) {
    let plot = Plot::new(options);
    out.push_str(&format!(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f8fafc\" stroke=\"{GRID}\" rx=\"4\"/>\n\
         <text class=\"no-data\" x=\"{}\" y=\"{}\" font-size=\"13\" fill=\"{MUTED}\" text-anchor=\"middle\">No data</text>\n",
        num2(plot.left),
        num2(plot.top),
        num2(plot.width),
        num2(plot.height),
        num2(plot.left + plot.width / 2.0),
        num2(plot.top + plot.height / 2.0 + 4.0)
    ));
}

/// Grid lines and tick labels of the value axis.
fn value_axis(out: &mut String, plot: &Plot, axis: &Axis) {
    for tick in axis.ticks() {
        let y = axis.y(plot, tick);
        let color = if tick == 0.0 { MUTED } else { GRID };
        out.push_str(&format!(
            "<path d=\"M{} {} H{}\" stroke=\"{color}\" stroke-width=\"1\"/>\n<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{MUTED}\" text-anchor=\"end\">{}</text>\n",
            num2(plot.left),
            num2(y),
            num2(plot.left + plot.width),
            num2(plot.left - 6.0),
            num2(y + 4.0),
            escape(&axis.label(tick))
        ));
    }
}

/// The labels under the points, every n-th one when all would overlap.
fn category_labels(out: &mut String, plot: &Plot, points: &[Point]) {
    let slot = plot.width / points.len() as f64;
    let widest = points
        .iter()
        .map(|p| text_width(&p.label, 11.0, false))
        .fold(0.0, f64::max)
        + 8.0;
    let stride = ((widest / slot).ceil() as usize).max(1);
    for (i, point) in points.iter().enumerate().step_by(stride) {
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{MUTED}\" text-anchor=\"middle\">{}</text>\n",
            num2(plot.left + (i as f64 + 0.5) * slot),
            num2(plot.bottom() + 16.0),
            escape(&point.label)
        ));
    }
}

/// A coordinate with two decimals, trailing zeros dropped: chart geometry is finer than
/// the map's, and tests compare bar heights exactly.
fn num2(x: f64) -> String {
    let rounded = (x * 100.0).round() / 100.0;
    let text = format!("{rounded:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// A value that is not on a tick (a bin edge): a duration, a whole count, or up to two
/// decimals.
fn value_label(kind: ValueKind, value: f64) -> String {
    match kind {
        ValueKind::Hours => format::duration(value),
        ValueKind::Count => format!("{}", value.round() as i64),
        ValueKind::Number => num2(value),
    }
}

/// A point's tooltip: its label and value, and "so far" for a period in progress.
fn point_title(point: &Point, value: &str) -> String {
    if point.partial {
        format!("{}: {value} so far (in progress)", point.label)
    } else {
        format!("{}: {value}", point.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(low: f64, high: f64, step: f64, kind: ValueKind) -> Axis {
        Axis {
            low,
            high,
            step,
            kind,
        }
    }

    fn labels(axis: &Axis) -> Vec<String> {
        axis.ticks().iter().map(|&t| axis.label(t)).collect()
    }

    #[test]
    fn axis_ends_on_one_two_five_steps() {
        let n = ValueKind::Number;
        assert_eq!(Axis::covering(1.0, 4.0, n), axis(0.0, 4.0, 1.0, n));
        assert_eq!(Axis::covering(0.0, 37.0, n), axis(0.0, 40.0, 10.0, n));
        assert_eq!(Axis::covering(-3.0, 7.0, n), axis(-5.0, 10.0, 5.0, n));
        assert_eq!(Axis::covering(0.0, 0.0, n).high, 1.0);
        assert_eq!(
            Axis::covering(0.0, 4.0, n).ticks(),
            vec![0.0, 1.0, 2.0, 3.0, 4.0]
        );
        // Extremes: tiny and huge ranges still give a handful of ticks.
        let tiny = Axis::covering(0.0, 3e-9, n);
        assert!((3..=6).contains(&tiny.ticks().len()), "{tiny:?}");
        assert_eq!(Axis::covering(0.0, 7e15, n).step, 2e15);
    }

    #[test]
    fn count_ticks_are_distinct_whole_numbers() {
        let c = ValueKind::Count;
        for max in [1.0, 2.0, 3.0, 5.0, 7.0, 13.0, 1000.0] {
            let axis = Axis::covering(0.0, max, c);
            let labels = labels(&axis);
            let mut unique = labels.clone();
            unique.dedup();
            assert_eq!(labels, unique, "max {max}");
            assert!(
                labels.iter().all(|l| l.parse::<i64>().is_ok()),
                "{labels:?}"
            );
        }
        assert_eq!(Axis::covering(0.0, 1.0, c).ticks(), vec![0.0, 1.0]);
        assert_eq!(Axis::covering(0.0, 0.0, c), axis(0.0, 4.0, 1.0, c));
    }

    #[test]
    fn duration_ticks_are_human_steps() {
        let h = ValueKind::Hours;
        // The issue's example: a lead time of 913.06 hours.
        let weeks = Axis::covering(0.0, 913.06, h);
        assert_eq!(weeks.step, 336.0);
        assert_eq!(labels(&weeks), ["0m", "2w", "4w", "6w"]);
        let short = Axis::covering(0.0, 0.7, h);
        assert_eq!(short.step, 0.25);
        assert_eq!(labels(&short), ["0m", "15m", "30m", "45m"]);
        let long = Axis::covering(0.0, 24.0 * 365.0 * 30.0, h);
        assert_eq!(long.step, 8760.0 * 10.0);
        assert_eq!(labels(&long)[1], "10y");
    }

    #[test]
    fn number_ticks_keep_enough_decimals_to_differ() {
        let axis = Axis::covering(0.0, 0.07, ValueKind::Number);
        assert_eq!(labels(&axis), ["0", "0.02", "0.04", "0.06", "0.08"]);
    }

    #[test]
    fn a_week_in_progress_is_drawn_as_partial() {
        let points = [
            Point::new("W1", Some(4.0)),
            Point::in_progress("W2", Some(1.0)),
        ];
        let options = ChartOptions {
            values: ValueKind::Count,
            ..ChartOptions::default()
        };
        let bars = series_chart(&points, SeriesStyle::Bars, &options);
        assert_eq!(bars.matches("class=\"bar partial\"").count(), 1);
        assert!(bars.contains("W2: 1 so far (in progress)"));
        let line = series_chart(&points, SeriesStyle::Line, &options);
        let path = line
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(path.matches(['M', 'L']).count(), 1, "{path}");
    }

    #[test]
    fn coordinates_are_stable() {
        assert_eq!(num2(12.0), "12");
        assert_eq!(num2(12.346), "12.35");
        assert_eq!(num2(0.1 + 0.2), "0.3");
        assert_eq!(num2(-0.001), "0");
    }
}
