//! Static assets (CSS, scripts) compiled into the binary and served with cache headers,
//! and the CORS rule that lets news sites' own pages read public comment counts.
//!
//! `/assets/parley.css` and `/assets/parley.js` are for Parley's own pages: link them
//! with [`css_url`] / [`js_url`], which carry a `?v=` content version, so they can be
//! cached for a year and still change with each release. `/embed.js` and `/count.js`
//! are pasted into newsrooms' pages under stable URLs, so they are cached briefly and
//! revalidated by ETag.

use std::sync::LazyLock;

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;

/// One file compiled into the binary.
pub struct Asset {
    pub body: &'static [u8],
    pub content_type: &'static str,
    /// A strong ETag: the content's hash, quoted.
    etag: LazyLock<String>,
    /// Loaded by other sites' pages (the embed and count scripts).
    cross_origin: bool,
}

impl Asset {
    /// The content hash in hex: the ETag without quotes, and the `?v=` of versioned URLs.
    pub fn version(&self) -> &str {
        self.etag.trim_matches('"')
    }

    pub fn etag(&self) -> &str {
        &self.etag
    }
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// FNV-1a over bytes: stable across builds and platforms, cheap, enough for an ETag.
const fn content_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
        i += 1;
    }
    h
}

macro_rules! asset {
    ($file:literal, $content_type:expr, $cross_origin:expr) => {
        Asset {
            body: include_bytes!(concat!("../assets/", $file)),
            content_type: $content_type,
            etag: LazyLock::new(|| {
                format!(
                    "\"{:016x}\"",
                    content_hash(include_bytes!(concat!("../assets/", $file)))
                )
            }),
            cross_origin: $cross_origin,
        }
    };
}

pub static PARLEY_CSS: Asset = asset!("parley.css", CSS, false);
pub static PARLEY_JS: Asset = asset!("parley.js", JS, false);
pub static EMBED_JS: Asset = asset!("embed.js", JS, true);
pub static COUNT_JS: Asset = asset!("count.js", JS, true);
/// The moderators' pages: keyboard shortcuts and live queues, and their styles.
pub static MODERATION_JS: Asset = asset!("moderation.js", JS, false);
pub static MODERATION_CSS: Asset = asset!("moderation.css", CSS, false);
/// The story form's live preview (staff pages only).
pub static WRITE_JS: Asset = asset!("write.js", JS, false);
/// Illustrations for the demo content, drawn for Parley.
pub static DEMO_RIVERSIDE: Asset = asset!("demo/riverside-road.svg", SVG, false);
pub static DEMO_LIBRARY: Asset = asset!("demo/library.svg", SVG, false);

static CSS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/assets/parley.css?v={}", PARLEY_CSS.version()));
static JS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/assets/parley.js?v={}", PARLEY_JS.version()));

static WRITE_JS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/assets/write.js?v={}", WRITE_JS.version()));

/// The story form script's versioned URL.
pub fn write_js_url() -> &'static str {
    &WRITE_JS_URL
}

static MODERATION_JS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/assets/moderation.js?v={}", MODERATION_JS.version()));
static MODERATION_CSS_URL: LazyLock<String> =
    LazyLock::new(|| format!("/assets/moderation.css?v={}", MODERATION_CSS.version()));

/// The moderation script's versioned URL.
pub fn moderation_js_url() -> &'static str {
    &MODERATION_JS_URL
}

/// The moderation stylesheet's versioned URL.
pub fn moderation_css_url() -> &'static str {
    &MODERATION_CSS_URL
}

/// The stylesheet's versioned URL, for `<link rel="stylesheet">` in page templates.
pub fn css_url() -> &'static str {
    &CSS_URL
}

/// The page script's versioned URL, for `<script src defer>` in page templates.
pub fn js_url() -> &'static str {
    &JS_URL
}

