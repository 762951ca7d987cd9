//! Tests of flowmap-render's outputs, in one test binary: the SVG map, the HTML report,
//! the Mermaid export, the charts, and the escaping every one of them relies on.

mod charts;
mod common;
mod escaping;
mod html_report;
mod legibility;
mod map_svg;
mod mermaid;
mod outcome_page;
