//! `flowmap ingest …`: read delivery history from a source and store it.
//!
//! `ingest git` runs `flowmap_app`'s git ingest (the reader on its own threads streaming
//! into one store transaction, with the run's incremental state in the same transaction)
//! and draws its progress; `ingest github|gitlab|pagerduty` run its API backfill with the
//! token from the environment. This module reads flags and prints.

use crate::output::{outln, plural};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use flowmap_app::backfill::BackfillRequest;
use flowmap_app::ingest::TagSummary;
use flowmap_app::{Actor, App, AppError};
use flowmap_backfill::github::GitHubOptions;
use flowmap_backfill::gitlab::GitLabOptions;
use flowmap_backfill::pagerduty::PagerDutyOptions;
use flowmap_backfill::{Client, ClientOptions, Progress, Service, StatsSnapshot, Token};
use flowmap_core::dora::parse_window_bound;
use flowmap_ingest::git::{self, DeployRule, GitOptions, Phase};
use indicatif::{ProgressBar, ProgressStyle};
use jiff::Timestamp;

#[derive(Subcommand)]
pub enum IngestCommand {
    /// Read a local git repository: commits become changes, and tags or merges become
    /// deployments. A second run reads only what is new.
    Git(GitArgs),
    /// Read a GitHub repository's merged pull requests, deployments and Actions runs
    /// through the API (token: GITHUB_TOKEN). A second run reads only what changed.
    Github(GitHubArgs),
    /// Read a GitLab project's merged merge requests, pipelines and deployments through
    /// the API (token: GITLAB_TOKEN). A second run reads only what changed.
    Gitlab(GitLabArgs),
    /// Read a PagerDuty service's incidents through the API (token: PAGERDUTY_TOKEN).
    Pagerduty(PagerDutyArgs),
}

#[derive(Args)]
pub struct GitHubArgs {
    /// The repository, as OWNER/REPO.
    repo: String,
    /// The service the records belong to [default: the repository's name].
    #[arg(long)]
    service: Option<String>,
    /// Read nothing updated before this time: a date (`2026-01-01`, midnight UTC) or an
    /// RFC 3339 time. Later runs read what changed since the last one.
    #[arg(long, value_name = "DATE", value_parser = parse_window_bound)]
    since: Option<Timestamp>,
    /// Deployment environments to read, comma-separated.
    #[arg(
        long,
        value_name = "ENV,...",
        value_delimiter = ',',
        default_value = "production"
    )]
    environments: Vec<String>,
    /// Workflows whose runs are deployments (to the first environment), not builds.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    deploy_workflows: Vec<String>,
    /// The API root (GitHub Enterprise: https://HOST/api/v3).
    #[arg(long, value_name = "URL", default_value = "https://api.github.com")]
    api_url: String,
}

#[derive(Args)]
pub struct GitLabArgs {
    /// The project, as GROUP/PROJECT.
    project: String,
    /// The API root, e.g. https://gitlab.example.com/api/v4.
    #[arg(long, value_name = "URL", default_value = "https://gitlab.com/api/v4")]
    api_url: String,
    /// The service the records belong to [default: the project's name].
    #[arg(long)]
    service: Option<String>,
    /// Read nothing updated before this time (a date or an RFC 3339 time).
    #[arg(long, value_name = "DATE", value_parser = parse_window_bound)]
    since: Option<Timestamp>,
    /// Deployment environments to read, comma-separated.
    #[arg(
        long,
        value_name = "ENV,...",
        value_delimiter = ',',
        default_value = "production"
    )]
    environments: Vec<String>,
}

#[derive(Args)]
pub struct PagerDutyArgs {
    /// The PagerDuty service id.
    #[arg(long, value_name = "ID")]
    service_id: String,
    /// The flowmap service the incidents belong to (the one its deployments are under).
    #[arg(long, value_name = "NAME")]
    service: String,
    /// Read incidents created from this time on [first run default: a year back].
    #[arg(long, value_name = "DATE", value_parser = parse_window_bound)]
    since: Option<Timestamp>,
    /// The API root.
    #[arg(long, value_name = "URL", default_value = "https://api.pagerduty.com")]
    api_url: String,
}

#[derive(Args)]
pub struct GitArgs {
    /// The repository (its work tree or its .git directory).
    path: PathBuf,
    /// The service the history belongs to [default: the repository's directory name].
    #[arg(long)]
    service: Option<String>,
    /// Each tag matching this glob (e.g. 'v*') is a production deployment at the tag's time.
    #[arg(long, value_name = "GLOB", conflicts_with = "deploy_merges")]
    deploy_tags: Option<String>,
    /// Each merge on this branch's first-parent history is a deployment at its commit time.
    #[arg(long, value_name = "BRANCH")]
    deploy_merges: Option<String>,
    /// With --deploy-merges: every first-parent commit of the branch is a deployment, not
    /// only merges.
    #[arg(long, requires = "deploy_merges")]
    all_commits: bool,
    /// Only commits touching this directory are changes of the service (monorepos).
    #[arg(long = "path", value_name = "DIR")]
    path_filter: Option<String>,
}

