//! Server-rendered HTML pages: the site front page, story pages with their conversation,
//! sign-in and registration, and the plain-form versions of every comment action.

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}

/// The page for an address that leads nowhere.
pub fn not_found_page() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Html("<!doctype html><title>Not found</title><p>There is nothing at this address.</p>"),
    )
}
