//! A local stand-in for the GitHub, GitLab and PagerDuty APIs (feature `test-support`),
//! for tests of this crate and of the crates above it: a real HTTP server on a loopback
//! port that pages, checks the token, answers `If-None-Match`, and plays scripted faults
//! (a rate limit, a `502`), from payloads the test puts in.
//!
//! It speaks only as much of each API as the backfills read: lists paged the service's
//! way (`Link`, `X-Next-Page`, `offset`/`more`), single objects, and the filters the
//! backfills send (`updated_after` on GitLab, `since`/`until` on PagerDuty).

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use jiff::Timestamp;
use serde_json::{Value, json};

use reqwest::Url;

use crate::Service;
use crate::pages::with_query;

/// How a resource answers.
#[derive(Clone, Debug)]
pub enum Resource {
    /// A list, paged the server's way; the body is the array of the page's items
    /// (GitHub, GitLab).
    List(Vec<Value>),
    /// A list under `field` of an object with the other fields of `rest` (GitHub's
    /// `{"workflow_runs": […]}` and compare's `{"commits": […]}`; PagerDuty's lists).
    Wrapped {
        field: String,
        rest: Value,
        items: Vec<Value>,
    },
    /// One object.
    Object(Value),
}

/// A fault to play instead of the next answer to a path.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// `502 Bad Gateway`.
    BadGateway,
    /// `403` with `X-RateLimit-Remaining: 0` and a reset this many seconds ahead.
    QuotaExhausted { reset_in_secs: i64 },
    /// `429` with `Retry-After`.
    RetryAfter { secs: u64 },
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Path and query.
    pub uri: String,
    pub status: u16,
    /// Every request header, as text.
    pub headers: Vec<(String, String)>,
}

struct Inner {
    service: Service,
    token: String,
    resources: HashMap<String, Resource>,
    faults: VecDeque<(String, Fault)>,
    seen: Vec<Seen>,
    page_size: usize,
}

