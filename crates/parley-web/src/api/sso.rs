//! Single sign-on endpoints: a newsroom's token exchanged for a session, and the admins'
//! SSO settings (the secret goes in, never comes out).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use parley_core::Role;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::api::accounts::{SessionKind, start_session};
use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::sso::{self, SsoChange};

#[derive(Deserialize)]
pub struct SsoSession {
    token: String,
    site: Option<String>,
    #[serde(default)]
    session: SessionKind,
}

/// POST /api/v1/sso/session: like signing in, with the newsroom's token.
pub async fn session(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SsoSession>,
) -> ApiResult<Response> {
    let site = state.site(req.site.as_deref()).await?;
    let user = sso::sign_in(&state, &site, &req.token).await?;
    start_session(&state, &user, req.session, StatusCode::OK).await
}

/// PUT /api/v1/sites/{name}/sso (admin): the site's sign-in methods and SSO secret.
pub async fn put_settings(
    State(state): State<AppState>,
    me: SignedIn,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<SsoChange>,
) -> ApiResult<Json<serde_json::Value>> {
    me.require_role(Role::Admin)?;
    let site = state
        .store
        .site_by_name(&name)
        .await?
        .filter(|s| s.id == me.user.site_id)
        .ok_or_else(|| ApiError::not_found("site"))?;
    let settings = sso::update_site_sso(state.store.as_ref(), site.id, req).await?;
    Ok(Json(json!({ "sso": settings.public_view() })))
}
