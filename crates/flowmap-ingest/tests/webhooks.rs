//! Webhook payloads, read from real GitHub examples and GitLab documentation examples.

use flowmap_core::events::DeploymentStatus;
use flowmap_ingest::webhooks::{Config, Effect, PullRequest, github, gitlab};
use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::{Value, json};

fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn fixture_json(path: &str) -> Value {
    serde_json::from_slice(&fixture(path)).expect("fixture is JSON")
}

fn t(s: &str) -> Timestamp {
    s.parse().expect("test time")
}

fn github(event: &str, body: &[u8]) -> Effect {
    github::parse(event, body, &Config::default()).expect("parses")
}

#[test]
fn github_tag_deletion_push_is_ignored() {
    // The real example deletes the tag `simple-tag`: nothing to record.
    let effect = github("push", &fixture("github/push.json"));
    assert_eq!(
        effect,
        Effect::Ignored("push to refs/tags/simple-tag: not the default branch (master)".into())
    );
}

#[test]
fn github_push_to_the_default_branch_records_each_commit() {
    let mut body = fixture_json("github/push.json");
    body["ref"] = json!("refs/heads/master");
    body["deleted"] = json!(false);
    body["after"] = json!("bbbb");
    body["commits"] = json!([
        {"id": "aaaa", "message": "Fix checkout\n\nLonger text", "timestamp": "2026-03-01T10:00:00+01:00",
         "author": {"name": "Ada", "email": "ada@example.com", "username": "ada"}},
        {"id": "bbbb", "message": "Tidy", "timestamp": "2026-03-01T11:30:00Z",
         "author": {"name": "Bob", "email": "bob@example.com"}}
    ]);
    let Effect::Push(push) = github("push", body.to_string().as_bytes()) else {
        panic!("expected a push")
    };
    assert_eq!(push.service, "Codertocat/Hello-World");
    assert_eq!(push.head, "bbbb");
    assert_eq!(push.commits.len(), 2);
    assert_eq!(push.commits[0].id, "aaaa");
    assert_eq!(push.commits[0].committed_at, t("2026-03-01T09:00:00Z"));
    assert_eq!(push.commits[0].title.as_deref(), Some("Fix checkout"));
    assert_eq!(push.commits[0].author.as_deref(), Some("ada"));
    assert_eq!(push.commits[1].author.as_deref(), Some("bob@example.com"));
    assert_eq!(push.commits[1].deployment, None);
}

#[test]
fn github_push_commit_without_timestamp_names_the_commit() {
    let mut body = fixture_json("github/push.json");
    body["ref"] = json!("refs/heads/master");
    body["deleted"] = json!(false);
    body["commits"] = json!([{"id": "aaaa", "message": "x"}]);
    let err = github::parse("push", body.to_string().as_bytes(), &Config::default()).unwrap_err();
    assert_eq!(err.to_string(), "commits[0].timestamp: missing");
}

#[test]
fn github_configured_service_name_replaces_the_repository() {
    let mut config = Config::default();
    config
        .services
        .insert("Codertocat/Hello-World".into(), "hello".into());
    let effect = github::parse(
        "deployment_status",
        &fixture("github/deployment_status.json"),
        &config,
    )
    .unwrap();
    let Effect::Deployment(deployment) = effect else {
        panic!()
    };
    assert_eq!(deployment.service, "hello");
}

#[test]
fn github_successful_deployment_status_is_a_production_deployment() {
    let Effect::Deployment(d) = github(
        "deployment_status",
        &fixture("github/deployment_status.json"),
    ) else {
        panic!("expected a deployment")
    };
    assert_eq!(d.id, "145988746");
    assert_eq!(d.service, "Codertocat/Hello-World");
    assert_eq!(d.environment, "production");
    assert_eq!(d.status, DeploymentStatus::Success);
    assert_eq!(d.started_at, Some(t("2019-05-15T15:20:53Z")));
    assert_eq!(d.finished_at, t("2019-05-15T15:20:55Z"));
    assert_eq!(
        d.commit.as_deref(),
        Some("f95f852bd8fca8fcc58a9a2d6c842781e32a215e")
    );
}

