//! Rework loops: which lane each loop takes (above, below, under a box, or away to
//! another band), how overlapping loops stack, and their dashed paths and labels.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lane {
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
    pub(super) fn above(self) -> bool {
        match self {
            Lane::Above => true,
            Lane::Below | Lane::Under => false,
            Lane::Away { above, .. } => above,
        }
    }
}

/// A rework loop from a step back to its `rework_to` step.
#[derive(Clone, Debug)]
pub(super) struct Loop {
    pub(super) from: usize,
    pub(super) to: usize,
    pub(super) lane: Lane,
    /// Column span, for stacking: loops whose spans overlap get different levels.
    pub(super) lo: usize,
    pub(super) hi: usize,
    pub(super) level: usize,
}

pub(super) struct LoopShape {
    pub(super) d: String,
    pub(super) head: String,
    pub(super) label: String,
    pub(super) label_x: f64,
    pub(super) label_y: f64,
    pub(super) anchor: &'static str,
}

impl Scene<'_> {
    /// The path, arrowhead and label of a rework loop.
    pub(super) fn loop_shape(&self, l: &Loop) -> LoopShape {
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
    pub(super) fn draw_loop(&self, out: &mut String, l: &Loop) {
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
}

/// The rework loops of a map, one per step whose %C&A is below 100 %.
pub(super) fn rework_loops(
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
pub(super) fn assign_levels(
    loops: &mut [Loop],
    column: &[usize],
    band_of: impl Fn(usize) -> usize,
) {
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
