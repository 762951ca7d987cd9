//! Query parameters shared by the API and the pages: the DORA window and paging.

use flowmap_app::Window;
use flowmap_core::dora::{DoraOptions, parse_window_bound};
use jiff::Timestamp;
use serde::Deserialize;

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

fn parse_time(name: &str, text: &str) -> Result<Timestamp, ApiError> {
    parse_window_bound(text).map_err(|e| ApiError::bad_request(format!("{name}: {e}")))
}

impl WindowParams {
    /// The window these parameters ask for: the one default window (the 90 days before
    /// now) unless `since` or `until` is given.
    pub fn window(&self, now: Timestamp) -> Result<Window, ApiError> {
        let until = match self.until.as_deref().filter(|s| !s.is_empty()) {
            Some(text) => Some(parse_time("until", text)?),
            None => None,
        };
        let since = match self.since.as_deref().filter(|s| !s.is_empty()) {
            Some(text) => Some(parse_time("since", text)?),
            None => None,
        };
        Ok(Window::choose(since, until, now))
    }

    /// The DORA options these parameters ask for, with `flowmap dora`'s defaults.
    pub fn options(&self, now: Timestamp) -> Result<DoraOptions, ApiError> {
        let window = self.window(now)?;
        let mut options = DoraOptions::new(window.since, window.until);
        if let Some(service) = self.service.as_deref().filter(|s| !s.is_empty()) {
            options.services = vec![service.to_owned()];
        }
        if let Some(env) = self.env.as_deref().filter(|s| !s.is_empty()) {
            options.environments = env
                .split(',')
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty())
                .collect();
        }
        Ok(options)
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

/// `?page=&per_page=`: 1-based pages of at most 500 items (default 100).
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct PageParams {
    #[serde(default = "first_page")]
    pub page: u32,
    #[serde(default = "default_per_page")]
    pub per_page: u32,
}

fn first_page() -> u32 {
    1
}

fn default_per_page() -> u32 {
    100
}

impl PageParams {
    /// The items of this page, or an error for a page 0 or a size outside 1..=500.
    pub fn slice<'a, T>(&self, items: &'a [T]) -> Result<&'a [T], ApiError> {
        if self.page == 0 {
            return Err(ApiError::bad_request("page: pages start at 1"));
        }
        if !(1..=500).contains(&self.per_page) {
            return Err(ApiError::bad_request("per_page: must be between 1 and 500"));
        }
        let start = (self.page as usize - 1).saturating_mul(self.per_page as usize);
        let end = start
            .saturating_add(self.per_page as usize)
            .min(items.len());
        Ok(items.get(start..end).unwrap_or(&[]))
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
    fn pages_slice_and_reject_nonsense() {
        let items: Vec<u32> = (1..=5).collect();
        let page = |page, per_page| PageParams { page, per_page };
        assert_eq!(page(1, 2).slice(&items).unwrap(), [1, 2]);
        assert_eq!(page(3, 2).slice(&items).unwrap(), [5]);
        assert!(page(4, 2).slice(&items).unwrap().is_empty());
        assert!(page(0, 2).slice(&items).is_err());
        assert!(page(1, 501).slice(&items).is_err());
    }
}
