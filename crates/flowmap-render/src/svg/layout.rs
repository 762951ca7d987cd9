//! Where everything goes: the columns, rows and bands of the step boxes, the vertical
//! extent of each band (rows, rework lanes, the timeline ladder) and the summary cards.
//! Pure geometry, decided before anything is drawn, so it can be tested as numbers.

use super::*;

pub(super) const MARGIN: f64 = 32.0;
pub(super) const BOX_W: f64 = 144.0;
pub(super) const BOX_H: f64 = 150.0;
pub(super) const HEADER_H: f64 = 44.0;
pub(super) const FOOTER_H: f64 = 20.0;
/// The space left of every box: the queue (wait) marker sits here, on the incoming arrow,
/// with its labels clear of the elbow where an arrow changes rows.
pub(super) const GAP: f64 = 96.0;
pub(super) const COL_W: f64 = BOX_W + GAP;
pub(super) const ROW_GAP: f64 = 44.0;
/// Four columns of [`COL_W`] keep the smallest text (10.5) above 11 px when the picture is
/// shown 1280 px wide: the picture is then at most 1180 wide.
pub(super) const MAX_COLUMNS_PER_BAND: usize = 4;
/// Room right of the last column for the ladder's totals and outgoing connectors.
pub(super) const END_W: f64 = 156.0;
pub(super) const MIN_WIDTH: f64 = 1000.0;
/// Vertical distance between two nested rework loops.
pub(super) const LEVEL_H: f64 = 22.0;
pub(super) const LADDER_H: f64 = 92.0;
pub(super) const BAND_GAP: f64 = 18.0;
/// Where an arrow that changes rows turns, measured from the start of the gap.
pub(super) const ELBOW: f64 = 10.0;
pub(super) const CARD_H: f64 = 66.0;
pub(super) const CARD_GAP: f64 = 12.0;

/// Where one step is drawn.
#[derive(Clone, Copy, Debug)]
pub(super) struct Placed {
    pub(super) column: usize,
    pub(super) row: usize,
    pub(super) band: usize,
    pub(super) x: f64,
    pub(super) y: f64,
}

impl Placed {
    pub(super) fn right(&self) -> f64 {
        self.x + BOX_W
    }

    pub(super) fn mid_y(&self) -> f64 {
        self.y + BOX_H / 2.0
    }

    /// Where the gap left of the box starts.
    pub(super) fn gap_x(&self) -> f64 {
        self.x - GAP
    }
}

/// The vertical extent of one band of columns.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Band {
    pub(super) rows: usize,
    pub(super) rows_top: f64,
    pub(super) rows_bottom: f64,
    pub(super) ladder_top: f64,
}

pub(super) struct Card {
    pub(super) label: String,
    pub(super) value: String,
    pub(super) note: Option<String>,
    pub(super) width: f64,
}

impl<'a> Scene<'a> {
    pub(super) fn new(map: &'a Map, analysis: &'a Analysis) -> Self {
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

    pub(super) fn layout_cards(&mut self) {
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
}

pub(super) fn card(label: &str, value: String, note: Option<&str>) -> Card {
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

#[cfg(test)]
mod tests {
    use flowmap_core::map::{AnalysisOptions, Format, analyze, parse_map};

    use super::*;

    fn scene_boxes(text: &str) -> Vec<(String, Placed)> {
        let map = parse_map(text, Format::Yaml).expect("a valid map").map;
        let analysis = analyze(&map, &AnalysisOptions::default());
        let scene = Scene::new(&map, &analysis);
        map.steps
            .iter()
            .map(|s| s.id.clone())
            .zip(scene.placed.iter().copied())
            .collect()
    }

    fn overlap(a: &Placed, b: &Placed) -> bool {
        a.x < b.x + BOX_W && b.x < a.x + BOX_W && a.y < b.y + BOX_H && b.y < a.y + BOX_H
    }

    #[test]
    fn parallel_steps_share_a_column_with_the_critical_one_on_top() {
        // code → (review | test) → deploy; review waits longer, so it is critical.
        let boxes = scene_boxes(
            "name: Fork\nsteps:\n  - id: code\n    process: 1h\n\
             \x20 - id: review\n    after: [code]\n    wait: 1d\n    process: 1h\n\
             \x20 - id: test\n    after: [code]\n    wait: 1h\n    process: 1h\n\
             \x20 - id: deploy\n    after: [review, test]\n    process: 1h\n",
        );
        let at = |id: &str| boxes.iter().find(|(s, _)| s == id).expect("placed").1;
        let columns: Vec<(usize, usize)> = boxes.iter().map(|(_, p)| (p.column, p.row)).collect();
        assert_eq!(columns, [(0, 0), (1, 0), (1, 1), (2, 0)]);
        // Column c's box starts at MARGIN + (c + 1) · COL_W − BOX_W: 128, 368, 608.
        assert_eq!(
            [at("code").x, at("review").x, at("test").x, at("deploy").x],
            [128.0, 368.0, 368.0, 608.0]
        );
        assert_eq!(at("code").y, at("review").y);
        assert_eq!(at("deploy").y, at("review").y);
        assert_eq!(at("test").y - at("review").y, BOX_H + ROW_GAP);
        for (i, (a, pa)) in boxes.iter().enumerate() {
            for (b, pb) in &boxes[i + 1..] {
                assert!(!overlap(pa, pb), "{a} and {b} overlap");
            }
        }
    }

    #[test]
    fn long_maps_wrap_into_bands_below_each_other() {
        let mut text = String::from("name: Long\nsteps:\n");
        for k in 0..15 {
            text.push_str(&format!("  - id: s{k}\n    process: 1h\n"));
        }
        let boxes = scene_boxes(&text);
        // 15 columns need 4 bands of at most 4; they are shared out evenly, 4 per band.
        let bands: Vec<usize> = boxes.iter().map(|(_, p)| p.band).collect();
        assert_eq!(bands, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3]);
        // Each band starts again at the left, below the band before it.
        assert_eq!(boxes[4].1.x, boxes[0].1.x);
        assert!(boxes[4].1.y >= boxes[3].1.y + BOX_H + LADDER_H);
        assert!(boxes[12].1.y >= boxes[11].1.y + BOX_H + LADDER_H);
    }
}
