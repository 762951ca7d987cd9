//! Writes a realistic, reproducible delivery data set for the import benchmark
//! (`scripts/bench-import.sh`): the same rows as NDJSON (what `flowmap import` reads) and
//! as CSV (what `sqlite3 .import` reads for the baseline).
//!
//! It also writes the organisation of the organisation-scale benchmark
//! (`scripts/bench-org.sh`).
//!
//! ```text
//! cargo run --release -p flowmap-store --example generate_events -- OUT_DIR [SCALE] [SHAPE]
//! ```
//!
//! `SHAPE` is `team` (the default), `org`, or a number of services:
//! - `team`, at scale 1: 20 services over two years (2024–2025), 100 000 deployments
//!   (5 000 per service), 1 000 000 changes (10 per deployment) and 5 000 incidents;
//! - a number `N`: the team's totals spread over `N` services (the measured-map
//!   benchmark, `scripts/bench-measure.sh`, puts them all in one);
//! - `org`, at scale 1: 1 000 services over one year (2025-12-01 to 2026-12-01),
//!   200 000 deployments (200 per service), 1 000 000 changes (5 per deployment) and
//!   16 000 incidents.
//!
//! In both, 10 % of deployments go to staging, 4 % fail and 2 % are hotfixes fixing the
//! deployment before; changes are committed in the hours before their deployment and
//! listed by it; every deployment has one CI build on its commit, finished before it
//! starts; half the incidents name the deployment that caused them. `SCALE`
//! multiplies the deployments per service and the incidents (e.g. 0.01 for a quick run, 10
//! for ten times the organisation). The output depends only on `SCALE` and `SHAPE`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

/// The size of a generated data set at scale 1.
struct Shape {
    services: usize,
    /// First second of the data (epoch seconds) and its length.
    start: i64,
    span: i64,
    deployments_per_service: f64,
    changes_per_deployment: usize,
    incidents: f64,
}

const TEAM: Shape = Shape {
    services: 20,
    start: 1_704_067_200, // 2024-01-01T00:00:00Z
    span: 2 * 365 * 86_400,
    deployments_per_service: 5_000.0,
    changes_per_deployment: 10,
    incidents: 5_000.0,
};

const ORG: Shape = Shape {
    services: 1_000,
    start: 1_764_547_200, // 2025-12-01T00:00:00Z
    span: 365 * 86_400,
    deployments_per_service: 200.0,
    changes_per_deployment: 5,
    incidents: 16_000.0,
};
const WORDS: &[&str] = &[
    "fix", "add", "cache", "checkout", "retry", "search", "index", "config", "flaky", "test",
    "refactor", "payment", "timeout", "logging", "upgrade", "remove",
];

/// SplitMix64: tiny, fast and reproducible; statistical quality is irrelevant here.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn sha(&mut self) -> String {
        format!(
            "{:016x}{:016x}{:08x}",
            self.next(),
            self.next(),
            self.next() as u32
        )
    }
}

fn time(seconds: i64) -> String {
    Timestamp::from_second(seconds)
        .expect("in range")
        .to_string()
}

/// One output kind written twice: NDJSON and CSV.
struct Sink {
    ndjson: BufWriter<File>,
    csv: BufWriter<File>,
}

impl Sink {
    fn create(dir: &Path, name: &str, header: &str) -> std::io::Result<Sink> {
        let mut csv = BufWriter::new(File::create(dir.join(format!("{name}.csv")))?);
        writeln!(csv, "{header}")?;
        Ok(Sink {
            ndjson: BufWriter::new(File::create(dir.join(format!("{name}.ndjson")))?),
            csv,
        })
    }

    /// Writes one row: `(field, value)` pairs, `None` for absent values. `lists` marks
    /// values that are JSON arrays (`;`-separated in CSV).
    fn row(&mut self, fields: &[(&str, Option<&str>)], lists: &[&str]) -> std::io::Result<()> {
        let mut json = String::from("{");
        let mut csv = String::new();
        for (i, (name, value)) in fields.iter().enumerate() {
            if i > 0 {
                csv.push(',');
            }
            let Some(value) = value else { continue };
            csv.push_str(value);
            if json.len() > 1 {
                json.push(',');
            }
            if lists.contains(name) {
                let items: Vec<String> = value.split(';').map(|id| format!("\"{id}\"")).collect();
                json.push_str(&format!("\"{name}\":[{}]", items.join(",")));
            } else {
                json.push_str(&format!("\"{name}\":\"{value}\""));
            }
        }
        json.push('}');
        writeln!(self.ndjson, "{json}")?;
        writeln!(self.csv, "{csv}")
    }

