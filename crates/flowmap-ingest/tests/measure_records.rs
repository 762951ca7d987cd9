//! Builds and milestones from files, CDEvents and webhooks: every mapping, and bad input
//! reported as `FILE:LINE: field: problem`.

use flowmap_core::events::{Build, DeploymentStatus, Milestone};
use flowmap_ingest::cdevents::to_record;
use flowmap_ingest::import::{FileKind, Format, Location, Options, Record, parse};
use flowmap_ingest::webhooks::{Config, Effect, github, gitlab};
use jiff::Timestamp;
use serde_json::json;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Parses `input`, returning the records and every problem as `f:LOC: field: problem`.
fn run(input: &str, kind: FileKind, format: Format) -> (Vec<(Location, Record)>, Vec<String>) {
    let mut records = Vec::new();
    let mut problems = Vec::new();
    let result = parse(
        input.as_bytes(),
        kind,
        format,
        Options::default(),
        |row| match row {
            Ok(parsed) => records.push((parsed.location, parsed.record)),
            Err(errors) => problems.extend(errors.iter().map(|e| e.in_file("f"))),
        },
    );
    if let Err(errors) = result {
        problems.extend(errors.iter().map(|e| e.in_file("f")));
    }
    (records, problems)
}

#[test]
fn builds_csv_with_every_field() {
    let csv = "\
id,service,status,started_at,finished_at,commit,changes,name
b1,checkout,success,2026-03-01T10:00:00Z,2026-03-01T10:12:00Z,4f2a9c1,c1;c2,CI
b2,checkout,failure,2026-03-01T11:00:00+01:00,2026-03-01T10:05:00Z,,,
";
    let (records, problems) = run(csv, FileKind::Builds, Format::Csv);
    assert_eq!(problems, Vec::<String>::new());
    let mut b1 = Build::new(
        "b1",
        "checkout",
        t("2026-03-01T10:00:00Z"),
        t("2026-03-01T10:12:00Z"),
    );
    b1.commit = Some("4f2a9c1".into());
    b1.changes = vec!["c1".into(), "c2".into()];
    b1.name = Some("CI".into());
    let mut b2 = Build::new(
        "b2",
        "checkout",
        t("2026-03-01T10:00:00Z"),
        t("2026-03-01T10:05:00Z"),
    );
    b2.status = DeploymentStatus::Failure;
    assert_eq!(
        records,
        [
            (Location::Line(2), Record::Build(b1)),
            (Location::Line(3), Record::Build(b2))
        ]
    );
}

#[test]
fn bad_builds_and_milestones_name_line_and_field() {
    let csv = "\
id,service,status,started_at,finished_at
b1,checkout,passed,2026-03-01T10:00:00Z,2026-03-01T09:00:00Z
b2,checkout,success,2026-03-01T10:00:00,
";
    let (records, problems) = run(csv, FileKind::Builds, Format::Csv);
    assert!(records.is_empty());
    assert_eq!(
        problems,
        [
            "f:2: status: \"passed\" is not one of success, failure",
            "f:2: finished_at: is before started_at",
            "f:3: started_at: \"2026-03-01T10:00:00\" has no UTC offset; add one, e.g. 2026-03-01T12:00:00Z or +01:00",
            "f:3: finished_at: missing",
        ]
    );
    let ndjson = "{\"item\":\"c1\",\"name\":\"QA passed\",\"at\":\"2026-03-01T10:00:00Z\"}\n{\"item\":\"c1\",\"at\":\"2026-03-01T10:00:00Z\",\"extra\":1}\n";
    let (_, problems) = run(ndjson, FileKind::Milestones, Format::Ndjson);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].starts_with("f:1: name: \"QA passed\" is not a milestone name"),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("f:2: name: missing")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("f:2: extra:")),
        "{problems:?}"
    );
}

#[test]
fn milestones_from_json_and_file_names() {
    let json = r#"[{"item":"PR-42","name":"qa_passed","at":"2026-03-01T10:00:00Z","service":"checkout"},
                   {"item":"INC-7","name":"cab_approved","at":"2026-03-02T10:00:00+02:00"}]"#;
    let (records, problems) = run(json, FileKind::Milestones, Format::Json);
    assert_eq!(problems, Vec::<String>::new());
    let milestones: Vec<Milestone> = records
        .into_iter()
        .map(|(_, r)| match r {
            Record::Milestone(m) => m,
            other => panic!("not a milestone: {other:?}"),
        })
        .collect();
    assert_eq!(milestones[0].service.as_deref(), Some("checkout"));
    assert_eq!(milestones[1].at, t("2026-03-02T08:00:00Z"));
    assert_eq!(milestones[1].service, None);
    let kind = |name: &str| FileKind::from_path(std::path::Path::new(name));
    assert_eq!(kind("ci-builds.csv"), Some(FileKind::Builds));
    assert_eq!(kind("milestones.ndjson"), Some(FileKind::Milestones));
}

fn cdevent(kind: &str, subject: serde_json::Value, custom: serde_json::Value) -> serde_json::Value {
    json!({
        "context": { "id": "e1", "source": "/ci", "type": format!("dev.cdevents.{kind}.0.2.0"),
                     "timestamp": "2026-03-01T10:00:00Z" },
        "subject": subject,
        "customData": custom,
    })
}

