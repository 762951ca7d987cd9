//! Which stored records a DORA report needs.

use flowmap_core::dora::DoraOptions;

use crate::{LoadQuery, TimeRange};

impl LoadQuery {
    /// The records to load for a DORA report with `options`: every command and page that
    /// computes one loads through this, so they all see the same data.
    ///
    /// Only the services and environments are narrowed; no time window is. A report
    /// needs records far outside its window: the deployments before `since` decide which
    /// deployment first shipped a change, a change may wait months before it ships, and
    /// deployments and incidents after `until` can make a deployment inside the window
    /// failed or recovered. Narrowing by service is what keeps the load small; leaving out
    /// the columns no DORA metric reads (`dora_columns_only`) keeps it lean.
    ///
    /// ```
    /// use flowmap_core::dora::DoraOptions;
    /// use flowmap_store::{LoadQuery, TimeRange};
    ///
    /// let mut options = DoraOptions::new(
    ///     "2026-01-01T00:00:00Z".parse().unwrap(),
    ///     "2026-04-01T00:00:00Z".parse().unwrap(),
    /// );
    /// options.services = vec!["checkout".into()];
    /// let query = LoadQuery::for_dora(&options);
    /// assert_eq!(query.services, ["checkout"]);
    /// assert_eq!(query.environments, ["production"]);
    /// assert_eq!(query.deployments, TimeRange::ALL);
    /// assert!(query.dora_columns_only);
    /// ```
    pub fn for_dora(options: &DoraOptions) -> LoadQuery {
        LoadQuery {
            services: options.services.clone(),
            environments: options.environments.clone(),
            dora_columns_only: true,
            ..LoadQuery::default()
        }
    }

    /// The records to load to measure a map of `service`: as for DORA (no time window, for
    /// the same reasons), every environment (a map may bind `deployed@staging`), and the
    /// service's builds and milestones.
    pub fn for_measure(service: &str) -> LoadQuery {
        LoadQuery {
            services: vec![service.to_owned()],
            builds: Some(TimeRange::ALL),
            milestones: Some(TimeRange::ALL),
            ..LoadQuery::default()
        }
    }
}
