//! `flowmap token create|list|revoke`: the API tokens a server accepts. A token's secret
//! is printed once, on creation; the database keeps only its SHA-256.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use flowmap_app::access::parse_role;
use flowmap_app::{Actor, App};
use flowmap_core::map::parse_duration;
use jiff::{SignedDuration, Timestamp};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (shown only this once).
    Create(CreateArgs),
    /// List tokens: name, role, who created them, expiry and revocation.
    List,
    /// Revoke a token; its browser sessions end too.
    Revoke {
        /// The token's name.
        name: String,
    },
}

#[derive(Args)]
pub struct CreateArgs {
    /// A name for the token (who or what uses it), recorded with every change it makes.
    name: String,
    /// viewer (pages and GET API), editor (also maps, outcomes, imports) or admin (also
    /// tokens and raw webhook deliveries).
    #[arg(long, value_parser = parse_role_arg)]
    role: flowmap_app::Role,
    /// How long the token is valid, e.g. `90d` or `12w` (default: until revoked).
    #[arg(long, value_parser = parse_lifetime)]
    expires: Option<SignedDuration>,
}

fn parse_role_arg(text: &str) -> Result<flowmap_app::Role, String> {
    parse_role(text).ok_or_else(|| format!("{text:?} is not a role: use viewer, editor or admin"))
}

fn parse_lifetime(text: &str) -> Result<SignedDuration, String> {
    let hours = parse_duration(text).map_err(|e| e.to_string())?;
    if hours <= 0.0 {
        return Err("a token's lifetime must be longer than 0".into());
    }
    SignedDuration::try_from_secs_f64(hours * 3600.0).map_err(|e| e.to_string())
}

pub fn run(command: TokenCommand, db: &str, actor: &Actor) -> anyhow::Result<ExitCode> {
    let runtime = crate::database::runtime()?;
    runtime.block_on(async {
        let store = crate::database::open(db).await?;
        let app = App::new(store.clone());
        let result = match command {
            TokenCommand::Create(args) => app
                .create_token(actor, &args.name, args.role, args.expires)
                .await
                .map(|secret| {
                    eprintln!(
                        "created token {:?} ({}); its secret is shown only now:",
                        args.name, args.role
                    );
                    println!("{secret}");
                }),
            TokenCommand::List => app.tokens(actor).await.map(|tokens| {
                let now = Timestamp::now();
                println!(
                    "{:<24} {:<7} {:<9} {:<22} {:<22} created by",
                    "name", "role", "state", "created", "expires"
                );
                for token in tokens {
                    let state = if token.revoked_at.is_some() {
                        "revoked"
                    } else if token.is_active(now) {
                        "active"
                    } else {
                        "expired"
                    };
                    let expires = token
                        .expires_at
                        .map_or_else(|| "never".to_owned(), |t| t.to_string());
                    println!(
                        "{:<24} {:<7} {:<9} {:<22} {:<22} {}",
                        crate::terminal::safe(&token.name),
                        token.role,
                        state,
                        token.created_at.to_string(),
                        expires,
                        crate::terminal::safe(&token.created_by)
                    );
                }
            }),
            TokenCommand::Revoke { name } => app.revoke_token(actor, &name).await.map(|()| {
                eprintln!("revoked token {name:?}");
            }),
        };
        store.close().await;
        result.map_err(anyhow::Error::from)?;
        Ok(ExitCode::SUCCESS)
    })
}