/// A running fake API. Dropping it stops the server.
pub struct FakeApi {
    inner: Arc<Mutex<Inner>>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeApi {
    /// Starts a fake `service` that accepts only `token`, paging lists by `page_size`.
    pub async fn start(service: Service, token: &str, page_size: usize) -> FakeApi {
        let inner = Arc::new(Mutex::new(Inner {
            service,
            token: token.to_owned(),
            resources: HashMap::new(),
            faults: VecDeque::new(),
            seen: Vec::new(),
            page_size: page_size.max(1),
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let app = Router::new().fallback(answer).with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeApi { inner, addr, task }
    }

    /// The API root to give the backfill (`http://127.0.0.1:PORT`, plus `/api/v4` for
    /// GitLab).
    pub fn url(&self) -> String {
        let service = self.lock().service;
        match service {
            Service::GitLab => format!("http://{}/api/v4", self.addr),
            Service::GitHub | Service::PagerDuty => format!("http://{}", self.addr),
        }
    }

    /// Serves `resource` at `path` (no query; GitHub deployments take their environment
    /// as `path?environment=ENV`).
    pub fn put(&self, path: &str, resource: Resource) {
        self.lock().resources.insert(path.to_owned(), resource);
    }

    /// Plays `fault` for the next request whose path starts with `prefix`.
    pub fn fail_next(&self, prefix: &str, fault: Fault) {
        self.lock().faults.push_back((prefix.to_owned(), fault));
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Forgets the requests seen so far.
    pub fn clear_seen(&self) {
        self.lock().seen.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn answer(State(inner): State<Arc<Mutex<Inner>>>, uri: Uri, headers: HeaderMap) -> Response {
    let mut inner = inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let response = respond(&mut inner, &uri, &headers);
    let seen = Seen {
        uri: uri.to_string(),
        status: response.status().as_u16(),
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
    };
    inner.seen.push(seen);
    response
}

fn respond(inner: &mut Inner, uri: &Uri, headers: &HeaderMap) -> Response {
    let (expected_header, expected) = match inner.service {
        Service::GitHub => ("authorization", format!("Bearer {}", inner.token)),
        Service::GitLab => ("private-token", inner.token.clone()),
        Service::PagerDuty => ("authorization", format!("Token token={}", inner.token)),
    };
    let sent = headers
        .get(expected_header)
        .and_then(|value| value.to_str().ok());
    if sent != Some(expected.as_str()) {
        let body = match inner.service {
            Service::PagerDuty => json!({"error": {"message": "Unauthorized", "code": 2006}}),
            Service::GitHub => {
                json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
            }
            Service::GitLab => json!({"message": "401 Unauthorized"}),
        };
        return json_response(StatusCode::UNAUTHORIZED, &body, &[]);
    }
    let path = uri.path().to_owned();
    let fault = inner
        .faults
        .iter()
        .position(|(prefix, _)| path.starts_with(prefix.as_str()))
        .and_then(|index| inner.faults.remove(index));
    if let Some((_, fault)) = fault {
        return fault_response(fault);
    }
    let query = query_pairs(uri);
    let param = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    // GitHub's deployments are filtered by environment: a resource of its own.
    let key = match param("environment") {
        Some(environment) => format!("{path}?environment={environment}"),
        None => path.clone(),
    };
    let Some(resource) = inner.resources.get(&key).cloned() else {
        return json_response(StatusCode::NOT_FOUND, &json!({"message": "Not Found"}), &[]);
    };
    let page_size = inner.page_size;
    let host = headers
        .get("host")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let (body, extra) = match resource {
        Resource::Object(value) => (value, Vec::new()),
        Resource::List(items) => {
            let items = filter(inner.service, items, &param);
            page(inner.service, &host, uri, &items, page_size, &param, None)
        }
        Resource::Wrapped { field, rest, items } => {
            let items = filter(inner.service, items, &param);
            page(
                inner.service,
                &host,
                uri,
                &items,
                page_size,
                &param,
                Some((&field, rest)),
            )
        }
    };
    let etag = {
        let mut hasher = DefaultHasher::new();
        body.to_string().hash(&mut hasher);
        format!("\"{:016x}\"", hasher.finish())
    };
    if inner.service != Service::PagerDuty
        && headers
            .get("if-none-match")
            .and_then(|value| value.to_str().ok())
            == Some(etag.as_str())
    {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
            .headers_mut()
            .insert("etag", HeaderValue::from_str(&etag).expect("hex etag"));
        return response;
    }
    let mut extra = extra;
    if inner.service != Service::PagerDuty {
        extra.push(("etag".into(), etag));
    }
    json_response(StatusCode::OK, &body, &extra)
}

/// The filters the backfills send: GitLab's `updated_after`, PagerDuty's `since`/`until`.
fn filter(
    service: Service,
    items: Vec<Value>,
    param: &dyn Fn(&str) -> Option<String>,
) -> Vec<Value> {
    let time = |item: &Value, field: &str| {
        item.get(field)
            .and_then(Value::as_str)
            .and_then(|text| text.parse::<Timestamp>().ok())
    };
    let bound = |name: &str| param(name).and_then(|text| text.parse::<Timestamp>().ok());
    match service {
        Service::GitLab => match bound("updated_after") {
            Some(after) => items
                .into_iter()
                .filter(|item| time(item, "updated_at").is_some_and(|at| at > after))
                .collect(),
            None => items,
        },
        Service::PagerDuty => {
            let (since, until) = (bound("since"), bound("until"));
            items
                .into_iter()
                .filter(|item| {
                    let Some(at) = time(item, "created_at") else {
                        return true;
                    };
                    since.is_none_or(|since| at >= since) && until.is_none_or(|until| at < until)
                })
                .collect()
        }
        Service::GitHub => items,
    }
}

/// One page of `items` with the headers that lead to the next.
fn page(
    service: Service,
    host: &str,
    uri: &Uri,
    items: &[Value],
    page_size: usize,
    param: &dyn Fn(&str) -> Option<String>,
    wrapped: Option<(&str, Value)>,
) -> (Value, Vec<(String, String)>) {
    let number = |name: &str| param(name).and_then(|text| text.parse::<usize>().ok());
    let mut extra = Vec::new();
    if service == Service::PagerDuty {
        let offset = number("offset").unwrap_or(0);
        let limit = number("limit").unwrap_or(25).min(page_size);
        let slice: Vec<Value> = items.iter().skip(offset).take(limit).cloned().collect();
        let more = offset + slice.len() < items.len();
        let (field, mut rest) = wrapped.unwrap_or(("items", json!({})));
        rest[field] = Value::Array(slice);
        rest["limit"] = json!(limit);
        rest["offset"] = json!(offset);
        rest["more"] = json!(more);
        rest["total"] = Value::Null;
        return (rest, extra);
    }
    let per_page = number("per_page").unwrap_or(30).min(page_size);
    let page = number("page").unwrap_or(1).max(1);
    let start = (page - 1) * per_page;
    let slice: Vec<Value> = items.iter().skip(start).take(per_page).cloned().collect();
    let has_next = start + slice.len() < items.len();
    match service {
        Service::GitHub if has_next => {
            let next = with_query(
                &format!("http://{host}{uri}"),
                &[("page", &(page + 1).to_string())],
            )
            .unwrap_or_default();
            extra.push(("link".into(), format!("<{next}>; rel=\"next\"")));
        }
        Service::GitLab => {
            let next = if has_next {
                (page + 1).to_string()
            } else {
                String::new()
            };
            extra.push(("x-next-page".into(), next));
            extra.push(("x-page".into(), page.to_string()));
            extra.push(("x-per-page".into(), per_page.to_string()));
        }
        _ => {}
    }
    let body = match wrapped {
        Some((field, mut rest)) => {
            rest[field] = Value::Array(slice);
            rest
        }
        None => Value::Array(slice),
    };
    (body, extra)
}

/// The decoded query parameters of `uri`.
fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    let Some(query) = uri.query() else {
        return Vec::new();
    };
    Url::parse(&format!("http://fake/?{query}"))
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

fn fault_response(fault: Fault) -> Response {
    match fault {
        Fault::BadGateway => json_response(
            StatusCode::BAD_GATEWAY,
            &json!({"message": "Server Error"}),
            &[],
        ),
        Fault::QuotaExhausted { reset_in_secs } => {
            let reset = Timestamp::now().as_second() + reset_in_secs;
            json_response(
                StatusCode::FORBIDDEN,
                &json!({"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}),
                &[
                    ("x-ratelimit-limit".into(), "5000".into()),
                    ("x-ratelimit-remaining".into(), "0".into()),
                    ("x-ratelimit-used".into(), "5000".into()),
                    ("x-ratelimit-reset".into(), reset.to_string()),
                ],
            )
        }
        Fault::RetryAfter { secs } => json_response(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"message": "Retry later"}),
            &[("retry-after".into(), secs.to_string())],
        ),
    }
}

fn json_response(status: StatusCode, body: &Value, headers: &[(String, String)]) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn example(text: &str) -> Value {
    serde_json::from_str(text).expect("the checked-in examples are JSON")
}

/// GitHub's documented examples (`tests/fixtures/github`), with a scenario's fields set.
pub mod github {
    use serde_json::{Value, json};

    use super::{Resource, example};

    /// A pull request; `merged` is `(merged_at, merge_commit_sha)`.
    pub fn pull(
        number: u64,
        author: &str,
        created: &str,
        updated: &str,
        merged: Option<(&str, &str)>,
    ) -> Value {
        let mut pull = example(include_str!("../tests/fixtures/github/pull.json"));
        pull["number"] = json!(number);
        pull["title"] = json!(format!("Pull request {number}"));
        pull["user"]["login"] = json!(author);
        pull["created_at"] = json!(created);
        pull["updated_at"] = json!(updated);
        pull["closed_at"] = json!(updated);
        pull["merged_at"] = json!(merged.map(|(at, _)| at));
        pull["merge_commit_sha"] = json!(merged.map(|(_, sha)| sha));
        pull
    }

    /// A review; `submitted` is `None` for a pending one.
    pub fn review(login: &str, state: &str, submitted: Option<&str>) -> Value {
        let mut review = example(include_str!("../tests/fixtures/github/review.json"));
        review["user"]["login"] = json!(login);
        review["state"] = json!(state);
        review["submitted_at"] = json!(submitted);
        review
    }

    /// A commit with its author and committer dates.
    pub fn commit(sha: &str, authored: &str, committed: &str) -> Value {
        let mut commit = example(include_str!("../tests/fixtures/github/commit.json"));
        commit["sha"] = json!(sha);
        commit["commit"]["author"]["date"] = json!(authored);
        commit["commit"]["committer"]["date"] = json!(committed);
        commit
    }

    pub fn deployment(id: u64, sha: &str, environment: &str, created: &str) -> Value {
        let mut deployment = example(include_str!("../tests/fixtures/github/deployment.json"));
        deployment["id"] = json!(id);
        deployment["sha"] = json!(sha);
        deployment["environment"] = json!(environment);
        deployment["created_at"] = json!(created);
        deployment["updated_at"] = json!(created);
        deployment
    }

    pub fn status(state: &str, created: &str) -> Value {
        let mut status = example(include_str!(
            "../tests/fixtures/github/deployment_status.json"
        ));
        status["state"] = json!(state);
        status["created_at"] = json!(created);
        status["updated_at"] = json!(created);
        status
    }

    /// The answer of `compare/BASE...HEAD` listing `commits`.
    pub fn compare(commits: Vec<Value>) -> Resource {
        let mut rest = example(include_str!("../tests/fixtures/github/compare.json"));
        rest["ahead_by"] = json!(commits.len());
        rest["total_commits"] = json!(commits.len());
        Resource::Wrapped {
            field: "commits".into(),
            rest,
            items: commits,
        }
    }

    /// A completed workflow run.
    pub fn run(
        id: u64,
        name: &str,
        head_sha: &str,
        started: &str,
        updated: &str,
        conclusion: &str,
    ) -> Value {
        let mut run = example(include_str!("../tests/fixtures/github/workflow_run.json"));
        run["id"] = json!(id);
        run["name"] = json!(name);
        run["head_sha"] = json!(head_sha);
        run["created_at"] = json!(started);
        run["run_started_at"] = json!(started);
        run["updated_at"] = json!(updated);
        run["conclusion"] = json!(conclusion);
        run
    }

    /// The answer of `actions/runs` listing `runs`.
    pub fn runs(runs: Vec<Value>) -> Resource {
        Resource::Wrapped {
            field: "workflow_runs".into(),
            rest: json!({ "total_count": runs.len() }),
            items: runs,
        }
    }
}

/// GitLab's documented examples (`tests/fixtures/gitlab`), with a scenario's fields set.
pub mod gitlab {
    use serde_json::{Value, json};

    use super::example;

    /// A merged merge request landing as `merge_commit_sha`.
    pub fn merge_request(
        iid: u64,
        author: &str,
        created: &str,
        updated: &str,
        merged: &str,
        merge_commit_sha: &str,
    ) -> Value {
        let mut mr = example(include_str!("../tests/fixtures/gitlab/merge_request.json"));
        mr["id"] = json!(1000 + iid);
        mr["iid"] = json!(iid);
        mr["title"] = json!(format!("Merge request {iid}"));
        mr["author"]["username"] = json!(author);
        mr["created_at"] = json!(created);
        mr["updated_at"] = json!(updated);
        mr["merged_at"] = json!(merged);
        mr["merge_commit_sha"] = json!(merge_commit_sha);
        mr
    }

    pub fn note(author: &str, body: &str, system: bool, created: &str) -> Value {
        let mut note = example(include_str!("../tests/fixtures/gitlab/note.json"));
        note["author"]["username"] = json!(author);
        note["body"] = json!(body);
        note["system"] = json!(system);
        note["created_at"] = json!(created);
        note
    }

    pub fn commit(sha: &str, authored: &str, committed: &str) -> Value {
        let mut commit = example(include_str!("../tests/fixtures/gitlab/commit.json"));
        commit["id"] = json!(sha);
        commit["authored_date"] = json!(authored);
        commit["committed_date"] = json!(committed);
        commit
    }

    pub fn pipeline(id: u64, sha: &str, status: &str, created: &str, updated: &str) -> Value {
        let mut pipeline = example(include_str!("../tests/fixtures/gitlab/pipeline.json"));
        pipeline["id"] = json!(id);
        pipeline["sha"] = json!(sha);
        pipeline["status"] = json!(status);
        pipeline["created_at"] = json!(created);
        pipeline["updated_at"] = json!(updated);
        pipeline
    }

    /// A deployment whose job ran from `started` to `finished`.
    pub fn deployment(id: u64, sha: &str, status: &str, started: &str, finished: &str) -> Value {
        let mut deployment = example(include_str!("../tests/fixtures/gitlab/deployment.json"));
        deployment["id"] = json!(id);
        deployment["iid"] = json!(id);
        deployment["sha"] = json!(sha);
        deployment["status"] = json!(status);
        deployment["created_at"] = json!(started);
        deployment["updated_at"] = json!(finished);
        deployment["deployable"]["started_at"] = json!(started);
        deployment["deployable"]["finished_at"] = json!(finished);
        deployment
    }
}

/// PagerDuty's documented examples (`tests/fixtures/pagerduty`), with a scenario's fields.
pub mod pagerduty {
    use serde_json::{Value, json};

    use super::{Resource, example};

    /// An incident; `priority` `None` for an account without priorities.
    pub fn incident(id: &str, created: &str, urgency: &str, priority: Option<&str>) -> Value {
        let mut incident = example(include_str!("../tests/fixtures/pagerduty/incident.json"));
        incident["id"] = json!(id);
        incident["title"] = json!(format!("Incident {id}"));
        incident["created_at"] = json!(created);
        incident["urgency"] = json!(urgency);
        match priority {
            Some(priority) => incident["priority"]["summary"] = json!(priority),
            None => incident["priority"] = Value::Null,
        }
        incident
    }

    /// A log entry of `kind` (`trigger_log_entry`, `acknowledge_log_entry`, …).
    pub fn log_entry(kind: &str, created: &str) -> Value {
        let mut entry = example(include_str!("../tests/fixtures/pagerduty/log_entry.json"));
        entry["type"] = json!(kind);
        entry["created_at"] = json!(created);
        entry
    }

    /// The answer of `/incidents` (or `/incidents/{id}/log_entries`: `field` =
    /// `log_entries`), paged by offset.
    pub fn list(field: &str, items: Vec<Value>) -> Resource {
        Resource::Wrapped {
            field: field.into(),
            rest: json!({}),
            items,
        }
    }

    /// The answer of `/incidents/{id}`.
    pub fn one(incident: Value) -> Resource {
        Resource::Object(json!({ "incident": incident }))
    }
}

/// Small, complete histories to serve, told in their doc comments so that tests can work
/// out by hand what the backfill must make of them.
pub mod scenarios {
    use super::{FakeApi, Resource, github, gitlab, pagerduty};

    /// Merge commits of the GitHub and GitLab stories.
    pub const SHA_A1: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
    pub const SHA_B2: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
    pub const SHA_C4: &str = "c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4";
    /// Branch commits: two of pull request 2, one of pull request 4.
    pub const SHA_B2_FIRST: &str = "b200000000000000000000000000000000000001";
    pub const SHA_B2_SECOND: &str = "b200000000000000000000000000000000000002";
    pub const SHA_C4_BRANCH: &str = "c400000000000000000000000000000000000001";

    /// `acme/shop` on GitHub, March 2026 (all times UTC):
    ///
    /// Pull requests (listed newest update first):
    /// - #4 by ana: opened 03-09 09:00, merged 03-10 11:00 as `SHA_C4`; bo approved 03-10
    ///   10:00; one commit authored 03-09 08:00, committed 03-09 08:30.
    /// - #3 by bo: closed 03-08 00:00 without merging.
    /// - #2 by bo: opened 03-04 09:00, merged 03-05 15:00 as `SHA_B2`; reviews: bo (the
    ///   author) commented 03-04 10:00, ana requested changes 03-04 12:00, ana approved
    ///   03-05 14:00, cy's review is pending; commits authored 03-03 16:00 / committed
    ///   03-03 16:00 and authored 03-04 08:00 / committed 03-05 09:00.
    /// - #1 by ana: opened 03-01 09:00, merged 03-02 08:00 as `SHA_A1`, no reviews; one
    ///   commit authored and committed 03-01 08:00.
    ///
    /// Production deployments: 101 (`SHA_A1`, created 03-02 12:00, success 03-02 13:00),
    /// 102 (`SHA_B2`, created 03-06 09:00, failure 03-06 09:30), 103 (`SHA_B2`, created
    /// 03-06 11:00, success 03-06 12:00), 104 (`SHA_C4`, created 03-11 09:00, in_progress
    /// 09:01, success 03-11 10:00). Staging: 201 (`SHA_B2`, created 03-06 06:00, success
    /// 07:00). `compare/A1...B2` lists the two commits of #2 and `SHA_B2`;
    /// `compare/B2...C4` lists `SHA_C4_BRANCH` and `SHA_C4`.
    ///
    /// Actions runs: 9001 "CI" on `SHA_B2` 03-05 15:05–15:15 success, 9002 "CI" on
    /// `SHA_C4` 03-10 11:05–11:20 failure, 9003 "CI" cancelled, 9004 "Deploy" on `SHA_C4`
    /// 03-11 09:00–10:00 success.
    pub fn github_shop(api: &FakeApi) {
        let repo = "/repos/acme/shop";
        api.put(
            &format!("{repo}/pulls"),
            Resource::List(vec![
                github::pull(
                    4,
                    "ana",
                    "2026-03-09T09:00:00Z",
                    "2026-03-10T12:00:00Z",
                    Some(("2026-03-10T11:00:00Z", SHA_C4)),
                ),
                github::pull(
                    3,
                    "bo",
                    "2026-03-06T09:00:00Z",
                    "2026-03-08T00:00:00Z",
                    None,
                ),
                github::pull(
                    2,
                    "bo",
                    "2026-03-04T09:00:00Z",
                    "2026-03-06T10:00:00Z",
                    Some(("2026-03-05T15:00:00Z", SHA_B2)),
                ),
                github::pull(
                    1,
                    "ana",
                    "2026-03-01T09:00:00Z",
                    "2026-03-02T09:00:00Z",
                    Some(("2026-03-02T08:00:00Z", SHA_A1)),
                ),
            ]),
        );
        api.put(
            &format!("{repo}/pulls/4/reviews"),
            Resource::List(vec![github::review(
                "bo",
                "APPROVED",
                Some("2026-03-10T10:00:00Z"),
            )]),
        );
        api.put(
            &format!("{repo}/pulls/4/commits"),
            Resource::List(vec![github::commit(
                SHA_C4_BRANCH,
                "2026-03-09T08:00:00Z",
                "2026-03-09T08:30:00Z",
            )]),
        );
        api.put(
            &format!("{repo}/pulls/2/reviews"),
            Resource::List(vec![
                github::review("bo", "COMMENTED", Some("2026-03-04T10:00:00Z")),
                github::review("ana", "CHANGES_REQUESTED", Some("2026-03-04T12:00:00Z")),
                github::review("ana", "APPROVED", Some("2026-03-05T14:00:00Z")),
                github::review("cy", "PENDING", None),
            ]),
        );
        api.put(
            &format!("{repo}/pulls/2/commits"),
            Resource::List(vec![
                github::commit(SHA_B2_FIRST, "2026-03-03T16:00:00Z", "2026-03-03T16:00:00Z"),
                github::commit(
                    SHA_B2_SECOND,
                    "2026-03-04T08:00:00Z",
                    "2026-03-05T09:00:00Z",
                ),
            ]),
        );
        api.put(&format!("{repo}/pulls/1/reviews"), Resource::List(vec![]));
        api.put(
            &format!("{repo}/pulls/1/commits"),
            Resource::List(vec![github::commit(
                SHA_A1,
                "2026-03-01T08:00:00Z",
                "2026-03-01T08:00:00Z",
            )]),
        );
        api.put(
            &format!("{repo}/deployments?environment=production"),
            Resource::List(vec![
                github::deployment(104, SHA_C4, "production", "2026-03-11T09:00:00Z"),
                github::deployment(103, SHA_B2, "production", "2026-03-06T11:00:00Z"),
                github::deployment(102, SHA_B2, "production", "2026-03-06T09:00:00Z"),
                github::deployment(101, SHA_A1, "production", "2026-03-02T12:00:00Z"),
            ]),
        );
        let statuses = [
            (
                104,
                vec![
                    github::status("success", "2026-03-11T10:00:00Z"),
                    github::status("in_progress", "2026-03-11T09:01:00Z"),
                ],
            ),
            (103, vec![github::status("success", "2026-03-06T12:00:00Z")]),
            (102, vec![github::status("failure", "2026-03-06T09:30:00Z")]),
            (101, vec![github::status("success", "2026-03-02T13:00:00Z")]),
            (201, vec![github::status("success", "2026-03-06T07:00:00Z")]),
        ];
        for (id, list) in statuses {
            api.put(
                &format!("{repo}/deployments/{id}/statuses"),
                Resource::List(list),
            );
        }
        api.put(
            &format!("{repo}/deployments?environment=staging"),
            Resource::List(vec![github::deployment(
                201,
                SHA_B2,
                "staging",
                "2026-03-06T06:00:00Z",
            )]),
        );
        api.put(
            &format!("{repo}/compare/{SHA_A1}...{SHA_B2}"),
            github::compare(vec![
                github::commit(SHA_B2_FIRST, "2026-03-03T16:00:00Z", "2026-03-03T16:00:00Z"),
                github::commit(
                    SHA_B2_SECOND,
                    "2026-03-04T08:00:00Z",
                    "2026-03-05T09:00:00Z",
                ),
                github::commit(SHA_B2, "2026-03-05T15:00:00Z", "2026-03-05T15:00:00Z"),
            ]),
        );
        api.put(
            &format!("{repo}/compare/{SHA_B2}...{SHA_C4}"),
            github::compare(vec![
                github::commit(
                    SHA_C4_BRANCH,
                    "2026-03-09T08:00:00Z",
                    "2026-03-09T08:30:00Z",
                ),
                github::commit(SHA_C4, "2026-03-10T11:00:00Z", "2026-03-10T11:00:00Z"),
            ]),
        );
        api.put(
            &format!("{repo}/actions/runs"),
            github::runs(vec![
                github::run(
                    9004,
                    "Deploy",
                    SHA_C4,
                    "2026-03-11T09:00:00Z",
                    "2026-03-11T10:00:00Z",
                    "success",
                ),
                github::run(
                    9003,
                    "CI",
                    SHA_C4,
                    "2026-03-10T11:04:00Z",
                    "2026-03-10T11:06:00Z",
                    "cancelled",
                ),
                github::run(
                    9002,
                    "CI",
                    SHA_C4,
                    "2026-03-10T11:05:00Z",
                    "2026-03-10T11:20:00Z",
                    "failure",
                ),
                github::run(
                    9001,
                    "CI",
                    SHA_B2,
                    "2026-03-05T15:05:00Z",
                    "2026-03-05T15:15:00Z",
                    "success",
                ),
            ]),
        );
    }

    /// PagerDuty service `PSHOP01`: one incident, `PINC001`, created 2026-03-06 14:00
    /// (two hours after production deployment 103 of [`github_shop`] and before 104),
    /// urgency high, priority P1; acknowledged 14:10 (and again 14:20), resolved 16:00.
    pub fn pagerduty_shop(api: &FakeApi) {
        api.put(
            "/incidents",
            pagerduty::list(
                "incidents",
                vec![pagerduty::incident(
                    "PINC001",
                    "2026-03-06T14:00:00Z",
                    "high",
                    Some("P1"),
                )],
            ),
        );
        api.put(
            "/incidents/PINC001/log_entries",
            pagerduty::list(
                "log_entries",
                vec![
                    pagerduty::log_entry("resolve_log_entry", "2026-03-06T16:00:00Z"),
                    pagerduty::log_entry("acknowledge_log_entry", "2026-03-06T14:20:00Z"),
                    pagerduty::log_entry("acknowledge_log_entry", "2026-03-06T14:10:00Z"),
                    pagerduty::log_entry("trigger_log_entry", "2026-03-06T14:00:00Z"),
                ],
            ),
        );
    }

    /// `acme/shop` on GitLab (project path `acme/shop`), March 2026:
    ///
    /// Merge requests (merged): !2 by bo, opened 03-04 09:00, merged 03-05 15:00 as
    /// `SHA_B2`; notes: bo's own comment 03-04 10:00, a system note "assigned to @ana"
    /// 03-04 10:30, ana's comment 03-04 12:00, ana's approval 03-05 14:00, cy's approval
    /// 03-05 16:00 (after the merge); commits authored 03-03 16:00 / committed 03-03 16:00
    /// and authored 03-04 08:00 / committed 03-05 09:00. !1 by ana: opened 03-01 09:00,
    /// merged 03-02 08:00 as `SHA_A1`, no notes, one commit authored and committed
    /// 03-01 08:00.
    ///
    /// Pipelines: 501 on `SHA_A1` success 03-02 08:05–08:20, 502 on `SHA_B2` failed
    /// 03-05 15:05–15:25, 503 running. Production deployments: 41 (`SHA_A1`, success,
    /// job 03-02 12:00–13:00, shipped !1), 42 (`SHA_B2`, failed, job 03-06 09:00–09:30),
    /// 43 (`SHA_B2`, success, job 03-06 11:00–12:00, shipped !2).
    pub fn gitlab_shop(api: &FakeApi) {
        let project = "/api/v4/projects/acme%2Fshop";
        let mr2 = gitlab::merge_request(
            2,
            "bo",
            "2026-03-04T09:00:00Z",
            "2026-03-06T10:00:00Z",
            "2026-03-05T15:00:00Z",
            SHA_B2,
        );
        let mr1 = gitlab::merge_request(
            1,
            "ana",
            "2026-03-01T09:00:00Z",
            "2026-03-02T09:00:00Z",
            "2026-03-02T08:00:00Z",
            SHA_A1,
        );
        api.put(
            &format!("{project}/merge_requests"),
            Resource::List(vec![mr2.clone(), mr1.clone()]),
        );
        api.put(
            &format!("{project}/merge_requests/2/notes"),
            Resource::List(vec![
                gitlab::note("bo", "I think this is ready", false, "2026-03-04T10:00:00Z"),
                gitlab::note("bo", "assigned to @ana", true, "2026-03-04T10:30:00Z"),
                gitlab::note("ana", "Please rename this", false, "2026-03-04T12:00:00Z"),
                gitlab::note(
                    "ana",
                    "approved this merge request",
                    true,
                    "2026-03-05T14:00:00Z",
                ),
                gitlab::note(
                    "cy",
                    "approved this merge request",
                    true,
                    "2026-03-05T16:00:00Z",
                ),
            ]),
        );
        api.put(
            &format!("{project}/merge_requests/2/commits"),
            Resource::List(vec![
                gitlab::commit(
                    SHA_B2_SECOND,
                    "2026-03-04T08:00:00Z",
                    "2026-03-05T09:00:00Z",
                ),
                gitlab::commit(SHA_B2_FIRST, "2026-03-03T16:00:00Z", "2026-03-03T16:00:00Z"),
            ]),
        );
        api.put(
            &format!("{project}/merge_requests/1/notes"),
            Resource::List(vec![]),
        );
        api.put(
            &format!("{project}/merge_requests/1/commits"),
            Resource::List(vec![gitlab::commit(
                SHA_A1,
                "2026-03-01T08:00:00Z",
                "2026-03-01T08:00:00Z",
            )]),
        );
        api.put(
            &format!("{project}/pipelines"),
            Resource::List(vec![
                gitlab::pipeline(
                    503,
                    SHA_B2,
                    "running",
                    "2026-03-06T08:00:00Z",
                    "2026-03-06T08:01:00Z",
                ),
                gitlab::pipeline(
                    502,
                    SHA_B2,
                    "failed",
                    "2026-03-05T15:05:00Z",
                    "2026-03-05T15:25:00Z",
                ),
                gitlab::pipeline(
                    501,
                    SHA_A1,
                    "success",
                    "2026-03-02T08:05:00Z",
                    "2026-03-02T08:20:00Z",
                ),
            ]),
        );
        api.put(
            &format!("{project}/deployments?environment=production"),
            Resource::List(vec![
                gitlab::deployment(
                    43,
                    SHA_B2,
                    "success",
                    "2026-03-06T11:00:00Z",
                    "2026-03-06T12:00:00Z",
                ),
                gitlab::deployment(
                    42,
                    SHA_B2,
                    "failed",
                    "2026-03-06T09:00:00Z",
                    "2026-03-06T09:30:00Z",
                ),
                gitlab::deployment(
                    41,
                    SHA_A1,
                    "success",
                    "2026-03-02T12:00:00Z",
                    "2026-03-02T13:00:00Z",
                ),
            ]),
        );
        api.put(
            &format!("{project}/deployments/43/merge_requests"),
            Resource::List(vec![mr2]),
        );
        api.put(
            &format!("{project}/deployments/41/merge_requests"),
            Resource::List(vec![mr1]),
        );
    }
}
