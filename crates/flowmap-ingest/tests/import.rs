//! Parsing import files: every format, every kind, and every kind of bad input.

use std::path::Path;

use flowmap_core::events::{Change, Deployment, DeploymentKind, DeploymentStatus, Incident};
use flowmap_ingest::cdevents::to_record;
use flowmap_ingest::import::{
    FileKind, Format, Location, Options, Parsed, Record, RowError, parse,
};
use jiff::Timestamp;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Parses `input`, returning the records and every problem as `FILE:LOC: field: problem`.
fn run(
    input: &str,
    kind: FileKind,
    format: Format,
    options: Options,
) -> (Vec<Parsed>, Vec<String>) {
    let mut records = Vec::new();
    let mut problems = Vec::new();
    let result = parse(input.as_bytes(), kind, format, options, |row| match row {
        Ok(parsed) => records.push(parsed),
        Err(errors) => problems.extend(errors.iter().map(|e| e.in_file("f"))),
    });
    if let Err(errors) = result {
        problems.extend(errors.iter().map(|e: &RowError| e.in_file("f")));
    }
    (records, problems)
}

fn strict(input: &str, kind: FileKind, format: Format) -> (Vec<Parsed>, Vec<String>) {
    run(input, kind, format, Options::default())
}

#[test]
fn csv_deployments_with_every_field_and_the_defaults() {
    let csv = "\
id,service,environment,status,started_at,finished_at,commit,changes,kind,fixes
d1, checkout ,staging,failure,2026-03-01T11:50:00Z,2026-03-01T13:00:00+01:00,4f2a9c1,c1; c2;,hotfix,d0
d2,checkout,,success,,2026-03-02T12:00:00Z,,,,
";
    let (records, problems) = strict(csv, FileKind::Deployments, Format::Csv);
    assert_eq!(problems, Vec::<String>::new());
    assert_eq!(
        records,
        vec![
            Parsed {
                location: Location::Line(2),
                record: Record::Deployment(Deployment {
                    id: "d1".into(),
                    service: "checkout".into(),
                    environment: "staging".into(),
                    status: DeploymentStatus::Failure,
                    started_at: Some(t("2026-03-01T11:50:00Z")),
                    finished_at: t("2026-03-01T12:00:00Z"),
                    commit: Some("4f2a9c1".into()),
                    changes: vec!["c1".into(), "c2".into()],
                    kind: DeploymentKind::Hotfix,
                    fixes: Some("d0".into()),
                }),
                raw: None,
            },
            Parsed {
                location: Location::Line(3),
                record: Record::Deployment(Deployment {
                    id: "d2".into(),
                    service: "checkout".into(),
                    environment: "production".into(),
                    status: DeploymentStatus::Success,
                    started_at: None,
                    finished_at: t("2026-03-02T12:00:00Z"),
                    commit: None,
                    changes: vec![],
                    kind: DeploymentKind::Normal,
                    fixes: None,
                }),
                raw: None,
            },
        ]
    );
}

#[test]
fn csv_bad_rows_name_line_field_and_problem() {
    let csv = "\
id,service,status,finished_at,started_at,kind,fixes
d1,checkout,ok,2026-03-01T12:00:00,,,
d2,,success,2026-03-01T12:00:00Z,2026-03-01T13:00:00Z,,
d3,checkout,success,2026-03-01T12:00:00Z,,normal,d1
d4,checkout,success
d5,checkout,success,2026-03-01T12:00:00Z,,,
";
    let (records, problems) = strict(csv, FileKind::Deployments, Format::Csv);
    assert_eq!(
        problems,
        vec![
            "f:2: status: \"ok\" is not one of success, failure",
            "f:2: finished_at: \"2026-03-01T12:00:00\" has no UTC offset; add one, e.g. 2026-03-01T12:00:00Z or +01:00",
            "f:3: service: missing",
            "f:3: finished_at: is before started_at",
            "f:4: fixes: only a hotfix or rollback deployment can fix another",
            "f:5: row: has 3 fields, the header has 7",
        ]
    );
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].location, Location::Line(6));
}

