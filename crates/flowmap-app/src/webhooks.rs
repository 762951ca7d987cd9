//! Applying a webhook delivery: verify, parse, claim the delivery, write — exactly once.
//!
//! The server authenticates what it can from the headers before it reads a body (a
//! configured secret, a token, the presence of a signature); GitHub's signature covers the
//! body, so it is checked here once the body is read. A payload that cannot be read is
//! kept as a rejected delivery ([`AppError::Rejected`]). The delivery id is claimed in
//! the same transaction that writes the records, so a redelivery is answered as a
//! duplicate and writes nothing; records are merged, so a repeated event with a new
//! delivery id leaves them as they were.

use flowmap_core::events::{DeploymentStatus, PRODUCTION};
use flowmap_ingest::cdevents;
use flowmap_ingest::import::Record;
use flowmap_ingest::webhooks::{self, Config, Effect, PullRequest};
use flowmap_store::{Batch, Delivery, DeliveryWriter, RawRecord, StoreError, WriteMode};
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::import::record_kind;
use crate::{Actor, App, AppError, Role};

/// What happened to a delivery that was not refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// `accepted`, `ignored` (a valid event flowmap has no use for) or `duplicate`.
    pub status: &'static str,
    /// One line on what was done, e.g. `push of 3 commits to shop`.
    pub note: String,
}

impl Receipt {
    fn duplicate() -> Receipt {
        Receipt {
            status: "duplicate",
            note: "delivery already received".to_owned(),
        }
    }
}

