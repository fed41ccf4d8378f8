//! The site's mail outbox, for its admins: counts by status and the newest messages
//! with their attempts and last error (never their bodies).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use parley_core::Role;
use serde_json::json;

use crate::AppState;
use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};

/// Messages the view shows, newest first.
const VIEW_LIMIT: i64 = 100;

/// GET /api/v1/sites/{name}/mail (admin of that site)
pub async fn outbox(
    State(state): State<AppState>,
    me: SignedIn,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    me.require_role(Role::Admin)?;
    let site = state
        .store
        .site_by_name(&name)
        .await?
        .filter(|s| s.id == me.user.site_id)
        .ok_or_else(|| ApiError::not_found("site"))?;
    let outbox = state.store.mail();
    let counts = outbox.mail_counts(Some(site.id)).await?;
    let mail = outbox.mail_outbox(site.id, VIEW_LIMIT).await?;
    Ok(Json(json!({
        "configured": state.config.smtp.is_some(),
        "counts": counts,
        "mail": mail,
    })))
}
