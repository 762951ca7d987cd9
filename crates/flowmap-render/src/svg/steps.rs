//! The step boxes and the flow between them: each box with its numbers and tooltip, the
//! queue triangle of its wait, and the flow arrows (with connectors between bands).

use super::*;

impl Scene<'_> {
    pub(super) fn draw_edges(&self, out: &mut String) {
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
                    // A box that also has an arrow from its own band takes the connector
                    // high on its side, clear of that arrow and of the queue's labels.
                    let shares_the_gap = preds.iter().any(|&q| self.placed[q].band == to.band);
                    if shares_the_gap {
                        let cy = to.y + 16.0 + (*stacked - 1) as f64 * 24.0;
                        let cx = to.x - 30.0;
                        out.push_str(&connector_circle(cx, cy, label));
                        out.push_str(&arrow_line(cx + 10.0, cy, to.x, color, width));
                        continue;
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
    pub(super) fn draw_connector_out(
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

    pub(super) fn is_critical_edge(&self, from: usize, to: usize) -> bool {
        self.critical.windows(2).any(|w| w[0] == from && w[1] == to)
    }

    /// Whether another box is stacked under this step's box in its column.
    pub(super) fn has_box_below(&self, i: usize) -> bool {
        let p = self.placed[i];
        self.placed
            .iter()
            .any(|q| q.column == p.column && q.row > p.row)
    }

    /// Whether a straight line at `row` runs free through every column between two steps.
    pub(super) fn free_row(&self, row: usize, from: &Placed, to: &Placed) -> bool {
        self.placed
            .iter()
            .all(|p| p.row != row || p.column <= from.column || p.column >= to.column)
    }

    /// The height at which an arrow that skips columns passes them: just under the lowest
    /// box in the columns it skips.
    pub(super) fn channel_y(&self, from: &Placed, to: &Placed) -> f64 {
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

    pub(super) fn draw_step(&self, out: &mut String, i: usize) {
        let step = &self.map.steps[i];
        let p = self.placed[i];
        let sa = self.step_analysis(i);
        let (color, tint) = palette::team(step.team.as_deref());
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
            self.draw_measured_footer(out, p, footer_y, is_bottleneck, data_bottleneck);
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
    pub(super) fn tooltip(&self, i: usize, team_name: Option<&str>) -> String {
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
    pub(super) fn draw_wait(&self, out: &mut String, i: usize) {
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
}

/// An item count for a queue label: one decimal, and `<0.1` rather than a misleading `0`
/// for a queue that is small but not empty.
pub(super) fn queue_count(q: f64) -> String {
    if q > 0.0 && q < 0.05 {
        "<0.1".to_string()
    } else {
        num(q)
    }
}

/// Hours for a headline number, in at most two units (`1w 6d`, `12h 54m`) like every
/// duration the dashboard and the report show: minutes on a multi-week lead time are noise
/// to a room reading it off a screen.
pub(super) fn rough_hours(hours: f64) -> String {
    flowmap_core::format::duration(hours)
}

pub(super) fn title_tag(text: Option<&str>) -> String {
    text.map_or(String::new(), |t| format!("<title>{}</title>", escape(t)))
}

/// An estimate as one or two lines: a range is split after `..` when it is longer than the
/// gap left of a box holds clear of an arrow's elbow (nine characters).
pub(super) fn estimate_lines(estimate: Estimate) -> Vec<String> {
    let text = estimate.to_string();
    if text.chars().count() <= 9 || !estimate.is_range() {
        return vec![text];
    }
    vec![
        format!("{}..", format_hours(estimate.low)),
        format_hours(estimate.high),
    ]
}
