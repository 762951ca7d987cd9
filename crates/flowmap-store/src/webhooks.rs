//! Webhook deliveries: exactly-once processing, the pushes a deployment ships, and the
//! kept bodies.
//!
//! A receiver calls [`Store::begin_delivery`] for each signed delivery. The delivery row
//! and everything the delivery writes share one transaction, so a delivery is either
//! fully applied and remembered, or not at all; a redelivery of an applied one gets
//! `None` and changes nothing. Deliveries that cannot be read are kept with
//! [`Store::reject_delivery`], for inspection.

use jiff::Timestamp;
use sqlx::Row;

use crate::write::Writer;
use crate::{Batch, Store, StoreError, WriteSummary};

/// One webhook request as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery<'a> {
    /// The sender (`github`, `gitlab`, `cdevents`); also the records' source.
    pub source: &'a str,
    /// The sender's delivery id (GitHub's `X-GitHub-Delivery`), or a digest of the body
    /// when the sender gives none, so an identical body counts as a redelivery.
    pub delivery_id: &'a str,
    /// The event type (`push`, `Merge Request Hook`, a CDEvents type).
    pub event: &'a str,
    pub received_at: Timestamp,
    /// The body exactly as received (invalid UTF-8 replaced).
    pub body: &'a str,
}

/// A delivery kept by the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDelivery {
    pub source: String,
    pub delivery_id: String,
    pub event: String,
    pub received_at: Timestamp,
    /// `accepted` or `rejected`.
    pub status: String,
    /// What the delivery did, or why it was rejected.
    pub note: String,
    pub body: String,
}

/// The transaction of one accepted delivery. Dropping it without
/// [`DeliveryWriter::commit`] forgets the delivery and everything written for it.
#[derive(Debug)]
pub struct DeliveryWriter {
    writer: Writer,
    source: String,
    delivery_id: String,
}

impl Store {
    /// Starts processing a delivery: `None` when a delivery with the same id was already
    /// accepted (a redelivery), else a writer for its records.
    ///
    /// A delivery rejected before is processed again: the sender may have been fixed.
    pub async fn begin_delivery(
        &self,
        delivery: &Delivery<'_>,
    ) -> Result<Option<DeliveryWriter>, StoreError> {
        let mut writer = self.begin(delivery.source).await?;
        let claimed = sqlx::query(
            "INSERT INTO webhook_deliveries \
             (source, delivery_id, event, received_at, status, note, body) \
             VALUES ($1, $2, $3, $4, 'accepted', '', $5) \
             ON CONFLICT (source, delivery_id) DO UPDATE SET \
             event = excluded.event, received_at = excluded.received_at, \
             status = 'accepted', note = '', body = excluded.body \
             WHERE webhook_deliveries.status = 'rejected' \
             RETURNING delivery_id",
        )
        .bind(delivery.source)
        .bind(delivery.delivery_id)
        .bind(delivery.event)
        .bind(delivery.received_at.as_millisecond())
        .bind(delivery.body)
        .fetch_optional(&mut *writer.tx)
        .await?;
        if claimed.is_none() {
            writer.rollback().await?;
            return Ok(None);
        }
        Ok(Some(DeliveryWriter {
            writer,
            source: delivery.source.to_owned(),
            delivery_id: delivery.delivery_id.to_owned(),
        }))
    }

    /// Keeps a delivery that could not be read, with the reason. A delivery id already
    /// kept (accepted or rejected) is left as it is; returns whether a row was added.
    pub async fn reject_delivery(
        &self,
        delivery: &Delivery<'_>,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO webhook_deliveries \
             (source, delivery_id, event, received_at, status, note, body) \
             VALUES ($1, $2, $3, $4, 'rejected', $5, $6) \
             ON CONFLICT (source, delivery_id) DO NOTHING",
        )
        .bind(delivery.source)
        .bind(delivery.delivery_id)
        .bind(delivery.event)
        .bind(delivery.received_at.as_millisecond())
        .bind(reason)
        .bind(delivery.body)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() > 0)
    }

    /// The most recent deliveries, newest first; only rejected ones with `rejected_only`.
    pub async fn deliveries(
        &self,
        rejected_only: bool,
        limit: u32,
    ) -> Result<Vec<StoredDelivery>, StoreError> {
        let filter = if rejected_only {
            "WHERE status = 'rejected'"
        } else {
            ""
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT source, delivery_id, event, received_at, status, note, body \
             FROM webhook_deliveries {filter} \
             ORDER BY received_at DESC, source, delivery_id LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let delivery_id: String = row.try_get("delivery_id")?;
                let received_at: i64 = row.try_get("received_at")?;
                Ok(StoredDelivery {
                    source: row.try_get("source")?,
                    event: row.try_get("event")?,
                    received_at: Timestamp::from_millisecond(received_at).map_err(|e| {
                        StoreError::Corrupt {
                            table: "webhook_deliveries",
                            id: delivery_id.clone(),
                            problem: format!("received_at: {e}"),
                        }
                    })?,
                    status: row.try_get("status")?,
                    note: row.try_get("note")?,
                    body: row.try_get("body")?,
                    delivery_id,
                })
            })
            .collect()
    }

    /// How many deliveries the store holds: `(accepted, rejected)`.
    pub async fn delivery_counts(&self) -> Result<(u64, u64), StoreError> {
        let row = sqlx::query(
            "SELECT \
             COALESCE(SUM(CASE WHEN status = 'accepted' THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END), 0) \
             FROM webhook_deliveries",
        )
        .fetch_one(&self.pool)
        .await?;
        let accepted: i64 = row.try_get(0)?;
        let rejected: i64 = row.try_get(1)?;
        Ok((accepted as u64, rejected as u64))
    }
}

