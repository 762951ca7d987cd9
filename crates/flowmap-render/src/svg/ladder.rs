//! The timeline ladder under each band: waits on the upper rung, process times on the
//! lower, along the critical path, with the totals at the end.

use super::*;

impl Scene<'_> {
    /// The timeline ladder of one band: for each critical-path step in the band, its wait
    /// on the upper rung (from the previous critical box to this one) and its process time
    /// on the lower rung (under the box). The last band with a critical step gets the
    /// totals.
    pub(super) fn draw_ladder(&self, out: &mut String, b: usize) {
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
}