    fn finish(mut self) -> std::io::Result<()> {
        self.ndjson.flush()?;
        self.csv.flush()
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: generate_events OUT_DIR [SCALE] [team|org|SERVICES]";
    let dir = PathBuf::from(args.next().expect(usage));
    let scale: f64 = args
        .next()
        .map_or(1.0, |s| s.parse().expect("SCALE is a number"));
    let shape = match args.next().as_deref() {
        None | Some("team") => TEAM,
        Some("org") => ORG,
        Some(n) if n.parse::<usize>().is_ok_and(|n| n > 0) => {
            let services: usize = n.parse().unwrap_or(1);
            Shape {
                services,
                deployments_per_service: TEAM.deployments_per_service * TEAM.services as f64
                    / services as f64,
                ..TEAM
            }
        }
        Some(other) => panic!("unknown shape {other:?}; {usage}"),
    };
    std::fs::create_dir_all(&dir)?;

    let services = shape.services;
    let (start, span) = (shape.start, shape.span);
    let per_service = ((shape.deployments_per_service * scale) as usize).max(1);
    let incidents_total = ((shape.incidents * scale) as usize).max(1);
    let gap = span / per_service as i64;
    let name = |s: usize| {
        if services <= 100 {
            format!("service-{s:02}")
        } else {
            format!("service-{s:04}")
        }
    };
    let mut rng = Rng(42);

    let mut deployments = Sink::create(
        &dir,
        "deployments",
        "id,service,environment,status,started_at,finished_at,commit,changes,kind,fixes",
    )?;
    let mut changes = Sink::create(
        &dir,
        "changes",
        "id,service,committed_at,authored_at,pr_opened_at,merged_at,deployment,author,title",
    )?;
    let mut builds = Sink::create(
        &dir,
        "builds",
        "id,service,status,started_at,finished_at,commit,changes,name",
    )?;
    let mut incidents = Sink::create(
        &dir,
        "incidents",
        "id,service,started_at,detected_at,resolved_at,caused_by,severity,title",
    )?;

    let mut last_production: Vec<Option<String>> = vec![None; services];
    for n in 0..per_service {
        for (s, last) in last_production.iter_mut().enumerate() {
            let service = name(s);
            let finished = start + n as i64 * gap + rng.below(gap as u64 / 2) as i64;
            let id = format!("{service}-deploy-{n:05}");
            let mut ids = Vec::with_capacity(shape.changes_per_deployment);
            for _ in 0..shape.changes_per_deployment {
                let sha = rng.sha();
                let committed = finished - 600 - rng.below(gap as u64) as i64;
                let opened = committed + rng.below(3_600) as i64;
                let merged = opened + rng.below(7_200) as i64;
                let title = format!(
                    "{} {} {}",
                    WORDS[rng.below(16) as usize],
                    WORDS[rng.below(16) as usize],
                    WORDS[rng.below(16) as usize]
                );
                let author = format!("dev{:03}@example.com", rng.below(200));
                changes.row(
                    &[
                        ("id", Some(&sha)),
                        ("service", Some(&service)),
                        ("committed_at", Some(&time(committed))),
                        ("authored_at", Some(&time(committed - 300))),
                        ("pr_opened_at", Some(&time(opened))),
                        ("merged_at", Some(&time(merged))),
                        ("deployment", Some(&id)),
                        ("author", Some(&author)),
                        ("title", Some(&title)),
                    ],
                    &[],
                )?;
                ids.push(sha);
            }
            let staging = rng.below(10) == 0;
            let failed = rng.below(25) == 0;
            let hotfix = !staging && last.is_some() && rng.below(50) == 0;
            let commit = ids[0].clone();
            let build_finished = finished - 600;
            builds.row(
                &[
                    ("id", Some(&format!("{id}-build"))),
                    ("service", Some(&service)),
                    ("status", Some("success")),
                    ("started_at", Some(&time(build_finished - 900))),
                    ("finished_at", Some(&time(build_finished))),
                    ("commit", Some(&commit)),
                    ("changes", None),
                    ("name", Some("ci")),
                ],
                &[],
            )?;
            deployments.row(
                &[
                    ("id", Some(&id)),
                    ("service", Some(&service)),
                    (
                        "environment",
                        Some(if staging { "staging" } else { "production" }),
                    ),
                    ("status", Some(if failed { "failure" } else { "success" })),
                    ("started_at", Some(&time(finished - 300))),
                    ("finished_at", Some(&time(finished))),
                    ("commit", Some(&commit)),
                    ("changes", Some(&ids.join(";"))),
                    ("kind", Some(if hotfix { "hotfix" } else { "normal" })),
                    ("fixes", if hotfix { last.as_deref() } else { None }),
                ],
                &["changes"],
            )?;
            if !staging {
                *last = Some(id);
            }
        }
    }

    for n in 0..incidents_total {
        let service = name(n % services);
        let started = start + rng.below(span as u64) as i64;
        let detected = started + rng.below(1_800) as i64;
        let resolved = detected + rng.below(6 * 3_600) as i64;
        let cause_index = ((started - start) / gap).clamp(0, per_service as i64 - 1);
        let caused_by = format!("{service}-deploy-{cause_index:05}");
        incidents.row(
            &[
                ("id", Some(&format!("INC-{n:05}"))),
                ("service", Some(&service)),
                ("started_at", Some(&time(started))),
                ("detected_at", Some(&time(detected))),
                ("resolved_at", Some(&time(resolved))),
                (
                    "caused_by",
                    if n % 2 == 0 { Some(&caused_by) } else { None },
                ),
                ("severity", Some(["sev1", "sev2", "sev3"][n % 3])),
                ("title", Some("elevated error rate")),
            ],
            &[],
        )?;
    }

    deployments.finish()?;
    builds.finish()?;
    changes.finish()?;
    incidents.finish()
}