/// Runs an ingest command against the store at `db`.
pub fn run(command: IngestCommand, db: &str, actor: &Actor) -> anyhow::Result<ExitCode> {
    match command {
        IngestCommand::Git(args) => ingest_git(args, db, actor),
        IngestCommand::Github(args) => backfill(
            Service::GitHub,
            BackfillRequest::GitHub(GitHubOptions {
                repo: args.repo,
                service: args.service,
                since: args.since,
                environments: args.environments,
                deploy_workflows: args.deploy_workflows,
                api_url: args.api_url,
            }),
            db,
            actor,
        ),
        IngestCommand::Gitlab(args) => backfill(
            Service::GitLab,
            BackfillRequest::GitLab(GitLabOptions {
                project: args.project,
                service: args.service,
                since: args.since,
                environments: args.environments,
                api_url: args.api_url,
            }),
            db,
            actor,
        ),
        IngestCommand::Pagerduty(args) => backfill(
            Service::PagerDuty,
            BackfillRequest::PagerDuty(PagerDutyOptions {
                service_id: args.service_id,
                service: args.service,
                since: args.since,
                api_url: args.api_url,
            }),
            db,
            actor,
        ),
    }
}

fn ingest_git(args: GitArgs, db: &str, actor: &Actor) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let rule = match (args.deploy_tags.clone(), args.deploy_merges) {
        (Some(glob), _) => DeployRule::Tags(glob),
        (None, Some(branch)) => DeployRule::Merges {
            branch,
            all_commits: args.all_commits,
        },
        (None, None) => DeployRule::None,
    };
    let is_merges = matches!(rule, DeployRule::Merges { .. });
    let options = GitOptions {
        service: args.service,
        rule,
        path: args.path_filter,
    };

    let runtime = crate::database::runtime()?;
    let store = runtime.block_on(crate::database::open(db))?;
    let app = App::new(store.clone());
    let bar = Arc::new(Bar::new());
    let result = runtime.block_on(app.ingest_git(actor, args.path.clone(), options, bar.clone()));
    bar.0.finish_and_clear();
    let ingested = result.map_err(|err| match err {
        AppError::Git(err) => {
            anyhow::Error::new(err).context(format!("reading {}", args.path.display()))
        }
        other => anyhow::Error::new(other).context(format!("writing to {db}")),
    })?;
    runtime.block_on(store.close());
    for warning in &ingested.warnings {
        eprintln!("warning: {warning}");
    }
    if let Some(replaced) = ingested.replaced.as_ref().filter(|r| r.deployments > 0) {
        eprintln!(
            "note: this source was ingested before with another deployment rule or --path; \
             its {} deployments from that rule were replaced by this run's",
            replaced.deployments
        );
    }
    let outcome = &ingested.outcome;
    outln!(
        "{}: {} {}, {} {}, {} unreleased {} ({} read) in {:.1}s",
        outcome.source,
        outcome.changes,
        plural(outcome.changes, "commit", "commits"),
        outcome.deployments,
        plural(outcome.deployments, "deployment", "deployments"),
        outcome.unreleased,
        plural(outcome.unreleased, "commit", "commits"),
        if outcome.full { "full" } else { "incremental" },
        started.elapsed().as_secs_f64()
    )?;
    if let Some(tags) = &ingested.tags {
        eprintln!(
            "{}",
            no_deployments_hint(args.deploy_tags.as_deref(), is_merges, tags)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn backfill(
    service: Service,
    request: BackfillRequest,
    db: &str,
    actor: &Actor,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let token = Token::from_env(service)?;
    let progress = Arc::new(BackfillProgress::new());
    let client = Client::new(service, token, ClientOptions::default(), progress.clone())?;
    let runtime = crate::database::runtime()?;
    let store = runtime.block_on(crate::database::open(db))?;
    let app = App::new(store.clone());
    let result = runtime.block_on(app.backfill(actor, request, &client));
    progress.finish();
    let done = result?;
    runtime.block_on(store.close());
    let stats = done.outcome.stats;
    println!(
        "{}: {} changes, {} deployments, {} builds, {} incidents read ({} new, {} updated); \
         {} requests ({} unchanged, {} retried, {} rate-limit waits of {:.0}s) in {:.1}s ({} run)",
        done.outcome.source,
        stats.changes,
        stats.deployments,
        stats.builds,
        stats.incidents,
        done.written.changes.inserted
            + done.written.deployments.inserted
            + done.written.incidents.inserted
            + done.written.builds.inserted,
        done.written.changes.updated
            + done.written.deployments.updated
            + done.written.incidents.updated
            + done.written.builds.updated,
        stats.requests,
        stats.not_modified,
        stats.retries,
        stats.waits,
        stats.waited_ms as f64 / 1000.0,
        started.elapsed().as_secs_f64(),
        if done.outcome.full {
            "full"
        } else {
            "incremental"
        },
    );
    Ok(ExitCode::SUCCESS)
}

/// The backfill's progress line: a spinner with the counts on a terminal; otherwise a
/// plain line every few seconds. Waits and retries are always printed on their own line.
struct BackfillProgress {
    bar: Option<ProgressBar>,
    last_line: std::sync::Mutex<Option<Instant>>,
}

/// How often the plain progress line is repeated when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

impl BackfillProgress {
    fn new() -> BackfillProgress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .expect("the template is valid"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        BackfillProgress {
            bar,
            last_line: std::sync::Mutex::new(None),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn progress_line(stats: &StatsSnapshot) -> String {
    format!(
        "{} requests ({} unchanged), {} pages saved: {} changes, {} deployments, {} builds, \
         {} incidents; {} waits ({:.0}s), {} retries",
        stats.requests,
        stats.not_modified,
        stats.checkpoints,
        stats.changes,
        stats.deployments,
        stats.builds,
        stats.incidents,
        stats.waits,
        stats.waited_ms as f64 / 1000.0,
        stats.retries
    )
}

impl Progress for BackfillProgress {
    fn update(&self, stats: &StatsSnapshot) {
        match &self.bar {
            Some(bar) => bar.set_message(progress_line(stats)),
            None => {
                let mut last = self
                    .last_line
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if last.is_none_or(|at| at.elapsed() >= PLAIN_EVERY) {
                    eprintln!("{}", progress_line(stats));
                    *last = Some(Instant::now());
                }
            }
        }
    }

    fn notice(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("{message}"),
        }
    }
}

/// Why a run recorded no deployment, and the rule to try.
fn no_deployments_hint(glob: Option<&str>, merges: bool, tags: &TagSummary) -> String {
    let patterns = tags
        .patterns
        .iter()
        .map(|(pattern, n)| format!("{pattern} ({n})"))
        .collect::<Vec<_>>()
        .join(", ");
    let try_tags = match tags.suggestion() {
        Some(glob) => format!("--deploy-tags '{glob}'"),
        None => "--deploy-tags GLOB".to_owned(),
    };
    let tag_text = match tags.count {
        0 => "the repository has no tags".to_owned(),
        1 => format!("the repository has 1 tag: {patterns}"),
        n => format!("the repository has {n} tags, mostly {patterns}"),
    };
    match glob {
        Some(glob) => format!(
            "note: no tag matched --deploy-tags '{glob}', so no deployment was recorded; \
             {tag_text}.{}",
            if tags.count > 0 {
                format!(" Try {try_tags}.")
            } else {
                " Try --deploy-merges BRANCH (each merge to the branch is a deployment).".to_owned()
            }
        ),
        None if merges => format!(
            "note: no merge was found on the branch, so no deployment was recorded; \
             {tag_text}.{}",
            if tags.count > 0 {
                format!(" Try {try_tags}, or --deploy-merges --all-commits.")
            } else {
                " Try --all-commits (every commit on the branch is a deployment).".to_owned()
            }
        ),
        None => format!(
            "note: no deployment rule was given, so only changes were recorded (no \
             deployments, so no DORA metric beyond counts); {tag_text}. Add a rule: {} \
             (release tags) or --deploy-merges main (each merge is a deployment).",
            if tags.count > 0 {
                try_tags
            } else {
                "--deploy-tags GLOB".to_owned()
            }
        ),
    }
}

/// The progress bar: drawn on a terminal, silent when stderr is piped.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(ProgressBar::hidden());
        }
        let bar = ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar(bar)
    }
}

impl git::Progress for Bar {
    fn phase(&self, phase: Phase, total: Option<u64>) {
        let message = match phase {
            Phase::Walk => "walking history",
            Phase::Decode => "reading new commits",
            Phase::Read => "reading and storing commits",
        };
        let template = match total {
            Some(_) => "{spinner} {msg} [{bar:30}] {human_pos}/{human_len} ({per_sec})",
            None => "{spinner} {msg}: {human_pos} commits",
        };
        self.0.set_style(
            ProgressStyle::with_template(template)
                .expect("the templates are valid")
                .progress_chars("=> "),
        );
        self.0.set_message(message);
        self.0.set_position(0);
        match total {
            Some(total) => self.0.set_length(total),
            None => self.0.unset_length(),
        }
    }

    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
}
