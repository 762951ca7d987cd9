//! The warmer: a background task of `flowmap serve` that keeps the default reports warm
//! across the minute.
//!
//! The default window ends at the whole minute, so the first request of each minute asks
//! a question nobody asked before. A few milliseconds after every whole minute the warmer
//! asks [`Reports::warm`] to compute the default reports people asked for in the last few
//! minutes ([`flowmap_app::reports::WARM_FOR`]), into the same cache the requests read, so
//! that first request is a cache hit. When nobody asked, it does nothing. A failure is
//! logged and the next minute tries again; the task ends with the server.

use std::time::Duration;

use flowmap_app::Reports;
use jiff::{SignedDuration, Timestamp};

/// How long after the whole minute the warmer starts: the new minute has surely begun.
const LAG: SignedDuration = SignedDuration::from_millis(5);

/// Warms `reports` after every whole minute, forever (the server aborts it).
pub(crate) async fn run(reports: Reports) {
    loop {
        let target = next_warming(Timestamp::now());
        let wait = target.duration_since(Timestamp::now());
        tokio::time::sleep(Duration::try_from(wait).unwrap_or(Duration::ZERO)).await;
        // A clock that woke the task a hair early still warms the minute it was meant for.
        let now = Timestamp::now().max(target);
        match reports.warm(now).await {
            Ok(0) => {}
            Ok(computed) => tracing::debug!("warmed {computed} default reports for {now}"),
            Err(err) => tracing::warn!("warming the default reports failed: {err}"),
        }
    }
}

/// When to warm next after `now`: [`LAG`] after the next whole minute.
fn next_warming(now: Timestamp) -> Timestamp {
    let minute = now.as_second().div_euclid(60) * 60;
    Timestamp::from_second(minute + 60)
        .map(|next| next + LAG)
        .unwrap_or(now)
}

/// Aborts the warmer when the server stops, however it stops.
pub(crate) struct Running(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::WindowParams;
    use flowmap_app::App;
    use flowmap_core::events::{Change, Deployment, Incident};
    use flowmap_store::testing::{TestDb, uncached_dora};
    use flowmap_store::{Batch, Store};

    fn t(text: &str) -> Timestamp {
        text.parse().expect("test time")
    }

    #[test]
    fn the_next_warming_is_just_after_the_next_whole_minute() {
        assert_eq!(
            next_warming(t("2026-12-01T10:00:59.995Z")),
            t("2026-12-01T10:01:00.005Z")
        );
        assert_eq!(
            next_warming(t("2026-12-01T10:01:00Z")),
            t("2026-12-01T10:02:00.005Z")
        );
        assert_eq!(
            next_warming(t("2026-12-01T10:01:00.004Z")),
            t("2026-12-01T10:02:00.005Z")
        );
    }

    /// Requests in one minute (the overview's and `/metrics`' default, and `/api/v1/dora`
    /// for staging), the warmer just after the next whole minute, then the same requests
    /// later in that minute: they ask exactly what was warmed, find it in the cache, and
    /// get the numbers an uncached computation gives.
    async fn the_warmer_computes_what_the_next_minute_asks(location: String) {
        let store = Store::open(&location).await.unwrap();
        let mut batch = Batch::default();
        for day in 0..120 {
            let time = t("2026-08-01T09:00:00Z") + SignedDuration::from_hours(day * 24);
            for (service, env) in [("shop", "production"), ("cart", "staging")] {
                let mut deployment = Deployment::new(format!("{service}-{day}"), service, time);
                deployment.environment = env.into();
                let mut change = Change::new(
                    format!("{service}-c{day}"),
                    service,
                    time - SignedDuration::from_hours(day % 7 + 1),
                );
                change.deployment = Some(deployment.id.clone());
                batch.deployments.push(deployment);
                batch.changes.push(change);
            }
            if day % 10 == 3 {
                let mut incident = Incident::new(
                    format!("i{day}"),
                    "shop",
                    time + SignedDuration::from_hours(2),
                );
                incident.resolved_at = Some(time + SignedDuration::from_hours(5));
                batch.incidents.push(incident);
            }
        }
        store.write("import", &batch).await.unwrap();
        let app = App::new(store.clone());
        let reports = app.reports();

        let overview = WindowParams::default();
        let staging = WindowParams {
            env: Some("staging".into()),
            ..WindowParams::default()
        };
        let explicit = WindowParams {
            since: Some("2026-09-01".into()),
            ..WindowParams::default()
        };
        let ask = |params: &WindowParams, now: Timestamp| {
            let options = params.options(now).unwrap();
            let window = params.window(now).unwrap();
            async move { reports.dora_in(&options, &window, now).await.unwrap() }
        };
        let first = t("2026-12-01T10:00:42.7Z");
        for params in [&overview, &overview, &staging, &explicit] {
            ask(params, first).await;
        }
        assert_eq!(reports.computations(), 3);

        let warming = next_warming(first);
        let later = t("2026-12-01T10:01:31Z");
        assert_eq!(
            reports.to_warm(warming),
            [
                overview.options(later).unwrap(),
                staging.options(later).unwrap()
            ]
        );
        assert_eq!(reports.warm(warming).await.unwrap(), 2);
        assert_eq!(reports.computations(), 5);
        for params in [&overview, &staging] {
            let served = ask(params, later).await;
            let options = params.options(later).unwrap();
            assert_eq!(served, uncached_dora(&store, &options).await);
            assert!(served.metrics.deployment_frequency.deployments > 0);
        }
        assert_eq!(reports.computations(), 5, "both were cache hits");

        // A write makes the warmed reports unreachable: the next ones are new numbers.
        let mut late = Deployment::new("shop-late", "shop", t("2026-11-30T12:00:00Z"));
        late.environment = "production".into();
        store
            .write(
                "import",
                &Batch {
                    deployments: vec![late],
                    ..Batch::default()
                },
            )
            .await
            .unwrap();
        let served = ask(&overview, later).await;
        assert_eq!(
            served,
            uncached_dora(&store, &overview.options(later).unwrap()).await
        );
        assert_eq!(reports.computations(), 6);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_warmer_computes_what_the_next_minute_asks_on_sqlite() {
        let db = TestDb::sqlite();
        the_warmer_computes_what_the_next_minute_asks(db.location()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_warmer_computes_what_the_next_minute_asks_on_postgres() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        the_warmer_computes_what_the_next_minute_asks(db.location()).await;
    }
}
