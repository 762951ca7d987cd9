//! The GitHub backfill.

use flowmap_backfill::github::{self, GitHubOptions};
use flowmap_backfill::testing::{FakeApi, Fault, Resource, scenarios};
use flowmap_backfill::{BackfillError, SavedState, Service};
use flowmap_core::events::DeploymentStatus;
use flowmap_store::testing::TestDb;
use flowmap_store::{LoadQuery, Store};
use scenarios::{SHA_A1, SHA_B2, SHA_B2_FIRST, SHA_B2_SECOND, SHA_C4, SHA_C4_BRANCH};

use crate::common::{StoreSink, at, client, saved_state};

const TOKEN: &str = "ghp_TESTtoken0123456789abcdefSECRET";
const SOURCE: &str = "github:acme/shop";

fn options(api: &FakeApi) -> GitHubOptions {
    GitHubOptions {
        repo: "acme/shop".into(),
        service: None,
        since: None,
        environments: vec!["production".into(), "staging".into()],
        deploy_workflows: Vec::new(),
        api_url: api.url(),
    }
}

async fn fake() -> FakeApi {
    // Two items a page, so every list of the story is paged.
    let api = FakeApi::start(Service::GitHub, TOKEN, 2).await;
    scenarios::github_shop(&api);
    api
}

async fn all(store: &Store) -> flowmap_store::Dataset {
    store.load(&LoadQuery::default()).await.expect("load")
}

#[tokio::test]
async fn a_first_run_maps_pull_requests_deployments_and_runs() {
    let api = fake().await;
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let (client, recorder) = client(Service::GitHub, TOKEN);
    let mut sink = StoreSink::new(&store, SOURCE);
    let outcome = github::backfill(&client, &options(&api), SavedState::default(), &mut sink)
        .await
        .expect("backfill");
    assert_eq!(outcome.source, SOURCE);
    assert!(outcome.full);

    let data = all(&store).await;
    let mut changes = data.changes.clone();
    changes.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        changes.len(),
        3,
        "three merged pull requests; #3 was closed unmerged"
    );
    let [a1, b2, c4] = [&changes[0], &changes[1], &changes[2]];
    assert_eq!(a1.id, SHA_A1);
    assert_eq!(a1.service, "shop");
    assert_eq!(a1.author.as_deref(), Some("ana"));
    assert_eq!(a1.title.as_deref(), Some("Pull request 1"));
    assert_eq!(a1.committed_at, at("2026-03-01T08:00:00Z"));
    assert_eq!(a1.first_commit_at, Some(at("2026-03-01T08:00:00Z")));
    assert_eq!(a1.pr_opened_at, Some(at("2026-03-01T09:00:00Z")));
    assert_eq!(a1.first_review_at, None);
    assert_eq!(a1.approved_at, None);
    assert_eq!(a1.merged_at, Some(at("2026-03-02T08:00:00Z")));
    // #2: the author's own comment and the pending review do not count.
    assert_eq!(b2.id, SHA_B2);
    assert_eq!(b2.committed_at, at("2026-03-05T09:00:00Z"));
    assert_eq!(b2.first_commit_at, Some(at("2026-03-03T16:00:00Z")));
    assert_eq!(b2.first_review_at, Some(at("2026-03-04T12:00:00Z")));
    assert_eq!(b2.approved_at, Some(at("2026-03-05T14:00:00Z")));
    assert_eq!(b2.merged_at, Some(at("2026-03-05T15:00:00Z")));
    assert_eq!(c4.id, SHA_C4);
    assert_eq!(c4.committed_at, at("2026-03-09T08:30:00Z"));
    assert_eq!(c4.first_review_at, Some(at("2026-03-10T10:00:00Z")));
    assert_eq!(c4.approved_at, Some(at("2026-03-10T10:00:00Z")));

    let mut deployments = data.deployments.clone();
    deployments.sort_by(|a, b| a.id.cmp(&b.id));
    let ids: Vec<&str> = deployments.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["101", "102", "103", "104", "201"]);
    let d = |id: &str| deployments.iter().find(|d| d.id == id).unwrap();
    assert_eq!(
        d("101").changes,
        [SHA_A1],
        "the first deployment ships its own commit"
    );
    assert_eq!(d("101").started_at, Some(at("2026-03-02T12:00:00Z")));
    assert_eq!(d("101").finished_at, at("2026-03-02T13:00:00Z"));
    assert_eq!(d("101").commit.as_deref(), Some(SHA_A1));
    assert_eq!(d("102").status, DeploymentStatus::Failure);
    assert_eq!(d("102").finished_at, at("2026-03-06T09:30:00Z"));
    assert!(d("102").changes.is_empty());
    assert_eq!(d("103").changes, [SHA_B2_FIRST, SHA_B2_SECOND, SHA_B2]);
    // The earliest final status decides, not the order the API lists them in.
    assert_eq!(d("104").finished_at, at("2026-03-11T10:00:00Z"));
    assert_eq!(d("104").changes, [SHA_C4_BRANCH, SHA_C4]);
    assert_eq!(d("201").environment, "staging");
    assert_eq!(d("201").changes, [SHA_B2]);

    let mut builds = sink.builds.clone();
    builds.sort_by(|a, b| a.id.cmp(&b.id));
    let summary: Vec<(&str, DeploymentStatus, Option<&str>)> = builds
        .iter()
        .map(|b| (b.id.as_str(), b.status, b.name.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("9001", DeploymentStatus::Success, Some("CI")),
            ("9002", DeploymentStatus::Failure, Some("CI")),
            ("9004", DeploymentStatus::Success, Some("Deploy")),
        ],
        "the cancelled run is no build"
    );
    assert_eq!(builds[0].commit.as_deref(), Some(SHA_B2));
    assert_eq!(builds[0].started_at, at("2026-03-05T15:05:00Z"));
    assert_eq!(builds[0].finished_at, at("2026-03-05T15:15:00Z"));

    // Requests, worked out from the story at two items a page: pulls 2 pages + #4 (1
    // review page, 1 commit page) + #2 (2 + 1) + #1 (1 + 1) = 9; production deployments
    // 2 pages + 4 status lists = 6; staging 1 + 1 = 2; runs 2 pages; compares A1...B2
    // (3 commits: 2 pages) and B2...C4 (1 page) = 3. In all 22.
    let stats = recorder.last.lock().unwrap().to_owned();
    assert_eq!(stats.requests, 22);
    assert_eq!(api.seen().len(), 22);
    assert_eq!(stats.changes, 3);
    assert_eq!(stats.deployments, 5);
    assert_eq!(stats.builds, 3);
    assert!(
        api.seen()
            .iter()
            .all(|seen| seen.headers.iter().any(
                |(name, value)| name == "authorization" && value == &format!("Bearer {TOKEN}")
            )),
        "every request carries the token as a bearer token"
    );
}

