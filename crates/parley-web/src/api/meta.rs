//! Health, readiness and the API's own description.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppState;

pub async fn healthz() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
}

/// GET /readyz: ready for traffic when the database answers and its schema is the one
/// this binary was built for.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let problem = match state.store.readiness().await {
        Ok(r) if r.is_current() => {
            return Json(json!({ "status": "ready", "database": state.store.backend() }))
                .into_response();
        }
        Ok(r) if !r.pending.is_empty() => format!(
            "the database lacks migrations {:?}; run `parley migrate`",
            r.pending
        ),
        Ok(r) => format!(
            "the database has migrations {:?} this binary does not know; upgrade this node",
            r.unknown
        ),
        Err(e) => format!("the database does not answer: {e}"),
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "not_ready", "reason": problem })),
    )
        .into_response()
}

pub const OPENAPI: &str = include_str!("../openapi.json");

pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}
