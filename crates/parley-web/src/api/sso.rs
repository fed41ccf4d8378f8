//! Single sign-on endpoints: a newsroom's token exchanged for a session, and the admins'
//! SSO settings (the secret goes in, never comes out).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use parley_core::Role;
use parley_core::sso::ROLE_CEILING;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::api::accounts::{SessionKind, start_session};
use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::service;
use crate::sso::{self, MIN_SECRET_BYTES, SsoSettings};

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

/// Fields left out keep their value; `"secret": null` turns single sign-on off.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutSso {
    #[serde(default, deserialize_with = "present")]
    secret: Option<Option<String>>,
    allow_roles: Option<bool>,
    max_role: Option<Role>,
    local_accounts: Option<bool>,
}

/// Tells a field sent as `null` (Some(None)) from one left out (None).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// PUT /api/v1/sites/{name}/sso (admin): the site's sign-in methods and SSO secret.
pub async fn put_settings(
    State(state): State<AppState>,
    me: SignedIn,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<PutSso>,
) -> ApiResult<Json<serde_json::Value>> {
    me.require_role(Role::Admin)?;
    let site = state
        .store
        .site_by_name(&name)
        .await?
        .filter(|s| s.id == me.user.site_id)
        .ok_or_else(|| ApiError::not_found("site"))?;
    let mut value = service::site_settings(&state, site.id).await?;
    let mut settings = SsoSettings::from_settings(&value);
    if let Some(secret) = req.secret {
        if let Some(s) = &secret
            && s.len() < MIN_SECRET_BYTES
        {
            return Err(ApiError::invalid(
                "secret",
                format!("the secret must be at least {MIN_SECRET_BYTES} bytes"),
            ));
        }
        settings.secret = secret;
    }
    if let Some(allow) = req.allow_roles {
        settings.allow_roles = allow;
    }
    if let Some(max) = req.max_role {
        if max > ROLE_CEILING {
            return Err(ApiError::invalid(
                "max_role",
                format!(
                    "tokens can grant at most the {} role",
                    ROLE_CEILING.as_str()
                ),
            ));
        }
        settings.max_role = max;
    }
    if let Some(local) = req.local_accounts {
        settings.local_accounts = local;
    }
    if !settings.local_accounts && settings.secret.is_none() {
        return Err(ApiError::invalid(
            "local_accounts",
            "set an SSO secret before switching local accounts off",
        ));
    }
    value["sso"] =
        serde_json::to_value(&settings).map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .store
        .set_site_settings(site.id, value.to_string())
        .await?;
    Ok(Json(json!({ "sso": settings.public_view() })))
}
