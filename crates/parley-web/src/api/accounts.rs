//! Accounts and sessions: register, sign in, sign out, who am I.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parley_store::User;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{SESSION_COOKIE, SignedIn};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ClientIp};
use crate::service;
use crate::view::UserView;

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
    let site = state.site(req.site.as_deref()).await?;
    let user =
        service::register(&state, &site, &req.email, &req.display_name, &req.password).await?;
    start_session(&state, &user, req.session, StatusCode::CREATED).await
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<SignIn>,
) -> ApiResult<Response> {
    let site = state.site(req.site.as_deref()).await?;
    let user = service::sign_in(&state, &site, &req.email, &req.password, ip).await?;
    start_session(&state, &user, req.session, StatusCode::OK).await
}

pub(crate) async fn start_session(
    state: &AppState,
    user: &User,
    kind: SessionKind,
    status: StatusCode,
) -> ApiResult<Response> {
    let token = service::start_session(state, user).await?;
    let user_view = UserView::from(user);
    match kind {
        SessionKind::Token => {
            Ok((status, Json(json!({ "user": user_view, "token": token }))).into_response())
        }
        SessionKind::Cookie => {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::SET_COOKIE,
                session_cookie(state, &token, state.config.session_ttl.as_secs())?,
            );
            Ok((status, headers, Json(json!({ "user": user_view }))).into_response())
        }
    }
}

pub fn session_cookie(state: &AppState, token: &str, max_age: u64) -> ApiResult<HeaderValue> {
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