#[tokio::test]
async fn a_second_run_asks_only_whether_anything_changed() {
    let api = fake().await;
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let (client, _) = client(Service::GitHub, TOKEN);
    let mut sink = StoreSink::new(&store, SOURCE);
    github::backfill(&client, &options(&api), SavedState::default(), &mut sink)
        .await
        .unwrap();
    let before = all(&store).await;
    api.clear_seen();

    let (client, recorder) = crate::common::client(Service::GitHub, TOKEN);
    let saved = saved_state(&store, SOURCE).await;
    let outcome = github::backfill(&client, &options(&api), saved, &mut sink)
        .await
        .unwrap();
    assert!(!outcome.full);
    // The first page of pulls, of each environment's deployments and of the runs, each
    // answered 304: nothing else is read.
    let stats = recorder.last.lock().unwrap().to_owned();
    assert_eq!(stats.requests, 4);
    assert_eq!(stats.not_modified, 4);
    assert_eq!(api.seen().iter().filter(|s| s.status == 304).count(), 4);
    assert_eq!(stats.changes + stats.deployments + stats.builds, 0);
    assert_eq!(all(&store).await, before);
}

#[tokio::test]
async fn a_later_run_reads_what_changed_and_running_deployments_finish() {
    let api = fake().await;
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let (client, _) = client(Service::GitHub, TOKEN);
    let mut sink = StoreSink::new(&store, SOURCE);
    github::backfill(&client, &options(&api), SavedState::default(), &mut sink)
        .await
        .unwrap();

    // After the first run: pull request #5 is merged and deployed, and deployment 106
    // is still running at the second run.
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap();
    let t = |minutes: i64| (now + jiff::SignedDuration::from_mins(minutes)).to_string();
    let sha5 = "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5";
    let sha6 = "f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6";
    let repo = "/repos/acme/shop";
    use flowmap_backfill::testing::github as gh;
    api.put(
        &format!("{repo}/pulls"),
        Resource::List(vec![
            gh::pull(5, "cy", &t(1), &t(3), Some((&t(2), sha5))),
            gh::pull(
                4,
                "ana",
                "2026-03-09T09:00:00Z",
                "2026-03-10T12:00:00Z",
                Some(("2026-03-10T11:00:00Z", SHA_C4)),
            ),
            gh::pull(
                3,
                "bo",
                "2026-03-06T09:00:00Z",
                "2026-03-08T00:00:00Z",
                None,
            ),
        ]),
    );
    api.put(&format!("{repo}/pulls/5/reviews"), Resource::List(vec![]));
    api.put(
        &format!("{repo}/pulls/5/commits"),
        Resource::List(vec![gh::commit(sha5, &t(0), &t(0))]),
    );
    api.put(
        &format!("{repo}/deployments?environment=production"),
        Resource::List(vec![
            gh::deployment(106, sha6, "production", &t(5)),
            gh::deployment(105, sha5, "production", &t(4)),
            gh::deployment(104, SHA_C4, "production", "2026-03-11T09:00:00Z"),
        ]),
    );
    api.put(
        &format!("{repo}/deployments/105/statuses"),
        Resource::List(vec![gh::status("success", &t(6))]),
    );
    api.put(
        &format!("{repo}/deployments/106/statuses"),
        Resource::List(vec![gh::status("queued", &t(5))]),
    );
    api.put(
        &format!("{repo}/compare/{SHA_C4}...{sha5}"),
        gh::compare(vec![gh::commit(sha5, &t(0), &t(0))]),
    );
    api.clear_seen();
    let (client, recorder) = crate::common::client(Service::GitHub, TOKEN);
    github::backfill(
        &client,
        &options(&api),
        saved_state(&store, SOURCE).await,
        &mut sink,
    )
    .await
    .unwrap();
    let stats = recorder.last.lock().unwrap().to_owned();
    assert_eq!(stats.changes, 1, "only #5 changed");
    assert_eq!(stats.deployments, 1, "105 finished; 106 is still running");
    let data = all(&store).await;
    assert_eq!(data.changes.len(), 4);
    let d105 = data.deployments.iter().find(|d| d.id == "105").unwrap();
    assert_eq!(d105.changes, [sha5]);
    assert!(data.deployments.iter().all(|d| d.id != "106"));
    // Pulls: 1 page (it reaches back past the last sync) + #5's reviews and commits;
    // production: 2 pages (104 on the second page is the high-water mark) + 2 status
    // lists; staging and runs: 1 each (304); the compare C4...E5: 1.
    assert_eq!(stats.requests, 3 + 4 + 2 + 1);

    // 106 finishes: the next run reads its statuses again and ships it.
    api.put(
        &format!("{repo}/deployments/106/statuses"),
        Resource::List(vec![
            gh::status("success", &t(7)),
            gh::status("queued", &t(5)),
        ]),
    );
    api.put(
        &format!("{repo}/compare/{sha5}...{sha6}"),
        gh::compare(vec![gh::commit(sha6, &t(1), &t(1))]),
    );
    let (client, recorder) = crate::common::client(Service::GitHub, TOKEN);
    github::backfill(
        &client,
        &options(&api),
        saved_state(&store, SOURCE).await,
        &mut sink,
    )
    .await
    .unwrap();
    assert_eq!(recorder.last.lock().unwrap().deployments, 1);
    let data = all(&store).await;
    let d106 = data.deployments.iter().find(|d| d.id == "106").unwrap();
    assert_eq!(d106.changes, [sha6]);
    assert_eq!(d106.finished_at.to_string(), t(7));
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_waited_out() {
    let api = fake().await;
    api.fail_next("/repos/acme/shop/pulls", Fault::BadGateway);
    api.fail_next(
        "/repos/acme/shop/deployments",
        Fault::QuotaExhausted { reset_in_secs: 1 },
    );
    api.fail_next(
        "/repos/acme/shop/actions/runs",
        Fault::RetryAfter { secs: 1 },
    );
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let (client, recorder) = client(Service::GitHub, TOKEN);
    let mut sink = StoreSink::new(&store, SOURCE);
    let started = std::time::Instant::now();
    github::backfill(&client, &options(&api), SavedState::default(), &mut sink)
        .await
        .expect("the faults are survived");
    let stats = recorder.last.lock().unwrap().to_owned();
    assert_eq!(stats.retries, 1);
    assert_eq!(stats.waits, 2);
    assert_eq!(stats.requests, 22 + 3, "each fault costs one request");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "both waits were kept"
    );
    let notices = recorder.notices.lock().unwrap().clone();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("HTTP 502") && n.contains("retry 1 of 5")),
        "{notices:?}"
    );
    assert!(
        notices
            .iter()
            .any(|n| n.contains("rate limited (HTTP 403)")),
        "{notices:?}"
    );
    assert!(
        notices
            .iter()
            .any(|n| n.contains("rate limited (HTTP 429)") && n.contains("waiting 1s")),
        "{notices:?}"
    );
    assert_eq!(all(&store).await.changes.len(), 3);
}

