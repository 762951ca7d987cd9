//! Every example map (and the test fixtures' long maps), drawn 1280 px wide, is legible: no text smaller than 11 px, no
//! label on top of another label or across an arrow, and the legend names every team in
//! full. Drill-down maps are drawn and checked as maps of their own, as the report and the
//! map page show them.
//!
//! The check reads the SVG the renderer writes: each `<text>`'s box is estimated from its
//! position, anchor, font size and length (0.56 em a character, 0.62 em bold, as the
//! renderer itself measures), each arrow and line is taken from its path.

use flowmap_core::map::{Analysis, AnalysisOptions, Format, Map, analyze, parse_map};
use flowmap_render::map_svg;

use crate::common::parse_xml;

/// The width the picture is drawn at, in CSS pixels.
const SHOWN_WIDTH: f64 = 1280.0;
/// The smallest text a person reads comfortably off a screen, in CSS pixels.
const MIN_TEXT_PX: f64 = 11.0;

#[derive(Clone, Copy, Debug)]
struct Rect {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

impl Rect {
    fn overlap(&self, other: &Rect) -> f64 {
        let w = self.right.min(other.right) - self.left.max(other.left);
        let h = self.bottom.min(other.bottom) - self.top.max(other.top);
        if w > 0.0 && h > 0.0 { w.min(h) } else { 0.0 }
    }

    /// Whether the segment from `a` to `b` passes through the rectangle shrunk by
    /// `inset` on every side (Liang–Barsky clipping).
    fn crossed_by(&self, a: (f64, f64), b: (f64, f64), inset: f64) -> bool {
        let (x0, y0, x1, y1) = (
            self.left + inset,
            self.top + inset,
            self.right - inset,
            self.bottom - inset,
        );
        if x0 >= x1 || y0 >= y1 {
            return false;
        }
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
        for (p, q) in [
            (-dx, a.0 - x0),
            (dx, x1 - a.0),
            (-dy, a.1 - y0),
            (dy, y1 - a.1),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    return false;
                }
            } else {
                let t = q / p;
                if p < 0.0 {
                    t0 = t0.max(t);
                } else {
                    t1 = t1.min(t);
                }
            }
        }
        t0 < t1
    }
}

struct Label<'a> {
    text: String,
    size: f64,
    rect: Rect,
    node: roxmltree::Node<'a, 'a>,
}

struct Line<'a> {
    from: (f64, f64),
    to: (f64, f64),
    node: roxmltree::Node<'a, 'a>,
}

fn number(node: roxmltree::Node<'_, '_>, name: &str) -> Option<f64> {
    node.attribute(name).and_then(|v| v.parse().ok())
}

/// An attribute of the node or of the nearest ancestor that has it.
fn inherited<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> Option<&'a str> {
    node.ancestors().find_map(|n| n.attribute(name))
}

fn labels<'a>(doc: &'a roxmltree::Document<'a>) -> Vec<Label<'a>> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|node| {
            let text: String = node
                .descendants()
                .filter(|n| n.is_text() && !n.ancestors().any(|a| a.has_tag_name("title")))
                .filter_map(|n| n.text())
                .collect();
            let size: f64 = inherited(node, "font-size")
                .and_then(|s| s.parse().ok())
                .unwrap_or(16.0);
            let bold = inherited(node, "font-weight")
                .is_some_and(|w| w == "bold" || w.parse::<u32>().is_ok_and(|w| w >= 600));
            let spacing = number(node, "letter-spacing").unwrap_or(0.0);
            let chars = text.chars().count() as f64;
            let width = chars * size * if bold { 0.62 } else { 0.56 } + chars * spacing;
            let x = number(node, "x").unwrap_or(0.0);
            let y = number(node, "y").unwrap_or(0.0);
            let left = match inherited(node, "text-anchor") {
                Some("middle") => x - width / 2.0,
                Some("end") => x - width,
                _ => x,
            };
            Label {
                text,
                size,
                rect: Rect {
                    left,
                    top: y - 0.75 * size,
                    right: left + width,
                    bottom: y + 0.22 * size,
                },
                node,
            }
        })
        .filter(|l| !l.text.trim().is_empty())
        .collect()
}

