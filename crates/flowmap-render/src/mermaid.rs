//! The Mermaid flowchart export: a map as text that renders in Markdown viewers and wikis
//! that speak Mermaid.

use flowmap_core::map::{Map, State, Stream};

use crate::palette;
use crate::text::percent;

/// Exports a map as a Mermaid `flowchart LR`.
///
/// Each step is a node labelled with its name, process time, wait and %C&A; `after` edges
/// are solid arrows; rework is a dotted arrow back to the `rework_to` step, labelled with
/// the share of work sent back (1 − %C&A). Each node names its team and is coloured with
/// a `classDef` per team, in the same colours as the SVG map. (Team subgraphs would pull
/// a team's steps together even when other teams' steps lie between them, bending the
/// flow out of order.)
///
/// Node ids are `s<index>_<id>` (with `-` turned into `_`): unique, and never a Mermaid
/// keyword such as `end`. All text from the map is written as a `"..."` label with
/// Mermaid's entity codes (`#quot;`, `#lt;`, `#35;`, ...) for every character that could
/// end the label or be read as markup.
///
/// ```
/// use flowmap_core::map::{parse_map, Format};
///
/// let text = "name: Demo\nsteps:\n  - id: code\n    process: 4h\n  - id: review\n    wait: 1d\n    ca: 80%\n    rework_to: code\n";
/// let map = parse_map(text, Format::Yaml).unwrap().map;
/// let chart = flowmap_render::mermaid(&map);
/// assert!(chart.contains("flowchart LR"));
/// assert!(chart.contains("s0_code --> s1_review"));
/// assert!(chart.contains("s1_review -.->|\"20% rework\"| s0_code"));
/// ```
pub fn mermaid(map: &Map) -> String {
    let node = |i: usize| format!("s{i}_{}", map.steps[i].id.replace('-', "_"));
    let mut out = String::new();
    let stream = match map.stream {
        Stream::Delivery => "delivery",
        Stream::Recovery => "recovery",
    };
    let state = match map.state {
        State::Current => "current",
        State::Future => "future",
    };
    out.push_str(&format!(
        "%% Value stream map: {} ({stream} stream, {state} state)\n",
        escape_mermaid(&map.name)
    ));
    out.push_str("flowchart LR\n");
    for k in 0..map.teams.len() {
        let (color, tint) = palette::team(Some(&map.teams[k].id));
        out.push_str(&format!(
            "    classDef team{k} fill:{tint},stroke:{color},stroke-width:2px,color:#1f2937\n"
        ));
    }
    let label = |i: usize| {
        let step = &map.steps[i];
        let mut lines = vec![format!("<b>{}</b>", escape_mermaid(&step.name))];
        if let Some(team) = &step.team {
            let name = map.team(team).map_or(team.as_str(), |t| t.name.as_str());
            lines.push(format!("<i>{}</i>", escape_mermaid(name)));
        }
        lines.extend([
            escape_mermaid(&format!("P/T {} · wait {}", step.process, step.wait)),
            escape_mermaid(&format!("%C&A {}", percent(step.ca))),
        ]);
        if let Some(sub) = &step.drill_down {
            lines.push(escape_mermaid(&format!(
                "drill-down: {} steps",
                sub.steps.len()
            )));
        }
        format!("{}[\"{}\"]", node(i), lines.join("<br/>"))
    };
    for i in 0..map.steps.len() {
        out.push_str(&format!("    {}\n", label(i)));
    }
    for (i, step) in map.steps.iter().enumerate() {
        for pred in step.after.iter().filter_map(|id| map.step_index(id)) {
            out.push_str(&format!("    {} --> {}\n", node(pred), node(i)));
        }
    }
    for (i, step) in map.steps.iter().enumerate() {
        if step.ca < 1.0 {
            let target = map.step_index(&step.rework_to).unwrap_or(i);
            out.push_str(&format!(
                "    {} -.->|\"{} rework\"| {}\n",
                node(i),
                percent(1.0 - step.ca),
                node(target)
            ));
        }
    }
    for (k, team) in map.teams.iter().enumerate() {
        let members: Vec<String> = (0..map.steps.len())
            .filter(|&i| map.steps[i].team.as_deref() == Some(team.id.as_str()))
            .map(node)
            .collect();
        if !members.is_empty() {
            out.push_str(&format!("    class {} team{k}\n", members.join(",")));
        }
    }
    out
}

/// Escapes text for a `"..."` label in Mermaid, which decodes `#name;` and `#number;`
/// entity codes. `#` itself is escaped first so text such as `C#;` is not read as a code;
/// line breaks become spaces because a label is one line of the source.
fn escape_mermaid(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '&' => out.push_str("#amp;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\'' => out.push_str("#39;"),
            '`' => out.push_str("#96;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_end_a_label() {
        assert_eq!(
            escape_mermaid("<b>\"C#\" & 'x'`\n"),
            "#lt;b#gt;#quot;C#35;#quot; #amp; #39;x#39;#96; "
        );
        assert_eq!(escape_mermaid("Code review [fast]"), "Code review [fast]");
    }
}