#[test]
fn csv_header_problems_stop_the_file_unless_unknown_columns_are_ignored() {
    let csv = "id,service,comitted_at,title\nc1,checkout,2026-03-01T12:00:00Z,x\n";
    let (records, problems) = strict(csv, FileKind::Changes, Format::Csv);
    assert!(records.is_empty());
    assert_eq!(problems.len(), 2);
    assert!(
        problems[0]
            .starts_with("f:1: comitted_at: unknown column (expected: id, service, committed_at,")
    );
    assert_eq!(problems[1], "f:1: committed_at: required column missing");

    let csv = "id,service,committed_at,team\nc1,checkout,2026-03-01T12:00:00Z,web\n";
    let options = Options {
        ignore_unknown: true,
    };
    let (records, problems) = run(csv, FileKind::Changes, Format::Csv, options);
    assert_eq!(problems, Vec::<String>::new());
    assert_eq!(records[0].record.id(), "c1");

    let (_, problems) = strict(
        "id,id,service,committed_at\n",
        FileKind::Changes,
        Format::Csv,
    );
    assert_eq!(problems, vec!["f:1: id: column appears twice"]);
}

#[test]
fn csv_quoted_multiline_rows_are_located_by_their_first_line() {
    let csv = "id,service,started_at,title\n\"i1\",checkout,2026-03-01T12:00:00Z,\"two\nlines, quoted\"\ni2,checkout,never,\n";
    let (records, problems) = strict(csv, FileKind::Incidents, Format::Csv);
    assert_eq!(
        records[0].record,
        Record::Incident(Incident {
            id: "i1".into(),
            service: "checkout".into(),
            started_at: t("2026-03-01T12:00:00Z"),
            detected_at: None,
            acknowledged_at: None,
            resolved_at: None,
            caused_by: None,
            severity: None,
            title: Some("two\nlines, quoted".into()),
        })
    );
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with("f:4: started_at: \"never\" is not an RFC 3339 time"),
        "{}",
        problems[0]
    );
}

#[test]
fn cdevents_cannot_come_from_csv() {
    let (_, problems) = strict("a,b\n", FileKind::CdEvents, Format::Csv);
    assert_eq!(
        problems,
        vec!["f: file: CDEvents are JSON documents: import them from .json or .ndjson files"]
    );
}

#[test]
fn json_arrays_are_located_by_index() {
    let json = r#"[
        {"id": 17, "service": "checkout", "committed_at": "2026-03-01T12:00:00Z",
         "merged_at": null, "title": "", "author": "ana"},
        {"id": "c2", "service": "checkout", "committed_at": "2026-03-01T12:00:00Z", "team": "web"},
        ["not", "an", "object"],
        {"id": "c4", "service": true, "committed_at": 1700000000}
    ]"#;
    let (records, problems) = strict(json, FileKind::Changes, Format::Json);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].location, Location::Index(0));
    let Record::Change(change) = &records[0].record else {
        panic!()
    };
    assert_eq!(
        change,
        &Change {
            id: "17".into(),
            service: "checkout".into(),
            committed_at: t("2026-03-01T12:00:00Z"),
            authored_at: None,
            first_commit_at: None,
            pr_opened_at: None,
            first_review_at: None,
            approved_at: None,
            merged_at: None,
            deployment: None,
            author: Some("ana".into()),
            title: None,
            reverts: None,
        }
    );
    assert_eq!(problems.len(), 4);
    assert!(
        problems[0].starts_with("f:[1]: team: unknown field (expected: id, service, committed_at,")
    );
    assert_eq!(
        problems[1],
        "f:[2]: row: expected a JSON object, found an array"
    );
    assert_eq!(
        problems[2],
        "f:[3]: service: expected text, found a boolean"
    );
    assert!(problems[3].starts_with("f:[3]: committed_at: \"1700000000\" is not an RFC 3339 time"));
}

