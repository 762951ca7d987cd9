//! Every way a map file can be wrong is reported as FILE:LINE:COL, all at once.

use flowmap_core::map::{Diagnostic, Format, parse_map};

fn errors(text: &str, format: Format) -> Vec<Diagnostic> {
    match parse_map(text, format) {
        Ok(parsed) => panic!("expected errors, got a valid map: {:?}", parsed.map.name),
        Err(errors) => errors,
    }
}

/// Each error as `LINE:COL: message`, for compact assertions.
fn located(text: &str, format: Format) -> Vec<String> {
    errors(text, format)
        .iter()
        .map(|d| format!("{}:{}: {}", d.pos.line, d.pos.column, d.message))
        .collect()
}

#[track_caller]
fn assert_one(text: &str, at: &str, needle: &str) {
    let found = located(text, Format::Yaml);
    assert!(
        found
            .iter()
            .any(|e| e.starts_with(at) && e.contains(needle)),
        "expected an error at {at} containing {needle:?}, got {found:#?}"
    );
}

#[test]
fn unknown_fields_name_the_likely_typo() {
    assert_one(
        "name: x\nsteps:\n  - id: a\n    proces: 1h\n",
        "4:5",
        "did you mean `process`",
    );
    assert_one("name: x\nstep:\n  - id: a\n", "2:1", "did you mean `steps`");
    assert_one(
        "name: x\ncolour: red\nsteps: [{id: a}]\n",
        "2:1",
        "expected one of",
    );
}

#[test]
fn duplicate_ids_and_unknown_teams() {
    assert_one(
        "name: x\nsteps:\n  - id: a\n  - id: a\n",
        "4:9",
        "used twice",
    );
    assert_one(
        "name: x\nteams: [{id: dev}]\nsteps:\n  - id: a\n    team: ops\n",
        "5:11",
        "unknown team `ops`: known teams: dev",
    );
    assert_one(
        "name: x\nteams: [{id: dev}, {id: dev}]\nsteps: [{id: a}]\n",
        "2:25",
        "team id `dev` is used twice",
    );
}

#[test]
fn after_must_name_an_earlier_step() {
    assert_one(
        "name: x\nsteps:\n  - id: a\n    after: [b]\n  - id: b\n",
        "4:13",
        "`b` is listed later",
    );
    assert_one(
        "name: x\nsteps:\n  - id: a\n  - id: b\n    after: [nope]\n",
        "5:13",
        "`nope` is not a step of this map",
    );
    assert_one(
        "name: x\nsteps:\n  - id: a\n    after: a\n",
        "4:12",
        "cannot come `after` itself",
    );
}

#[test]
fn rework_must_go_back() {
    assert_one(
        "name: x\nsteps:\n  - id: a\n    rework_to: b\n  - id: b\n",
        "4:16",
        "`b` is listed later",
    );
}

#[test]
fn ca_must_be_a_fraction_that_lets_rework_finish() {
    assert_one(
        "name: x\nsteps:\n  - id: a\n    ca: 120%\n",
        "4:9",
        "between 0% and 100%",
    );
    assert_one(
        "name: x\nsteps:\n  - id: a\n    ca: 80\n",
        "4:9",
        "between 0% and 100%",
    );
    assert_one(
        "name: x\nsteps:\n  - id: a\n    ca: -0.1\n",
        "4:9",
        "between 0% and 100%",
    );
    assert_one(
        "name: x\nsteps:\n  - id: a\n    ca: lots\n",
        "4:9",
        "percentage like `80%`",
    );
    assert_one(
        "name: x\nsteps:\n  - id: a\n    ca: 0%\n",
        "4:9",
        "can never finish",
    );
}

#[test]
fn durations_must_parse() {
    assert_one(
        "name: x\nsteps:\n  - id: a\n    wait: 4\n",
        "4:11",
        "needs a unit",
    );
    assert_one(
        "name: x\nsteps:\n  - id: a\n    wait: 4 days\n",
        "4:11",
        "not a duration unit",
    );
    assert_one(
        "name: x\nsteps:\n  - id: a\n    process: 3d..1d\n",
        "4:14",
        "backwards",
    );
    assert_one(
        "name: x\nsteps:\n  - id: a\n    process: [1h]\n",
        "4:14",
        "found a list",
    );
}

