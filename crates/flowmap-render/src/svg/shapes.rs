//! The SVG primitives the picture is built from: queue triangles, arrows and arrowheads,
//! connector circles and boxes with rounded corners.

use super::*;

pub(super) fn triangle(cx: f64, cy: f64, size: f64, alarm: bool) -> String {
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

pub(super) fn path_el(d: &str, color: &str, width: f64, dashed: bool) -> String {
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

pub(super) fn arrow_line(x1: f64, y: f64, x2: f64, color: &str, width: f64) -> String {
    path_el(
        &format!("M{} {} H{}", num(x1), num(y), num(x2 - 7.0)),
        color,
        width,
        false,
    ) + &arrowhead_right(x2, y, color)
}

pub(super) fn arrowhead_right(x: f64, y: f64, color: &str) -> String {
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

pub(super) fn arrowhead_left(x: f64, y: f64, color: &str) -> String {
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

pub(super) fn arrowhead_down(x: f64, y: f64) -> String {
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

pub(super) fn arrowhead_up(x: f64, y: f64) -> String {
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

pub(super) fn connector_circle(cx: f64, cy: f64, label: usize) -> String {
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
pub(super) fn rounded_top(x: f64, y: f64, w: f64, h: f64, r: f64) -> String {
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
pub(super) fn rounded_bottom(x: f64, y: f64, w: f64, h: f64, r: f64) -> String {
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