/// The straight pieces of every drawn line: `<line>`s and unfilled `<path>`s (arrows,
/// rework loops, the timeline), curves taken as the chord between their ends.
fn lines<'a>(doc: &'a roxmltree::Document<'a>) -> Vec<Line<'a>> {
    let mut out = Vec::new();
    for node in doc.descendants() {
        if node.has_tag_name("line") {
            let n = |k| number(node, k).unwrap_or(0.0);
            out.push(Line {
                from: (n("x1"), n("y1")),
                to: (n("x2"), n("y2")),
                node,
            });
        }
        if !node.has_tag_name("path") || node.attribute("fill") != Some("none") {
            continue;
        }
        let d = node.attribute("d").unwrap_or("");
        // Split "M10 20 H30 Q1 2 3 4" into commands with their numbers.
        let mut tokens: Vec<(char, Vec<f64>)> = Vec::new();
        let mut number_text = String::new();
        let flush = |tokens: &mut Vec<(char, Vec<f64>)>, text: &mut String| {
            if !text.is_empty() {
                if let (Some(last), Ok(v)) = (tokens.last_mut(), text.parse()) {
                    last.1.push(v);
                }
                text.clear();
            }
        };
        for c in d.chars() {
            if c.is_ascii_alphabetic() {
                flush(&mut tokens, &mut number_text);
                tokens.push((c, Vec::new()));
            } else if c == ' ' || c == ',' {
                flush(&mut tokens, &mut number_text);
            } else if c == '-' && !number_text.is_empty() {
                flush(&mut tokens, &mut number_text);
                number_text.push(c);
            } else {
                number_text.push(c);
            }
        }
        flush(&mut tokens, &mut number_text);
        let mut at = (0.0, 0.0);
        let mut start = at;
        for (command, args) in tokens {
            let next = match (command, args.as_slice()) {
                ('M', [x, y, ..]) => {
                    at = (*x, *y);
                    start = at;
                    continue;
                }
                ('H', [x, ..]) => (*x, at.1),
                ('V', [y, ..]) => (at.0, *y),
                ('L', [x, y, ..]) => (*x, *y),
                ('Q', [_, _, x, y]) => (*x, *y),
                ('C', [_, _, _, _, x, y]) => (*x, *y),
                ('Z' | 'z', _) => start,
                (other, args) => panic!("path command {other} {args:?} in {d:?}"),
            };
            out.push(Line {
                from: at,
                to: next,
                node,
            });
            at = next;
        }
    }
    out
}

/// The group a label and a line share when the label names that line (a rework loop's
/// share sits on its own loop, haloed).
fn same_group(a: roxmltree::Node<'_, '_>, b: roxmltree::Node<'_, '_>) -> bool {
    let group = |n: roxmltree::Node<'_, '_>| {
        n.ancestors()
            .find(|g| g.has_tag_name("g") && g.attribute("class") == Some("rework"))
            .map(|g| g.id())
    };
    group(a).is_some() && group(a) == group(b)
}

/// Every problem of one drawn map, as sentences.
fn problems(name: &str, map: &Map, analysis: &Analysis) -> Vec<String> {
    let svg = map_svg(map, analysis);
    let doc = parse_xml(&svg);
    let view: Vec<f64> = doc
        .root_element()
        .attribute("viewBox")
        .expect("a viewBox")
        .split(' ')
        .map(|v| v.parse().expect("a number"))
        .collect();
    let scale = SHOWN_WIDTH / view[2];
    let labels = labels(&doc);
    let lines = lines(&doc);
    let mut found = Vec::new();
    for label in &labels {
        let px = label.size * scale;
        if px < MIN_TEXT_PX - 1e-9 {
            found.push(format!(
                "{name}: {:?} is {px:.1} px at {SHOWN_WIDTH} px",
                label.text
            ));
        }
    }
    for (i, a) in labels.iter().enumerate() {
        for b in &labels[i + 1..] {
            if a.rect.overlap(&b.rect) > 1.0 {
                found.push(format!("{name}: {:?} overlaps {:?}", a.text, b.text));
            }
        }
        for line in &lines {
            if !same_group(a.node, line.node) && a.rect.crossed_by(line.from, line.to, 1.5) {
                found.push(format!(
                    "{name}: {:?} lies across a line from {:?} to {:?}",
                    a.text, line.from, line.to
                ));
            }
        }
    }
    let shown: Vec<&str> = labels.iter().map(|l| l.text.as_str()).collect();
    for team in &map.teams {
        let owns_a_step = map
            .steps
            .iter()
            .any(|s| s.team.as_deref() == Some(team.id.as_str()));
        if owns_a_step && !shown.contains(&team.name.as_str()) {
            found.push(format!(
                "{name}: the legend does not show team {:?} in full",
                team.name
            ));
        }
    }
    found
}

