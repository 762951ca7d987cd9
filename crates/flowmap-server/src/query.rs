//! Query parameters shared by the API and the pages: the DORA window and paging, and the
//! extractor that reads them.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use flowmap_app::Window;
use flowmap_core::dora::{DoraOptions, parse_window_bound};
use flowmap_store::Cursor;
use jiff::Timestamp;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `?service=&env=&since=&until=`, as `flowmap dora` takes them.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct WindowParams {
    /// One service; absent means every service.
    pub service: Option<String>,
    /// Environments, comma-separated; default `production`.
    pub env: Option<String>,
    /// A date (midnight UTC) or an RFC 3339 time; default 90 days before `until`.
    pub since: Option<String>,
    /// A date or an RFC 3339 time; default now.
    pub until: Option<String>,
}

/// Reads the window bound `text` of parameter `name`: a date (midnight UTC) or an RFC 3339
/// time.
fn parse_time(name: &str, text: &str) -> Result<Timestamp, ApiError> {
    parse_window_bound(text).map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
}

/// Reads the optional window bound of parameter `name`; absent or empty means none.
pub fn optional_time(name: &str, text: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    text.filter(|text| !text.is_empty())
        .map(|text| parse_time(name, text))
        .transpose()
}

impl WindowParams {
    /// The window these parameters ask for: the one default window (the 90 days before
    /// now) unless `since` or `until` is given.
    pub fn window(&self, now: Timestamp) -> Result<Window, ApiError> {
        let until = optional_time("until", self.until.as_deref())?;
        let since = optional_time("since", self.since.as_deref())?;
        Ok(Window::choose(since, until, now))
    }

    /// The DORA options these parameters ask for, with `flowmap dora`'s defaults.
    pub fn options(&self, now: Timestamp) -> Result<DoraOptions, ApiError> {
        let window = self.window(now)?;
        let mut options = DoraOptions::new(window.since, window.until);
        if let Some(service) = self.service.as_deref().filter(|s| !s.is_empty()) {
            options.services = vec![service.to_owned()];
        }
        let environments = self.named_environments();
        if !environments.is_empty() {
            options.environments = environments;
        }
        Ok(options)
    }

    /// The environments `env=` names (comma-separated); empty when the request takes the
    /// default. Only named ones are checked against the data: the default is no typo.
    pub fn named_environments(&self) -> Vec<String> {
        self.env
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect()
    }
}

impl WindowParams {
    /// The measurement these parameters ask for (one environment: the first given), with
    /// `flowmap map measure`'s defaults; no service means the map's own `service:`.
    pub fn measure_request(
        &self,
        now: Timestamp,
    ) -> Result<flowmap_app::measure::MeasureRequest, ApiError> {
        let options = self.options(now)?;
        Ok(flowmap_app::measure::MeasureRequest {
            service: options.services.first().cloned(),
            environment: options
                .environments
                .first()
                .cloned()
                .unwrap_or_else(|| flowmap_core::dora::DEFAULT_ENVIRONMENT.to_owned()),
            since: options.since,
            until: options.until,
            attribution_window: options.attribution_window,
            analysis: flowmap_core::map::AnalysisOptions::default(),
            explain: false,
        })
    }
}

/// How a list is paged: `?limit=&cursor=` (a page of at most 500 records, default 100,
/// after the cursor a previous page's `next` carried), or the older numbered pages
/// `?page=&per_page=` (1-based), which also report the list's `total`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PageParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// A page size when none is given.
const DEFAULT_LIMIT: u32 = 100;

/// The largest page.
const MAX_LIMIT: u32 = 500;

/// What [`PageParams`] asked for, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Paging {
    /// `limit` records after `cursor` (from the first when `None`).
    Cursor { limit: u32, cursor: Option<Cursor> },
    /// The 1-based page `page` of `per_page` records. `after` is where it starts when the
    /// page came from the previous page's `next` link: following the links then costs the
    /// same at any depth, where a page number alone is found by skipping records.
    Numbered {
        page: u32,
        per_page: u32,
        after: Option<Cursor>,
    },
}

