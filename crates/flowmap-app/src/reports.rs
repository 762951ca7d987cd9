//! The one path from the store to a DORA report, and the cache in front of it.
//!
//! Every page, endpoint and `flowmap dora` asks [`Reports::dora`]. Reports, the service
//! list and the data's extent are kept in a small least-recently-used cache keyed by what
//! was asked *and* the store's data version ([`Store::data_version`], raised by every
//! committed write). A request reads the version first (one primary-key read), so a write
//! by this process or any other sharing the database makes every older entry unreachable
//! at once: cached numbers are always the numbers an uncached computation would give.
//!
//! The default window ends at the whole minute, so each minute asks a new question. The
//! reports of the default windows asked for recently are remembered ([`Reports::dora_in`])
//! and [`Reports::warm`] computes them for the new minute as it begins (the server calls it
//! a few milliseconds after each whole minute), so the first request of the minute finds
//! its report in the cache.
//!
//! The totals of lists and the places their numbered pages made known ([`crate::pages`])
//! are kept the same way, in a cache of their own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use flowmap_core::dora::{DoraInput, DoraOptions, DoraReport, GroupedReport, compute};
use flowmap_store::{Extent, LoadQuery, Store, TimeRange};
use jiff::{SignedDuration, Timestamp};

use crate::pages::{PageStart, Places};
use crate::{AppError, Window};

/// How many answers the cache keeps. An overview, `/metrics`, the API's report and a few
/// dozen service pages in a handful of windows fit; a report over every service without
/// evidence is well under a megabyte even for a thousand services.
const CAPACITY: usize = 64;

/// The cache's key for `what` (`count`, `places`) of a list.
fn list_key(
    what: &str,
    table: &str,
    service: Option<&str>,
    range: TimeRange,
) -> Result<String, AppError> {
    Ok(format!(
        "{what}:{}",
        serde_json::to_string(&(table, service, range.from, range.to))
            .map_err(|err| AppError::Invalid(format!("{what}: {err}")))?
    ))
}

/// A numbered page this many records or more from the start of its list and from every
/// place known in it is counted from the end when that is nearer: over a million changes,
/// skipping ten thousand records takes a millisecond or two.
const FAR: u64 = 10_000;

/// How long after a default window was last asked for it is kept warm.
pub const WARM_FOR: SignedDuration = SignedDuration::from_mins(5);

/// At most this many default option sets (scopes without a window) are kept warm at
/// once: the most recently asked.
const WARM_SETS: usize = 8;

/// Produces DORA reports. Cheap to clone; clones share one cache.
#[derive(Clone, Debug)]
pub struct Reports {
    pub(crate) store: Store,
    cache: Shared,
    /// The totals and known places of lists, apart from the reports: paging through many
    /// filtered lists must not push an expensive report out of the cache.
    lists: Shared,
    /// The default option sets asked for, each with its window cleared, and when each was
    /// last asked for, least recent first.
    asked: Arc<Mutex<Vec<(DoraOptions, Timestamp)>>>,
    /// How many reports were computed rather than found in the cache.
    computed: Arc<AtomicU64>,
    /// The reports being computed.
    computing: Arc<Mutex<Vec<Gate>>>,
}

/// A report being computed: its data version, its key and the lock waiters queue on.
type Gate = (i64, String, Arc<tokio::sync::Mutex<()>>);

/// A request's place at one report's [`Gate`]. However the request ends (answered from
/// the cache, computed, failed, or dropped midway), the gate leaves the list with it, so
/// the list holds only reports being asked for now.
struct Turn<'r> {
    computing: &'r Mutex<Vec<Gate>>,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Ok(mut computing) = self.computing.lock() {
            computing.retain(|(_, _, held)| !Arc::ptr_eq(held, &self.lock));
        }
    }
}

/// One cached answer.
#[derive(Clone, Debug)]
enum Answer {
    Report(Arc<DoraReport>),
    /// A sorted list of names (services, environments).
    Names(Arc<Vec<String>>),
    Extent(Option<Extent>),
    /// How many records a list holds.
    Count(u64),
    /// Where records of a list are known to sit.
    Places(Places),
}