/// How long browsers and proxies may keep a file before revalidating.
const SHORT: &str = "public, max-age=300";
/// A URL naming the content's version never changes meaning.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/assets/parley.css",
            get(|q: RawQuery, h: HeaderMap| async move { serve(&PARLEY_CSS, q, &h) }),
        )
        .route(
            "/assets/parley.js",
            get(|q: RawQuery, h: HeaderMap| async move { serve(&PARLEY_JS, q, &h) }),
        )
        .route(
            "/assets/write.js",
            get(|q: RawQuery, h: HeaderMap| async move { serve(&WRITE_JS, q, &h) }),
        )
        .route(
            "/assets/moderation.js",
            get(|q: RawQuery, h: HeaderMap| async move { serve(&MODERATION_JS, q, &h) }),
        )
        .route(
            "/assets/moderation.css",
            get(|q: RawQuery, h: HeaderMap| async move { serve(&MODERATION_CSS, q, &h) }),
        )
        .route(
            "/assets/demo/riverside-road.svg",
            get(|q: RawQuery, h: HeaderMap| async move { serve(&DEMO_RIVERSIDE, q, &h) }),
        )
        .route(
            "/assets/demo/library.svg",
            get(|q: RawQuery, h: HeaderMap| async move { serve(&DEMO_LIBRARY, q, &h) }),
        )
        .route(
            "/embed.js",
            get(|h: HeaderMap| async move { serve(&EMBED_JS, RawQuery(None), &h) }),
        )
        .route(
            "/count.js",
            get(|h: HeaderMap| async move { serve(&COUNT_JS, RawQuery(None), &h) }),
        )
}

/// Whether an If-None-Match header names this ETag (weak or strong, or `*`).
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

fn serve(asset: &'static Asset, RawQuery(query): RawQuery, headers: &HeaderMap) -> Response {
    let versioned = query.as_deref().is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.strip_prefix("v=") == Some(asset.version()))
    });
    let cache = if versioned { IMMUTABLE } else { SHORT };
    let mut common = HeaderMap::new();
    if let Ok(etag) = HeaderValue::from_str(asset.etag()) {
        common.insert(header::ETAG, etag);
    }
    common.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    common.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if asset.cross_origin {
        common.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        common.insert(
            "cross-origin-resource-policy",
            HeaderValue::from_static("cross-origin"),
        );
    }
    if etag_matches(headers, asset.etag()) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    common.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    (common, Body::from(asset.body)).into_response()
}

/// Paths whose answers are public data any site's pages may read (no credentials).
const PUBLIC_CROSS_ORIGIN: [&str; 1] = ["/api/v1/counts"];

/// CORS for the public, credential-free endpoints: `Access-Control-Allow-Origin: *` on
/// every answer (errors included, so scripts can read them), and preflights answered.
pub async fn public_cors(req: Request, next: Next) -> Response {
    if !PUBLIC_CROSS_ORIGIN.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let any = HeaderValue::from_static("*");
    if req.method() == Method::OPTIONS {
        return (
            StatusCode::NO_CONTENT,
            [
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, any),
                (
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("GET, POST"),
                ),
                (
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("Content-Type"),
                ),
                (
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static("86400"),
                ),
            ],
        )
            .into_response();
    }
    let mut response = next.run(req).await;
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, any);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_are_quoted_content_hashes() {
        assert_eq!(EMBED_JS.etag().len(), 18);
        assert!(EMBED_JS.etag().starts_with('"') && EMBED_JS.etag().ends_with('"'));
        assert_ne!(EMBED_JS.etag(), COUNT_JS.etag());
        assert_eq!(
            js_url(),
            format!("/assets/parley.js?v={}", PARLEY_JS.version())
        );
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let etag = COUNT_JS.etag();
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"nope\", W/{etag}"))
                .unwrap_or(HeaderValue::from_static("x")),
        );
        assert!(etag_matches(&h, etag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"nope\""));
        assert!(!etag_matches(&h, etag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(etag_matches(&h, etag));
    }
}