impl DeliveryWriter {
    /// Writes records for this delivery's source (see [`Writer::write`]).
    pub async fn write(&mut self, batch: &Batch) -> Result<WriteSummary, StoreError> {
        self.writer.write(batch).await
    }

    /// Reads a value kept with [`DeliveryWriter::set_meta`] or
    /// [`Store::set_meta`], inside this transaction.
    pub async fn get_meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT value FROM ingest_state WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut *self.writer.tx)
                .await?;
        Ok(row.map(|(value,)| value))
    }

    /// Keeps `value` under `key`, committed with the delivery.
    pub async fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.writer.set_meta(key, value).await
    }

    /// Remembers a push to `service`'s default branch whose head is `head`, with its
    /// commits oldest first. A push already remembered (same head) is left alone.
    pub async fn record_push(
        &mut self,
        service: &str,
        head: &str,
        commits: &[String],
    ) -> Result<(), StoreError> {
        let commits = serde_json::to_string(commits).expect("a list of strings serializes");
        sqlx::query(
            "INSERT INTO webhook_pushes (source, service, head, commits) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (source, service, head) DO NOTHING",
        )
        .bind(self.source.as_str())
        .bind(service)
        .bind(head)
        .bind(commits)
        .execute(&mut *self.writer.tx)
        .await?;
        Ok(())
    }

    /// The commits deployment `deployment` of `service` ships when it deploys commit
    /// `head`: those of every push up to and including the one whose head is `head`
    /// that no other deployment shipped, oldest first. The pushes are marked as shipped
    /// by it, so asking again for the same deployment gives the same answer, and a later
    /// deployment does not ship them again. Empty when no push has head `head`. Which
    /// commits those pushes ship is core's link by ancestry
    /// (`flowmap_core::ancestry::shipped_by_pushes`); this only loads and marks pushes.
    pub async fn ship(
        &mut self,
        service: &str,
        deployment: &str,
        head: &str,
    ) -> Result<Vec<String>, StoreError> {
        let source = self.source.clone();
        let tx = &mut *self.writer.tx;
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT seq FROM webhook_pushes WHERE source = $1 AND service = $2 AND head = $3",
        )
        .bind(source.as_str())
        .bind(service)
        .bind(head)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((last,)) = found else {
            return Ok(Vec::new());
        };
        let pushes: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, commits FROM webhook_pushes \
             WHERE source = $1 AND service = $2 AND seq <= $3 \
             AND (deployment IS NULL OR deployment = $4) ORDER BY seq",
        )
        .bind(source.as_str())
        .bind(service)
        .bind(last)
        .bind(deployment)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_pushes SET deployment = $4 \
             WHERE source = $1 AND service = $2 AND seq <= $3 AND deployment IS NULL",
        )
        .bind(source.as_str())
        .bind(service)
        .bind(last)
        .bind(deployment)
        .execute(&mut *tx)
        .await?;
        let pushes = pushes
            .into_iter()
            .map(|(seq, commits)| {
                serde_json::from_str::<Vec<String>>(&commits).map_err(|e| StoreError::Corrupt {
                    table: "webhook_pushes",
                    id: seq.to_string(),
                    problem: format!("commits: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(flowmap_core::ancestry::shipped_by_pushes(&pushes))
    }

    /// Records what the delivery did and makes it all visible.
    pub async fn commit(mut self, note: &str) -> Result<WriteSummary, StoreError> {
        sqlx::query(
            "UPDATE webhook_deliveries SET note = $3 WHERE source = $1 AND delivery_id = $2",
        )
        .bind(self.source.as_str())
        .bind(self.delivery_id.as_str())
        .bind(note)
        .execute(&mut *self.writer.tx)
        .await?;
        self.writer.commit().await
    }
}
