//! How long a year of a busy GitHub repository takes to backfill, measured against the
//! local fake API (no network: the time is flowmap's own, the request count is what the
//! real API would be asked), through the real use case into a real SQLite store.
//!
//! The year: 3 000 closed pull requests (2 500 merged, each with 2 reviews and 3
//! commits), 1 000 production deployments (2 statuses each, ~2.5 pull requests shipped
//! by each) and 10 000 completed Actions runs. Then a second run with nothing changed.
//!
//! `cargo run --release -p flowmap-app --example backfill_busy_year`

use std::sync::Arc;
use std::time::{Duration, Instant};

use flowmap_app::backfill::BackfillRequest;
use flowmap_app::{Actor, App};
use flowmap_backfill::github::GitHubOptions;
use flowmap_backfill::testing::{FakeApi, Resource, github};
use flowmap_backfill::{Client, ClientOptions, Progress, Service, StatsSnapshot, Token};
use flowmap_store::Store;
use jiff::{SignedDuration, Timestamp};

const TOKEN: &str = "ghp_example";

struct Quiet;

impl Progress for Quiet {
    fn update(&self, _: &StatsSnapshot) {}
    fn notice(&self, message: &str) {
        eprintln!("{message}");
    }
}

fn sha(kind: u8, n: usize) -> String {
    format!("{kind:02x}{n:038x}")
}

#[tokio::main]
async fn main() {
    let api = FakeApi::start(Service::GitHub, TOKEN, 100).await;
    let start: Timestamp = "2025-03-01T00:00:00Z".parse().unwrap();
    let at = |minutes: i64| (start + SignedDuration::from_mins(minutes)).to_string();
    let repo = "/repos/acme/busy";
    // A pull request every 175 minutes, five of six merged.
    let mut pulls = Vec::new();
    let mut merged = Vec::new();
    for n in 1..=3000usize {
        let opened = n as i64 * 175;
        let merge = (n % 6 != 0).then(|| (at(opened + 600), sha(1, n)));
        if let Some((_, merge_sha)) = &merge {
            merged.push((opened + 600, merge_sha.clone()));
            api.put(
                &format!("{repo}/pulls/{n}/reviews"),
                Resource::List(vec![
                    github::review("reviewer-a", "COMMENTED", Some(&at(opened + 120))),
                    github::review("reviewer-b", "APPROVED", Some(&at(opened + 300))),
                ]),
            );
            api.put(
                &format!("{repo}/pulls/{n}/commits"),
                Resource::List(
                    (0..3)
                        .map(|c| {
                            github::commit(
                                &sha(2, n * 3 + c),
                                &at(opened - 200 + c as i64 * 30),
                                &at(opened - 200 + c as i64 * 30),
                            )
                        })
                        .collect(),
                ),
            );
        }
        pulls.push(github::pull(
            n as u64,
            "author",
            &at(opened),
            &at(opened + 700),
            merge.as_ref().map(|(t, s)| (t.as_str(), s.as_str())),
        ));
    }
    pulls.reverse();
    api.put(&format!("{repo}/pulls"), Resource::List(pulls));
    // A deployment every 525 minutes of the latest merge before it.
    let mut deployments = Vec::new();
    let mut previous: Option<(String, usize)> = None;
    for d in 1..=1000usize {
        let created = d as i64 * 525;
        let shipped = merged.iter().take_while(|(t, _)| *t < created).count();
        if shipped == 0 {
            continue;
        }
        let head = merged[shipped - 1].1.clone();
        let id = 10_000 + d as u64;
        deployments.push(github::deployment(id, &head, "production", &at(created)));
        api.put(
            &format!("{repo}/deployments/{id}/statuses"),
            Resource::List(vec![
                github::status("success", &at(created + 15)),
                github::status("in_progress", &at(created + 1)),
            ]),
        );
        if let Some((base, from)) = &previous
            && *base != head
        {
            let commits = merged[*from..shipped]
                .iter()
                .map(|(t, s)| github::commit(s, &at(*t), &at(*t)))
                .collect();
            api.put(
                &format!("{repo}/compare/{base}...{head}"),
                github::compare(commits),
            );
        }
        previous = Some((head, shipped));
    }
    deployments.reverse();
    let deployment_count = deployments.len();
    api.put(
        &format!("{repo}/deployments?environment=production"),
        Resource::List(deployments),
    );
    let runs: Vec<_> = (1..=10_000usize)
        .rev()
        .map(|r| {
            let started = r as i64 * 52;
            github::run(
                r as u64,
                "CI",
                &sha(3, r),
                &at(started),
                &at(started + 12),
                if r % 10 == 0 { "failure" } else { "success" },
            )
        })
        .collect();
    api.put(&format!("{repo}/actions/runs"), github::runs(runs));

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("flowmap.db").display().to_string())
        .await
        .unwrap();
    let app = App::new(store.clone());
    let options = GitHubOptions {
        repo: "acme/busy".into(),
        service: None,
        since: None,
        environments: vec!["production".into()],
        deploy_workflows: Vec::new(),
        api_url: api.url(),
    };
    for run in ["first run", "second run"] {
        let client = Client::new(
            Service::GitHub,
            Token::new(TOKEN),
            ClientOptions::default(),
            Arc::new(Quiet),
        )
        .unwrap();
        let started = Instant::now();
        let done = app
            .backfill(
                &Actor::local_user("example"),
                BackfillRequest::GitHub(options.clone()),
                &client,
            )
            .await
            .unwrap();
        let elapsed = started.elapsed();
        let stats = done.outcome.stats;
        let records = stats.changes + stats.deployments + stats.builds;
        let per_record = if records == 0 {
            "no records".to_owned()
        } else {
            format!(
                "{:.3} requests per record, {:.2} per change",
                stats.requests as f64 / records as f64,
                stats.requests as f64 / stats.changes.max(1) as f64
            )
        };
        println!(
            "{run}: {} changes, {} deployments (of {} listed), {} builds; {} requests ({} \
             answered 304), {per_record}; {:.2}s ({:.0} requests/s); at GitHub's 5 000 \
             requests/hour: {:.2} hours of quota",
            stats.changes,
            stats.deployments,
            deployment_count,
            stats.builds,
            stats.requests,
            stats.not_modified,
            elapsed.as_secs_f64(),
            stats.requests as f64 / elapsed.max(Duration::from_millis(1)).as_secs_f64(),
            stats.requests as f64 / 5000.0,
        );
    }
    store.close().await;
}
