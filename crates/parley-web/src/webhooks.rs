//! Webhooks: telling a newsroom's systems what happened, by signed HTTP POSTs.
//!
//! An event adds rows to the store's outbox (in a spawned task, so it never slows the
//! request that caused it); a worker on every node claims due deliveries, sends them
//! and records each attempt. A failed attempt is retried after the next delay of
//! `WebConfig::webhook_retry_delays`; after the last one the delivery fails.
//!
//! Payloads hold ids and public facts only (never an email or anything about
//! passwords): the story's id, URL and headline, and for comment events the comment's
//! id, parent, status, author's display name and, once published or featured, its
//! text as the author wrote it.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use parley_store::webhooks::{AttemptOutcome, ClaimedDelivery};
use parley_store::{Comment, Story};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::task::JoinHandle;

use crate::events::ModerationKind;
use crate::{AppState, now_ms};

/// The events a webhook can subscribe to.
pub const EVENTS: &[&str] = &[
    "comment.published",
    "comment.held",
    "comment.rejected",
    "comment.featured",
    "story.closed",
];

/// Header names of a delivery.
pub const SIGNATURE_HEADER: &str = "Parley-Signature";
pub const EVENT_HEADER: &str = "Parley-Event";
pub const DELIVERY_HEADER: &str = "Parley-Delivery";

/// How much of a receiver's answer the log keeps.
const BODY_EXCERPT_CHARS: usize = 500;
/// Deliveries one worker round claims.
const CLAIM_BATCH: i64 = 20;

/// `hex(HMAC-SHA256(secret, "{timestamp}.{body}"))`, the `v1` of the signature header.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Adds a delivery of `event` for each of the site's subscribed endpoints, in the
/// background. The body is `{"event", "site_id", "at", "data": payload}`.
pub(crate) fn enqueue(state: &AppState, site_id: i64, event: &'static str, payload: Value) {
    let store = state.store.clone();
    tokio::spawn(async move {
        let now = now_ms();
        let body = json!({ "event": event, "site_id": site_id, "at": now, "data": payload });
        if let Err(e) = store
            .webhooks()
            .enqueue_webhook_deliveries(site_id, event.into(), body.to_string(), now)
            .await
        {
            tracing::warn!(error = %e, event, "queueing webhook deliveries");
        }
    });
}

/// The webhook event a moderation-queue change means, if any.
fn comment_event(kind: ModerationKind) -> Option<&'static str> {
    match kind {
        ModerationKind::Published | ModerationKind::Approved => Some("comment.published"),
        ModerationKind::Held => Some("comment.held"),
        ModerationKind::Rejected => Some("comment.rejected"),
        ModerationKind::Featured => Some("comment.featured"),
        _ => None,
    }
}

/// Queues the webhook event (if any) for a comment that entered a moderation queue.
pub(crate) fn comment_changed(state: &AppState, site_id: i64, kind: ModerationKind, c: &Comment) {
    let Some(event) = comment_event(kind) else {
        return;
    };
    let public = matches!(event, "comment.published" | "comment.featured");
    let comment = json!({
        "id": c.id,
        "story_id": c.story_id,
        "parent_id": c.parent_id,
        "status": c.status.as_str(),
        "featured": c.featured,
        "author_name": c.author_name,
        "created_at": c.created_at,
        "body": if public { Some(&c.body_src) } else { None },
    });
    let state2 = state.clone();
    let story_id = c.story_id;
    tokio::spawn(async move {
        let story = state2.story(story_id).await.ok();
        let payload = json!({ "comment": comment, "story": story.as_ref().map(story_facts) });
        enqueue(&state2, site_id, event, payload);
    });
}

/// Queues `story.closed` for each story closed.
pub(crate) fn stories_closed(state: &AppState, story_ids: &[i64]) {
    for &id in story_ids {
        let state2 = state.clone();
        tokio::spawn(async move {
            if let Ok(story) = state2.story(id).await {
                story_closed(&state2, &story);
            }
        });
    }
}

