//! What access control keeps: API tokens (as SHA-256 digests only), browser sessions, and
//! the audit log of who changed what.
//!
//! The store keeps and finds these rows; deciding who may do what is the application's.
//! Roles are stored as their names (`viewer`, `editor`, `admin`).

use jiff::Timestamp;

use crate::{Store, StoreError};

/// A stored API token, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    pub name: String,
    pub role: String,
    pub created_at: Timestamp,
    pub created_by: String,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl StoredToken {
    /// Whether the token still grants access at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expires| now < expires)
    }
}

/// A browser session: the token it was made from and its CSRF secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    pub token_name: String,
    pub csrf: String,
    pub expires_at: Timestamp,
}

/// One audit record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub outcome: String,
}

fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn time(ms: i64, table: &'static str, id: &str) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::Corrupt {
        table,
        id: id.to_owned(),
        problem: e.to_string(),
    })
}

type TokenRow = (String, String, i64, String, Option<i64>, Option<i64>);

fn token(row: TokenRow) -> Result<StoredToken, StoreError> {
    let (name, role, created_at, created_by, expires_at, revoked_at) = row;
    Ok(StoredToken {
        created_at: time(created_at, "api_tokens", &name)?,
        expires_at: expires_at
            .map(|ms| time(ms, "api_tokens", &name))
            .transpose()?,
        revoked_at: revoked_at
            .map(|ms| time(ms, "api_tokens", &name))
            .transpose()?,
        name,
        role,
        created_by,
    })
}

const TOKEN_COLUMNS: &str = "name, role, created_at, created_by, expires_at, revoked_at";

impl Store {
    /// Stores a new token under `name`; `false` when the name is taken (revoked names
    /// stay taken, so the audit log's names stay unambiguous).
    pub async fn create_token(
        &self,
        token: &StoredToken,
        token_sha256: &str,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO api_tokens (name, role, token_sha256, created_at, created_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
        )
        .bind(token.name.as_str())
        .bind(token.role.as_str())
        .bind(token_sha256)
        .bind(millis(token.created_at))
        .bind(token.created_by.as_str())
        .bind(token.expires_at.map(millis))
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Every token, by name.
    pub async fn tokens(&self) -> Result<Vec<StoredToken>, StoreError> {
        let rows: Vec<TokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY name"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(token).collect()
    }

    /// The token whose secret has this SHA-256 (hex), active or not.
    pub async fn token_by_digest(
        &self,
        token_sha256: &str,
    ) -> Result<Option<StoredToken>, StoreError> {
        let row: Option<TokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_sha256 = $1"
        )))
        .bind(token_sha256)
        .fetch_optional(&self.pool)
        .await?;
        row.map(token).transpose()
    }

    /// The token called `name`.
    pub async fn token_by_name(&self, name: &str) -> Result<Option<StoredToken>, StoreError> {
        let row: Option<TokenRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(token).transpose()
    }

    /// Whether any token that is not revoked exists (expired ones count: a server that
    /// once had tokens keeps requiring them).
    pub async fn has_tokens(&self) -> Result<bool, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM api_tokens WHERE revoked_at IS NULL LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some())
    }

    /// Revokes the token called `name` and ends its sessions; `false` when there is no
    /// such active token.
    pub async fn revoke_token(&self, name: &str, at: Timestamp) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let revoked = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL",
        )
        .bind(name)
        .bind(millis(at))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE token_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(revoked.rows_affected() == 1)
    }

    /// Stores a session under the SHA-256 (hex) of its cookie value.
    pub async fn create_session(
        &self,
        id_sha256: &str,
        session: &StoredSession,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_sha256, token_name, csrf, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id_sha256)
        .bind(session.token_name.as_str())
        .bind(session.csrf.as_str())
        .bind(millis(now))
        .bind(millis(session.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session whose cookie value has this SHA-256 (hex).
    pub async fn session(&self, id_sha256: &str) -> Result<Option<StoredSession>, StoreError> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT token_name, csrf, expires_at FROM sessions WHERE id_sha256 = $1",
        )
        .bind(id_sha256)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(token_name, csrf, expires_at)| {
            Ok(StoredSession {
                expires_at: time(expires_at, "sessions", &token_name)?,
                token_name,
                csrf,
            })
        })
        .transpose()
    }

    /// Ends a session.
    pub async fn delete_session(&self, id_sha256: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_sha256 = $1")
            .bind(id_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Appends to the audit log.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (at, actor, action, subject, outcome) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(millis(entry.at))
        .bind(entry.actor.as_str())
        .bind(entry.action.as_str())
        .bind(entry.subject.as_str())
        .bind(entry.outcome.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest `limit` audit records, newest first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
            "SELECT at, actor, action, subject, outcome FROM audit_log ORDER BY seq DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(at, actor, action, subject, outcome)| {
                Ok(AuditEntry {
                    at: time(at, "audit_log", &subject)?,
                    actor,
                    action,
                    subject,
                    outcome,
                })
            })
            .collect()
    }
}