/// A delivery's request, as the sender's protocol names its parts.
#[derive(Clone, Copy, Debug)]
pub struct Incoming<'a> {
    /// The event name the sender gave (`X-GitHub-Event`, `X-Gitlab-Event`); empty if none.
    pub event: &'a str,
    /// The sender's delivery id, when it gave one; a digest of the body otherwise.
    pub delivery_id: Option<&'a str>,
    pub body: &'a [u8],
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`.
/// The comparison takes the same time wherever the first wrong byte is.
pub fn github_signature_valid(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(hex_digest) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected).is_ok()
}

/// Constant-time equality of a presented token with the configured one.
pub fn token_matches(configured: &str, presented: &str) -> bool {
    configured.as_bytes().ct_eq(presented.as_bytes()).into()
}

fn body_digest(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

impl App {
    /// Applies a GitHub delivery signed with `signature` (`X-Hub-Signature-256`) under
    /// `secret`.
    pub async fn receive_github(
        &self,
        actor: &Actor,
        secret: &str,
        signature: &str,
        incoming: Incoming<'_>,
        config: &Config,
    ) -> Result<Receipt, AppError> {
        if !github_signature_valid(secret.as_bytes(), incoming.body, signature) {
            return Err(AppError::Unauthenticated(
                "X-Hub-Signature-256 does not match the body",
            ));
        }
        actor.require(Role::Editor, "write webhook deliveries")?;
        let delivery_id = delivery_id(&incoming);
        // A webhook set to `application/x-www-form-urlencoded` sends `payload=<JSON>`;
        // the signature covers the form, the JSON inside is the delivery.
        let form_payload = form_payload(incoming.body);
        let body: &[u8] = form_payload.as_deref().unwrap_or(incoming.body);
        let incoming = Incoming { body, ..incoming };
        let text = String::from_utf8_lossy(incoming.body);
        let delivery = Delivery {
            source: "github",
            delivery_id: &delivery_id,
            event: incoming.event,
            received_at: Timestamp::now(),
            body: &text,
        };
        if incoming.event.is_empty() {
            let problem = "X-GitHub-Event: missing".to_owned();
            return Err(self.reject(&delivery, problem).await);
        }
        match webhooks::github::parse(incoming.event, incoming.body, config) {
            Ok(effect) => self.apply(&delivery, effect).await,
            Err(problem) => Err(self.reject(&delivery, problem.to_string()).await),
        }
    }

    /// Applies a GitLab delivery whose token the caller has checked.
    pub async fn receive_gitlab(
        &self,
        actor: &Actor,
        incoming: Incoming<'_>,
        config: &Config,
    ) -> Result<Receipt, AppError> {
        actor.require(Role::Editor, "write webhook deliveries")?;
        let delivery_id = delivery_id(&incoming);
        let text = String::from_utf8_lossy(incoming.body);
        let delivery = Delivery {
            source: "gitlab",
            delivery_id: &delivery_id,
            event: incoming.event,
            received_at: Timestamp::now(),
            body: &text,
        };
        match webhooks::gitlab::parse(incoming.body, config) {
            Ok(effect) => self.apply(&delivery, effect).await,
            Err(problem) => Err(self.reject(&delivery, problem.to_string()).await),
        }
    }

    /// Applies a CDEvent whose bearer token the caller has checked; its delivery id is the
    /// event's `context.id`.
    pub async fn receive_cdevents(&self, actor: &Actor, body: &[u8]) -> Result<Receipt, AppError> {
        actor.require(Role::Editor, "write webhook deliveries")?;
        let text = String::from_utf8_lossy(body);
        let value = serde_json::from_slice::<serde_json::Value>(body)
            .map_err(|e| format!("body: not JSON: {e}"));
        let event_type = value
            .as_ref()
            .ok()
            .and_then(|v| v.pointer("/context/type"))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned();
        let delivery_id = value
            .as_ref()
            .ok()
            .and_then(|v| v.pointer("/context/id"))
            .and_then(|v| v.as_str())
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| body_digest(body));
        let delivery = Delivery {
            source: "cdevents",
            delivery_id: &delivery_id,
            event: &event_type,
            received_at: Timestamp::now(),
            body: &text,
        };
        let record = value.and_then(|v| {
            cdevents::to_record(&v).map_err(|problems| {
                problems
                    .iter()
                    .map(|(field, problem)| format!("{field}: {problem}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        });
        let record = match record {
            Ok(record) => record,
            Err(problem) => return Err(self.reject(&delivery, problem).await),
        };
        let Some(mut tx) = self.store.begin_delivery(&delivery).await? else {
            return Ok(Receipt::duplicate());
        };
        let kind = record_kind(&record);
        let mut batch = Batch {
            mode: WriteMode::Merge,
            raw: vec![RawRecord {
                kind,
                record_id: record.id().to_owned(),
                received_at: delivery.received_at,
                body: text.clone().into_owned(),
            }],
            ..Batch::default()
        };
        let note = format!("{} {}", kind.as_str(), record.id());
        match record {
            Record::Deployment(d) => batch.deployments.push(d),
            Record::Change(c) => batch.changes.push(c),
            Record::Incident(i) => batch.incidents.push(i),
            Record::Build(b) => batch.builds.push(b),
            Record::Milestone(m) => batch.milestones.push(m),
        }
        if let Some(problem) = self.write_or_refuse(&mut tx, &batch).await? {
            tx.rollback().await?;
            return Err(self.reject(&delivery, problem).await);
        }
        tx.commit(&note).await?;
        Ok(Receipt {
            status: "accepted",
            note,
        })
    }

    /// Writes a delivery's records; a record the store refuses (a NUL byte, an over-long
    /// id, an impossible order) is the delivery's problem, returned for rejecting it,
    /// not a server error.
    async fn write_or_refuse(
        &self,
        tx: &mut DeliveryWriter,
        batch: &Batch,
    ) -> Result<Option<String>, AppError> {
        match tx.write(batch).await {
            Ok(_) => Ok(None),
            Err(StoreError::Invalid { what, problem }) => Ok(Some(format!("{what}: {problem}"))),
            Err(other) => Err(other.into()),
        }
    }

    /// Keeps an unreadable delivery as rejected; the error to answer with.
    async fn reject(&self, delivery: &Delivery<'_>, problem: String) -> AppError {
        match self.store.reject_delivery(delivery, &problem).await {
            Ok(_) => AppError::Rejected(problem),
            Err(err) => err.into(),
        }
    }

    /// Applies a GitHub or GitLab effect in the delivery's transaction.
    async fn apply(&self, delivery: &Delivery<'_>, effect: Effect) -> Result<Receipt, AppError> {
        let Some(mut tx) = self.store.begin_delivery(delivery).await? else {
            return Ok(Receipt::duplicate());
        };
        let mut batch = Batch {
            mode: WriteMode::Merge,
            ..Batch::default()
        };
        let (status, note) = apply_effect(&mut tx, delivery, effect, &mut batch).await?;
        if let Some(problem) = self.write_or_refuse(&mut tx, &batch).await? {
            tx.rollback().await?;
            return Err(self.reject(delivery, problem).await);
        }
        tx.commit(&format!("{status}: {note}")).await?;
        Ok(Receipt { status, note })
    }
}

/// The JSON of a form-encoded GitHub delivery (`payload=…`), decoded; `None` for a body
/// that is not such a form.
fn form_payload(body: &[u8]) -> Option<Vec<u8>> {
    if body.trim_ascii_start().first() == Some(&b'{') {
        return None;
    }
    let encoded = body
        .split(|&b| b == b'&')
        .find_map(|pair| pair.strip_prefix(b"payload="))?;
    let mut decoded = Vec::with_capacity(encoded.len());
    let mut bytes = encoded.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'+' => decoded.push(b' '),
            b'%' => {
                let hex = [*bytes.next()?, *bytes.next()?];
                let text = std::str::from_utf8(&hex).ok()?;
                decoded.push(u8::from_str_radix(text, 16).ok()?);
            }
            other => decoded.push(other),
        }
    }
    Some(decoded)
}

/// The delivery id the sender gave, else a digest of the body.
fn delivery_id(incoming: &Incoming<'_>) -> String {
    incoming
        .delivery_id
        .map(str::to_owned)
        .unwrap_or_else(|| body_digest(incoming.body))
}

/// Writes what `effect` means into the delivery's transaction and `batch`; the status and
/// note to answer with.
async fn apply_effect(
    tx: &mut DeliveryWriter,
    delivery: &Delivery<'_>,
    effect: Effect,
    batch: &mut Batch,
) -> Result<(&'static str, String), AppError> {
    Ok(match effect {
        Effect::Ignored(why) => ("ignored", why),
        Effect::Build(build) => {
            let note = format!("build {} of {}", build.id, build.service);
            batch.builds.push(build);
            ("accepted", note)
        }
        Effect::Push(push) => {
            let ids: Vec<String> = push.commits.iter().map(|c| c.id.clone()).collect();
            tx.record_push(&push.service, &push.head, &ids).await?;
            let note = format!("push of {} commits to {}", ids.len(), push.service);
            batch.changes = push.commits;
            ("accepted", note)
        }
        Effect::PullRequest(request) => {
            let key = format!(
                "{}:pull_request:{}#{}",
                delivery.source, request.service, request.number
            );
            let known: Option<PullRequest> = match tx.get_meta(&key).await? {
                Some(json) => serde_json::from_str(&json).ok(),
                None => None,
            };
            let merged = match known {
                Some(known) => known.merge(request),
                None => request,
            };
            let json = serde_json::to_string(&merged)
                .map_err(|e| AppError::Invalid(format!("pull request: {e}")))?;
            tx.set_meta(&key, &json).await?;
            let note = match merged.change() {
                Some(change) => {
                    let note = format!(
                        "request #{} of {}: change {}",
                        merged.number, merged.service, change.id
                    );
                    batch.changes.push(change);
                    note
                }
                None => format!(
                    "request #{} of {}: not merged yet",
                    merged.number, merged.service
                ),
            };
            ("accepted", note)
        }
        Effect::Deployment(mut deployment) => {
            if deployment.status == DeploymentStatus::Success
                && deployment.environment == PRODUCTION
                && let Some(commit) = deployment.commit.clone()
            {
                deployment.changes = tx
                    .ship(&deployment.service, &deployment.id, &commit)
                    .await?;
            }
            let note = format!(
                "deployment {} of {} ({}, {} changes)",
                deployment.id,
                deployment.service,
                deployment.environment,
                deployment.changes.len()
            );
            batch.deployments.push(deployment);
            ("accepted", note)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoded_payloads_are_decoded() {
        assert_eq!(
            form_payload(b"payload=%7B%22a%22%3A+%22b%20c%22%7D").as_deref(),
            Some(&b"{\"a\": \"b c\"}"[..])
        );
        assert_eq!(form_payload(b"{\"payload=\": 1}"), None);
        assert_eq!(form_payload(b"{\"x\": \"a&payload=1\"}"), None);
        assert_eq!(form_payload(b"payload=%7"), None);
    }

    #[test]
    fn signature_matches_githubs_documented_example() {
        // GitHub's documentation: secret "It's a Secret to Everybody", payload
        // "Hello, World!".
        let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(github_signature_valid(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            signature
        ));
        assert!(!github_signature_valid(
            b"It's a Secret to Everybody",
            b"Hello, World?",
            signature
        ));
        assert!(!github_signature_valid(b"x", b"Hello, World!", "sha1=abc"));
        assert!(!github_signature_valid(b"x", b"Hello, World!", "sha256=zz"));
    }

    #[test]
    fn tokens_must_match_exactly() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cret", "s3cre"));
        assert!(!token_matches("s3cret", "s3cret "));
    }
}
