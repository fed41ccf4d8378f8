//! Account mail and notification settings over JSON: confirm an address, reset a
//! forgotten password, move to a new address, choose notifications. The links in the
//! mail lead to pages (`pages/account_mail.rs`); these endpoints serve other clients.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use parley_core::notify::{Delivery, NotificationPrefs};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{SignedIn, new_token};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ClientIp};
use crate::view::UserView;
use crate::{AppState, account_mail, now_ms};

#[derive(Deserialize)]
pub struct TokenBody {
    token: String,
}

#[derive(Deserialize)]
pub struct ResetRequest {
    email: String,
    site: Option<String>,
}

#[derive(Deserialize)]
pub struct ResetConfirm {
    token: String,
    password: String,
}

#[derive(Deserialize)]
pub struct EmailChange {
    email: String,
    password: Option<String>,
}

/// Any subset of the kinds; the others keep their setting.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefsUpdate {
    reply: Option<Delivery>,
    featured: Option<Delivery>,
    moderation: Option<Delivery>,
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({ "queued": true }))).into_response()
}

/// POST /api/v1/me/verification: mails the confirmation link again.
pub async fn resend_verification(
    State(state): State<AppState>,
    me: SignedIn,
) -> ApiResult<Response> {
    account_mail::resend_verification(&state, &me.user).await?;
    Ok(accepted())
}

/// POST /api/v1/verification {token}
pub async fn verify(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<TokenBody>,
) -> ApiResult<Json<serde_json::Value>> {
    let user = account_mail::verify_email(&state, &req.token).await?;
    Ok(Json(
        json!({ "user": UserView::from(&user), "email_verified": true }),
    ))
}

/// POST /api/v1/password-resets {email}: always 202, whether or not the address has
/// an account.
pub async fn request_reset(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ResetRequest>,
) -> ApiResult<Response> {
    let site = state.site(req.site.as_deref()).await?;
    account_mail::request_password_reset(&state, site.id, &req.email).await?;
    Ok(accepted())
}

/// POST /api/v1/password-resets/confirm {token, password}: every session of the
/// account ends; sign in with the new password.
pub async fn confirm_reset(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ResetConfirm>,
) -> ApiResult<Json<serde_json::Value>> {
    let user = account_mail::reset_password(&state, &req.token, &req.password).await?;
    Ok(Json(json!({ "user": UserView::from(&user) })))
}

/// POST /api/v1/me/email {email, password}
pub async fn request_email_change(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    me: SignedIn,
    ApiJson(req): ApiJson<EmailChange>,
) -> ApiResult<Response> {
    account_mail::request_email_change(&state, &me.user, &req.email, req.password.as_deref(), ip)
        .await?;
    Ok(accepted())
}

/// POST /api/v1/email-changes/confirm {token}
pub async fn confirm_email_change(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<TokenBody>,
) -> ApiResult<Json<serde_json::Value>> {
    let user = account_mail::confirm_email_change(&state, &req.token).await?;
    Ok(Json(
        json!({ "user": UserView::from(&user), "email_verified": true }),
    ))
}

async fn prefs_body(state: &AppState, me: &SignedIn) -> ApiResult<Json<serde_json::Value>> {
    let prefs = state
        .store
        .account_mail()
        .notification_prefs(me.user.id)
        .await?;
    let verified = account_mail::is_verified(state, &me.user).await?;
    Ok(Json(json!({
        "reply": prefs.reply,
        "featured": prefs.featured,
        "moderation": prefs.moderation,
        "email_verified": verified,
    })))
}

/// GET /api/v1/me/notifications
pub async fn get_prefs(
    State(state): State<AppState>,
    me: SignedIn,
) -> ApiResult<Json<serde_json::Value>> {
    prefs_body(&state, &me).await
}

/// PUT /api/v1/me/notifications {reply?, featured?, moderation?}
pub async fn put_prefs(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(req): ApiJson<PrefsUpdate>,
) -> ApiResult<Json<serde_json::Value>> {
    let store = state.store.account_mail();
    let current = store.notification_prefs(me.user.id).await?;
    let prefs = NotificationPrefs {
        reply: req.reply.unwrap_or(current.reply),
        featured: req.featured.unwrap_or(current.featured),
        moderation: req.moderation.unwrap_or(current.moderation),
    };
    save_prefs(&state, me.user.id, prefs).await?;
    prefs_body(&state, &me).await
}

pub(crate) async fn save_prefs(
    state: &AppState,
    user_id: i64,
    prefs: NotificationPrefs,
) -> ApiResult<()> {
    state
        .store
        .account_mail()
        .set_notification_prefs(user_id, prefs, new_token().0, now_ms())
        .await
        .map_err(ApiError::from)
}