/// A [`Cache`] shared by the clones of one [`Reports`].
#[derive(Clone, Debug, Default)]
struct Shared(Arc<Mutex<Cache>>);

impl Shared {
    fn get(&self, version: i64, key: &str) -> Option<Answer> {
        self.0.lock().ok()?.get(version, key)
    }

    fn put(&self, version: i64, key: String, answer: Answer) {
        if let Ok(mut cache) = self.0.lock() {
            cache.put(version, key, answer);
        }
    }
}

/// The answers computed under one data version, most recently used last.
#[derive(Debug, Default)]
struct Cache {
    version: i64,
    entries: Vec<(String, Answer)>,
}

impl Cache {
    fn get(&mut self, version: i64, key: &str) -> Option<Answer> {
        if version != self.version {
            return None;
        }
        let at = self.entries.iter().position(|(k, _)| k == key)?;
        let entry = self.entries.remove(at);
        let answer = entry.1.clone();
        self.entries.push(entry);
        Some(answer)
    }

    fn put(&mut self, version: i64, key: String, answer: Answer) {
        if version > self.version {
            self.version = version;
            self.entries.clear();
        } else if version < self.version {
            // Computed under a version already superseded: nobody can ask for it again.
            return;
        }
        self.entries.retain(|(k, _)| *k != key);
        if self.entries.len() >= CAPACITY {
            self.entries.remove(0);
        }
        self.entries.push((key, answer));
    }
}

