//! Webhooks: the endpoints a site registers and the durable outbox of their
//! deliveries. An event adds one pending delivery per subscribed hook; workers on any
//! node claim due deliveries for a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two
//! nodes never take the same one; SQLite: its single writer makes a plain claim safe),
//! send them, and record every attempt with the receiver's answer.

use async_trait::async_trait;
use serde::Serialize;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::{Backend, SqlStore, placeholders};
use crate::error::{StoreError, StoreResult};

/// A registered endpoint. The secret is kept for signing and never shown again after
/// creation, so it is not serialised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
pub struct Webhook {
    pub id: i64,
    pub site_id: i64,
    pub url: String,
    /// Stored as `,a,b,`; see [`Webhook::event_names`].
    #[serde(skip)]
    pub events: String,
    #[serde(skip)]
    pub secret: String,
    pub active: bool,
    pub created_at: i64,
}

impl Webhook {
    /// The subscribed event names.
    pub fn event_names(&self) -> Vec<String> {
        self.events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// A delivery a worker has claimed, with what it needs to send it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub payload: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub url: String,
    pub secret: String,
}

/// One delivery as the admin's log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
pub struct WebhookDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub payload: String,
    /// pending, delivered or failed.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_body: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    #[sqlx(skip)]
    pub attempt_log: Vec<WebhookAttempt>,
}

/// One try at sending a delivery and what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
pub struct WebhookAttempt {
    pub delivery_id: i64,
    /// 1 for the first attempt.
    pub attempt: i64,
    pub at: i64,
    /// The receiver's HTTP status; None when no answer came (see `error`).
    pub status: Option<i64>,
    pub error: Option<String>,
    /// The start of the receiver's answer.
    pub body: Option<String>,
    pub duration_ms: i64,
}

/// What happened to a claimed delivery, and when to try again if it was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub delivery_id: i64,
    pub at: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub body: Option<String>,
    pub duration_ms: i64,
    pub delivered: bool,
    /// When to try again; None gives up (the delivery fails) unless it was delivered.
    pub retry_at: Option<i64>,
}

/// What an admin changes on an endpoint; a field left None stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookChanges {
    pub url: Option<String>,
    /// Replaces the subscriptions; at least one name, none empty or with a comma.
    pub events: Option<Vec<String>>,
    /// False pauses the endpoint: no new deliveries, and its pending ones wait.
    pub active: Option<bool>,
}

/// `,a,b,`, the stored form of event names; refused when a name is empty or holds a
/// comma (the separator), or when there is none.
fn stored_events(events: &[String]) -> StoreResult<String> {
    if events.is_empty() {
        return Err(StoreError::refused("bad_event", "name at least one event"));
    }
    if events.iter().any(|e| e.is_empty() || e.contains(',')) {
        return Err(StoreError::refused(
            "bad_event",
            "an event name is not empty and has no comma",
        ));
    }
    Ok(format!(",{},", events.join(",")))
}

