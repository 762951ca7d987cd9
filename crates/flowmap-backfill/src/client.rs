//! The one HTTP client every backfill uses: authentication per service, rate-limit waits,
//! retries with backoff, conditional requests, and the counters the progress line shows.
//!
//! Faults are handled here once, so the API modules only see answers:
//! - `403`/`429` with `Retry-After`: wait that long; with `X-RateLimit-Remaining: 0` (or
//!   GitLab's `RateLimit-Remaining: 0`): wait until the reset time the headers give. Every
//!   wait is announced through [`Progress::notice`] before it starts.
//! - `5xx` answers and failed connections: retried with doubling backoff, five times.
//! - `401`: stops at once with a message about the token variable.
//! - `304` (to an `If-None-Match`): handed back as [`Answer::NotModified`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use jiff::Timestamp;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};

use crate::BackfillError;

/// The longest single rate-limit wait a run sits through: GitHub's quota resets within
/// the hour, so a longer wait means something else is wrong.
const MAX_WAIT: Duration = Duration::from_secs(2 * 60 * 60);

/// Which API a client talks to: decides the authentication header and the messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    GitHub,
    GitLab,
    PagerDuty,
}

impl Service {
    /// The environment variable the token is read from.
    pub fn token_variable(self) -> &'static str {
        match self {
            Service::GitHub => "GITHUB_TOKEN",
            Service::GitLab => "GITLAB_TOKEN",
            Service::PagerDuty => "PAGERDUTY_TOKEN",
        }
    }

    /// The public API root, used when no `--api-url` is given.
    pub fn default_api_url(self) -> &'static str {
        match self {
            Service::GitHub => "https://api.github.com",
            Service::GitLab => "https://gitlab.com/api/v4",
            Service::PagerDuty => "https://api.pagerduty.com",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::GitHub => "GitHub",
            Service::GitLab => "GitLab",
            Service::PagerDuty => "PagerDuty",
        })
    }
}

/// An API token. It is never printed: `Debug` shows only that one is present.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Wraps a token given directly (e.g. by a test).
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }

    /// Reads the service's token variable (`GITHUB_TOKEN`, `GITLAB_TOKEN`, `PAGERDUTY_TOKEN`).
    pub fn from_env(service: Service) -> Result<Token, BackfillError> {
        let variable = service.token_variable();
        match std::env::var(variable) {
            Ok(token) if !token.trim().is_empty() => Ok(Token(token.trim().to_owned())),
            _ => Err(BackfillError::MissingToken { service, variable }),
        }
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(hidden)")
    }
}

/// How patient the client is.
#[derive(Clone, Copy, Debug)]
pub struct ClientOptions {
    /// Retries of a request that met a server error or a failed connection.
    pub retries: u32,
    /// The first retry's delay; each further retry waits twice as long.
    pub backoff: Duration,
    /// Requests in flight at once for the per-item reads (reviews, commits, statuses).
    pub concurrency: usize,
    /// Rate-limit waits in a row for one request before giving up.
    pub max_rate_limit_waits: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            retries: 5,
            backoff: Duration::from_secs(1),
            concurrency: 8,
            max_rate_limit_waits: 20,
        }
    }
}

/// Where the client reports what it is doing: the progress line.
pub trait Progress: Send + Sync {
    /// The counters changed (a request answered, records saved).
    fn update(&self, stats: &StatsSnapshot);
    /// Something the user should see on its own line: a wait, a retry, a skipped item.
    fn notice(&self, message: &str);
}

/// Running counters of a backfill, shared by the client and the API module.
#[derive(Debug, Default)]
pub struct Stats {
    requests: AtomicU64,
    not_modified: AtomicU64,
    retries: AtomicU64,
    waits: AtomicU64,
    waited_ms: AtomicU64,
    pub(crate) changes: AtomicU64,
    pub(crate) deployments: AtomicU64,
    pub(crate) builds: AtomicU64,
    pub(crate) incidents: AtomicU64,
    pub(crate) checkpoints: AtomicU64,
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// HTTP requests sent, retries and conditional requests included.
    pub requests: u64,
    /// Requests answered `304 Not Modified`.
    pub not_modified: u64,
    /// Requests repeated after a server error or a failed connection.
    pub retries: u64,
    /// Rate-limit waits, and their total length in milliseconds.
    pub waits: u64,
    pub waited_ms: u64,
    pub changes: u64,
    pub deployments: u64,
    pub builds: u64,
    pub incidents: u64,
    /// Checkpoints saved (pages of progress).
    pub checkpoints: u64,
}