#[test]
fn github_deployment_status_states() {
    let mut body = fixture_json("github/deployment_status.json");
    body["deployment_status"]["state"] = json!("error");
    body["deployment_status"]["environment"] = json!("staging");
    let Effect::Deployment(d) = github("deployment_status", body.to_string().as_bytes()) else {
        panic!()
    };
    assert_eq!(d.status, DeploymentStatus::Failure);
    assert_eq!(d.environment, "staging");

    body["deployment"]["production_environment"] = json!(true);
    let Effect::Deployment(d) = github("deployment_status", body.to_string().as_bytes()) else {
        panic!()
    };
    assert_eq!(d.environment, "production");

    body["deployment_status"]["state"] = json!("in_progress");
    assert_eq!(
        github("deployment_status", body.to_string().as_bytes()),
        Effect::Ignored("deployment_status in_progress: not finished".into())
    );
}

#[test]
fn github_deployment_created_is_ignored_until_its_status() {
    assert!(matches!(
        github("deployment", &fixture("github/deployment.json")),
        Effect::Ignored(why) if why.contains("deployment_status")
    ));
}

#[test]
fn github_pull_request_events_build_one_timeline() {
    let opened = github("pull_request", &fixture("github/pull_request.opened.json"));
    let review = github(
        "pull_request_review",
        &fixture("github/pull_request_review.submitted.json"),
    );
    let Effect::PullRequest(opened) = opened else {
        panic!()
    };
    let Effect::PullRequest(review) = review else {
        panic!()
    };
    assert_eq!(opened.number, 2);
    assert_eq!(
        opened.title.as_deref(),
        Some("Update the README with new information.")
    );
    assert_eq!(opened.author.as_deref(), Some("Codertocat"));
    assert_eq!(opened.opened_at, Some(t("2019-05-15T15:20:33Z")));
    // The example review is a comment: a review, not an approval.
    assert_eq!(review.first_review_at, Some(t("2019-05-15T15:20:38Z")));
    assert_eq!(review.approved_at, None);

    // The real `closed` example was closed without merging: no change yet.
    let Effect::PullRequest(closed) =
        github("pull_request", &fixture("github/pull_request.closed.json"))
    else {
        panic!()
    };
    let so_far = opened.merge(review).merge(closed);
    assert_eq!(so_far.change(), None);

    let mut merged = fixture_json("github/pull_request.closed.json");
    merged["pull_request"]["merged"] = json!(true);
    merged["pull_request"]["merged_at"] = json!("2019-05-15T16:00:00Z");
    let Effect::PullRequest(merged) = github("pull_request", merged.to_string().as_bytes()) else {
        panic!()
    };
    let change = so_far.merge(merged).change().expect("merged");
    assert_eq!(change.id, "c4295bd74fb0f4fda03689c3df3f2803b658fd85");
    assert_eq!(change.committed_at, t("2019-05-15T16:00:00Z"));
    assert_eq!(change.pr_opened_at, Some(t("2019-05-15T15:20:33Z")));
    assert_eq!(change.first_review_at, Some(t("2019-05-15T15:20:38Z")));
    assert_eq!(change.merged_at, Some(t("2019-05-15T16:00:00Z")));
}

#[test]
fn github_approval_sets_the_approval_time() {
    let mut body = fixture_json("github/pull_request_review.submitted.json");
    body["review"]["state"] = json!("approved");
    let Effect::PullRequest(pr) = github("pull_request_review", body.to_string().as_bytes()) else {
        panic!()
    };
    assert_eq!(pr.approved_at, Some(t("2019-05-15T15:20:38Z")));
}

#[test]
fn github_workflow_runs_deploy_only_when_configured() {
    let body = fixture("github/workflow_run.completed.json");
    // Not configured as a deploy: a build (see measure_records.rs).
    assert!(matches!(github("workflow_run", &body), Effect::Build(_)));
    let config = Config {
        deploy_workflows: vec!["".into()],
        ..Config::default()
    };
    // The example's workflow has an empty name; its `workflow.name` is used instead.
    let name = fixture_json("github/workflow_run.completed.json")["workflow"]["name"].clone();
    let config = Config {
        deploy_workflows: vec![name.as_str().unwrap().to_owned()],
        ..config
    };
    let Effect::Deployment(d) = github::parse("workflow_run", &body, &config).unwrap() else {
        panic!("expected a deployment")
    };
    assert_eq!(d.id, "run-289782451");
    assert_eq!(d.status, DeploymentStatus::Success);
    assert_eq!(d.finished_at, t("2020-10-05T16:33:49Z"));
    assert_eq!(
        d.commit.as_deref(),
        Some("3484a3fb816e0859fd6e1cea078d76385ff50625")
    );
}

