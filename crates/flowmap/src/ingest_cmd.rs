//! `flowmap ingest …`: read delivery history from a source and store it.
//!
//! `ingest git` runs `flowmap_app`'s git ingest (the reader on its own threads streaming
//! into one store transaction, with the run's incremental state in the same transaction)
//! and draws its progress; this module reads flags and prints.

use crate::output::outln;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use flowmap_app::ingest::TagSummary;
use flowmap_app::{Actor, App, AppError};
use flowmap_ingest::git::{self, DeployRule, GitOptions, Phase};
use flowmap_store::Store;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Subcommand)]
pub enum IngestCommand {
    /// Read a local git repository: commits become changes, and tags or merges become
    /// deployments. A second run reads only what is new.
    Git(GitArgs),
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

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let store = runtime
        .block_on(Store::open(db))
        .with_context(|| format!("opening {db}"))?;
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
        "{}: {} commits, {} deployments, {} unreleased commits ({} read) in {:.1}s",
        outcome.source,
        outcome.changes,
        outcome.deployments,
        outcome.unreleased,
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