#[test]
fn json_lists_and_syntax_errors() {
    let json = r#"[{"id": "d1", "service": "s", "status": "success", "finished_at": "2026-03-01T12:00:00Z",
                    "changes": ["c1", 42]},
                   {"id": "d2", "service": "s", "status": "success", "finished_at": "2026-03-01T12:00:00Z",
                    "changes": [{"id": "c1"}]}]"#;
    let (records, problems) = strict(json, FileKind::Deployments, Format::Json);
    let Record::Deployment(d1) = &records[0].record else {
        panic!()
    };
    assert_eq!(d1.changes, vec!["c1".to_string(), "42".to_string()]);
    assert_eq!(
        problems,
        vec!["f:[1]: changes: expected a list of ids, found an object in it"]
    );

    let (records, problems) = strict(
        "[{\"id\": \"c1\",\n  oops}]",
        FileKind::Changes,
        Format::Json,
    );
    assert!(records.is_empty());
    assert_eq!(problems, vec!["f:2: json: key must be a string"]);

    let (_, problems) = strict("\"just text\"", FileKind::Changes, Format::Json);
    assert_eq!(
        problems,
        vec!["f:1: json: expected a JSON array of objects or a JSON object"]
    );
    let (records, problems) = strict(" \n", FileKind::Changes, Format::Json);
    assert!(records.is_empty() && problems.is_empty());
}

#[test]
fn json_objects_one_after_another_are_located_by_line() {
    let json = "{\"id\": \"i1\", \"service\": \"s\", \"started_at\": \"2026-03-01T12:00:00Z\"}\n\n{\n  \"id\": \"i2\",\n  \"service\": \"s\"\n}\n";
    let (records, problems) = strict(json, FileKind::Incidents, Format::Json);
    assert_eq!(records[0].location, Location::Line(1));
    assert_eq!(problems, vec!["f:3: started_at: missing"]);
}

#[test]
fn ndjson_reports_lines_and_goes_on_after_a_bad_one() {
    let ndjson = "\
{\"id\": \"i1\", \"service\": \"s\", \"started_at\": \"2026-03-01T12:00:00Z\", \"resolved_at\": \"2026-03-01T11:00:00Z\"}

{\"id\": \"i2\", \"service\": \"s\", \"started_at\": \"2026-03-01T12:00:00Z\"
{\"id\": \"i3\", \"service\": \"s\", \"started_at\": \"2026-03-01T12:00:00Z\", \"severity\": \"sev1\"}
";
    let (records, problems) = strict(ndjson, FileKind::Incidents, Format::Ndjson);
    assert_eq!(
        problems,
        vec![
            "f:1: resolved_at: is before started_at",
            "f:3: json: EOF while parsing an object",
        ]
    );
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].location, Location::Line(4));
    let Record::Incident(i3) = &records[0].record else {
        panic!()
    };
    assert_eq!(i3.severity.as_deref(), Some("sev1"));
}