impl PageParams {
    /// The paging asked for, or an error naming the parameter that is out of range,
    /// unreadable or mixed with the other kind of paging.
    pub fn paging(&self) -> Result<Paging, ApiError> {
        let size = |name: &str, value: Option<u32>| match value {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::bad_request(format!(
                "{name}: must be between 1 and {MAX_LIMIT}"
            ))),
        };
        let numbered = self.page.is_some() || self.per_page.is_some();
        if numbered && self.limit.is_some() {
            return Err(ApiError::bad_request(
                "page, per_page: use either page and per_page or limit",
            ));
        }
        let cursor =
            match &self.cursor {
                None => None,
                Some(token) => Some(Cursor::parse(token).ok_or_else(|| {
                    ApiError::bad_request("cursor: not a cursor this list gave out")
                })?),
            };
        if numbered {
            let page = self.page.unwrap_or(1);
            if page == 0 {
                return Err(ApiError::bad_request("page: pages start at 1"));
            }
            return Ok(Paging::Numbered {
                page,
                per_page: size("per_page", self.per_page)?,
                after: cursor,
            });
        }
        Ok(Paging::Cursor {
            limit: size("limit", self.limit)?,
            cursor,
        })
    }
}

/// `?version=N`: one saved version of a map or an outcome; absent means the latest.
#[derive(Debug, Deserialize)]
pub struct VersionParams {
    pub version: Option<u32>,
}

/// Query parameters, read like axum's `Query`, except that a malformed query string is
/// answered as every other API error is: `400` with `{"error": "…"}` naming the parameter
/// (`page: invalid digit found in string`), not a plain-text body.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(params)) => Ok(Query(params)),
            Err(rejection) => {
                let text = rejection.body_text();
                let problem = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                Err(ApiError::bad_request(format!("query parameter {problem}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_defaults_to_the_90_days_before_now() {
        let now: Timestamp = "2026-04-01T00:00:00Z".parse().unwrap();
        let options = WindowParams::default().options(now).unwrap();
        assert_eq!(options.until, now);
        assert_eq!(
            options.since,
            "2026-01-01T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(options.environments, ["production"]);
        assert!(options.services.is_empty());
    }

    #[test]
    fn dates_are_midnight_utc_and_envs_split_on_commas() {
        let params = WindowParams {
            service: Some("shop".into()),
            env: Some("production, eu".into()),
            since: Some("2026-01-05".into()),
            until: Some("2026-02-01T12:00:00+01:00".into()),
        };
        let options = params.options(Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(
            options.since,
            "2026-01-05T00:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            options.until,
            "2026-02-01T11:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(options.environments, ["production", "eu"]);
        assert_eq!(options.services, ["shop"]);
        let bad = WindowParams {
            since: Some("2026-01-05 10:00".into()),
            ..WindowParams::default()
        };
        assert!(
            bad.options(Timestamp::UNIX_EPOCH)
                .unwrap_err()
                .message
                .starts_with("since:")
        );
    }

    #[test]
    fn paging_takes_cursors_or_numbers_and_rejects_nonsense() {
        let params = |limit, cursor: Option<&str>, page, per_page| PageParams {
            limit,
            cursor: cursor.map(str::to_owned),
            page,
            per_page,
        };
        assert_eq!(
            params(None, None, None, None).paging().unwrap(),
            Paging::Cursor {
                limit: 100,
                cursor: None
            }
        );
        let cursor = Cursor {
            time: 5,
            source: "import".into(),
            id: "d1".into(),
        };
        assert_eq!(
            params(Some(2), Some(&cursor.encode()), None, None)
                .paging()
                .unwrap(),
            Paging::Cursor {
                limit: 2,
                cursor: Some(cursor.clone())
            }
        );
        assert_eq!(
            params(None, None, None, Some(2)).paging().unwrap(),
            Paging::Numbered {
                page: 1,
                per_page: 2,
                after: None
            }
        );
        let message = |p: PageParams| p.paging().unwrap_err().message;
        assert!(message(params(None, None, Some(0), None)).starts_with("page:"));
        assert!(message(params(None, None, None, Some(501))).starts_with("per_page:"));
        assert!(message(params(Some(0), None, None, None)).starts_with("limit:"));
        assert!(message(params(None, Some("nope"), None, None)).starts_with("cursor:"));
        assert!(message(params(Some(2), None, Some(1), None)).starts_with("page, per_page:"));
        assert!(message(params(None, Some("nope"), Some(2), None)).starts_with("cursor:"));
        assert_eq!(
            params(None, Some(&cursor.encode()), Some(4), Some(2))
                .paging()
                .unwrap(),
            Paging::Numbered {
                page: 4,
                per_page: 2,
                after: Some(cursor)
            }
        );
    }
}
