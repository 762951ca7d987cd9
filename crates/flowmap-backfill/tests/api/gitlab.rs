//! The GitLab backfill.

use flowmap_backfill::gitlab::{self, GitLabOptions};
use flowmap_backfill::testing::{FakeApi, Fault, scenarios};
use flowmap_backfill::{BackfillError, SavedState, Service};
use flowmap_core::events::DeploymentStatus;
use flowmap_store::testing::TestDb;
use flowmap_store::{LoadQuery, Store};
use scenarios::{SHA_A1, SHA_B2};

use crate::common::{StoreSink, at, client, saved_state};

const TOKEN: &str = "glpat-TESTtoken0123456789SECRET";
const SOURCE: &str = "gitlab:acme/shop";

fn options(api: &FakeApi) -> GitLabOptions {
    GitLabOptions {
        project: "acme/shop".into(),
        service: Some("shop".into()),
        since: None,
        environments: Vec::new(),
        api_url: api.url(),
    }
}

async fn fake() -> FakeApi {
    let api = FakeApi::start(Service::GitLab, TOKEN, 2).await;
    scenarios::gitlab_shop(&api);
    api
}

#[tokio::test]
async fn merge_requests_pipelines_and_deployments_are_read() {
    let api = fake().await;
    api.fail_next(
        "/api/v4/projects/acme%2Fshop/pipelines",
        Fault::RetryAfter { secs: 1 },
    );
    api.fail_next(
        "/api/v4/projects/acme%2Fshop/deployments",
        Fault::BadGateway,
    );
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let (client, recorder) = client(Service::GitLab, TOKEN);
    let mut sink = StoreSink::new(&store, SOURCE);
    gitlab::backfill(&client, &options(&api), SavedState::default(), &mut sink)
        .await
        .expect("backfill");
    let data = store.load(&LoadQuery::default()).await.unwrap();

    let mut changes = data.changes.clone();
    changes.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(changes.len(), 2);
    let (a1, b2) = (&changes[0], &changes[1]);
    assert_eq!(a1.id, SHA_A1);
    assert_eq!(a1.pr_opened_at, Some(at("2026-03-01T09:00:00Z")));
    assert_eq!(a1.first_review_at, None);
    assert_eq!(b2.id, SHA_B2);
    assert_eq!(b2.author.as_deref(), Some("bo"));
    assert_eq!(b2.title.as_deref(), Some("Merge request 2"));
    assert_eq!(b2.committed_at, at("2026-03-05T09:00:00Z"));
    assert_eq!(b2.first_commit_at, Some(at("2026-03-03T16:00:00Z")));
    // The author's own notes and system notes other than approvals are no review; cy's
    // approval came after the merge.
    assert_eq!(b2.first_review_at, Some(at("2026-03-04T12:00:00Z")));
    assert_eq!(b2.approved_at, Some(at("2026-03-05T14:00:00Z")));
    assert_eq!(b2.merged_at, Some(at("2026-03-05T15:00:00Z")));

    let mut deployments = data.deployments.clone();
    deployments.sort_by(|a, b| a.id.cmp(&b.id));
    let summary: Vec<(&str, DeploymentStatus, Vec<String>)> = deployments
        .iter()
        .map(|d| (d.id.as_str(), d.status, d.changes.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            ("41", DeploymentStatus::Success, vec![SHA_A1.to_owned()]),
            ("42", DeploymentStatus::Failure, vec![]),
            ("43", DeploymentStatus::Success, vec![SHA_B2.to_owned()]),
        ]
    );
    assert_eq!(deployments[2].started_at, Some(at("2026-03-06T11:00:00Z")));
    assert_eq!(deployments[2].finished_at, at("2026-03-06T12:00:00Z"));
    assert!(
        deployments
            .iter()
            .all(|d| d.environment == "production" && d.service == "shop")
    );

    let mut builds = sink.builds.clone();
    builds.sort_by(|a, b| a.id.cmp(&b.id));
    let summary: Vec<(&str, DeploymentStatus)> =
        builds.iter().map(|b| (b.id.as_str(), b.status)).collect();
    assert_eq!(
        summary,
        [
            ("501", DeploymentStatus::Success),
            ("502", DeploymentStatus::Failure)
        ],
        "the running pipeline is no build yet"
    );
    assert_eq!(builds[1].started_at, at("2026-03-05T15:05:00Z"));
    assert_eq!(builds[1].finished_at, at("2026-03-05T15:25:00Z"));
    assert_eq!(builds[1].name.as_deref(), Some("Build pipeline"));

    // Merge requests 1 page; !2's notes 3 pages and commits 1; !1's notes and commits 1
    // each; pipelines 2 pages; deployments 2 pages; the merge requests of 43 and 41: 13,
    // plus the 429 and the 502 answered once each.
    let stats = recorder.last.lock().unwrap().to_owned();
    assert_eq!(stats.requests, 13 + 2);
    assert_eq!((stats.waits, stats.retries), (1, 1));
    assert!(api.seen().iter().all(|seen| {
        seen.headers
            .iter()
            .any(|(name, value)| name == "private-token" && value == TOKEN)
    }));

    // A second run asks for what was updated since the last sync: one page of each list.
    let (client, recorder) = crate::common::client(Service::GitLab, TOKEN);
    gitlab::backfill(
        &client,
        &options(&api),
        saved_state(&store, SOURCE).await,
        &mut sink,
    )
    .await
    .unwrap();
    let stats = recorder.last.lock().unwrap().to_owned();
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.changes + stats.deployments + stats.builds, 0);
    assert!(
        api.seen()
            .iter()
            .rev()
            .take(3)
            .all(|seen| seen.uri.contains("updated_after="))
    );
}

#[tokio::test]
async fn a_wrong_token_stops_at_once() {
    let api = fake().await;
    let (client, _) = client(Service::GitLab, "glpat-wrong");
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let mut sink = StoreSink::new(&store, SOURCE);
    let err = gitlab::backfill(&client, &options(&api), SavedState::default(), &mut sink)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        BackfillError::Unauthorized {
            variable: "GITLAB_TOKEN",
            ..
        }
    ));
    assert!(!err.to_string().contains("glpat-wrong"));
    assert_eq!(api.seen().len(), 1);
}