impl Stats {
    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StatsSnapshot {
            requests: get(&self.requests),
            not_modified: get(&self.not_modified),
            retries: get(&self.retries),
            waits: get(&self.waits),
            waited_ms: get(&self.waited_ms),
            changes: get(&self.changes),
            deployments: get(&self.deployments),
            builds: get(&self.builds),
            incidents: get(&self.incidents),
            checkpoints: get(&self.checkpoints),
        }
    }
}

pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// A successful answer.
#[derive(Debug)]
pub enum Answer {
    /// `2xx`: the headers and the body.
    Fresh { headers: HeaderMap, body: Vec<u8> },
    /// `304`: the page is the one the sent ETag names.
    NotModified,
}

/// An authenticated client for one service.
pub struct Client {
    http: reqwest::Client,
    service: Service,
    token: Token,
    options: ClientOptions,
    stats: Arc<Stats>,
    progress: Arc<dyn Progress>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("service", &self.service)
            .field("token", &self.token)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `service` with `token`, reporting to `progress`.
    pub fn new(
        service: Service,
        token: Token,
        options: ClientOptions,
        progress: Arc<dyn Progress>,
    ) -> Result<Client, BackfillError> {
        // reqwest is built without a default crypto provider (aws-lc needs a C toolchain);
        // ring is installed once for the process. A second install finds one and is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("flowmap/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|err| BackfillError::Invalid {
                what: "HTTP client".into(),
                problem: err.to_string(),
            })?;
        Ok(Client {
            http,
            service,
            token,
            options,
            stats: Arc::new(Stats::default()),
            progress,
        })
    }

    /// The service this client talks to.
    pub fn service(&self) -> Service {
        self.service
    }

    /// The client's options.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Runs `read` on every item, at most `concurrency` of them at a time, and returns
    /// the results in the items' order; the first error stops the rest.
    pub async fn read_each<I, T, F, Fut>(&self, items: I, read: F) -> Result<Vec<T>, BackfillError>
    where
        I: IntoIterator,
        F: FnMut(I::Item) -> Fut,
        Fut: Future<Output = Result<T, BackfillError>>,
    {
        stream::iter(items)
            .map(read)
            .buffered(self.options.concurrency.max(1))
            .try_collect()
            .await
    }

    /// The running counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub(crate) fn report(&self) {
        self.progress.update(&self.stats.snapshot());
    }

    pub(crate) fn notice(&self, message: &str) {
        self.progress.notice(message);
    }

    /// `GET url`, with `If-None-Match: etag` when given, through every fault this module
    /// handles.
    pub async fn get(&self, url: &str, etag: Option<&str>) -> Result<Answer, BackfillError> {
        let mut failures = 0u32;
        let mut rate_waits = 0u32;
        loop {
            bump(&self.stats.requests, 1);
            let mut request = self.http.get(url).headers(self.auth_headers());
            if let Some(etag) = etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            let problem = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    if status.is_success() {
                        match response.bytes().await {
                            Ok(body) => {
                                self.report();
                                return Ok(Answer::Fresh {
                                    headers,
                                    body: body.to_vec(),
                                });
                            }
                            Err(err) => format!("the answer broke off: {}", describe(&err)),
                        }
                    } else if status == StatusCode::NOT_MODIFIED {
                        bump(&self.stats.not_modified, 1);
                        self.report();
                        return Ok(Answer::NotModified);
                    } else if status == StatusCode::UNAUTHORIZED {
                        return Err(BackfillError::Unauthorized {
                            service: self.service,
                            variable: self.service.token_variable(),
                            url: url.to_owned(),
                        });
                    } else if status == StatusCode::FORBIDDEN
                        || status == StatusCode::TOO_MANY_REQUESTS
                    {
                        let wait = rate_limit_wait(&headers, Timestamp::now());
                        let message = error_message(response.text().await.ok());
                        match wait {
                            Some(wait) if wait > MAX_WAIT => {
                                return Err(BackfillError::Status {
                                    url: url.to_owned(),
                                    status: status.as_u16(),
                                    message: format!(
                                        "rate limited for {:.0}s, longer than the {}s a run \
                                         waits; run again later: {message}",
                                        wait.as_secs_f64(),
                                        MAX_WAIT.as_secs()
                                    ),
                                });
                            }
                            Some(wait) if rate_waits < self.options.max_rate_limit_waits => {
                                rate_waits += 1;
                                self.wait(url, status, wait).await;
                                continue;
                            }
                            None if status == StatusCode::FORBIDDEN => {
                                return Err(BackfillError::Forbidden {
                                    service: self.service,
                                    variable: self.service.token_variable(),
                                    url: url.to_owned(),
                                    message,
                                });
                            }
                            Some(_) => {
                                return Err(BackfillError::Status {
                                    url: url.to_owned(),
                                    status: status.as_u16(),
                                    message: format!(
                                        "still rate limited after {rate_waits} waits: {message}"
                                    ),
                                });
                            }
                            // A 429 that names no time: back off like a server error.
                            None => format!("HTTP 429: {message}"),
                        }
                    } else if status.is_server_error() {
                        let message = error_message(response.text().await.ok());
                        format!("HTTP {}: {message}", status.as_u16())
                    } else {
                        return Err(BackfillError::Status {
                            url: url.to_owned(),
                            status: status.as_u16(),
                            message: error_message(response.text().await.ok()),
                        });
                    }
                }
                Err(err) => describe(&err),
            };
            if failures >= self.options.retries {
                return Err(BackfillError::Connection {
                    url: url.to_owned(),
                    problem: format!("{problem} (gave up after {failures} retries)"),
                });
            }
            let delay = self.options.backoff * 2u32.saturating_pow(failures);
            failures += 1;
            bump(&self.stats.retries, 1);
            self.notice(&format!(
                "{problem} at {url}; retry {failures} of {} in {:.1}s",
                self.options.retries,
                delay.as_secs_f64()
            ));
            tokio::time::sleep(delay).await;
        }
    }

    async fn wait(&self, url: &str, status: StatusCode, wait: Duration) {
        bump(&self.stats.waits, 1);
        bump(
            &self.stats.waited_ms,
            u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        );
        self.notice(&format!(
            "rate limited (HTTP {}) at {url}: waiting {:.0}s as {} asks",
            status.as_u16(),
            wait.as_secs_f64().ceil(),
            self.service
        ));
        self.report();
        tokio::time::sleep(wait).await;
    }

    fn auth_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let (name, value) = match self.service {
            Service::GitHub => (header::AUTHORIZATION, format!("Bearer {}", self.token.0)),
            Service::GitLab => (
                header::HeaderName::from_static("private-token"),
                self.token.0.clone(),
            ),
            Service::PagerDuty => (
                header::AUTHORIZATION,
                format!("Token token={}", self.token.0),
            ),
        };
        // A token with bytes no header may carry is sent as nothing, and the service's
        // 401 then names the variable to fix.
        if let Ok(mut value) = HeaderValue::from_str(&value) {
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        match self.service {
            Service::GitHub => {
                headers.insert(
                    header::ACCEPT,
                    HeaderValue::from_static("application/vnd.github+json"),
                );
                headers.insert(
                    header::HeaderName::from_static("x-github-api-version"),
                    HeaderValue::from_static("2022-11-28"),
                );
            }
            Service::PagerDuty => {
                headers.insert(
                    header::ACCEPT,
                    HeaderValue::from_static("application/vnd.pagerduty+json;version=2"),
                );
            }
            Service::GitLab => {}
        }
        headers
    }
}

