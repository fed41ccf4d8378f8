//! Who is asking: sessions from a cookie (with CSRF defence) or a bearer token.

mod password;
mod throttle;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parley_store::User;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use password::{hash_password, verify_password};
pub use throttle::Throttle;

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "parley_session";

/// A new random session token (given to the client) and its hash (stored).
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// How the request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Cookie,
    Bearer,
}

/// A signed-in user, required: 401 without a valid session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub token_hash: String,
    pub credential: Credential,
}

/// A signed-in user if there is one; a bad or expired token counts as none.
pub struct MaybeSignedIn(pub Option<SignedIn>);

fn presented_token(parts: &Parts) -> Option<(String, Credential)> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        return Some((token.trim().to_owned(), Credential::Bearer));
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| (value.to_owned(), Credential::Cookie))
}

fn is_safe_method(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A cookie-authenticated write must come from our own pages: the browser says so with
/// Sec-Fetch-Site, or at least with an Origin equal to ours.
pub(crate) fn check_same_origin(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    let csrf = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "this request did not come from this site's pages",
        )
    };
    if let Some(site) = parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
    {
        return if site == "same-origin" || site == "none" {
            Ok(())
        } else {
            Err(csrf())
        };
    }
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(csrf)?;
    let ours = match &state.config.public_origin {
        Some(o) => o.trim_end_matches('/').to_owned(),
        None => {
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(csrf)?;
            let scheme = if state.config.secure_cookies {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}")
        }
    };
    if origin.eq_ignore_ascii_case(&ours) {
        Ok(())
    } else {
        Err(csrf())
    }
}

async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<SignedIn>, ApiError> {
    let Some((token, credential)) = presented_token(parts) else {
        return Ok(None);
    };
    let hash = token_hash(&token);
    let Some(session) = state.store.session_user(&hash).await? else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_session",
            "this session is not valid; sign in again",
        ));
    };
    if session.expires_at <= crate::now_ms() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session_expired",
            "your session has expired; sign in again",
        ));
    }
    Ok(Some(SignedIn {
        user: session.user,
        token_hash: hash,
        credential,
    }))
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let signed_in = resolve(parts, state)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        if signed_in.credential == Credential::Cookie && !is_safe_method(&parts.method) {
            check_same_origin(parts, state)?;
        }
        Ok(signed_in)
    }
}

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match resolve(parts, state).await {
            Ok(found) => Ok(MaybeSignedIn(found)),
            Err(ApiError::Client {
                status: StatusCode::UNAUTHORIZED,
                ..
            }) => Ok(MaybeSignedIn(None)),
            Err(other) => Err(other),
        }
    }
}

impl SignedIn {
    pub fn require_role(&self, role: parley_core::Role) -> Result<(), ApiError> {
        if self.user.role >= role {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the {} role",
                role.as_str()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a), ha);
        assert_eq!(ha.len(), 64);
    }
}