#[test]
fn file_names_tell_kind_and_format() {
    assert_eq!(
        FileKind::from_path(Path::new("x/Incidents.JSON")),
        Some(FileKind::Incidents)
    );
    assert_eq!(
        FileKind::from_path(Path::new("cdevents.ndjson")),
        Some(FileKind::CdEvents)
    );
    assert_eq!(FileKind::from_path(Path::new("data.csv")), None);
    assert_eq!(
        Format::from_path(Path::new("changes.jsonl")),
        Some(Format::Ndjson)
    );
    assert_eq!(
        Format::from_path(Path::new("changes.JSON")),
        Some(Format::Json)
    );
    assert_eq!(Format::from_path(Path::new("changes.txt")), None);
    assert_eq!(Format::from_path(Path::new("changes")), None);
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/cdevents/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn event(name: &str) -> Record {
    let value: serde_json::Value = serde_json::from_str(&fixture(name)).unwrap();
    to_record(&value).unwrap_or_else(|problems| panic!("{name}: {problems:?}"))
}

#[test]
fn cdevents_change_events_map_onto_one_change() {
    let base = Change::new(
        "mySubject123",
        "TestRepo/TestOrg",
        t("2023-03-20T14:27:05.315384Z"),
    );
    assert_eq!(
        event("change_created.json"),
        Record::Change(Change {
            pr_opened_at: Some(t("2023-03-20T14:27:05.315384Z")),
            title: Some("This PR address a bug from a recent PR".into()),
            ..base.clone()
        })
    );
    assert_eq!(
        event("change_reviewed.json"),
        Record::Change(Change {
            first_review_at: Some(t("2023-03-20T14:27:05.315384Z")),
            ..base.clone()
        })
    );
    assert_eq!(
        event("change_merged.json"),
        Record::Change(Change {
            merged_at: Some(t("2023-03-20T14:27:05.315384Z")),
            ..base.clone()
        })
    );
    assert_eq!(event("change_updated.json"), Record::Change(base.clone()));
    assert_eq!(event("change_abandoned.json"), Record::Change(base));
}

#[test]
fn cdevents_service_and_pipeline_events_map_onto_deployments() {
    let base = Deployment {
        id: "271069a8-fc18-44f1-b38f-9d70a1695819".into(),
        service: "mySubject123".into(),
        environment: "test123".into(),
        status: DeploymentStatus::Success,
        started_at: None,
        finished_at: t("2023-03-20T14:27:05.315384Z"),
        commit: None,
        changes: vec![],
        kind: DeploymentKind::Normal,
        fixes: None,
    };
    assert_eq!(
        event("service_deployed.json"),
        Record::Deployment(base.clone())
    );
    assert_eq!(
        event("service_upgraded.json"),
        Record::Deployment(base.clone())
    );
    assert_eq!(
        event("service_rolledback.json"),
        Record::Deployment(Deployment {
            kind: DeploymentKind::Rollback,
            ..base.clone()
        })
    );
    // A pipeline run that names the environment it deployed to is a deploy run.
    let mut deploy_run: serde_json::Value =
        serde_json::from_str(&fixture("pipelinerun_finished.json")).unwrap();
    deploy_run["customData"] = serde_json::json!({ "environment": "production" });
    assert_eq!(
        to_record(&deploy_run).unwrap(),
        Record::Deployment(Deployment {
            id: "mySubject123".into(),
            service: "myPipeline".into(),
            environment: "production".into(),
            status: DeploymentStatus::Failure,
            ..base
        })
    );
}

#[test]
fn cdevents_incident_events_map_onto_one_incident() {
    let at = t("2022-11-11T13:52:20.079Z");
    let base = Incident {
        id: "incident-123".into(),
        service: "myApp".into(),
        started_at: at,
        detected_at: Some(at),
        acknowledged_at: None,
        resolved_at: None,
        caused_by: None,
        severity: None,
        title: Some("Response time above threshold of 100ms".into()),
    };
    assert_eq!(
        event("incident_detected.json"),
        Record::Incident(base.clone())
    );
    assert_eq!(
        event("incident_reported.json"),
        Record::Incident(Incident {
            severity: Some("medium".into()),
            ..base.clone()
        })
    );
    assert_eq!(
        event("incident_resolved.json"),
        Record::Incident(Incident {
            detected_at: None,
            resolved_at: Some(at),
            title: None,
            ..base
        })
    );
}

#[test]
fn cdevents_files_keep_each_event_raw() {
    let body = fixture("incident_resolved.json");
    let (records, problems) = strict(&body, FileKind::CdEvents, Format::Json);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(records[0].raw.as_deref(), Some(body.trim_end()));

    let ndjson = format!(
        "{}\n{}\n",
        serde_json::to_string(
            &serde_json::from_str::<serde_json::Value>(&fixture("change_merged.json")).unwrap()
        )
        .unwrap(),
        r#"{"context": {"type": "dev.cdevents.build.finished.0.2.0", "timestamp": "2026-03-01T12:00:00"}, "subject": {}}"#
    );
    let (records, problems) = strict(&ndjson, FileKind::CdEvents, Format::Ndjson);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].raw.as_deref(), ndjson.lines().next());
    assert_eq!(problems.len(), 3);
    assert!(
        problems[0]
            .starts_with("f:2: context.timestamp: \"2026-03-01T12:00:00\" has no UTC offset")
    );
    assert_eq!(problems[1], "f:2: subject.id: missing");
    assert!(problems[2].starts_with(
        "f:2: context.type: unsupported CDEvents type \"dev.cdevents.build.finished.0.2.0\""
    ));
}