/// How long a `403`/`429` asks the client to wait, if it says: `Retry-After` (seconds or
/// an HTTP date) first, else an exhausted quota's reset time (`X-RateLimit-Reset` on
/// GitHub, `RateLimit-Reset` on GitLab, both epoch seconds). `None`: no rate limit.
pub(crate) fn rate_limit_wait(headers: &HeaderMap, now: Timestamp) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(after) = text("retry-after") {
        let after = after.trim();
        if let Ok(seconds) = after.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(at) = jiff::fmt::rfc2822::parse(after) {
            let at = at.timestamp();
            return Some(until(now, at));
        }
    }
    for (remaining, reset) in [
        ("x-ratelimit-remaining", "x-ratelimit-reset"),
        ("ratelimit-remaining", "ratelimit-reset"),
    ] {
        if text(remaining).map(str::trim) == Some("0") {
            let reset = text(reset).and_then(|reset| reset.trim().parse::<i64>().ok());
            let at = reset.and_then(|seconds| Timestamp::from_second(seconds).ok());
            // An exhausted quota with no readable reset: GitHub's quota window is an hour,
            // but a minute and another try is the cautious guess.
            return Some(at.map_or(Duration::from_secs(60), |at| until(now, at)));
        }
    }
    None
}

/// From `now` to `at`, plus a second of slack for clock skew; zero if `at` has passed.
fn until(now: Timestamp, at: Timestamp) -> Duration {
    let ms = at.as_millisecond() - now.as_millisecond();
    Duration::from_millis(u64::try_from(ms).unwrap_or(0)) + Duration::from_secs(1)
}

