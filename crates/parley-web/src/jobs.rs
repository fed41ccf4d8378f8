//! Background work every node runs on a timer: closing stories their policy says are
//! old enough, and sweeping expired sessions, old sign-in failures and the old webhook
//! delivery log. Each job claims its rows in one UPDATE or
//! DELETE, so with many nodes on one database a story is closed (and audited) once.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::error::ApiResult;
use crate::service::{merged_policy, site_settings};
use crate::{AppState, now_ms};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Sessions are swept every this many job rounds.
const SWEEP_EVERY: u64 = 60;

/// Runs the jobs every `config.jobs_every` until the handle is aborted.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let every = state.config.jobs_every.max(Duration::from_millis(10));
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for round in 0u64.. {
            tick.tick().await;
            let now = now_ms();
            if let Err(e) = auto_close(&state, now).await {
                tracing::warn!(error = ?e, "closing stories past their policy's age");
            }
            if let Err(e) = crate::notify::send_digests(&state, now).await {
                tracing::warn!(error = ?e, "queueing daily digests");
            }
            if round % SWEEP_EVERY == 0 {
                if let Err(e) = state.store.delete_expired_sessions(now).await {
                    tracing::warn!(error = %e, "sweeping expired sessions");
                }
                let window = state.account_throttle.window_ms();
                if let Err(e) = state.store.sweep_signin_failures(now - window).await {
                    tracing::warn!(error = %e, "sweeping old sign-in failures");
                }
                if let Err(e) = state.store.sso().sweep_sso_tokens(now).await {
                    tracing::warn!(error = %e, "sweeping expired single sign-on token ids");
                }
                // Kept a day past expiry, so a late click hears "expired", not "unknown".
                let links_before = now - DAY_MS;
                if let Err(e) = state
                    .store
                    .account_mail()
                    .sweep_account_links(links_before)
                    .await
                {
                    tracing::warn!(error = %e, "sweeping expired mailed links");
                }
                let retention = state.config.webhook_log_retention.as_millis();
                let log_before = now.saturating_sub(i64::try_from(retention).unwrap_or(i64::MAX));
                if let Err(e) = state
                    .store
                    .webhooks()
                    .sweep_webhook_deliveries(log_before)
                    .await
                {
                    tracing::warn!(error = %e, "sweeping the old webhook delivery log");
                }
            }
        }
    })
}

/// Closes every story older than its policy's `auto_close_days`; returns the ids closed.
pub async fn auto_close(state: &AppState, now: i64) -> ApiResult<Vec<i64>> {
    let mut closed = Vec::new();
    for site in state.store.list_sites().await? {
        let settings = site_settings(state, site.id).await?;
        let site_days = merged_policy(&settings, None).map_or(0, |p| p.auto_close_days);
        // Stories whose own override names a number of days follow it instead.
        let overridden: Vec<i64> = settings
            .get("stories")
            .and_then(|s| s.as_object())
            .map(|stories| {
                stories
                    .iter()
                    .filter(|(_, o)| o.get("auto_close_days").is_some())
                    .filter_map(|(id, _)| id.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        for &story_id in &overridden {
            let days = merged_policy(&settings, Some(story_id)).map_or(0, |p| p.auto_close_days);
            if days > 0 {
                let cutoff = now.saturating_sub(i64::from(days) * DAY_MS);
                closed.extend(
                    state
                        .store
                        .auto_close_stories(site.id, cutoff, Some(story_id), Vec::new(), now)
                        .await?,
                );
            }
        }
        if site_days > 0 {
            let cutoff = now.saturating_sub(i64::from(site_days) * DAY_MS);
            closed.extend(
                state
                    .store
                    .auto_close_stories(site.id, cutoff, None, overridden, now)
                    .await?,
            );
        }
    }
    for &id in &closed {
        state.cache.invalidate(id);
        tracing::info!(story_id = id, "closed by the auto-close policy");
    }
    crate::webhooks::stories_closed(state, &closed);
    Ok(closed)
}
