//! Static assets (CSS, scripts) compiled into the binary and served with cache headers.

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
