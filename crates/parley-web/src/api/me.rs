//! The signed-in reader's own data: download all of it as JSON, or delete the account.
//! The account page (`pages/account.rs`) offers the same two through forms.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parley_store::User;
use parley_store::account_data::AccountDeletion;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::accounts::session_cookie;
use crate::auth::{SignedIn, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::events::{EventKind, StoryEvent};
use crate::extract::{ApiJson, ClientIp};
use crate::service::PasswordAttempt;
use crate::{now_ms, service};

/// What an account without a password types to confirm its deletion.
pub const CONFIRM_WORD: &str = "delete";

/// The reader's data as one JSON document (see docs/BACKUP.md, "Readers' own data").
pub async fn account_export(state: &AppState, user: &User) -> ApiResult<Value> {
    let data = state
        .store
        .account_data(user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    let mail = state.store.account_mail();
    let notifications = mail.notification_prefs(user.id).await?;
    let email_verified_at = mail.email_verified_at(user.id).await?;
    // The newsroom's id for the reader, when they sign in through it.
    let newsroom_id = state.store.sso().sso_external_id(user.id).await?;
    Ok(json!({
        "format": "parley-account-data",
        "version": 1,
        "exported_at": now_ms(),
        "profile": data.profile,
        "email_verified_at": email_verified_at,
        "notifications": notifications,
        "newsroom_id": newsroom_id,
        "comments": data.comments,
        "reactions": data.reactions,
        "reports": data.reports,
    }))
}

/// The export as a download.
pub fn download(user: &User, body: &Value) -> ApiResult<Response> {
    let text = serde_json::to_vec_pretty(body).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!(
            "attachment; filename=\"parley-account-{}.json\"",
            user.id
        ))
        .map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok((StatusCode::OK, headers, text).into_response())
}

/// GET /api/v1/me/export
pub async fn export(State(state): State<AppState>, me: SignedIn) -> ApiResult<Response> {
    let body = account_export(&state, &me.user).await?;
    download(&me.user, &body)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccount {
    #[serde(default)]
    pub password: Option<String>,
    /// For accounts without a password: the word `delete`.
    #[serde(default)]
    pub confirm: Option<String>,
}

/// Checks that the reader means it (their password again, or the confirm word for an
/// account without one), then deletes the account as the site's policy says.
pub async fn delete_account(
    state: &AppState,
    user: &User,
    req: &DeleteAccount,
    ip: IpAddr,
) -> ApiResult<AccountDeletion> {
    let (_, hash) = state
        .store
        .user_credentials(user.site_id, &user.email)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    match hash {
        Some(hash) => {
            // The same throttle as sign-in: a stolen session must not become a way to
            // guess the password.
            let attempt = PasswordAttempt::new(user.site_id, &user.email, ip);
            attempt.check(state).await?;
            let given = req.password.clone().unwrap_or_default();
            if !verify_password(given, Some(hash)).await? {
                attempt.failed(state).await?;
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "wrong_password",
                    "that is not your password; your account was not deleted",
                )
                .with_field("password"));
            }
        }
        None => {
            let confirmed = req
                .confirm
                .as_deref()
                .is_some_and(|c| c.trim().eq_ignore_ascii_case(CONFIRM_WORD));
            if !confirmed {
                return Err(ApiError::invalid(
                    "confirm",
                    format!("type {CONFIRM_WORD} to confirm; your account was not deleted"),
                ));
            }
        }
    }
    let settings = service::site_settings(state, user.site_id).await?;
    let fate = service::merged_policy(&settings, None)
        .map(|p| p.on_account_delete)
        .unwrap_or_default();
    let done = state.store.delete_account(user.id, fate, now_ms()).await?;
    // Mail not yet sent would go to an address we no longer hold.
    state.store.mail().forget_user_mail(user.id).await?;
    // The sign-in counter of the account is keyed by its email: it goes too.
    PasswordAttempt::new(user.site_id, &user.email, ip)
        .succeeded(state)
        .await?;
    // Live readers of those stories reload, and other nodes drop their cached pages.
    for story in &done.story_ids {
        state.cache.invalidate(*story);
        state.events.publish(StoryEvent {
            id: 0,
            kind: EventKind::StoryChanged,
            story_id: *story,
            comment_id: None,
            parent_id: None,
            author_id: None,
            reaction_count: None,
        });
    }
    tracing::info!(
        user_id = user.id,
        tombstoned = done.tombstoned,
        removed = done.removed,
        "account deleted"
    );
    Ok(done)
}

/// DELETE /api/v1/me
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    me: SignedIn,
    ApiJson(req): ApiJson<DeleteAccount>,
) -> ApiResult<Response> {
    delete_account(&state, &me.user, &req, ip).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie(&state, "", 0)?);
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}
