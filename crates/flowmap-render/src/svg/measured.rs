//! The map held against the data: both numbers on every bound box, the work in progress
//! at each bound queue, and the measured bottleneck beside the drawn one.

use super::*;

use flowmap_core::measure::Flag;

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

impl<'a> Scene<'a> {
    /// The measurement of step `i`, when drawing a measured map.
    pub(super) fn step_measurement(&self, i: usize) -> Option<&'a StepMeasurement> {
        let id = &self.map.steps[i].id;
        self.measured?.steps.iter().find(|m| &m.id == id)
    }

    /// Two lines inside a bound box: both numbers, then the sample and the flag.
    pub(super) fn draw_measurement(&self, out: &mut String, i: usize, p: Placed) {
        let Some(m) = self.step_measurement(i) else {
            return;
        };
        let Some(estimate) = m.estimate_hours else {
            return;
        };
        let data = match m.measured_hours {
            Some(h) => rough_hours(h),
            None => "none".to_owned(),
        };
        let n = sample_size(m).unwrap_or(0);
        let first = format!("est {} · data {data}, n={n}", rough_hours(estimate));
        // Measured text is short and mostly digits: sized by its real width, not the widest
        // letter, so "est 1d · data 3.4d, n=152" fits a box.
        let fits = |size: f64| text_width(&first, size, false) <= BOX_W - 8.0;
        let size = [11.0, 10.0]
            .into_iter()
            .find(|&size| fits(size))
            .unwrap_or(9.0);
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"{size}\" font-weight=\"600\" fill=\"{INK}\" text-anchor=\"middle\" class=\"measured\">{}</text>\n",
            num(p.x + BOX_W / 2.0),
            num(p.y + 109.0),
            escape(&first)
        ));
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" font-weight=\"700\" fill=\"{}\" text-anchor=\"middle\" class=\"flag\">{}</text>\n",
            num(p.x + BOX_W / 2.0),
            num(p.y + 123.0),
            flag_color(m.flag),
            escape(m.flag.as_str())
        ));
    }

    /// The footer of a box that is the drawn bottleneck, the measured one, or both.
    pub(super) fn draw_measured_footer(
        &self,
        out: &mut String,
        p: Placed,
        footer_y: f64,
        drawn: bool,
        data: bool,
    ) {
        let (fill, label) = match (drawn, data) {
            (true, true) => (RED, "BOTTLENECK · DRAWN & DATA"),
            (true, false) => (RED, "DRAWN BOTTLENECK"),
            _ => ("#b45309", "DATA BOTTLENECK"),
        };
        out.push_str(&format!(
            "<path d=\"{}\" fill=\"{fill}\" class=\"{}\"/>\n",
            rounded_bottom(p.x, footer_y, BOX_W, FOOTER_H, 6.0),
            if data {
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
    }
}