/// The message of an error body (`{"message": …}` on GitHub and GitLab, `{"error":
/// {"message": …}}` on PagerDuty), or its first 200 characters.
fn error_message(body: Option<String>) -> String {
    let Some(body) = body else {
        return "no body".into();
    };
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&body) {
        let message = value
            .get("message")
            .or_else(|| value.get("error").and_then(|error| error.get("message")))
            .or_else(|| value.get("error"));
        if let Some(serde_json::Value::String(message)) = message {
            return message.clone();
        }
    }
    body.chars().take(200).collect()
}

/// A reqwest error in words, with its causes (they say which connection step failed).
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn rate_limit_headers_never_panic(
            after in ".{0,40}",
            remaining in ".{0,5}",
            reset in ".{0,25}",
            now in any::<i32>(),
        ) {
            let mut map = HeaderMap::new();
            for (name, value) in [("retry-after", &after), ("x-ratelimit-remaining", &remaining), ("x-ratelimit-reset", &reset)] {
                if let Ok(value) = HeaderValue::from_str(value) {
                    map.insert(name, value);
                }
            }
            let now = Timestamp::from_second(i64::from(now)).unwrap_or(Timestamp::UNIX_EPOCH);
            let _ = rate_limit_wait(&map, now);
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_seconds_and_dates_are_honoured() {
        let now: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
        assert_eq!(
            rate_limit_wait(&headers(&[("retry-after", "30")]), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            rate_limit_wait(
                &headers(&[("retry-after", "Sun, 01 Mar 2026 12:00:10 GMT")]),
                now
            ),
            Some(Duration::from_secs(11))
        );
    }

    #[test]
    fn an_exhausted_quota_waits_until_its_reset() {
        let now: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
        let reset = now.as_second() + 90;
        let github = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset.to_string()),
        ]);
        assert_eq!(rate_limit_wait(&github, now), Some(Duration::from_secs(91)));
        let gitlab = headers(&[
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", &reset.to_string()),
        ]);
        assert_eq!(rate_limit_wait(&gitlab, now), Some(Duration::from_secs(91)));
        // A reset already past costs only the slack second.
        let past = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "0")]);
        assert_eq!(rate_limit_wait(&past, now), Some(Duration::from_secs(1)));
    }

    #[test]
    fn a_forbidden_answer_with_quota_left_is_no_rate_limit() {
        let now = Timestamp::UNIX_EPOCH;
        let left = headers(&[("x-ratelimit-remaining", "12"), ("x-ratelimit-reset", "99")]);
        assert_eq!(rate_limit_wait(&left, now), None);
        assert_eq!(rate_limit_wait(&HeaderMap::new(), now), None);
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message(Some(r#"{"message":"Bad credentials"}"#.into())),
            "Bad credentials"
        );
        assert_eq!(
            error_message(Some(
                r#"{"error":{"message":"Not Found","code":2100}}"#.into()
            )),
            "Not Found"
        );
        assert_eq!(error_message(Some("<html>".into())), "<html>");
    }

    #[test]
    fn tokens_do_not_print() {
        let token = Token::new("ghp_secret123");
        assert_eq!(format!("{token:?}"), "Token(hidden)");
    }
}