/// Queues `story.closed` for a story just closed.
pub(crate) fn story_closed(state: &AppState, story: &Story) {
    let mut facts = story_facts(story);
    facts["closed_message"] = json!(story.fields.closed_message);
    enqueue(
        state,
        story.site_id,
        "story.closed",
        json!({ "story": facts }),
    );
}

fn story_facts(story: &Story) -> Value {
    json!({ "id": story.id, "url": story.fields.url, "headline": story.fields.headline })
}

/// Sends due deliveries every `config.webhook_poll_every` until the handle is aborted.
pub fn spawn_worker(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(state.config.webhook_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Parley-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhooks are off: no HTTP client");
                return;
            }
        };
        let every = state
            .config
            .webhook_poll_every
            .max(Duration::from_millis(5));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = deliver_due(&state, &client).await {
                tracing::warn!(error = %e, "sending webhook deliveries");
            }
        }
    })
}

/// Claims and sends one batch of due deliveries; returns how many were sent.
pub async fn deliver_due(
    state: &AppState,
    client: &reqwest::Client,
) -> parley_store::StoreResult<usize> {
    // The lease outlasts a send (timeout) with room to record the result.
    let lease = state.config.webhook_timeout.as_millis() as i64 * 2 + 5_000;
    let claimed = state
        .store
        .webhooks()
        .claim_webhook_deliveries(now_ms(), lease, CLAIM_BATCH)
        .await?;
    let n = claimed.len();
    let sends = claimed.into_iter().map(|d| async move {
        let outcome = send(state, client, d).await;
        if let Err(e) = state.store.webhooks().record_webhook_attempt(outcome).await {
            tracing::warn!(error = %e, "recording a webhook attempt");
        }
    });
    futures::future::join_all(sends).await;
    Ok(n)
}

async fn send(state: &AppState, client: &reqwest::Client, d: ClaimedDelivery) -> AttemptOutcome {
    let started = Instant::now();
    let timestamp = now_ms() / 1000;
    let signature = format!(
        "t={timestamp},v1={}",
        sign(&d.secret, timestamp, &d.payload)
    );
    let result = client
        .post(&d.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header(EVENT_HEADER, &d.event)
        .header(DELIVERY_HEADER, d.id.to_string())
        .body(d.payload.clone())
        .send()
        .await;
    let (status, body, error) = match result {
        Ok(response) => {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            let excerpt: String = text.chars().take(BODY_EXCERPT_CHARS).collect();
            let error = (!status.is_success()).then(|| format!("HTTP {}", status.as_u16()));
            (Some(i64::from(status.as_u16())), Some(excerpt), error)
        }
        Err(e) => (None, None, Some(describe(&e))),
    };
    let at = now_ms();
    let delivered = error.is_none();
    let retry_at = (!delivered)
        .then(|| retry_delay(&state.config.webhook_retry_delays, d.attempts))
        .flatten()
        .map(|delay| at.saturating_add(delay.as_millis() as i64));
    AttemptOutcome {
        delivery_id: d.id,
        at,
        status,
        error,
        body,
        duration_ms: started.elapsed().as_millis() as i64,
        delivered,
        retry_at,
    }
}

/// The wait before the next attempt after `attempts_before` earlier failed attempts
/// and this one; None when the delays are used up.
fn retry_delay(delays: &[Duration], attempts_before: i64) -> Option<Duration> {
    usize::try_from(attempts_before)
        .ok()
        .and_then(|i| delays.get(i))
        .copied()
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: printf '1.{}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            sign("key", 1, "{}"),
            "1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
        assert_ne!(sign("key", 1, "{}"), sign("key", 2, "{}"));
        assert_ne!(sign("key", 1, "{}"), sign("other", 1, "{}"));
        assert_eq!(sign("key", 1, "{}").len(), 64);
    }

    #[test]
    fn retries_follow_the_delays_then_stop() {
        let delays = [Duration::from_secs(30), Duration::from_secs(120)];
        assert_eq!(retry_delay(&delays, 0), Some(Duration::from_secs(30)));
        assert_eq!(retry_delay(&delays, 1), Some(Duration::from_secs(120)));
        assert_eq!(retry_delay(&delays, 2), None);
        assert_eq!(retry_delay(&delays, -1), None);
    }
}
