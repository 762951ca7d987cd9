//! The one path from the store to a DORA report, and the cache in front of it.
//!
//! Every page, endpoint and `flowmap dora` asks [`Reports::dora`]. Reports, the service
//! list and the data's extent are kept in a small least-recently-used cache keyed by what
//! was asked *and* the store's data version ([`Store::data_version`], raised by every
//! committed write). A request reads the version first (one primary-key read), so a write
//! by this process or any other sharing the database makes every older entry unreachable
//! at once: cached numbers are always the numbers an uncached computation would give.

use std::sync::{Arc, Mutex};

use flowmap_core::dora::{DoraInput, DoraOptions, DoraReport, GroupedReport, compute};
use flowmap_store::{Extent, LoadQuery, Store};

use crate::AppError;

/// How many answers the cache keeps. An overview, `/metrics`, the API's report and a few
/// dozen service pages in a handful of windows fit; a report over every service without
/// evidence is well under a megabyte even for a thousand services.
const CAPACITY: usize = 64;

/// Produces DORA reports. Cheap to clone; clones share one cache.
#[derive(Clone, Debug)]
pub struct Reports {
    pub(crate) store: Store,
    cache: Arc<Mutex<Cache>>,
}

/// One cached answer.
#[derive(Clone, Debug)]
enum Answer {
    Report(Arc<DoraReport>),
    /// A sorted list of names (services, environments).
    Names(Arc<Vec<String>>),
    Extent(Option<Extent>),
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
            cache: Arc::new(Mutex::new(Cache::default())),
        }
    }

    fn lookup(&self, version: i64, key: &str) -> Option<Answer> {
        self.cache.lock().ok()?.get(version, key)
    }

    fn keep(&self, version: i64, key: String, answer: Answer) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(version, key, answer);
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
        if let Some(Answer::Report(report)) = self.lookup(version, &key) {
            return Ok((*report).clone());
        }
        let report = self.compute(options).await?;
        if !options.explain || options.services.len() == 1 {
            self.keep(version, key, Answer::Report(Arc::new(report.clone())));
        }
        Ok(report)
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
        if let Some(Answer::Names(services)) = self.lookup(version, &key) {
            return Ok(services);
        }
        let services = Arc::new(self.store.services().await?);
        self.keep(version, key, Answer::Names(services.clone()));
        Ok(services)
    }

    /// Every environment deployed to, sorted ([`Store::environments`]), cached like
    /// reports.
    pub async fn environments(&self) -> Result<Arc<Vec<String>>, AppError> {
        let version = self.store.data_version().await?;
        let key = "environments".to_owned();
        if let Some(Answer::Names(names)) = self.lookup(version, &key) {
            return Ok(names);
        }
        let names = Arc::new(self.store.environments().await?);
        self.keep(version, key, Answer::Names(names.clone()));
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
        if let Some(Answer::Extent(extent)) = self.lookup(version, &key) {
            return Ok(extent);
        }
        let extent = self.store.extent(services, environments).await?;
        self.keep(version, key, Answer::Extent(extent));
        Ok(extent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmap_core::events::{Change, Deployment, DeploymentStatus, Incident};
    use flowmap_store::Batch;
    use flowmap_store::testing::TestDb;
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

    /// The report as if there were no cache.
    async fn uncached(store: &Store, options: &DoraOptions) -> DoraReport {
        let data = store.load(&LoadQuery::for_dora(options)).await.unwrap();
        let input = DoraInput {
            deployments: &data.deployments,
            changes: &data.changes,
            incidents: &data.incidents,
        };
        compute(&input, options).unwrap()
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
                    let before = replica.cache.lock().unwrap().entries.len();
                    let version = writer.data_version().await.unwrap();
                    let hit = replica.lookup(
                        version,
                        &format!("dora:{}", serde_json::to_string(options).unwrap()),
                    );
                    hits += usize::from(hit.is_some());
                    reads += 1;
                    let served = replica.dora(options).await.unwrap();
                    assert_eq!(
                        served,
                        uncached(&writer, options).await,
                        "step {step}, options {options:?}, cache of {before}"
                    );
                    let services = replica.services().await.unwrap();
                    assert_eq!(*services, writer.services().await.unwrap(), "step {step}");
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
}