/// The map and every drill-down inside it, each with its analysis.
fn with_drill_downs(name: String, map: Map, analysis: Analysis) -> Vec<(String, Map, Analysis)> {
    let mut all = Vec::new();
    for step in &map.steps {
        let sub_analysis = analysis
            .steps
            .iter()
            .find(|s| s.id == step.id)
            .and_then(|s| s.drill_down.as_deref());
        if let (Some(sub), Some(sub_analysis)) = (&step.drill_down, sub_analysis) {
            all.extend(with_drill_downs(
                format!("{name}#{}", step.id),
                (**sub).clone(),
                sub_analysis.clone(),
            ));
        }
    }
    all.insert(0, (name, map, analysis));
    all
}

#[test]
fn every_example_map_is_legible_at_1280_px() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the examples directory")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    let mut found = Vec::new();
    let mut checked = 0;
    for path in files {
        let Some(format) = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_name)
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("an example map");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let map = parse_map(&text, format)
            .unwrap_or_else(|e| panic!("{name} does not parse: {e:?}"))
            .map;
        let analysis = analyze(&map, &AnalysisOptions::default());
        for (name, map, analysis) in with_drill_downs(name, map, analysis) {
            found.extend(problems(&name, &map, &analysis));
            checked += 1;
        }
    }
    // The long maps of the tests, and fifteen steps in a row: the widest a map gets.
    let mut chain = String::from(
        "name: Fifteen in a row\nteams:\n  - { id: a, name: Payments platform engineering and operations }\nsteps:\n",
    );
    for k in 0..15 {
        chain.push_str(&format!(
            "  - id: s{k}\n    name: Step number {k} of the chain\n    team: a\n    wait: 1d..3d\n    process: 2h\n    ca: 90%\n"
        ));
    }
    for (name, text) in [
        ("payments-15.yaml", crate::common::PAYMENTS_15),
        ("recovery-dag.yaml", crate::common::RECOVERY_DAG),
        ("fifteen in a row", chain.as_str()),
    ] {
        let (map, analysis) = crate::common::load(text);
        found.extend(problems(name, &map, &analysis));
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} maps were checked");
    assert!(
        found.is_empty(),
        "{} problems:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_check_finds_small_text_overlaps_and_cut_team_names() {
    // A label crossing a line, two labels on top of each other, a small font.
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 2560 100\">\
               <path d=\"M0 50 H200\" fill=\"none\"/>\
               <text x=\"10\" y=\"54\" font-size=\"12\">across</text>\
               <text x=\"300\" y=\"20\" font-size=\"30\">first</text>\
               <text x=\"310\" y=\"24\" font-size=\"30\">second</text></svg>";
    let doc = parse_xml(svg);
    let labels = labels(&doc);
    let lines = lines(&doc);
    assert_eq!(labels.len(), 3);
    assert!(labels[0].rect.crossed_by(lines[0].from, lines[0].to, 1.5));
    assert!(labels[1].rect.overlap(&labels[2].rect) > 1.0);
    assert!(!labels[0].rect.crossed_by((0.0, 90.0), (200.0, 90.0), 1.5));
    // 12 user units on a 2560-wide picture shown at 1280 px are 6 px.
    assert_eq!(labels[0].size * SHOWN_WIDTH / 2560.0, 6.0);
}
