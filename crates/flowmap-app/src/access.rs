//! Who may use a server: API tokens, browser sessions made from them, and the audit log.
//!
//! A token is 32 random bytes shown once as `fm_` + hex; only its SHA-256 is stored, so a
//! copy of the database grants nothing. A browser signs in by presenting a token once and
//! gets a session (a random cookie value, stored as its SHA-256) with its own CSRF secret.
//! Every token change is audited with the actor who made it.

use flowmap_store::{AuditEntry, StoredSession, StoredToken};
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use crate::{Actor, App, AppError, Role};

/// How long a browser session lasts.
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);

/// `viewer`, `editor` or `admin` as a [`Role`].
pub fn parse_role(text: &str) -> Option<Role> {
    match text {
        "viewer" => Some(Role::Viewer),
        "editor" => Some(Role::Editor),
        "admin" => Some(Role::Admin),
        _ => None,
    }
}

/// The hex SHA-256 of a secret, the only form in which secrets are stored.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh random secret: `prefix` and 32 bytes from the operating system, in hex.
pub(crate) fn random_secret(prefix: &str) -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Invalid(format!("no secure random numbers: {e}")))?;
    Ok(format!("{prefix}{}", hex::encode(bytes)))
}

/// A signed-in browser: who it is and the CSRF secret its forms must carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub actor: Actor,
    pub csrf: String,
}

impl App {
    /// Creates a token called `name` with `role`, valid for `lifetime` (or until
    /// revoked); returns the secret, which is never shown again.
    pub async fn create_token(
        &self,
        actor: &Actor,
        name: &str,
        role: Role,
        lifetime: Option<SignedDuration>,
    ) -> Result<String, AppError> {
        actor.require(Role::Admin, "create tokens")?;
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
        {
            return Err(AppError::Invalid(format!(
                "token name {name:?}: use 1 to 64 letters, digits, `-`, `_`, `.` or `@`"
            )));
        }
        let now = Timestamp::now();
        let expires_at = lifetime
            .map(|lifetime| now.checked_add(lifetime))
            .transpose()
            .map_err(|e| AppError::Invalid(format!("token lifetime: {e}")))?;
        let secret = random_secret("fm_")?;
        let token = StoredToken {
            name: name.to_owned(),
            role: role.as_str().to_owned(),
            created_at: now,
            created_by: actor.name.clone(),
            expires_at,
            revoked_at: None,
        };
        let created = self.store().create_token(&token, &digest(&secret)).await?;
        self.audit(
            actor,
            "create token",
            name,
            if created { "created" } else { "name taken" },
        )
        .await?;
        if !created {
            return Err(AppError::Invalid(format!(
                "a token called {name:?} already exists (revoked names stay taken)"
            )));
        }
        Ok(secret)
    }

    /// Every token, without secrets.
    pub async fn tokens(&self, actor: &Actor) -> Result<Vec<StoredToken>, AppError> {
        actor.require(Role::Admin, "list tokens")?;
        Ok(self.store().tokens().await?)
    }

    /// Revokes the token called `name` and ends its sessions.
    pub async fn revoke_token(&self, actor: &Actor, name: &str) -> Result<(), AppError> {
        actor.require(Role::Admin, "revoke tokens")?;
        let revoked = self.store().revoke_token(name, Timestamp::now()).await?;
        self.audit(
            actor,
            "revoke token",
            name,
            if revoked { "revoked" } else { "not found" },
        )
        .await?;
        if revoked {
            Ok(())
        } else {
            Err(AppError::NotFound(format!(
                "no active token called {name:?}"
            )))
        }
    }

    /// Whether this database has tokens, so that a server over it requires them.
    pub async fn has_tokens(&self) -> Result<bool, AppError> {
        Ok(self.store().has_tokens().await?)
    }

    /// The actor a presented token stands for, when it is known, not revoked and not
    /// expired.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Actor>, AppError> {
        let Some(token) = self.store().token_by_digest(&digest(secret)).await? else {
            return Ok(None);
        };
        Ok(active_actor(&token))
    }

    /// Exchanges a token for a browser session: the cookie value and the session, or
    /// `None` when the token is not valid.
    pub async fn sign_in(&self, secret: &str) -> Result<Option<(String, Session)>, AppError> {
        let Some(token) = self.store().token_by_digest(&digest(secret)).await? else {
            return Ok(None);
        };
        let Some(actor) = active_actor(&token) else {
            return Ok(None);
        };
        let cookie = random_secret("")?;
        let csrf = random_secret("")?;
        let now = Timestamp::now();
        let session = StoredSession {
            token_name: token.name.clone(),
            csrf: csrf.clone(),
            expires_at: now
                .checked_add(SESSION_LIFETIME)
                .map_err(|e| AppError::Invalid(e.to_string()))?,
        };
        self.store()
            .create_session(&digest(&cookie), &session, now)
            .await?;
        self.audit(&actor, "sign in", &token.name, "session created")
            .await?;
        Ok(Some((cookie, Session { actor, csrf })))
    }

    /// The session a cookie value stands for, while it and its token are valid.
    pub async fn session(&self, cookie: &str) -> Result<Option<Session>, AppError> {
        let Some(session) = self.store().session(&digest(cookie)).await? else {
            return Ok(None);
        };
        if session.expires_at <= Timestamp::now() {
            return Ok(None);
        }
        let Some(token) = self.store().token_by_name(&session.token_name).await? else {
            return Ok(None);
        };
        Ok(active_actor(&token).map(|actor| Session {
            actor,
            csrf: session.csrf,
        }))
    }

    /// Ends the session a cookie value stands for.
    pub async fn sign_out(&self, cookie: &str) -> Result<(), AppError> {
        Ok(self.store().delete_session(&digest(cookie)).await?)
    }

    /// Records that `actor` did `action` to `subject`, with its outcome.
    pub async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        subject: &str,
        outcome: &str,
    ) -> Result<(), AppError> {
        Ok(self
            .store()
            .audit(&AuditEntry {
                at: Timestamp::now(),
                actor: actor.name.clone(),
                action: action.to_owned(),
                subject: subject.to_owned(),
                outcome: outcome.to_owned(),
            })
            .await?)
    }
}

/// The actor of a token that is active now.
fn active_actor(token: &StoredToken) -> Option<Actor> {
    if !token.is_active(Timestamp::now()) {
        return None;
    }
    parse_role(&token.role).map(|role| Actor::new(format!("token:{}", token.name), role))
}
