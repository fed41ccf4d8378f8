//! Accounts and sessions: register, sign in, sign out, who am I.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parley_core::{DisplayName, Email, Password, Role};
use parley_store::{NewUser, User};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{SESSION_COOKIE, SignedIn, hash_password, new_token, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ClientIp};
use crate::view::UserView;
use crate::{AppState, now_ms};

/// Where the new session goes: a cookie for our pages, a bearer token for other clients.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    #[default]
    Cookie,
    Token,
}

#[derive(Deserialize)]
pub struct Register {
    email: String,
    display_name: String,
    password: String,
    site: Option<String>,
    #[serde(default)]
    session: SessionKind,
}

#[derive(Deserialize)]
pub struct SignIn {
    email: String,
    password: String,
    site: Option<String>,
    #[serde(default)]
    session: SessionKind,
}

pub async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<Register>,
) -> ApiResult<Response> {
    let email = Email::parse(&req.email)?;
    let name = DisplayName::parse(&req.display_name)?;
    let password = Password::parse(&req.password)?;
    let site = state.site(req.site.as_deref()).await?;
    let hash = hash_password(password.expose().to_owned()).await?;
    let user = state
        .store
        .create_user(NewUser {
            site_id: site.id,
            email: email.as_str().to_owned(),
            display_name: name.as_str().to_owned(),
            password_hash: Some(hash),
            role: Role::Reader,
            now: now_ms(),
        })
        .await?;
    start_session(&state, &user, req.session, StatusCode::CREATED).await
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<SignIn>,
) -> ApiResult<Response> {
    let site = state.site(req.site.as_deref()).await?;
    let email = req.email.trim().to_lowercase();
    let account_key = format!("{}:{email}", site.id);
    let ip_key = ip.to_string();
    for (throttle, key) in [
        (&state.account_throttle, &account_key),
        (&state.ip_throttle, &ip_key),
    ] {
        if let Some(secs) = throttle.blocked_for(key) {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: secs,
            });
        }
    }
    let found = state.store.user_credentials(site.id, &email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let matches = verify_password(req.password, hash).await?;
    let user = match (user, matches) {
        (Some(user), true) => user,
        _ => {
            state.account_throttle.fail(&account_key);
            state.ip_throttle.fail(&ip_key);
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad_credentials",
                "wrong email or password",
            ));
        }
    };
    state.account_throttle.clear(&account_key);
    start_session(&state, &user, req.session, StatusCode::OK).await
}

async fn start_session(
    state: &AppState,
    user: &User,
    kind: SessionKind,
    status: StatusCode,
) -> ApiResult<Response> {
    let (token, hash) = new_token();
    let now = now_ms();
    let ttl = state.config.session_ttl;
    let expires = now + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    state
        .store
        .create_session(&hash, user.id, now, expires)
        .await?;
    let user_view = UserView::from(user);
    match kind {
        SessionKind::Token => {
            Ok((status, Json(json!({ "user": user_view, "token": token }))).into_response())
        }
        SessionKind::Cookie => {
            let cookie = session_cookie(state, &token, ttl.as_secs());
            let mut headers = HeaderMap::new();
            headers.insert(header::SET_COOKIE, cookie?);
            Ok((status, headers, Json(json!({ "user": user_view }))).into_response())
        }
    }
}

fn session_cookie(state: &AppState, token: &str, max_age: u64) -> ApiResult<HeaderValue> {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .map_err(|e| ApiError::Internal(e.to_string()))
}

pub async fn sign_out(State(state): State<AppState>, me: SignedIn) -> ApiResult<Response> {
    state.store.delete_session(&me.token_hash).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, session_cookie(&state, "", 0)?);
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

pub async fn me(me: SignedIn) -> Json<serde_json::Value> {
    Json(json!({ "user": UserView::from(&me.user) }))
}