#[tokio::test]
async fn server_errors_give_up_after_five_retries() {
    let api = fake().await;
    for _ in 0..6 {
        api.fail_next("/repos/acme/shop/pulls", Fault::BadGateway);
    }
    let (client, recorder) = client(Service::GitHub, TOKEN);
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let mut sink = StoreSink::new(&store, SOURCE);
    let err = github::backfill(&client, &options(&api), SavedState::default(), &mut sink)
        .await
        .unwrap_err();
    assert!(matches!(err, BackfillError::Connection { .. }), "{err}");
    assert!(err.to_string().contains("gave up after 5 retries"), "{err}");
    assert_eq!(client.stats().snapshot().requests, 6);
    assert_eq!(
        recorder.notices.lock().unwrap().len(),
        5,
        "each retry is announced"
    );
}

#[tokio::test]
async fn a_wrong_token_stops_at_once_and_is_never_shown() {
    let api = fake().await;
    let wrong = "ghp_WRONGtoken_do_not_print_me";
    let (client, recorder) = client(Service::GitHub, wrong);
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let mut sink = StoreSink::new(&store, SOURCE);
    let err = github::backfill(&client, &options(&api), SavedState::default(), &mut sink)
        .await
        .unwrap_err();
    assert!(matches!(err, BackfillError::Unauthorized { .. }));
    let message = err.to_string();
    assert!(
        message.contains("GITHUB_TOKEN") && message.contains("401"),
        "{message}"
    );
    assert!(!message.contains(wrong));
    assert!(!format!("{err:?}").contains(wrong));
    assert_eq!(api.seen().len(), 1, "no retry after a 401");
    assert!(
        recorder
            .notices
            .lock()
            .unwrap()
            .iter()
            .all(|n| !n.contains(wrong))
    );
}