const HOOK_COLUMNS: &str = "id, site_id, url, events, secret, active, created_at";
const DELIVERY_COLUMNS: &str = "id, webhook_id, event, payload, status, attempts, \
     next_attempt_at, last_status, last_error, last_body, created_at, delivered_at";

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Registers an active endpoint for `events` (names without commas).
    async fn create_webhook(
        &self,
        site_id: i64,
        url: String,
        events: Vec<String>,
        secret: String,
        now: i64,
    ) -> StoreResult<Webhook>;
    /// The site's endpoints, oldest first.
    async fn site_webhooks(&self, site_id: i64) -> StoreResult<Vec<Webhook>>;
    async fn webhook(&self, site_id: i64, id: i64) -> StoreResult<Option<Webhook>>;
    /// Changes an endpoint of the site and returns it as it now is; NotFound for
    /// another site's or an unknown one. Bad events change nothing.
    async fn update_webhook(
        &self,
        site_id: i64,
        id: i64,
        changes: WebhookChanges,
    ) -> StoreResult<Webhook>;
    /// Replaces an endpoint's signing secret; deliveries claimed from now on are signed
    /// with the new one. NotFound for another site's or an unknown endpoint.
    async fn rotate_webhook_secret(
        &self,
        site_id: i64,
        id: i64,
        secret: String,
    ) -> StoreResult<Webhook>;
    /// Removes an endpoint of the site with its deliveries; NotFound otherwise.
    async fn delete_webhook(&self, site_id: i64, id: i64) -> StoreResult<()>;
    /// Adds a pending delivery, due at `now`, for each of the site's active endpoints
    /// subscribed to `event`; returns how many.
    async fn enqueue_webhook_deliveries(
        &self,
        site_id: i64,
        event: String,
        payload: String,
        now: i64,
    ) -> StoreResult<u64>;
    /// Takes up to `limit` pending deliveries of active endpoints, due at `now`, that no
    /// one holds, holding them until `now + lease_ms`. Concurrent claimers get disjoint
    /// deliveries. A paused endpoint's deliveries stay pending until it is resumed.
    async fn claim_webhook_deliveries(
        &self,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Records an attempt on a claimed delivery and releases it: delivered, due again
    /// at `retry_at`, or failed.
    async fn record_webhook_attempt(&self, outcome: AttemptOutcome) -> StoreResult<()>;
    /// An endpoint's deliveries, newest first, each with its attempts (oldest first).
    async fn webhook_deliveries(
        &self,
        webhook_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDelivery>>;
    /// Removes delivered and failed deliveries whose last attempt was before `before`,
    /// with their attempts; pending ones stay whatever their age. Returns how many.
    async fn sweep_webhook_deliveries(&self, before: i64) -> StoreResult<i64>;
}

#[async_trait]
impl<DB> WebhookStore for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Type<DB> + for<'q> Encode<'q, DB>,
    String: Type<DB> + for<'q> Encode<'q, DB>,
    bool: Type<DB> + for<'q> Encode<'q, DB>,
    Option<i64>: Type<DB> + for<'q> Encode<'q, DB>,
    Option<String>: Type<DB> + for<'q> Encode<'q, DB>,
    for<'r> super::rows::SiteRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::OriginRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::StoryRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::UserRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::SessionRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::CommentRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::CommentFactsRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::StoryGateRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::StandingRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::RevisionRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::AuditRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::CountRow: FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> Webhook: FromRow<'r, DB::Row>,
    for<'r> ClaimedDelivery: FromRow<'r, DB::Row>,
    for<'r> WebhookDelivery: FromRow<'r, DB::Row>,
    for<'r> WebhookAttempt: FromRow<'r, DB::Row>,
{
    async fn create_webhook(
        &self,
        site_id: i64,
        url: String,
        events: Vec<String>,
        secret: String,
        now: i64,
    ) -> StoreResult<Webhook> {
        let events = stored_events(&events)?;
        self.write(move |conn| {
            Box::pin(async move {
                let sql = format!(
                    "INSERT INTO webhooks (site_id, url, events, secret, active, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {HOOK_COLUMNS}"
                );
                Ok(sqlx::query_as::<DB, Webhook>(&sql)
                    .bind(site_id)
                    .bind(url)
                    .bind(events)
                    .bind(secret)
                    .bind(true)
                    .bind(now)
                    .fetch_one(&mut *conn)
                    .await?)
            })
        })
        .await
    }

    async fn site_webhooks(&self, site_id: i64) -> StoreResult<Vec<Webhook>> {
        let sql = format!("SELECT {HOOK_COLUMNS} FROM webhooks WHERE site_id = $1 ORDER BY id");
        Ok(sqlx::query_as::<DB, Webhook>(&sql)
            .bind(site_id)
            .fetch_all(self.read_pool())
            .await?)
    }

    async fn webhook(&self, site_id: i64, id: i64) -> StoreResult<Option<Webhook>> {
        let sql = format!("SELECT {HOOK_COLUMNS} FROM webhooks WHERE site_id = $1 AND id = $2");
        Ok(sqlx::query_as::<DB, Webhook>(&sql)
            .bind(site_id)
            .bind(id)
            .fetch_optional(self.read_pool())
            .await?)
    }

    async fn update_webhook(
        &self,
        site_id: i64,
        id: i64,
        changes: WebhookChanges,
    ) -> StoreResult<Webhook> {
        let events = changes.events.as_deref().map(stored_events).transpose()?;
        // Only the named columns are set; the placeholders follow $1 (site) and $2 (id).
        let mut sets = Vec::new();
        if changes.url.is_some() {
            sets.push(format!("url = ${}", sets.len() + 3));
        }
        if events.is_some() {
            sets.push(format!("events = ${}", sets.len() + 3));
        }
        if changes.active.is_some() {
            sets.push(format!("active = ${}", sets.len() + 3));
        }
        let sql = if sets.is_empty() {
            format!("SELECT {HOOK_COLUMNS} FROM webhooks WHERE site_id = $1 AND id = $2")
        } else {
            format!(
                "UPDATE webhooks SET {} WHERE site_id = $1 AND id = $2 RETURNING {HOOK_COLUMNS}",
                sets.join(", ")
            )
        };
        self.write(move |conn| {
            Box::pin(async move {
                let mut query = sqlx::query_as::<DB, Webhook>(&sql).bind(site_id).bind(id);
                if let Some(url) = changes.url {
                    query = query.bind(url);
                }
                if let Some(events) = events {
                    query = query.bind(events);
                }
                if let Some(active) = changes.active {
                    query = query.bind(active);
                }
                query
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("webhook"))
            })
        })
        .await
    }

    async fn rotate_webhook_secret(
        &self,
        site_id: i64,
        id: i64,
        secret: String,
    ) -> StoreResult<Webhook> {
        self.write(move |conn| {
            Box::pin(async move {
                let sql = format!(
                    "UPDATE webhooks SET secret = $3 WHERE site_id = $1 AND id = $2 \
                     RETURNING {HOOK_COLUMNS}"
                );
                sqlx::query_as::<DB, Webhook>(&sql)
                    .bind(site_id)
                    .bind(id)
                    .bind(secret)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("webhook"))
            })
        })
        .await
    }

    async fn delete_webhook(&self, site_id: i64, id: i64) -> StoreResult<()> {
        self.write(move |conn| {
            Box::pin(async move {
                // Children first: SQLite enforces the cascade only with foreign keys on.
                let owned = sqlx::query_as::<DB, (i64,)>(
                    "SELECT id FROM webhooks WHERE site_id = $1 AND id = $2",
                )
                .bind(site_id)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
                if owned.is_none() {
                    return Err(StoreError::NotFound("webhook"));
                }
                sqlx::query::<DB>(
                    "DELETE FROM webhook_attempts WHERE delivery_id IN \
                     (SELECT id FROM webhook_deliveries WHERE webhook_id = $1)",
                )
                .bind(id)
                .execute(&mut *conn)
                .await?;
                sqlx::query::<DB>("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query::<DB>("DELETE FROM webhooks WHERE id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    async fn enqueue_webhook_deliveries(
        &self,
        site_id: i64,
        event: String,
        payload: String,
        now: i64,
    ) -> StoreResult<u64> {
        let pattern = format!("%,{event},%");
        // Most sites subscribe to nothing: a read answers that without taking the
        // writer (every comment post comes through here).
        let subscribed = sqlx::query_as::<DB, (i64,)>(
            "SELECT id FROM webhooks WHERE site_id = $1 AND active AND events LIKE $2 LIMIT 1",
        )
        .bind(site_id)
        .bind(pattern.clone())
        .fetch_optional(&self.reads)
        .await?;
        if subscribed.is_none() {
            return Ok(0);
        }
        self.write(move |conn| {
            Box::pin(async move {
                let rows = sqlx::query_as::<DB, (i64,)>(
                    "INSERT INTO webhook_deliveries \
                     (webhook_id, event, payload, status, attempts, next_attempt_at, \
                      claimed_until, created_at) \
                     SELECT id, $2, $3, 'pending', 0, $4, 0, $4 FROM webhooks \
                     WHERE site_id = $1 AND active AND events LIKE $5 RETURNING id",
                )
                .bind(site_id)
                .bind(event)
                .bind(payload)
                .bind(now)
                .bind(pattern)
                .fetch_all(&mut *conn)
                .await?;
                Ok(rows.len() as u64)
            })
        })
        .await
    }

    async fn claim_webhook_deliveries(
        &self,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        // SQLite has no row locks (and needs none: one writer at a time); PostgreSQL
        // skips rows another claimer has locked, so concurrent claims are disjoint.
        let lock = if DB::KIND == "postgres" {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let claim = format!(
            "UPDATE webhook_deliveries SET claimed_until = $1 WHERE id IN \
             (SELECT id FROM webhook_deliveries WHERE status = 'pending' \
              AND next_attempt_at <= $2 AND claimed_until <= $2 \
              AND EXISTS (SELECT 1 FROM webhooks w \
                          WHERE w.id = webhook_deliveries.webhook_id AND w.active) \
              ORDER BY next_attempt_at, id LIMIT $3{lock}) RETURNING id"
        );
        // Every node polls every second and the outbox is mostly empty: a read answers
        // "nothing due" without taking the writer.
        let due = sqlx::query_as::<DB, (i64,)>(
            "SELECT id FROM webhook_deliveries WHERE status = 'pending' \
             AND next_attempt_at <= $1 AND claimed_until <= $1 LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&self.reads)
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let until = now.saturating_add(lease_ms.max(1));
        let limit = limit.clamp(0, 1000);
        self.write(move |conn| {
            Box::pin(async move {
                let ids: Vec<i64> = sqlx::query_as::<DB, (i64,)>(&claim)
                    .bind(until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await?
                    .into_iter()
                    .map(|(id,)| id)
                    .collect();
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT d.id, d.webhook_id, d.event, d.payload, d.attempts, w.url, w.secret \
                     FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                     WHERE d.id IN ({}) ORDER BY d.next_attempt_at, d.id",
                    placeholders(1, ids.len())
                );
                let mut query = sqlx::query_as::<DB, ClaimedDelivery>(&sql);
                for id in ids {
                    query = query.bind(id);
                }
                Ok(query.fetch_all(&mut *conn).await?)
            })
        })
        .await
    }

    async fn record_webhook_attempt(&self, o: AttemptOutcome) -> StoreResult<()> {
        self.write(move |conn| {
            Box::pin(async move {
                let status = if o.delivered {
                    "delivered"
                } else if o.retry_at.is_some() {
                    "pending"
                } else {
                    "failed"
                };
                let attempt = sqlx::query_as::<DB, (i64,)>(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2, \
                     next_attempt_at = $3, claimed_until = 0, last_status = $4, \
                     last_error = $5, last_body = $6, delivered_at = $7 \
                     WHERE id = $1 AND status = 'pending' RETURNING attempts",
                )
                .bind(o.delivery_id)
                .bind(status.to_owned())
                .bind(o.retry_at.unwrap_or(o.at))
                .bind(o.status)
                .bind(o.error.clone())
                .bind(o.body.clone())
                .bind(o.delivered.then_some(o.at))
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound("webhook delivery"))?
                .0;
                sqlx::query::<DB>(
                    "INSERT INTO webhook_attempts \
                     (delivery_id, attempt, at, status, error, body, duration_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(o.delivery_id)
                .bind(attempt)
                .bind(o.at)
                .bind(o.status)
                .bind(o.error)
                .bind(o.body)
                .bind(o.duration_ms)
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn webhook_deliveries(
        &self,
        webhook_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 \
             ORDER BY id DESC LIMIT $2"
        );
        let mut deliveries = sqlx::query_as::<DB, WebhookDelivery>(&sql)
            .bind(webhook_id)
            .bind(limit.clamp(0, 500))
            .fetch_all(self.read_pool())
            .await?;
        if deliveries.is_empty() {
            return Ok(deliveries);
        }
        let sql = format!(
            "SELECT delivery_id, attempt, at, status, error, body, duration_ms \
             FROM webhook_attempts WHERE delivery_id IN ({}) ORDER BY delivery_id, attempt",
            placeholders(1, deliveries.len())
        );
        let mut query = sqlx::query_as::<DB, WebhookAttempt>(&sql);
        for d in &deliveries {
            query = query.bind(d.id);
        }
        let attempts = query.fetch_all(self.read_pool()).await?;
        for d in &mut deliveries {
            d.attempt_log = attempts
                .iter()
                .filter(|a| a.delivery_id == d.id)
                .cloned()
                .collect();
        }
        Ok(deliveries)
    }

    async fn sweep_webhook_deliveries(&self, before: i64) -> StoreResult<i64> {
        self.write(move |conn| {
            Box::pin(async move {
                // A finished delivery's next_attempt_at is the time of its last attempt.
                // Children first: SQLite enforces the cascade only with foreign keys on.
                sqlx::query::<DB>(
                    "DELETE FROM webhook_attempts WHERE delivery_id IN \
                     (SELECT id FROM webhook_deliveries WHERE status <> 'pending' \
                      AND next_attempt_at < $1)",
                )
                .bind(before)
                .execute(&mut *conn)
                .await?;
                let gone = sqlx::query_as::<DB, (i64,)>(
                    "DELETE FROM webhook_deliveries WHERE status <> 'pending' \
                     AND next_attempt_at < $1 RETURNING id",
                )
                .bind(before)
                .fetch_all(&mut *conn)
                .await?;
                Ok(gone.len() as i64)
            })
        })
        .await
    }
}
