//! Single sign-on for a newsroom's own readers: a site's SSO settings, verifying the
//! HS256 token its pages hand over (signature here; claims in `parley_core::sso`), and
//! signing the reader in. Used by `POST /api/v1/sso/session` and the embed.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use parley_core::Role;
use parley_core::sso::{
    ROLE_CEILING, RawClaims, SsoClaims, SsoRefusal, check_claims, granted_role,
};
use parley_store::sso::{SsoLogin, SsoSignedIn};
use parley_store::{Site, Store, StoreError, User};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::service;

/// Shortest secret a site may set, in bytes: HS256 wants at least the hash's length.
pub const MIN_SECRET_BYTES: usize = 32;

/// A site's sign-in methods, kept under `sso` in the site settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SsoSettings {
    /// The HS256 key; SSO is off without one. Never shown by any endpoint.
    pub secret: Option<String>,
    /// Whether a token's `role` claim is applied.
    pub allow_roles: bool,
    /// The highest role a token may grant (and never above moderator).
    pub max_role: Role,
    /// Whether readers may register and sign in with a password.
    pub local_accounts: bool,
}

impl Default for SsoSettings {
    fn default() -> Self {
        Self {
            secret: None,
            allow_roles: false,
            max_role: Role::Staff,
            local_accounts: true,
        }
    }
}

impl SsoSettings {
    pub fn from_settings(settings: &serde_json::Value) -> Self {
        settings
            .get("sso")
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    /// What admins may see: everything but the secret.
    pub fn public_view(&self) -> serde_json::Value {
        serde_json::json!({
            "enabled": self.secret.is_some(),
            "allow_roles": self.allow_roles,
            "max_role": self.max_role,
            "local_accounts": self.local_accounts,
        })
    }
}

/// A change to a site's SSO settings, from the admin API (`PUT /api/v1/sites/{name}/sso`)
/// or `parley site sso`: fields left out keep their value; `secret: Some(None)` (JSON
/// `null`) turns single sign-on off.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoChange {
    #[serde(default, deserialize_with = "present")]
    pub secret: Option<Option<String>>,
    pub allow_roles: Option<bool>,
    pub max_role: Option<Role>,
    pub local_accounts: Option<bool>,
}

/// Tells a field sent as `null` (Some(None)) from one left out (None).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl SsoSettings {
    /// These settings with `change` applied, or the first rule it breaks (nothing is
    /// changed then). The one place the rules live.
    pub fn apply(&self, change: SsoChange) -> ApiResult<SsoSettings> {
        let mut next = self.clone();
        if let Some(secret) = change.secret {
            if let Some(s) = &secret
                && s.len() < MIN_SECRET_BYTES
            {
                return Err(ApiError::invalid(
                    "secret",
                    format!("the secret must be at least {MIN_SECRET_BYTES} bytes"),
                ));
            }
            next.secret = secret;
        }
        if let Some(allow) = change.allow_roles {
            next.allow_roles = allow;
        }
        if let Some(max) = change.max_role {
            if max > ROLE_CEILING {
                return Err(ApiError::invalid(
                    "max_role",
                    format!(
                        "tokens can grant at most the {} role",
                        ROLE_CEILING.as_str()
                    ),
                ));
            }
            next.max_role = max;
        }
        if let Some(local) = change.local_accounts {
            next.local_accounts = local;
        }
        if !next.local_accounts && next.secret.is_none() {
            return Err(ApiError::invalid(
                "local_accounts",
                "set an SSO secret before switching local accounts off",
            ));
        }
        Ok(next)
    }
}

/// Applies `change` to the site's SSO settings and saves them with the rest of its
/// settings untouched; returns the new settings.
pub async fn update_site_sso(
    store: &dyn Store,
    site_id: i64,
    change: SsoChange,
) -> ApiResult<SsoSettings> {
    let text = store
        .site_settings(site_id)
        .await?
        .ok_or_else(|| ApiError::not_found("site"))?;
    let mut value = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) if v.is_object() => v,
        _ => serde_json::json!({}),
    };
    let settings = SsoSettings::from_settings(&value).apply(change)?;
    value["sso"] =
        serde_json::to_value(&settings).map_err(|e| ApiError::Internal(e.to_string()))?;
    store.set_site_settings(site_id, value.to_string()).await?;
    Ok(settings)
}

/// A new random secret: 32 bytes from the system's generator, as 64 hex digits.
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn site_sso(state: &AppState, site_id: i64) -> ApiResult<SsoSettings> {
    Ok(SsoSettings::from_settings(
        &service::site_settings(state, site_id).await?,
    ))
}

/// Refuses registration and password sign-in on a site that switched local accounts off.
pub async fn require_local_accounts(state: &AppState, site_id: i64) -> ApiResult<()> {
    if site_sso(state, site_id).await?.local_accounts {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "local_accounts_off",
            "this site signs readers in through its own accounts (single sign-on); \
             registering and signing in with a password are switched off",
        ))
    }
}

fn refused(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
}

fn malformed(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "sso_malformed",
        format!("the sign-in token is not a well-formed JWT: {what}"),
    )
    .with_field("token")
}