#[tokio::test]
async fn the_token_is_stored_nowhere() {
    let api = fake().await;
    api.fail_next("/repos/acme/shop/pulls", Fault::BadGateway);
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let (client, recorder) = client(Service::GitHub, TOKEN);
    let mut sink = StoreSink::new(&store, SOURCE);
    github::backfill(&client, &options(&api), SavedState::default(), &mut sink)
        .await
        .unwrap();
    github::backfill(
        &client,
        &options(&api),
        saved_state(&store, SOURCE).await,
        &mut sink,
    )
    .await
    .unwrap();
    store.close().await;
    let TestDb::Sqlite(dir) = &db else {
        unreachable!()
    };
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        files += 1;
        assert!(
            !bytes
                .windows(TOKEN.len())
                .any(|window| window == TOKEN.as_bytes()),
            "the token is in a database file"
        );
        // The database does hold what was read, so the search looks in the right place.
        assert!(bytes.windows(SHA_B2.len()).any(|w| w == SHA_B2.as_bytes()) || bytes.len() < 4096);
    }
    assert!(files >= 1);
    assert!(
        recorder
            .notices
            .lock()
            .unwrap()
            .iter()
            .all(|n| !n.contains(TOKEN))
    );
    assert!(!format!("{client:?}").contains(TOKEN));
}

/// Stops a run after `n` checkpoints by dropping it mid-flight, as a kill would.
async fn run_until_checkpoints(api: &FakeApi, store: &Store, n: usize) {
    let (client, _) = client(Service::GitHub, TOKEN);
    let mut sink = StoreSink::new(store, SOURCE);
    let saved = saved_state(store, SOURCE).await;
    let options = options(api);
    let run = github::backfill(&client, &options, saved, &mut sink);
    tokio::pin!(run);
    // Poll the run in small steps and abandon it once enough checkpoints are durable.
    loop {
        tokio::select! {
            result = &mut run => { result.unwrap(); return; }
            _ = tokio::time::sleep(std::time::Duration::from_millis(1)) => {}
        }
        let saved = store.load_sync(SOURCE).await.unwrap();
        let progress = saved.cursors.len() + saved.etags.len();
        if progress >= n {
            return;
        }
    }
}

