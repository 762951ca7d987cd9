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
