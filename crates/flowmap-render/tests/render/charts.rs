//! The dashboard's chart helpers.

use crate::common::{attr, parse_xml};
use flowmap_render::chart::{
    ChartOptions, Marker, Point, SeriesStyle, histogram, series_chart, sparkline,
};

fn elements<'a>(doc: &'a roxmltree::Document<'a>, class: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .collect()
}

fn weeks(values: &[Option<f64>]) -> Vec<Point> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| Point::new(format!("W{}", i + 1), *v))
        .collect()
}

#[test]
fn bar_heights_are_proportional_to_values() {
    let svg = series_chart(
        &weeks(&[Some(1.0), Some(2.0), Some(4.0)]),
        SeriesStyle::Bars,
        &ChartOptions::default(),
    );
    let doc = parse_xml(&svg);
    let bars = elements(&doc, "bar");
    let heights: Vec<f64> = bars.iter().map(|b| attr(*b, "height")).collect();
    // Plot height 240 − 12 − 34 = 194 on an axis from 0 to 4.
    assert_eq!(heights, vec![48.5, 97.0, 194.0]);
    // All bars stand on the zero line at y = 12 + 194.
    for bar in &bars {
        assert_eq!(attr(*bar, "y") + attr(*bar, "height"), 206.0);
    }
    assert!(svg.contains("<title>W2: 2</title>"));
}

#[test]
fn missing_values_are_gaps_not_zeros() {
    let points = weeks(&[Some(1.0), None, Some(3.0), Some(f64::NAN), Some(4.0)]);
    let bars = series_chart(&points, SeriesStyle::Bars, &ChartOptions::default());
    assert_eq!(elements(&parse_xml(&bars), "bar").len(), 3);

    let line = series_chart(&points, SeriesStyle::Line, &ChartOptions::default());
    let doc = parse_xml(&line);
    assert_eq!(elements(&doc, "point").len(), 3);
    let path = elements(&doc, "line")[0].attribute("d").unwrap();
    // Three strokes: W1 alone, W3 alone, W5 alone — each gap lifts the pen.
    assert_eq!(path.matches('M').count(), 3);
    assert_eq!(path.matches('L').count(), 0);

    let joined = series_chart(
        &weeks(&[Some(1.0), Some(2.0), None, Some(3.0)]),
        SeriesStyle::Line,
        &ChartOptions::default(),
    );
    let doc = parse_xml(&joined);
    let path = elements(&doc, "line")[0].attribute("d").unwrap();
    assert_eq!(
        (path.matches('M').count(), path.matches('L').count()),
        (2, 1)
    );
}

#[test]
fn empty_series_says_no_data() {
    for points in [weeks(&[]), weeks(&[None, None])] {
        for style in [SeriesStyle::Bars, SeriesStyle::Line] {
            let svg = series_chart(&points, style, &ChartOptions::default());
            let doc = parse_xml(&svg);
            assert_eq!(elements(&doc, "no-data")[0].text(), Some("No data"));
            assert!(elements(&doc, "bar").is_empty() && elements(&doc, "point").is_empty());
        }
    }
    assert!(sparkline(&[], 100.0, 20.0).contains(">no data<"));
    assert!(histogram(&[], 10, &[], &ChartOptions::default()).contains(">No data<"));
}

#[test]
fn labels_and_titles_are_escaped() {
    let options = ChartOptions {
        title: "<script>alert(1)</script>".into(),
        unit: "\"&'<>".into(),
        ..ChartOptions::default()
    };
    let svg = series_chart(&[Point::new("<b>", Some(1.0))], SeriesStyle::Bars, &options);
    parse_xml(&svg);
    assert!(!svg.contains("<script>") && !svg.contains("\"&'<>") && !svg.contains("<b>"));
    assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn crowded_labels_are_thinned() {
    let points: Vec<Point> = (1..=52)
        .map(|w| Point::new(format!("2026-W{w:02}"), Some(w as f64)))
        .collect();
    let svg = series_chart(&points, SeriesStyle::Bars, &ChartOptions::default());
    // 572 px for 52 slots of 11 px; a 55 px label needs every 6th slot: 9 labels.
    let labels = "text-anchor=\"middle\">2026-W";
    assert_eq!(svg.matches(labels).count(), 9);
    assert!(svg.contains(">2026-W01</text>") && svg.contains(">2026-W07</text>"));
    assert!(!svg.contains(">2026-W02</text>"));
}

#[test]
fn sparkline_spans_its_own_range_and_ends_in_a_dot() {
    let svg = sparkline(&[Some(10.0), Some(20.0), None, Some(15.0)], 100.0, 20.0);
    let doc = parse_xml(&svg);
    let path = elements(&doc, "line")[0].attribute("d").unwrap();
    // x from 3 to 97 in thirds; y: 10 → bottom (17), 20 → top (3), 15 → middle (10).
    assert_eq!(path, "M3 17 L34.33 3 M97 10");
    let last = elements(&doc, "last")[0];
    assert_eq!((attr(last, "cx"), attr(last, "cy")), (97.0, 10.0));
}

#[test]
fn histogram_counts_bins_and_draws_markers() {
    let values = [1.0, 2.0, 2.0, 3.0, 9.0];
    let markers = [
        Marker {
            label: "median 2h".into(),
            value: 2.0,
        },
        Marker {
            label: "p90 6.6h".into(),
            value: 6.6,
        },
    ];
    let svg = histogram(&values, 4, &markers, &ChartOptions::default());
    let doc = parse_xml(&svg);
    let bins = elements(&doc, "bin");
    // Bins of width 2 over [1, 9]: {1, 2, 2}, {3}, {}, {9}; axis 0..3 over 194 px.
    let heights: Vec<f64> = bins.iter().map(|b| attr(*b, "height")).collect();
    assert_eq!(heights, vec![194.0, 64.67, 0.0, 64.67]);
    assert!(svg.contains("<title>1 – 3: 3</title>"));
    // The median line at x = 52 + (2 − 1) / 8 × 572 = 123.5.
    let lines = elements(&doc, "marker");
    assert_eq!(lines.len(), 2);
    let median = lines[0]
        .children()
        .find(|n| n.has_tag_name("path"))
        .unwrap();
    assert_eq!(median.attribute("d"), Some("M123.5 12 V206"));
    assert!(svg.contains(">median 2h<") && svg.contains(">p90 6.6h<"));
}

#[test]
fn histogram_of_equal_values_has_one_bin() {
    let svg = histogram(&[5.0, 5.0, 5.0], 10, &[], &ChartOptions::default());
    let doc = parse_xml(&svg);
    let bins = elements(&doc, "bin");
    assert_eq!(bins.len(), 1);
    assert_eq!(attr(bins[0], "height"), 194.0);
}