async fn killed_and_resumed(store: Store) {
    let api = fake().await;
    // Uninterrupted, into its own database: what the resumed run must end with.
    let reference_db = TestDb::sqlite();
    let reference = Store::open(&reference_db.location()).await.unwrap();
    let (first, full) = client(Service::GitHub, TOKEN);
    let mut sink = StoreSink::new(&reference, SOURCE);
    github::backfill(&first, &options(&api), SavedState::default(), &mut sink)
        .await
        .unwrap();
    let full_requests = full.last.lock().unwrap().requests;

    // Killed once it has saved some progress, then killed again, then run to the end.
    run_until_checkpoints(&api, &store, 6).await;
    let partial = all(&store).await;
    assert!(
        partial.changes.len() < 3 || partial.deployments.len() < 5,
        "the kill came early"
    );
    run_until_checkpoints(&api, &store, 14).await;
    api.clear_seen();
    let (last, resumed) = client(Service::GitHub, TOKEN);
    let mut sink = StoreSink::new(&store, SOURCE);
    github::backfill(
        &last,
        &options(&api),
        saved_state(&store, SOURCE).await,
        &mut sink,
    )
    .await
    .unwrap();
    assert!(
        resumed.last.lock().unwrap().requests < full_requests,
        "the last run resumed instead of starting over"
    );
    let mut got = all(&store).await;
    let mut want = all(&reference).await;
    for data in [&mut got, &mut want] {
        data.changes.sort_by(|a, b| a.id.cmp(&b.id));
        data.deployments.sort_by(|a, b| a.id.cmp(&b.id));
    }
    assert_eq!(got.changes, want.changes, "nothing lost or doubled");
    assert_eq!(got.deployments, want.deployments);
}

#[tokio::test]
async fn a_killed_run_resumes_on_sqlite() {
    let db = TestDb::sqlite();
    killed_and_resumed(Store::open(&db.location()).await.unwrap()).await;
}

#[tokio::test]
async fn a_killed_run_resumes_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    killed_and_resumed(Store::open(&db.location()).await.unwrap()).await;
}

#[tokio::test]
async fn deploy_workflows_are_deployments_and_since_limits_the_first_run() {
    let api = fake().await;
    let db = TestDb::sqlite();
    let store = Store::open(&db.location()).await.unwrap();
    let (client, _) = client(Service::GitHub, TOKEN);
    let mut sink = StoreSink::new(&store, SOURCE);
    let mut options = options(&api);
    options.deploy_workflows = vec!["Deploy".into()];
    options.environments = vec!["production".into()];
    options.since = Some(at("2026-03-06T00:00:00Z"));
    github::backfill(&client, &options, SavedState::default(), &mut sink)
        .await
        .unwrap();
    let data = all(&store).await;
    let mut ids: Vec<&str> = data.changes.iter().map(|c| c.id.as_str()).collect();
    ids.sort();
    // #1 was last updated 03-02, before --since; #2 (03-06 10:00) and #4 are read.
    assert_eq!(ids, [SHA_B2, SHA_C4]);
    let mut deployments: Vec<&str> = data.deployments.iter().map(|d| d.id.as_str()).collect();
    deployments.sort();
    // 101 was created before --since; run 9004 of the "Deploy" workflow is a deployment.
    assert_eq!(deployments, ["102", "103", "104", "run-9004"]);
    let run = data
        .deployments
        .iter()
        .find(|d| d.id == "run-9004")
        .unwrap();
    assert_eq!(run.started_at, Some(at("2026-03-11T09:00:00Z")));
    assert_eq!(run.finished_at, at("2026-03-11T10:00:00Z"));
    // 103 is the first deployment read: it ships its own commit. 104 and run-9004 finish
    // at the same time; 104 (ordered by id) ships B2...C4, the run ships nothing new.
    let d = |id: &str| data.deployments.iter().find(|d| d.id == id).unwrap();
    assert_eq!(d("103").changes, [SHA_B2]);
    assert_eq!(d("104").changes, [SHA_C4_BRANCH, SHA_C4]);
    assert!(run.changes.is_empty());
    let builds: Vec<&str> = sink.builds.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        builds,
        ["9002"],
        "9001 ended before --since; 9004 is a deployment"
    );
}