impl Reports {
    pub(crate) fn new(store: Store) -> Reports {
        Reports {
            store,
            cache: Shared::default(),
            lists: Shared::default(),
            asked: Arc::new(Mutex::new(Vec::new())),
            computed: Arc::new(AtomicU64::new(0)),
            computing: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The report for `options`: from the cache when the data has not changed since it was
    /// computed, else loaded (`LoadQuery::for_dora`) and computed on the blocking pool, so
    /// a large report never stalls the threads serving requests.
    ///
    /// Reports with evidence (`explain`) are kept only for a single service: evidence over
    /// every service lists every change and would crowd out everything else.
    pub async fn dora(&self, options: &DoraOptions) -> Result<DoraReport, AppError> {
        let version = self.store.data_version().await?;
        let key = format!(
            "dora:{}",
            serde_json::to_string(options)
                .map_err(|err| AppError::Invalid(format!("report options: {err}")))?
        );
        if let Some(Answer::Report(report)) = self.cache.get(version, &key) {
            return Ok((*report).clone());
        }
        let kept = !options.explain || options.services.len() == 1;
        // One computation per question at a time: a request arriving while the warmer (or
        // another request) computes the same report waits for it and reads the cache.
        let gate = kept.then(|| self.gate(version, &key));
        let _turn = match &gate {
            Some(gate) => Some(gate.lock.lock().await),
            None => None,
        };
        if gate.is_some()
            && let Some(Answer::Report(report)) = self.cache.get(version, &key)
        {
            return Ok((*report).clone());
        }
        self.computed.fetch_add(1, Ordering::Relaxed);
        let report = self.compute(options).await;
        if let Ok(report) = &report
            && kept
        {
            self.cache.put(
                version,
                key.clone(),
                Answer::Report(Arc::new(report.clone())),
            );
        }
        report
    }

    /// The lock that lets one computation of `key` under `version` run at a time.
    fn gate(&self, version: i64, key: &str) -> Turn<'_> {
        let lock = match self.computing.lock() {
            Ok(mut computing) => {
                match computing.iter().find(|(v, k, _)| *v == version && k == key) {
                    Some((_, _, lock)) => lock.clone(),
                    None => {
                        let lock = Arc::new(tokio::sync::Mutex::new(()));
                        computing.push((version, key.to_owned(), lock.clone()));
                        lock
                    }
                }
            }
            Err(_) => Arc::default(),
        };
        Turn {
            computing: &self.computing,
            lock,
        }
    }

    /// The report a request made at `now` asked for: `options`, over `window`. A default
    /// window's option set is remembered, so that [`Reports::warm`] keeps its report warm
    /// while people keep asking for it.
    pub async fn dora_in(
        &self,
        options: &DoraOptions,
        window: &Window,
        now: Timestamp,
    ) -> Result<DoraReport, AppError> {
        if window.is_default {
            self.remember(options, now);
        }
        self.dora(options).await
    }

    fn remember(&self, options: &DoraOptions, now: Timestamp) {
        let scope = DoraOptions {
            since: Timestamp::UNIX_EPOCH,
            until: Timestamp::UNIX_EPOCH,
            ..options.clone()
        };
        if let Ok(mut asked) = self.asked.lock() {
            asked.retain(|(known, _)| *known != scope);
            asked.push((scope, now));
            if asked.len() > WARM_SETS {
                asked.remove(0);
            }
        }
    }

    /// The reports to keep warm at `now`: every default option set asked for in the
    /// [`WARM_FOR`] before `now`, over the default window of `now` (exactly the options a
    /// default request at `now` asks for). Sets asked for longer ago are forgotten.
    pub fn to_warm(&self, now: Timestamp) -> Vec<DoraOptions> {
        let window = Window::choose(None, None, now);
        let Ok(mut asked) = self.asked.lock() else {
            return Vec::new();
        };
        asked.retain(|(_, at)| now.duration_since(*at) <= WARM_FOR);
        asked
            .iter()
            .map(|(scope, _)| DoraOptions {
                since: window.since,
                until: window.until,
                ..scope.clone()
            })
            .collect()
    }

    /// Puts the reports [`Reports::to_warm`] names for `now` into the cache, computing
    /// those not already there, one after the other; returns how many were computed.
    /// Nothing asked for recently: no work at all.
    pub async fn warm(&self, now: Timestamp) -> Result<usize, AppError> {
        let before = self.computations();
        for options in self.to_warm(now) {
            self.dora(&options).await?;
        }
        Ok(usize::try_from(self.computations() - before).unwrap_or(usize::MAX))
    }

    /// How many reports were computed rather than served from the cache since start (by
    /// requests and the warmer together).
    pub fn computations(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// How many records of `table` (`deployments`, `changes`, `incidents`) for `service`
    /// (every service when `None`) fall in `range` ([`Store::count_records`]), cached like
    /// reports.
    pub async fn count(
        &self,
        table: &str,
        service: Option<&str>,
        range: TimeRange,
    ) -> Result<u64, AppError> {
        let version = self.store.data_version().await?;
        self.count_at(version, table, service, range).await
    }

    /// [`Reports::count`] with the data version read already (as by
    /// [`Reports::page_start`], [`PageStart::version`]).
    pub async fn count_at(
        &self,
        version: i64,
        table: &str,
        service: Option<&str>,
        range: TimeRange,
    ) -> Result<u64, AppError> {
        let key = list_key("count", table, service, range)?;
        if let Some(Answer::Count(count)) = self.lists.get(version, &key) {
            return Ok(count);
        }
        let count = self.store.count_records(table, service, range).await?;
        self.lists.put(version, key, Answer::Count(count));
        Ok(count)
    }

    /// Where a numbered page of a list (as for [`Reports::count`]) that skips `skip`
    /// records starts: counted from the nearest record whose place the pages served under
    /// the current data version made known ([`crate::pages`]). Call [`PageStart::read`]
    /// with the page.
    ///
    /// A write that commits between this call and the page's read is in the page but not
    /// in the places counted from; such a page is off by that write, as it would be had
    /// the write come just after it.
    pub async fn page_start(
        &self,
        table: &str,
        service: Option<&str>,
        range: TimeRange,
        skip: u64,
    ) -> Result<PageStart, AppError> {
        let version = self.store.data_version().await?;
        let key = list_key("places", table, service, range)?;
        let places = match self.lists.get(version, &key) {
            Some(Answer::Places(places)) => places,
            _ => {
                let places = Places::default();
                self.lists.put(version, key, Answer::Places(places.clone()));
                places
            }
        };
        // Far from any place known, the list's end may be nearer. Its total is asked for
        // when it costs nothing: kept by the writes (a whole table) or already counted;
        // a window's count through an index would cost as much as the skip it might save,
        // so it is left to run beside the page.
        let whole_table = service.is_none() && range == TimeRange::ALL;
        let total = if places.distance(skip) <= FAR {
            None
        } else if whole_table {
            Some(self.count_at(version, table, service, range).await?)
        } else {
            match self
                .lists
                .get(version, &list_key("count", table, service, range)?)
            {
                Some(Answer::Count(total)) => Some(total),
                _ => None,
            }
        };
        Ok(places.page(version, skip, total))
    }

    /// Computes a report. One over every service is computed group by group as the groups
    /// load ([`GroupedReport`]): reading the next group overlaps counting this one, and
    /// only one group's records are in memory, however large the organisation.
    async fn compute(&self, options: &DoraOptions) -> Result<DoraReport, AppError> {
        if options.services.is_empty() && !options.explain {
            let mut report = GroupedReport::new(options)?;
            let mut groups = self.store.load_grouped(&LoadQuery::for_dora(options));
            return tokio::task::spawn_blocking(move || {
                while let Some(group) = groups.blocking_next() {
                    let data = group?;
                    report.add(&DoraInput {
                        deployments: &data.deployments,
                        changes: &data.changes,
                        incidents: &data.incidents,
                    });
                    groups.give_back(data);
                }
                Ok(report.finish())
            })
            .await
            .map_err(|_| AppError::Background("the DORA computation"))?;
        }
        let data = self.store.load(&LoadQuery::for_dora(options)).await?;
        let options = options.clone();
        tokio::task::spawn_blocking(move || {
            let input = DoraInput {
                deployments: &data.deployments,
                changes: &data.changes,
                incidents: &data.incidents,
            };
            compute(&input, &options)
        })
        .await
        .map_err(|_| AppError::Background("the DORA computation"))?
        .map_err(AppError::from)
    }

    /// Every service with data, sorted ([`Store::services`]), cached like reports.
    pub async fn services(&self) -> Result<Arc<Vec<String>>, AppError> {
        let version = self.store.data_version().await?;
        let key = "services".to_owned();
        if let Some(Answer::Names(services)) = self.cache.get(version, &key) {
            return Ok(services);
        }
        let services = Arc::new(self.store.services().await?);
        self.cache
            .put(version, key, Answer::Names(services.clone()));
        Ok(services)
    }

    /// Every environment deployed to, sorted ([`Store::environments`]), cached like
    /// reports.
    pub async fn environments(&self) -> Result<Arc<Vec<String>>, AppError> {
        let version = self.store.data_version().await?;
        let key = "environments".to_owned();
        if let Some(Answer::Names(names)) = self.cache.get(version, &key) {
            return Ok(names);
        }
        let names = Arc::new(self.store.environments().await?);
        self.cache.put(version, key, Answer::Names(names.clone()));
        Ok(names)
    }

    /// Where the data of a scope lies in time ([`Store::extent`]), cached like reports.
    pub async fn extent(
        &self,
        services: &[String],
        environments: &[String],
    ) -> Result<Option<Extent>, AppError> {
        let version = self.store.data_version().await?;
        let key = format!(
            "extent:{}",
            serde_json::to_string(&(services, environments))
                .map_err(|err| AppError::Invalid(format!("scope: {err}")))?
        );
        if let Some(Answer::Extent(extent)) = self.cache.get(version, &key) {
            return Ok(extent);
        }
        let extent = self.store.extent(services, environments).await?;
        self.cache.put(version, key, Answer::Extent(extent));
        Ok(extent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmap_core::events::{Change, Deployment, DeploymentStatus, Incident};
    use flowmap_store::Batch;
    use flowmap_store::testing::{TestDb, uncached_dora};
    use jiff::Timestamp;

    fn services(names: &[&str]) -> Answer {
        Answer::Names(Arc::new(names.iter().map(|n| n.to_string()).collect()))
    }

    fn names(answer: Option<Answer>) -> Option<Vec<String>> {
        match answer {
            Some(Answer::Names(list)) => Some((*list).clone()),
            _ => None,
        }
    }

    #[test]
    fn a_newer_version_empties_the_cache_and_an_older_one_is_not_kept() {
        let mut cache = Cache::default();
        cache.put(3, "a".into(), services(&["x"]));
        assert_eq!(names(cache.get(3, "a")), Some(vec!["x".to_owned()]));
        assert_eq!(names(cache.get(4, "a")), None);
        cache.put(4, "b".into(), services(&["y"]));
        assert_eq!(names(cache.get(3, "a")), None);
        assert_eq!(cache.entries.len(), 1);
        cache.put(3, "a".into(), services(&["stale"]));
        assert_eq!(names(cache.get(4, "a")), None);
        assert_eq!(cache.entries.len(), 1);
    }

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let mut cache = Cache::default();
        for i in 0..CAPACITY {
            cache.put(1, format!("k{i}"), services(&[]));
        }
        // Using k0 makes k1 the oldest.
        assert!(cache.get(1, "k0").is_some());
        cache.put(1, "new".into(), services(&[]));
        assert_eq!(cache.entries.len(), CAPACITY);
        assert!(cache.get(1, "k0").is_some());
        assert!(cache.get(1, "k1").is_none());
        assert!(cache.get(1, "new").is_some());
    }

    fn at(hour: u64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + hour as i64 * 3_600).expect("test time")
    }

    /// SplitMix64, so a failing interleaving can be replayed from its seed.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) % n
        }
    }