#[test]
fn cdevents_pipeline_runs_without_an_environment_are_builds() {
    let subject =
        json!({ "id": "run-9", "content": { "pipelineName": "ci", "outcome": "success" } });
    let started = cdevent(
        "pipelinerun.started",
        subject.clone(),
        json!({ "service": "checkout" }),
    );
    let mut build = Build::new(
        "run-9",
        "checkout",
        t("2026-03-01T10:00:00Z"),
        t("2026-03-01T10:00:00Z"),
    );
    build.name = Some("ci".into());
    assert_eq!(to_record(&started).unwrap(), Record::Build(build.clone()));
    let finished = cdevent(
        "pipelinerun.finished",
        subject,
        json!({ "service": "checkout", "commit": "4f2a9c1", "changes": ["c1", "c2"] }),
    );
    build.commit = Some("4f2a9c1".into());
    build.changes = vec!["c1".into(), "c2".into()];
    assert_eq!(to_record(&finished).unwrap(), Record::Build(build));
}

#[test]
fn cdevents_test_suites_and_tickets_are_milestones() {
    let passed = cdevent(
        "testsuiterun.finished",
        json!({ "id": "ts-1", "content": { "outcome": "pass" } }),
        json!({ "item": "PR-42", "service": "checkout" }),
    );
    assert_eq!(
        to_record(&passed).unwrap(),
        Record::Milestone(Milestone {
            item: "PR-42".into(),
            name: "tests_passed".into(),
            at: t("2026-03-01T10:00:00Z"),
            service: Some("checkout".into()),
        })
    );
    let failed = cdevent(
        "testsuiterun.finished",
        json!({ "id": "ts-2", "content": { "outcome": "fail" } }),
        json!({ "item": "PR-42" }),
    );
    assert!(
        matches!(to_record(&failed).unwrap(), Record::Milestone(m) if m.name == "tests_failed")
    );
    let cab = cdevent(
        "ticket.closed",
        json!({ "id": "CAB-3", "content": {} }),
        json!({ "item": "PR-42", "milestone": "cab_approved" }),
    );
    assert!(matches!(to_record(&cab).unwrap(), Record::Milestone(m) if m.name == "cab_approved"));
    let opened = cdevent(
        "ticket.created",
        json!({ "id": "T-1", "content": {} }),
        json!({ "item": "INC-7" }),
    );
    assert!(
        matches!(to_record(&opened).unwrap(), Record::Milestone(m) if m.name == "ticket_created")
    );
    let no_item = cdevent(
        "ticket.closed",
        json!({ "id": "T-1", "content": {} }),
        json!({ "milestone": "Bad Name" }),
    );
    let problems = to_record(&no_item).unwrap_err();
    let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["customData.item", "customData.milestone"]);
}

fn reference(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn github_workflow_runs_that_do_not_deploy_are_builds() {
    let body = reference("github/workflow_run.completed.json");
    let effect = github::parse("workflow_run", &body, &Config::default()).unwrap();
    let Effect::Build(build) = effect else {
        panic!("expected a build, got {effect:?}");
    };
    let payload: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let run = &payload["workflow_run"];
    assert_eq!(build.id, format!("run-{}", run["id"]));
    assert_eq!(
        build.service,
        payload["repository"]["full_name"].as_str().unwrap()
    );
    assert_eq!(build.commit.as_deref(), run["head_sha"].as_str());
    let name = match run["name"].as_str() {
        Some(name) if !name.is_empty() => name,
        _ => payload["workflow"]["name"].as_str().unwrap(),
    };
    assert_eq!(build.name.as_deref(), Some(name));
    assert_eq!(build.started_at, t(run["run_started_at"].as_str().unwrap()));
    assert_eq!(build.finished_at, t(run["updated_at"].as_str().unwrap()));
    let expected = match run["conclusion"].as_str() {
        Some("success") => DeploymentStatus::Success,
        _ => DeploymentStatus::Failure,
    };
    assert_eq!(build.status, expected);
    // The same workflow configured as a deploy is a deployment, never a build.
    let config = Config {
        deploy_workflows: vec![name.to_owned()],
        ..Config::default()
    };
    let effect = github::parse("workflow_run", &body, &config).unwrap();
    assert!(!matches!(effect, Effect::Build(_)), "{effect:?}");
}

#[test]
fn gitlab_pipelines_are_builds() {
    let body = reference("gitlab/pipeline.json");
    let effect = gitlab::parse(&body, &Config::default()).unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let attrs = &payload["object_attributes"];
    match effect {
        Effect::Build(build) => {
            assert_eq!(build.id, format!("pipeline-{}", attrs["id"]));
            assert_eq!(
                build.service,
                payload["project"]["path_with_namespace"].as_str().unwrap()
            );
            assert_eq!(build.commit.as_deref(), attrs["sha"].as_str());
            // GitLab writes `2016-08-12 15:23:28 UTC`.
            assert_eq!(build.started_at, t("2016-08-12T15:23:28Z"));
            assert_eq!(build.finished_at, t("2016-08-12T15:26:29Z"));
        }
        Effect::Ignored(why) => {
            // Only a pipeline that has not finished is ignored.
            let status = attrs["status"].as_str().unwrap();
            assert!(!["success", "failed"].contains(&status), "{status}: {why}");
        }
        other => panic!("unexpected {other:?}"),
    }
}