#[test]
fn github_bad_payloads_name_the_problem() {
    let config = Config::default();
    assert_eq!(
        github::parse("issues", b"{}", &config).unwrap_err().field,
        "X-GitHub-Event"
    );
    assert_eq!(
        github::parse("push", b"not json", &config)
            .unwrap_err()
            .field,
        "body"
    );
    assert_eq!(
        github::parse("push", b"[1]", &config)
            .unwrap_err()
            .to_string(),
        "body: expected a JSON object, found an array"
    );
    assert_eq!(
        github::parse(
            "deployment_status",
            br#"{"repository": {"full_name": "a/b"}}"#,
            &config
        )
        .unwrap_err()
        .to_string(),
        "deployment_status.state: missing"
    );
}

#[test]
fn gitlab_push_to_the_default_branch_records_each_commit() {
    let Effect::Push(push) =
        gitlab::parse(&fixture("gitlab/push.json"), &Config::default()).unwrap()
    else {
        panic!()
    };
    assert_eq!(push.service, "mike/diaspora");
    assert_eq!(push.head, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
    assert_eq!(push.commits.len(), 2);
    assert_eq!(push.commits[0].committed_at, t("2011-12-12T12:27:31Z"));
    assert_eq!(
        push.commits[0].title.as_deref(),
        Some("Update Catalan translation to e38cb41.")
    );
    assert_eq!(push.commits[0].author.as_deref(), Some("Jordi Mallach"));
}

#[test]
fn gitlab_merge_gives_the_merge_commit_change() {
    let Effect::PullRequest(pr) = gitlab::parse(
        &fixture("gitlab/merge_request.merge.json"),
        &Config::default(),
    )
    .unwrap() else {
        panic!()
    };
    let change = pr.change().expect("merged");
    assert_eq!(change.id, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
    assert_eq!(change.service, "gitlabhq/gitlab-test");
    assert_eq!(change.merged_at, Some(t("2013-12-03T17:23:34Z")));
    assert_eq!(change.title.as_deref(), Some("MS-Viewport"));
}

#[test]
fn gitlab_deployment_reads_sha_and_local_time() {
    let Effect::Deployment(d) =
        gitlab::parse(&fixture("gitlab/deployment.json"), &Config::default()).unwrap()
    else {
        panic!()
    };
    assert_eq!(d.id, "15");
    assert_eq!(d.environment, "staging");
    assert_eq!(d.finished_at, t("2021-04-28T19:50:00Z"));
    assert_eq!(
        d.commit.as_deref(),
        Some("279484c09fbe69ededfced8c1bb6e6d24616b468")
    );

    let mut body = fixture_json("gitlab/deployment.json");
    body["environment_tier"] = json!("production");
    body["status"] = json!("failed");
    let Effect::Deployment(d) =
        gitlab::parse(body.to_string().as_bytes(), &Config::default()).unwrap()
    else {
        panic!()
    };
    assert_eq!(d.environment, "production");
    assert_eq!(d.status, DeploymentStatus::Failure);
}

#[test]
fn pull_request_merge_keeps_earliest_times_and_newest_text() {
    let a = PullRequest {
        title: Some("old".into()),
        opened_at: Some(t("2026-01-02T00:00:00Z")),
        ..PullRequest::new("s", 1)
    };
    let b = PullRequest {
        title: Some("new".into()),
        opened_at: Some(t("2026-01-01T00:00:00Z")),
        ..PullRequest::new("s", 1)
    };
    let merged = a.merge(b);
    assert_eq!(merged.title.as_deref(), Some("new"));
    assert_eq!(merged.opened_at, Some(t("2026-01-01T00:00:00Z")));
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-z0-9:. -]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("ref".to_owned()),
                    Just("repository".to_owned()),
                    Just("full_name".to_owned()),
                    Just("default_branch".to_owned()),
                    Just("commits".to_owned()),
                    Just("object_kind".to_owned()),
                    Just("project".to_owned()),
                    Just("deployment".to_owned()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        for event in github::EVENTS {
            let _ = github::parse(event, &body, &Config::default());
        }
        let _ = gitlab::parse(&body, &Config::default());
    }

    #[test]
    fn arbitrary_json_never_panics(value in arbitrary_json()) {
        let body = value.to_string();
        for event in github::EVENTS {
            let _ = github::parse(event, body.as_bytes(), &Config::default());
        }
        let _ = gitlab::parse(body.as_bytes(), &Config::default());
    }
}