    /// Two replicas (two `Reports` with their own caches, each with its own connections
    /// to one database) under random writes and reads: every report either serves equals
    /// the uncached report of the data at that moment.
    async fn cached_reports_equal_uncached_ones(location: String) {
        let writer = Store::open(&location).await.unwrap();
        let replicas = [
            Reports::new(Store::open(&location).await.unwrap()),
            Reports::new(Store::open(&location).await.unwrap()),
        ];
        let mut all = DoraOptions::new(at(0), at(24 * 30));
        all.attribution_window = jiff::SignedDuration::from_hours(6);
        let mut shop = all.clone();
        shop.services = vec!["shop".into()];
        shop.explain = true;
        let mut staging = all.clone();
        staging.environments = vec!["staging".into()];
        let choices = [all, shop, staging];
        let services = ["shop", "search", "cart"];

        let mut rng = Rng(7);
        let (mut reads, mut hits) = (0, 0);
        for step in 0..120 {
            match rng.below(10) {
                0..=3 => {
                    let service = services[rng.below(3) as usize];
                    let hour = rng.below(24 * 30);
                    let n = rng.below(40);
                    let mut deployment = Deployment::new(format!("d{n}"), service, at(hour + 2));
                    if rng.below(4) == 0 {
                        deployment.status = DeploymentStatus::Failure;
                    }
                    if rng.below(5) == 0 {
                        deployment.environment = "staging".into();
                    }
                    let mut change = Change::new(format!("c{}", rng.below(80)), service, at(hour));
                    change.deployment = Some(deployment.id.clone());
                    let mut batch = Batch {
                        deployments: vec![deployment],
                        changes: vec![change],
                        ..Batch::default()
                    };
                    if rng.below(3) == 0 {
                        let mut incident =
                            Incident::new(format!("i{}", rng.below(10)), service, at(hour + 3));
                        incident.resolved_at = Some(at(hour + 3 + rng.below(10)));
                        batch.incidents.push(incident);
                    }
                    let source = ["import", "git:shop"][rng.below(2) as usize];
                    writer.write(source, &batch).await.unwrap();
                }
                4 => {
                    writer.delete_source("git:shop").await.unwrap();
                }
                _ => {
                    let replica = &replicas[rng.below(2) as usize];
                    let options = &choices[rng.below(3) as usize];
                    let before = replica.cache.0.lock().unwrap().entries.len();
                    let version = writer.data_version().await.unwrap();
                    let hit = replica.cache.get(
                        version,
                        &format!("dora:{}", serde_json::to_string(options).unwrap()),
                    );
                    hits += usize::from(hit.is_some());
                    reads += 1;
                    let served = replica.dora(options).await.unwrap();
                    assert_eq!(
                        served,
                        uncached_dora(&writer, options).await,
                        "step {step}, options {options:?}, cache of {before}"
                    );
                    let services = replica.services().await.unwrap();
                    assert_eq!(*services, writer.services().await.unwrap(), "step {step}");
                    // A list's total over all time is kept by the writes, not counted.
                    let table = ["deployments", "changes", "incidents"][rng.below(3) as usize];
                    let counted = TimeRange {
                        from: Some(jiff::Timestamp::MIN),
                        to: None,
                    };
                    assert_eq!(
                        replica.count(table, None, TimeRange::ALL).await.unwrap(),
                        writer.count_records(table, None, counted).await.unwrap(),
                        "step {step}, {table}"
                    );
                }
            }
        }
        // The interleaving really exercised the cache, not only the computation.
        assert!(reads > 40 && hits > 5, "{reads} reads, {hits} hits");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cached_reports_equal_uncached_ones_on_sqlite() {
        let db = TestDb::sqlite();
        // Creates the schema once before three stores open the file.
        Store::open(&db.location()).await.unwrap().close().await;
        cached_reports_equal_uncached_ones(db.location()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cached_reports_equal_uncached_ones_on_postgres() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        cached_reports_equal_uncached_ones(db.location()).await;
    }

    /// A numbered page's total is counted once per data version: the second ask is a hit,
    /// and a write (by another store on the same database) makes the next ask count anew.
    async fn counts_are_cached_until_a_write(location: String) {
        let writer = Store::open(&location).await.unwrap();
        let reports = Reports::new(Store::open(&location).await.unwrap());
        let write = |id: &str, service: &str, hour: u64| {
            let deployment = Deployment::new(id, service, at(hour));
            let batch = Batch {
                deployments: vec![deployment],
                ..Batch::default()
            };
            let writer = writer.clone();
            async move { writer.write("import", &batch).await.unwrap() }
        };
        write("d1", "shop", 1).await;
        write("d2", "shop", 5).await;
        write("d3", "cart", 2).await;
        let range = TimeRange {
            from: Some(at(0)),
            to: Some(at(4)),
        };
        let key = list_key("count", "deployments", Some("shop"), range).unwrap();
        assert_eq!(
            reports
                .count("deployments", Some("shop"), range)
                .await
                .unwrap(),
            1
        );
        assert_eq!(reports.count("deployments", None, range).await.unwrap(), 2);
        assert_eq!(
            reports
                .count("deployments", None, TimeRange::default())
                .await
                .unwrap(),
            3
        );
        assert_eq!(
            reports
                .count("changes", None, TimeRange::default())
                .await
                .unwrap(),
            0
        );
        let version = writer.data_version().await.unwrap();
        assert!(matches!(
            reports.lists.get(version, &key),
            Some(Answer::Count(1))
        ));
        assert_eq!(
            reports
                .count("deployments", Some("shop"), range)
                .await
                .unwrap(),
            1
        );

        write("d4", "shop", 3).await;
        let version = writer.data_version().await.unwrap();
        assert!(
            reports.lists.get(version, &key).is_none(),
            "a write invalidates the count"
        );
        assert_eq!(
            reports
                .count("deployments", Some("shop"), range)
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            reports
                .count("deployments", None, TimeRange::default())
                .await
                .unwrap(),
            writer
                .count_records("deployments", None, TimeRange::default())
                .await
                .unwrap()
        );
        writer.delete_source("import").await.unwrap();
        assert_eq!(
            reports
                .count("deployments", Some("shop"), range)
                .await
                .unwrap(),
            0
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_are_cached_until_a_write_on_sqlite() {
        let db = TestDb::sqlite();
        Store::open(&db.location()).await.unwrap().close().await;
        counts_are_cached_until_a_write(db.location()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counts_are_cached_until_a_write_on_postgres() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        counts_are_cached_until_a_write(db.location()).await;
    }

    fn t(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// The options a default request at `now` asks for, as every view builds them.
    fn default_options(now: Timestamp, environments: &[&str]) -> (DoraOptions, Window) {
        let window = Window::choose(None, None, now);
        let mut options = DoraOptions::new(window.since, window.until);
        if !environments.is_empty() {
            options.environments = environments.iter().map(|e| e.to_string()).collect();
        }
        (options, window)
    }

    /// Lists keep their totals and places apart from the reports: paging through more
    /// lists than the cache holds leaves a report in it.
    #[tokio::test]
    async fn paging_through_many_lists_keeps_the_reports() {
        let db = TestDb::sqlite();
        let store = Store::open(&db.location()).await.unwrap();
        let batch = Batch {
            deployments: vec![Deployment::new("d1", "shop", at(1))],
            ..Batch::default()
        };
        store.write("import", &batch).await.unwrap();
        let reports = Reports::new(store);
        let options = DoraOptions::new(at(0), at(48));
        reports.dora(&options).await.unwrap();
        for hour in 0..2 * CAPACITY as u64 {
            let range = TimeRange {
                from: Some(at(hour)),
                to: None,
            };
            reports.count("deployments", None, range).await.unwrap();
            let start = reports
                .page_start("deployments", None, range, 40_000)
                .await
                .unwrap();
            start.read(0, None);
        }
        reports.dora(&options).await.unwrap();
        assert_eq!(reports.computations(), 1, "the report stayed in the cache");
    }

    #[tokio::test]
    async fn only_recently_asked_default_windows_are_kept_warm() {
        let db = TestDb::sqlite();
        let reports = Reports::new(Store::open(&db.location()).await.unwrap());
        let asked = t("2026-12-01T10:00:30Z");
        // Nobody asked: nothing to do.
        assert!(reports.to_warm(asked).is_empty());
        assert_eq!(reports.warm(asked).await.unwrap(), 0);
        assert_eq!(reports.computations(), 0);

        // A chosen window is not remembered; the default one is, once per scope.
        let chosen = Window::choose(Some(at(0)), None, asked);
        let options = DoraOptions::new(chosen.since, chosen.until);
        reports.dora_in(&options, &chosen, asked).await.unwrap();
        assert!(reports.to_warm(asked).is_empty());
        let (default, window) = default_options(asked, &[]);
        reports.dora_in(&default, &window, asked).await.unwrap();
        reports.dora_in(&default, &window, asked).await.unwrap();
        let (staging, _) = default_options(asked, &["staging"]);
        reports.dora_in(&staging, &window, asked).await.unwrap();
        assert_eq!(reports.computations(), 3);

        let next = t("2026-12-01T10:01:00.005Z");
        let (default_next, _) = default_options(t("2026-12-01T10:01:59Z"), &[]);
        let (staging_next, _) = default_options(t("2026-12-01T10:01:00Z"), &["staging"]);
        assert_eq!(reports.to_warm(next), [default_next.clone(), staging_next]);
        assert_eq!(reports.warm(next).await.unwrap(), 2);
        // Warm again in the same minute: already in the cache.
        assert_eq!(reports.warm(next).await.unwrap(), 0);
        assert_eq!(reports.computations(), 5);

        // Asked again later, the scope stays warm for WARM_FOR after that ask.
        reports
            .dora_in(&default_next, &Window::choose(None, None, next), next)
            .await
            .unwrap();
        assert_eq!(reports.computations(), 5, "the warmed report was served");
        let later = next + WARM_FOR + SignedDuration::from_secs(1);
        assert_eq!(reports.to_warm(next + WARM_FOR).len(), 1);
        assert!(reports.to_warm(later).is_empty());
        assert_eq!(reports.warm(later).await.unwrap(), 0);
    }

    /// Requests for one report at once (the warmer and the first request of a minute, or
    /// a burst after a write) compute it once; the others wait and read the cache.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_question_is_computed_once_at_a_time() {
        let db = TestDb::sqlite();
        let store = Store::open(&db.location()).await.unwrap();
        let mut batch = Batch::default();
        for i in 0..2_000 {
            let mut deployment = Deployment::new(format!("d{i}"), "shop", at(i));
            deployment.environment = "production".into();
            let mut change = Change::new(format!("c{i}"), "shop", at(i));
            change.deployment = Some(deployment.id.clone());
            batch.deployments.push(deployment);
            batch.changes.push(change);
        }
        store.write("import", &batch).await.unwrap();
        let reports = Reports::new(store.clone());
        let options = DoraOptions::new(at(0), at(2_000));
        let (a, b, c) = tokio::join!(
            reports.dora(&options),
            reports.dora(&options),
            reports.dora(&options)
        );
        let expected = uncached_dora(&store, &options).await;
        for served in [a, b, c] {
            assert_eq!(served.unwrap(), expected);
        }
        assert_eq!(reports.computations(), 1);
        assert!(reports.computing.lock().unwrap().is_empty());
    }
}