#[test]
fn ids_stream_and_arrivals_are_checked() {
    assert_one(
        "name: x\nsteps:\n  - id: Code Review\n",
        "3:9",
        "not a valid id",
    );
    assert_one(
        "name: x\nstream: happy\nsteps: [{id: a}]\n",
        "2:9",
        "delivery or recovery",
    );
    assert_one(
        "name: x\narrivals: lots\nsteps: [{id: a}]\n",
        "2:11",
        "`30/week`",
    );
    assert_one("steps: [{id: a}]\n", "1:1", "missing field `name`");
    assert_one("name: x\n", "1:1", "missing field `steps`");
    assert_one("name: x\nsteps: []\n", "2:8", "at least one step");
    assert_one("- just\n- a list\n", "1:1", "expected a map");
}

#[test]
fn several_errors_are_all_reported_in_order() {
    let found = located(
        "name: x\nsteps:\n  - id: a\n    wait: 4\n    ca: 2\n  - id: a\n    team: nobody\n",
        Format::Yaml,
    );
    assert_eq!(found.len(), 4, "{found:#?}");
    let lines: Vec<&str> = found.iter().map(|e| e.split(':').next().unwrap()).collect();
    assert_eq!(lines, ["4", "5", "6", "7"]);
}

#[test]
fn drill_down_errors_point_inside_the_sub_map() {
    assert_one(
        "name: x\nsteps:\n  - id: ci\n    steps:\n      - id: unit\n        wiat: 1h\n",
        "6:9",
        "did you mean `wait`",
    );
}

#[test]
fn syntax_errors_have_positions_in_every_format() {
    let yaml = errors("name: x\nsteps: [\n", Format::Yaml);
    assert_eq!(yaml.len(), 1);
    assert!(yaml[0].pos.line >= 2, "{yaml:?}");

    let json = errors("{\"name\": \"x\",\n \"steps\": [}\n", Format::Json);
    assert_eq!((json[0].pos.line, json[0].pos.column), (2, 12));

    let toml = errors("name = \"x\"\nsteps = [\n", Format::Toml);
    assert_eq!(toml.len(), 1);
    assert!(toml[0].pos.line >= 2, "{toml:?}");
}

#[test]
fn schema_errors_have_positions_in_toml_and_json() {
    let toml = located(
        "name = \"x\"\n\n[[steps]]\nid = \"a\"\nca = \"150%\"\n",
        Format::Toml,
    );
    assert_eq!(toml.len(), 1);
    assert!(toml[0].starts_with("5:6:"), "{toml:?}");

    let json = located(
        "{\n  \"name\": \"x\",\n  \"steps\": [\n    {\"id\": \"a\", \"wait\": \"soon\"}\n  ]\n}\n",
        Format::Json,
    );
    assert_eq!(json.len(), 1);
    assert!(json[0].starts_with("4:25:"), "{json:?}");
}

#[test]
fn diagnostics_display_as_file_line_column() {
    let e = &errors("name: x\nsteps:\n  - id: a\n    ca: 2\n", Format::Yaml)[0];
    assert_eq!(
        e.display("maps/x.yaml").to_string(),
        "maps/x.yaml:4:9: `ca` must be between 0% and 100% (write `80%` or `0.8`)"
    );
}

#[test]
fn capabilities_must_be_in_the_catalogue() {
    assert_one(
        "name: x\nsteps:\n  - id: qa\n    capabilities: [test-automaton]\n",
        "4:20",
        "unknown DORA capability `test-automaton`: did you mean `test-automation`?",
    );
    assert_one(
        "name: x\nsteps:\n  - id: qa\n    capabilities: [lunch-breaks]\n",
        "4:20",
        "unknown DORA capability `lunch-breaks`",
    );
    let parsed = parse_map(
        "name: x\nsteps:\n  - id: qa\n    capabilities: [test-automation, test-automation]\n",
        Format::Yaml,
    )
    .unwrap();
    assert_eq!(parsed.map.steps[0].capabilities, ["test-automation"]);
}

#[test]
fn absurd_durations_and_ca_are_located_errors() {
    assert_one(
        "name: x\nsteps:\n  - { id: a, process: 100000000000000000000h }\n",
        "3:23",
        "longer than 100 years",
    );
    assert_one(
        "name: x\nsteps:\n  - { id: a, wait: 1h..900000w }\n",
        "3:20",
        "longer than 100 years",
    );
    // ca 1e-300 is refused where it is written.
    assert_one(
        "name: x\nsteps:\n  - { id: a, process: 1h }\n  - { id: b, process: 1h, ca: 1e-300, rework_to: a }\n",
        "4:31",
        "`ca` 1e-300 is too small",
    );
    // Allowed ca values whose loops multiply past the largest float: 40 steps at one in
    // a billion all sending work back to the first would pass it 1e360 times.
    let mut text = String::from("name: x\nsteps:\n");
    for i in 0..40 {
        text.push_str(&format!(
            "  - {{ id: s{i}, process: 1h, ca: 1e-9, rework_to: s0 }}\n"
        ));
    }
    let found = located(&text, Format::Yaml);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("3:5: step `s0`: rework overflows"),
        "{found:?}"
    );
    assert_one(
        "name: x\narrivals: 1e300/day\nsteps:\n  - { id: a }\n",
        "2:11",
        "at most",
    );
}

