//! Draws flowmap's pictures: the value stream map as SVG ([`map_svg`]), the self-contained
//! HTML report ([`html_report`]), the Mermaid flowchart export ([`mermaid`]) and small SVG
//! charts for the dashboard ([`chart`]) and an outcome's
//! page with its journey ([`outcome`]).
//!
//! Everything here is a pure function from a parsed [`Map`](flowmap_core::map::Map) and
//! its [`Analysis`](flowmap_core::map::Analysis) (or a list of numbers) to a `String`.
//! This crate must not compute metrics — every number it shows comes from
//! `flowmap-core` — and must not do I/O; the caller decides where the text goes.
//!
//! Three rules hold for every output:
//! - text from a map file is always escaped ([`escape`] for SVG and HTML, entity codes for
//!   Mermaid), so a step named `<script>` is shown, never run;
//! - output is deterministic: no randomness, no clock, fixed number formatting, so the
//!   same input gives the same bytes and snapshot tests are stable;
//! - SVG is written by hand, with presentation attributes only (no `<style>`, no `id`s),
//!   so it can be embedded inline in any page without leaking styles or colliding ids.

pub mod chart;
mod html;
mod measured;
mod mermaid;
pub mod outcome;
mod palette;
mod svg;
mod text;

pub use html::{html_report, map_details};
pub use measured::{measured_html_report, measured_table};
pub use mermaid::mermaid;
pub use svg::{map_svg, measured_map_svg};
pub use text::escape;