impl From<SsoRefusal> for ApiError {
    fn from(r: SsoRefusal) -> Self {
        let status = match r {
            SsoRefusal::Missing(_) | SsoRefusal::Invalid { .. } => StatusCode::BAD_REQUEST,
            SsoRefusal::Expired | SsoRefusal::FutureDated | SsoRefusal::WrongSite => {
                StatusCode::UNAUTHORIZED
            }
        };
        ApiError::new(status, r.code(), r.to_string())
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Checks a compact HS256 JWT's shape and signature (constant-time), then its claims for
/// `site` at `now` (unix seconds). Only HS256 is accepted, whatever the header says.
pub fn verify_token(secret: &str, token: &str, site: &str, now: i64) -> ApiResult<SsoClaims> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected three dot-separated parts"));
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| malformed("a part is not base64url"))
    };
    let header: Header =
        serde_json::from_slice(&decode(header)?).map_err(|_| malformed("unreadable header"))?;
    if header.alg != "HS256" {
        return Err(refused(
            "sso_bad_signature",
            "the sign-in token must be signed with HS256",
        ));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let signed_len = token.trim().len() - signature.len() - 1;
    mac.update(&token.trim().as_bytes()[..signed_len]);
    if mac.verify_slice(&decode(signature)?).is_err() {
        return Err(refused(
            "sso_bad_signature",
            "the sign-in token's signature does not match this site's secret",
        ));
    }
    let raw: RawClaims = serde_json::from_slice(&decode(payload)?)
        .map_err(|e| malformed(&format!("unreadable claims ({e})")))?;
    Ok(check_claims(&raw, site, now)?)
}

/// Verifies the token for this site and signs its reader in: creates, updates or links
/// the account. The caller starts the session.
pub async fn sign_in(state: &AppState, site: &Site, token: &str) -> ApiResult<User> {
    let settings = site_sso(state, site.id).await?;
    let Some(secret) = settings.secret.as_deref() else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "sso_off",
            "single sign-on is not set up for this site",
        ));
    };
    let now_ms = crate::now_ms();
    let claims = verify_token(secret, token, &site.name, now_ms.div_euclid(1000))?;
    let login = SsoLogin {
        site_id: site.id,
        external_id: claims.external_id,
        email: claims.email.as_str().to_owned(),
        display_name: claims.display_name.as_str().to_owned(),
        role: granted_role(claims.role, settings.allow_roles, settings.max_role),
        badges: claims.badges,
        token_id: claims.token_id,
        token_expires_at: claims.expires_at.saturating_mul(1000),
        now: now_ms,
    };
    match state.store.sso().sso_sign_in(login).await {
        Ok(SsoSignedIn {
            user,
            changed_stories,
        }) => {
            // The reader's name or badges changed: their comments' pages are stale here
            // (other nodes see the new story versions).
            for story in changed_stories {
                state.cache.invalidate(story);
            }
            // The newsroom vouches for its readers' addresses: they get notifications
            // without a confirmation mail from us.
            state
                .store
                .account_mail()
                .mark_email_verified(user.id, now_ms)
                .await?;
            Ok(user)
        }
        Err(StoreError::Refused {
            code: "sso_replayed",
            message,
        }) => Err(refused("sso_replayed", message)),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn sign(secret: &str, header: &str, claims: &str) -> String {
        let h = URL_SAFE_NO_PAD.encode(header);
        let p = URL_SAFE_NO_PAD.encode(claims);
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{h}.{p}").as_bytes());
        let s = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{h}.{p}.{s}")
    }

    const CLAIMS: &str = r#"{"sub":"1","email":"a@b.example","name":"Ann","iat":100,"exp":200,"jti":"x","aud":"daily"}"#;

    fn code(e: ApiError) -> &'static str {
        match e {
            ApiError::Client { code, .. } => code,
            _ => "other",
        }
    }

    #[test]
    fn a_good_token_verifies() {
        let t = sign(
            "s".repeat(32).as_str(),
            r#"{"alg":"HS256","typ":"JWT"}"#,
            CLAIMS,
        );
        let c = verify_token(&"s".repeat(32), &t, "daily", 150).unwrap();
        assert_eq!(c.external_id, "1");
    }

    #[test]
    fn wrong_secret_other_algorithms_and_garbage_are_refused() {
        let t = sign("other", r#"{"alg":"HS256"}"#, CLAIMS);
        assert_eq!(
            code(verify_token("s", &t, "daily", 150).unwrap_err()),
            "sso_bad_signature"
        );
        let t = sign("s", r#"{"alg":"none"}"#, CLAIMS);
        assert_eq!(
            code(verify_token("s", &t, "daily", 150).unwrap_err()),
            "sso_bad_signature"
        );
        assert_eq!(
            code(verify_token("s", "a.b", "daily", 150).unwrap_err()),
            "sso_malformed"
        );
        assert_eq!(
            code(verify_token("s", "a.b.c.d", "daily", 150).unwrap_err()),
            "sso_malformed"
        );
        assert_eq!(
            code(verify_token("s", "!.!.!", "daily", 150).unwrap_err()),
            "sso_malformed"
        );
    }
}
