//! Webhook endpoints of a site, for its admins: register (the signing secret is shown
//! this once), list, change (URL, events, pause and resume), rotate the secret (the new
//! one shown this once), remove, and read the delivery log.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use parley_core::Role;
use parley_store::Site;
use parley_store::webhooks::{Webhook, WebhookChanges};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::webhooks::EVENTS;
use crate::{AppState, now_ms};

/// Deliveries the log shows, newest first.
const LOG_LIMIT: i64 = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
}

/// A change to an endpoint; a field left out stays as it is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// False pauses the endpoint, true resumes it.
    pub active: Option<bool>,
}

/// The admin's own site named `name`; 404 for any other.
async fn admin_site(state: &AppState, me: &SignedIn, name: &str) -> ApiResult<Site> {
    me.require_role(Role::Admin)?;
    state
        .store
        .site_by_name(name)
        .await?
        .filter(|s| s.id == me.user.site_id)
        .ok_or_else(|| ApiError::not_found("site"))
}

fn hook_json(hook: &Webhook) -> Value {
    json!({
        "id": hook.id,
        "url": hook.url,
        "events": hook.event_names(),
        "active": hook.active,
        "created_at": hook.created_at,
    })
}

/// An http(s) URL with a host; without `allow_private`, not a loopback, private,
/// link-local or unspecified address nor `localhost` (names are not resolved).
fn check_url(raw: &str, allow_private: bool) -> ApiResult<Url> {
    let url = Url::parse(raw.trim())
        .map_err(|_| ApiError::invalid("url", "an absolute http or https URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ApiError::invalid("url", "an absolute http or https URL"));
    }
    if raw.len() > 2000 {
        return Err(ApiError::invalid(
            "url",
            "a URL has at most 2000 characters",
        ));
    }
    if !allow_private {
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let private = match host.parse::<IpAddr>() {
            Ok(ip) => is_private(ip),
            Err(_) => host == "localhost" || host.ends_with(".localhost"),
        };
        if private {
            return Err(ApiError::invalid(
                "url",
                "this server does not send webhooks to loopback or private addresses",
            ));
        }
    }
    Ok(url)
}

/// Known event names, without repeats; at least one.
fn check_events(names: Vec<String>) -> ApiResult<Vec<String>> {
    let mut events: Vec<String> = Vec::new();
    for e in names {
        if !EVENTS.contains(&e.as_str()) {
            return Err(ApiError::invalid(
                "events",
                format!("known events: {}", EVENTS.join(", ")),
            ));
        }
        if !events.contains(&e) {
            events.push(e);
        }
    }
    if events.is_empty() {
        return Err(ApiError::invalid("events", "name at least one event"));
    }
    Ok(events)
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("whsec_{hex}")
}

/// GET /api/v1/sites/{name}/webhooks (admin)
pub async fn list(
    State(state): State<AppState>,
    me: SignedIn,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let site = admin_site(&state, &me, &name).await?;
    let hooks = state.store.webhooks().site_webhooks(site.id).await?;
    Ok(Json(
        json!({ "webhooks": hooks.iter().map(hook_json).collect::<Vec<_>>() }),
    ))
}

/// POST /api/v1/sites/{name}/webhooks (admin): answers with the secret, this once.
pub async fn create(
    State(state): State<AppState>,
    me: SignedIn,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<NewWebhook>,
) -> ApiResult<impl IntoResponse> {
    let site = admin_site(&state, &me, &name).await?;
    let url = check_url(&body.url, state.config.webhooks_allow_private)?;
    let events = check_events(body.events)?;
    let secret = new_secret();
    let hook = state
        .store
        .webhooks()
        .create_webhook(site.id, url.to_string(), events, secret.clone(), now_ms())
        .await?;
    let mut view = hook_json(&hook);
    view["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(json!({ "webhook": view }))))
}

/// PATCH /api/v1/sites/{name}/webhooks/{id} (admin): changes the URL, the events or
/// `active` (false pauses: no new deliveries, and pending ones wait for the resume).
/// Everything is checked before anything changes.
pub async fn update(
    State(state): State<AppState>,
    me: SignedIn,
    Path((name, id)): Path<(String, i64)>,
    ApiJson(body): ApiJson<WebhookPatch>,
) -> ApiResult<impl IntoResponse> {
    let site = admin_site(&state, &me, &name).await?;
    let url = body
        .url
        .map(|u| check_url(&u, state.config.webhooks_allow_private))
        .transpose()?;
    let events = body.events.map(check_events).transpose()?;
    let changes = WebhookChanges {
        url: url.map(|u| u.to_string()),
        events,
        active: body.active,
    };
    let hook = state
        .store
        .webhooks()
        .update_webhook(site.id, id, changes)
        .await?;
    Ok(Json(json!({ "webhook": hook_json(&hook) })))
}

/// POST /api/v1/sites/{name}/webhooks/{id}/secret (admin): a new signing secret,
/// answered this once; deliveries sent from now on are signed with it.
pub async fn rotate_secret(
    State(state): State<AppState>,
    me: SignedIn,
    Path((name, id)): Path<(String, i64)>,
) -> ApiResult<impl IntoResponse> {
    let site = admin_site(&state, &me, &name).await?;
    let secret = new_secret();
    let hook = state
        .store
        .webhooks()
        .rotate_webhook_secret(site.id, id, secret.clone())
        .await?;
    let mut view = hook_json(&hook);
    view["secret"] = json!(secret);
    Ok(Json(json!({ "webhook": view })))
}

/// DELETE /api/v1/sites/{name}/webhooks/{id} (admin)
pub async fn delete(
    State(state): State<AppState>,
    me: SignedIn,
    Path((name, id)): Path<(String, i64)>,
) -> ApiResult<impl IntoResponse> {
    let site = admin_site(&state, &me, &name).await?;
    state.store.webhooks().delete_webhook(site.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /api/v1/sites/{name}/webhooks/{id}/deliveries (admin): the log, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    me: SignedIn,
    Path((name, id)): Path<(String, i64)>,
) -> ApiResult<impl IntoResponse> {
    let site = admin_site(&state, &me, &name).await?;
    let hook = state
        .store
        .webhooks()
        .webhook(site.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    let log = state
        .store
        .webhooks()
        .webhook_deliveries(hook.id, LOG_LIMIT)
        .await?;
    Ok(Json(
        json!({ "webhook": hook_json(&hook), "deliveries": log }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_or_https_and_public_unless_allowed() {
        assert!(check_url("https://example.org/hook", false).is_ok());
        assert!(check_url("ftp://example.org/hook", false).is_err());
        assert!(check_url("/relative", false).is_err());
        for private in [
            "http://127.0.0.1:9/",
            "http://localhost/",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://169.254.169.254/",
            "http://[::1]/",
            "http://[fd00::1]/",
        ] {
            assert!(check_url(private, false).is_err(), "{private}");
            assert!(check_url(private, true).is_ok(), "{private}");
        }
    }
}
