//! `flowmap ingest …`: read delivery history from a source and store it.
//!
//! `ingest git` runs the git reader on its own threads and streams its batches into one
//! store transaction on this thread, so reading and writing overlap. The run's incremental
//! state is written in the same transaction as its records: a run that fails leaves
//! neither, and the next run starts from the last one that succeeded.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use flowmap_ingest::git::{self, DeployRule, GitOptions, GitState, Phase};
use flowmap_store::{Store, WriteMode};
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
pub fn run(command: IngestCommand, db: &str) -> anyhow::Result<ExitCode> {
    match command {
        IngestCommand::Git(args) => ingest_git(args, db),
    }
}

fn ingest_git(args: GitArgs, db: &str) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let rule = match (args.deploy_tags, args.deploy_merges) {
        (Some(glob), _) => DeployRule::Tags(glob),
        (None, Some(branch)) => DeployRule::Merges {
            branch,
            all_commits: args.all_commits,
        },
        (None, None) => DeployRule::None,
    };
    let options = GitOptions {
        service: args.service,
        rule,
        path: args.path_filter,
    };
    let source = format!("git:{}", git::service_name(&args.path, &options));
    let state_key = format!("{source}:state");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let store = runtime
        .block_on(Store::open(db))
        .with_context(|| format!("opening {db}"))?;
    let previous = match runtime.block_on(store.get_meta(&state_key))? {
        // An unreadable state only costs time: the run then reads the whole history.
        Some(json) => GitState::from_json(&json)
            .inspect_err(|err| eprintln!("warning: {err}; reading the whole history"))
            .ok(),
        None => None,
    };
    let mut writer = runtime.block_on(store.begin(&source))?;

    let bar = Bar::new();
    let (sender, receiver) = mpsc::sync_channel::<git::Batch>(2);
    let (outcome, written) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let sender = sender;
            git::ingest(
                &args.path,
                &options,
                previous.as_ref(),
                &bar,
                &mut |batch| {
                    sender
                        .send(batch)
                        .map_err(|_| "the store stopped accepting records".into())
                },
            )
        });
        let written = runtime.block_on(async {
            for batch in receiver {
                let batch = flowmap_store::Batch {
                    mode: WriteMode::Replace,
                    deployments: batch.deployments,
                    changes: batch.changes,
                    ..flowmap_store::Batch::default()
                };
                writer.write_bulk(&batch).await?;
            }
            Ok::<_, flowmap_store::StoreError>(())
        });
        (
            reader.join().expect("the git reader does not panic"),
            written,
        )
    });
    bar.0.finish_and_clear();
    // A store failure makes the reader fail too; the store's error is the cause to report.
    let outcome = match (written, outcome) {
        (Ok(()), Ok(outcome)) => outcome,
        (written, outcome) => {
            // Nothing of a failed run is kept; the rollback runs inside the runtime that
            // owns the connection.
            runtime.block_on(writer.rollback())?;
            written.with_context(|| format!("writing to {db}"))?;
            return Err(outcome
                .with_context(|| format!("reading {}", args.path.display()))
                .expect_err("one of the two failed"));
        }
    };
    runtime.block_on(async {
        writer
            .set_meta(&state_key, &outcome.state.to_json())
            .await?;
        writer.commit().await?;
        store.close().await;
        Ok::<_, flowmap_store::StoreError>(())
    })?;
    println!(
        "{}: {} commits, {} deployments, {} unreleased commits ({} read) in {:.1}s",
        outcome.source,
        outcome.changes,
        outcome.deployments,
        outcome.unreleased,
        if outcome.full { "full" } else { "incremental" },
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
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