#[test]
fn absurd_rework_is_a_warning() {
    let parsed = parse_map(
        "name: x\nsteps:\n  - { id: a, process: 1m, ca: 0.000001% }\n  - { id: b, ca: 50% }\n",
        Format::Yaml,
    )
    .expect("a finite if absurd map is valid");
    assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    let warning = &parsed.warnings[0];
    assert_eq!((warning.pos.line, warning.pos.column), (3, 5));
    assert!(
        warning.message.contains("1.00e8 times"),
        "{}",
        warning.message
    );
    // At the threshold, nothing is said.
    let parsed = parse_map("name: x\nsteps:\n  - { id: a, ca: 1% }\n", Format::Yaml).unwrap();
    assert!(parsed.warnings.is_empty());
}

/// `n` steps in each format.
fn many_steps(n: usize, format: Format) -> String {
    match format {
        Format::Yaml => {
            let mut text = String::from("name: big\nsteps:\n");
            for i in 0..n {
                text.push_str(&format!("  - id: s{i}\n"));
            }
            text
        }
        Format::Toml => {
            let mut text = String::from("name = \"big\"\n");
            for i in 0..n {
                text.push_str(&format!("[[steps]]\nid = \"s{i}\"\n"));
            }
            text
        }
        Format::Json => {
            let steps: Vec<String> = (0..n).map(|i| format!("{{\"id\": \"s{i}\"}}")).collect();
            format!(
                "{{\"name\": \"big\",\n\"steps\": [\n{}\n]}}",
                steps.join(",\n")
            )
        }
    }
}

#[test]
fn map_size_is_limited_in_every_format() {
    use flowmap_core::map::MAX_STEPS;
    for format in [Format::Yaml, Format::Toml, Format::Json] {
        assert!(parse_map(&many_steps(MAX_STEPS, format), format).is_ok());
        let found = errors(&many_steps(MAX_STEPS + 1, format), format);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("more than 10000 steps"),
            "{format:?}: {found:?}"
        );
        // The error points at the first step past the limit.
        let line = found[0].pos.line as usize;
        let expected_line = match format {
            Format::Yaml => MAX_STEPS + 3,
            Format::Toml => 2 * MAX_STEPS + 2,
            Format::Json => MAX_STEPS + 3,
        };
        assert_eq!(line, expected_line, "{format:?}");
    }
}

#[test]
fn oversized_files_and_deep_nesting_are_refused() {
    let huge = format!(
        "name: x\nnotes: \"{}\"\nsteps: [{{id: a}}]\n",
        "x".repeat(5 << 20)
    );
    for format in [Format::Yaml, Format::Toml, Format::Json] {
        let found = errors(&huge, format);
        assert!(
            found[0].message.contains("at most 4194304 bytes"),
            "{found:?}"
        );
    }
    // Drill-downs nine levels deep.
    let mut yaml = String::from("name: x\nsteps:\n");
    for level in 0..10 {
        let indent = "    ".repeat(level);
        yaml.push_str(&format!("{indent}  - id: s{level}\n{indent}    steps:\n"));
    }
    yaml.push_str(&format!("{}  - id: leaf\n", "    ".repeat(10)));
    let found = errors(&yaml, Format::Yaml);
    assert!(
        found[0].message.contains("drill-downs nest more than 8"),
        "{found:?}"
    );
    // Deeply nested lists where a note belongs: 50 levels of JSON overflowed a test
    // thread's stack; every format now stops at the same limit with the same words.
    for depth in [33, 50, 1000] {
        let json = format!(
            "{{\"name\": \"x\", \"steps\": [{{\"id\": \"a\", \"notes\": {}1{}}}]}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let toml = format!(
            "name = \"x\"\n[[steps]]\nid = \"a\"\nnotes = {}1{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let mut yaml = String::from("name: x\nnotes:\n");
        for level in 0..depth {
            yaml.push_str(&format!("{}- \n", " ".repeat(level + 1)));
        }
        for (text, format) in [
            (json, Format::Json),
            (toml, Format::Toml),
            (yaml, Format::Yaml),
        ] {
            let found = errors(&text, format);
            assert!(
                found[0].message.contains("nest more than 32 levels"),
                "{format:?} {depth}: {found:?}"
            );
        }
    }
}