#[test]
fn cdevents_missing_service_is_reported_with_its_path() {
    let event = serde_json::json!({
        "context": {"id": "e1", "type": "dev.cdevents.incident.detected.0.3.0", "timestamp": "2026-03-01T12:00:00Z"},
        "subject": {"id": "i1", "content": {"service": "checkout"}}
    });
    assert_eq!(
        to_record(&event).unwrap_err(),
        vec![(
            "subject.content.service.id".to_string(),
            "expected an object on the way, found a string".to_string()
        )]
    );
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    const KINDS: [FileKind; 4] = [
        FileKind::Deployments,
        FileKind::Changes,
        FileKind::Incidents,
        FileKind::CdEvents,
    ];
    const FORMATS: [Format; 3] = [Format::Csv, Format::Json, Format::Ndjson];

    fn parse_all(bytes: &[u8], options: Options) {
        for kind in KINDS {
            for format in FORMATS {
                let _ = parse(bytes, kind, format, options, |_| {});
            }
        }
    }

    /// Text made of the pieces these formats are built from, so the parsers get past
    /// their first byte far more often than with uniformly random input.
    fn structured() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just("\n".to_string()),
            Just("\"".to_string()),
            Just(";".to_string()),
            Just("null".to_string()),
            Just("\"id\"".to_string()),
            Just("\"service\"".to_string()),
            Just("\"changes\"".to_string()),
            Just("\"context\"".to_string()),
            Just("\"type\"".to_string()),
            Just("\"dev.cdevents.incident.resolved.0.3.0\"".to_string()),
            Just("\"2026-03-01T12:00:00Z\"".to_string()),
            Just("id,service,committed_at,finished_at,status".to_string()),
            Just("2026-13-45T99:00:00+25:00".to_string()),
            "[a-z0-9 ]{0,8}",
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            parse_all(&bytes, Options::default());
        }

        #[test]
        fn on_structured_text(text in structured(), ignore_unknown in any::<bool>()) {
            parse_all(text.as_bytes(), Options { ignore_unknown });
        }

        #[test]
        fn on_arbitrary_json_events(value in arbitrary_json()) {
            let _ = to_record(&value);
        }
    }

    fn arbitrary_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            prop_oneof![
                Just("dev.cdevents.change.merged.0.3.0".to_string()),
                Just("dev.cdevents.service.deployed".to_string()),
                Just("dev.cdevents.pipelinerun.finished.0.3.0".to_string()),
                Just("dev.cdevents.testsuiterun.finished.0.2.0".to_string()),
                Just("dev.cdevents.ticket.closed.0.1.0".to_string()),
                Just("2026-03-01T12:00:00Z".to_string()),
                "[a-z.]{0,12}",
            ]
            .prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            let key = prop_oneof![
                Just("context".to_string()),
                Just("subject".to_string()),
                Just("content".to_string()),
                Just("type".to_string()),
                Just("timestamp".to_string()),
                Just("id".to_string()),
                Just("service".to_string()),
                Just("environment".to_string()),
                Just("repository".to_string()),
                Just("outcome".to_string()),
                Just("pipelineName".to_string()),
                Just("customData".to_string()),
                Just("item".to_string()),
                Just("milestone".to_string()),
                Just("changes".to_string()),
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map(key, inner, 0..5)
                    .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
            ]
        })
    }
}
