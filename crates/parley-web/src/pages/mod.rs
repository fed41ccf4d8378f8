//! Server-rendered HTML pages: the site front page, story pages with their conversation,
//! sign-in and registration, and the plain-form versions of every comment action.
//!
//! Everything works without JavaScript (links, forms, POST-redirect-GET); the markup is
//! the contract in `docs/FRONTEND.md`, which `assets/parley.js` and the embed rely on.
//! Every write goes through `crate::service`, so the rules are the API's.

mod account;
mod account_mail;
mod actions;
mod conversation;
mod embed;
mod feeds;
mod moderation;
mod publish;
mod story;

use std::collections::HashMap;
use std::sync::RwLock;

use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Form, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use parley_store::User;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

use crate::AppState;
use crate::auth::{Credential, MaybeSignedIn, SignedIn, check_same_origin};
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(story::front_page))
        .route("/stories/{slug}", get(story::story_page))
        .route("/stories/{slug}/comments", post(story::post_comment))
        .route("/write", get(publish::new_page).post(publish::create))
        .route(
            "/stories/{slug}/edit",
            get(publish::edit_page).post(publish::edit),
        )
        .route("/stories/{slug}/comments.atom", get(feeds::story_comments))
        .route("/selected.atom", get(feeds::selected))
        .route("/comments/{id}/fragment", get(story::fragment))
        .route("/comments/{id}/thread", get(story::thread_page))
        .route("/comments/{id}/reply", get(actions::reply_page))
        .route(
            "/comments/{id}/edit",
            get(actions::edit_page).post(actions::edit),
        )
        .route("/comments/{id}/delete", post(actions::delete))
        .route("/comments/{id}/react", post(actions::react))
        .route("/comments/{id}/unreact", post(actions::unreact))
        .route(
            "/comments/{id}/report",
            get(actions::report_page).post(actions::report),
        )
        .route("/signin", get(account::signin_page).post(account::signin))
        .route(
            "/register",
            get(account::register_page).post(account::register),
        )
        .route("/signout", post(account::signout))
        .route("/account", get(account::account_page))
        .route("/account/delete", post(account::delete_account))
        .route("/account/deleted", get(account::account_deleted))
        .route("/account/verify", get(account_mail::verify))
        .route("/account/verification", post(account_mail::resend))
        .route("/account/email", post(account_mail::change_email))
        .route("/account/confirm-email", get(account_mail::confirm_email))
        .route(
            "/account/notifications",
            post(account_mail::save_notifications),
        )
        .route(
            "/forgot",
            get(account_mail::forgot_page).post(account_mail::forgot),
        )
        .route(
            "/reset",
            get(account_mail::reset_page).post(account_mail::reset),
        )
        .route(
            "/unsubscribe/{key}",
            get(account_mail::unsubscribe_page).post(account_mail::unsubscribe),
        )
        .route("/moderate", get(moderation::front))
        .route("/moderate/audit", get(moderation::audit_page))
        .route("/moderate/bulk", post(moderation::bulk))
        .route("/moderate/{queue}", get(moderation::queue_page))
        .route(
            "/moderate/{queue}/items/{id}",
            get(moderation::item_fragment),
        )
        .route(
            "/moderate/comments/{id}/{action}",
            post(moderation::comment_action),
        )
        .route(
            "/moderate/users/{id}/{action}",
            post(moderation::user_action),
        )
        .route(
            "/moderate/stories/{id}/{action}",
            post(moderation::story_action),
        )
        .route("/embed", get(embed::embed_page))
        .route("/embed/signin", get(embed::signin_page).post(embed::signin))
}

/// The page for an address that leads nowhere.
pub fn not_found_page() -> impl IntoResponse {
    PageError::Api(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "there is nothing at this address",
    ))
}

/// What the pages remember between requests: which story a slug or an embedding page's
/// URL names, so a cached page is served without asking the database. Entries are
/// checked against the story whenever a page is rendered, and dropped when wrong.
#[derive(Default)]
pub struct PageState {
    slugs: RwLock<HashMap<(i64, String), i64>>,
    urls: RwLock<HashMap<(i64, String), i64>>,
}

const MAX_REMEMBERED: usize = 50_000;

fn remembered(map: &RwLock<HashMap<(i64, String), i64>>, site: i64, key: &str) -> Option<i64> {
    map.read()
        .unwrap_or_else(|p| p.into_inner())
        .get(&(site, key.to_owned()))
        .copied()
}

fn remember(map: &RwLock<HashMap<(i64, String), i64>>, site: i64, key: &str, id: Option<i64>) {
    let mut map = map.write().unwrap_or_else(|p| p.into_inner());
    match id {
        Some(id) => {
            if map.len() >= MAX_REMEMBERED {
                map.clear();
            }
            map.insert((site, key.to_owned()), id);
        }
        None => {
            map.remove(&(site, key.to_owned()));
        }
    }
}

impl PageState {
    pub fn story_for_slug(&self, site: i64, slug: &str) -> Option<i64> {
        remembered(&self.slugs, site, slug)
    }

    pub fn set_slug(&self, site: i64, slug: &str, id: Option<i64>) {
        remember(&self.slugs, site, slug, id);
    }

    pub fn story_for_url(&self, site: i64, url: &str) -> Option<i64> {
        remembered(&self.urls, site, url)
    }

    pub fn set_url(&self, site: i64, url: &str, id: Option<i64>) {
        remember(&self.urls, site, url, id);
    }
}

// ---------------------------------------------------------------------------------------
// Errors

/// How a page handler fails: an error shown as an HTML page, a redirect (to sign in),
/// or a page already rendered (a form shown again with its message).
pub enum PageError {
    Api(ApiError),
    Redirect(String),
    Page(Box<Response>),
}

pub type PageResult<T> = Result<T, PageError>;

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError::Api(e)
    }
}

impl From<parley_store::StoreError> for PageError {
    fn from(e: parley_store::StoreError) -> Self {
        PageError::Api(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Api(e) => {
                let (status, title, message) = describe(&e);
                let page = MessagePage {
                    chrome: Chrome::bare(),
                    title,
                    message: &message,
                    back: None,
                    home: true,
                };
                let mut r = render(status, &page);
                if let ApiError::TooManyRequests { retry_after_secs } = e
                    && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
                {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            PageError::Redirect(to) => see_other(&to),
            PageError::Page(r) => *r,
        }
    }
}

/// The status, a short title and a reader-friendly sentence for an error.
pub fn describe(e: &ApiError) -> (StatusCode, &'static str, String) {
    match e {
        ApiError::Client {
            status,
            code,
            message,
            ..
        } => {
            let title = match *status {
                StatusCode::NOT_FOUND => "Not found",
                StatusCode::FORBIDDEN => "Not allowed",
                StatusCode::UNAUTHORIZED => "Please sign in",
                StatusCode::CONFLICT => "That did not work",
                StatusCode::SERVICE_UNAVAILABLE => "Busy",
                _ => "Please check and try again",
            };
            (*status, title, human_message(code, message))
        }
        ApiError::TooManyRequests { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            format!(
                "Too many attempts. Please wait {} and try again.",
                wait_phrase(*retry_after_secs)
            ),
        ),
        ApiError::Internal(detail) => {
            tracing::error!(%detail, "internal error on a page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side and nothing was changed. Please try again in a moment."
                    .to_owned(),
            )
        }
    }
}

fn wait_phrase(secs: u64) -> String {
    let minutes = secs.div_ceil(60);
    match secs {
        0..=59 => "a minute".to_owned(),
        _ if minutes == 1 => "a minute".to_owned(),
        _ => format!("{minutes} minutes"),
    }
}

/// A store or validation message made into a sentence for readers.
pub fn human_message(code: &str, message: &str) -> String {
    match code {
        "csrf" => {
            return "This form did not come from this site's pages, so nothing was changed. \
                    Go back, reload the page and try again."
                .to_owned();
        }
        "unauthenticated" | "invalid_session" | "session_expired" => {
            return "Please sign in first.".to_owned();
        }
        "not_found" => {
            if let Some(what) = message.strip_suffix(" not found") {
                return format!("We could not find this {what}. It may have been removed.");
            }
        }
        _ => {}
    }
    sentence(message)
}

/// Capital first letter, full stop at the end.
pub fn sentence(message: &str) -> String {
    let message = message.trim();
    let mut out = String::with_capacity(message.len() + 1);
    let mut chars = message.chars();
    if let Some(first) = chars.next() {
        out.extend(first.to_uppercase());
        out.push_str(chars.as_str());
    }
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

// ---------------------------------------------------------------------------------------
// Extractors that answer with HTML pages

/// Who is reading: a signed-in user or nobody. On a POST it first checks that the form
/// came from our own pages (the API's same-origin rule), for every form, signed in or not.
pub struct Viewer(pub Option<SignedIn>);

impl Viewer {
    pub fn user(&self) -> Option<&User> {
        self.0.as_ref().map(|s| &s.user)
    }

    /// The user, or a redirect to sign in that comes back to `next`.
    pub fn require(&self, next: &str) -> PageResult<&SignedIn> {
        self.0
            .as_ref()
            .ok_or_else(|| PageError::Redirect(format!("/signin?next={}", enc(next))))
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> PageResult<Self> {
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            check_same_origin(parts, state)?;
        }
        let MaybeSignedIn(found) = MaybeSignedIn::from_request_parts(parts, state).await?;
        Ok(Viewer(found))
    }
}

/// A path parameter; a malformed one is simply "not found".
pub struct PagePath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for PagePath<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> PageResult<Self> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PagePath(p.0))
            .map_err(|_: PathRejection| {
                PageError::Api(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "there is nothing at this address",
                ))
            })
    }
}

pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for PageQuery<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> PageResult<Self> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| PageQuery(q.0))
            .map_err(|_: QueryRejection| {
                PageError::Api(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_query",
                    "this address has parameters we do not understand",
                ))
            })
    }
}

/// A url-encoded form body.
pub struct PageForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> PageResult<Self> {
        Form::<T>::from_request(req, state)
            .await
            .map(|f| PageForm(f.0))
            .map_err(|e: FormRejection| {
                let (status, message) = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "what you sent is too long; nothing was changed",
                    )
                } else {
                    (
                        StatusCode::BAD_REQUEST,
                        "this form could not be read; nothing was changed",
                    )
                };
                PageError::Api(ApiError::new(status, "bad_form", message))
            })
    }
}

// ---------------------------------------------------------------------------------------
// Layout and responses

/// What the layout around every page needs: the site's name and who is signed in.
pub struct Chrome<'a> {
    pub site_name: &'a str,
    pub viewer_name: Option<&'a str>,
    /// This page's address, for "sign in and come back here".
    pub here: String,
    /// Whether to show the account links at all (not on error pages).
    pub account: bool,
}

impl<'a> Chrome<'a> {
    pub fn new(site_name: &'a str, viewer: Option<&'a User>, here: String) -> Self {
        Chrome {
            site_name,
            viewer_name: viewer.map(|u| u.display_name.as_str()),
            here,
            account: true,
        }
    }

    pub fn bare() -> Self {
        Chrome {
            site_name: "Parley",
            viewer_name: None,
            here: "/".into(),
            account: false,
        }
    }

    pub fn signin_href(&self) -> String {
        format!("/signin?next={}", enc(&self.here))
    }

    pub fn register_href(&self) -> String {
        format!("/register?next={}", enc(&self.here))
    }
}

/// A page with one message, for errors and confirmations.
#[derive(Template)]
#[template(path = "message.html", whitespace = "minimize")]
pub struct MessagePage<'a> {
    pub chrome: Chrome<'a>,
    pub title: &'a str,
    pub message: &'a str,
    /// A link onward: (href, label); the front page when there is none.
    pub back: Option<(String, &'a str)>,
    /// Whether to offer the front page (not inside another site's frame).
    pub home: bool,
}

pub const HTML: &str = "text/html; charset=utf-8";

/// Renders `page` as an HTML response that no cache keeps.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => {
            let mut r = (status, body).into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, HTML)],
                "<!doctype html><html lang=\"en\"><title>Something went wrong</title>\
                 <p>Something went wrong on our side. Please try again.</p></html>",
            )
                .into_response()
        }
    }
}

/// A page that must not be shown inside another site's frame (it takes passwords).
pub fn no_framing(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    r
}

/// 303 See Other: the "redirect" of POST-redirect-GET.
pub fn see_other(to: &str) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/"));
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------
// Small helpers

/// Percent-encodes a query parameter value.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `next` if it is a path on this site, else `fallback`: never another origin
/// ("//evil.example", "/\evil.example", "https://..."), never control characters.
pub fn safe_next(next: Option<&str>, fallback: &str) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && n.len() <= 2000
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

/// The path (and query) of a same-origin Referer, to go back to after a form.
pub fn referer_path(headers: &HeaderMap, state: &AppState) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let ours = our_origin(headers, state)?;
    let rest = referer.strip_prefix(ours.as_str())?;
    if !rest.starts_with('/') {
        return None;
    }
    let path = rest.split('#').next().unwrap_or(rest);
    Some(safe_next(Some(path), "/"))
}

/// The origin our pages are served from.
pub fn our_origin(headers: &HeaderMap, state: &AppState) -> Option<String> {
    if let Some(o) = &state.config.public_origin {
        return Some(o.trim_end_matches('/').to_ascii_lowercase());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = if state.config.secure_cookies {
        "https"
    } else {
        "http"
    };
    Some(format!("{scheme}://{}", host.to_ascii_lowercase()))
}

/// Whether the request came in with a cookie-based session (for the account header).
pub fn by_cookie(viewer: &Viewer) -> bool {
    viewer
        .0
        .as_ref()
        .is_some_and(|s| s.credential == Credential::Cookie)
}

const DATE: &[BorrowedFormatItem<'static>] =
    format_description!("[day padding:none] [month repr:long] [year]");
const DATE_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[day padding:none] [month repr:long] [year], [hour]:[minute]");

fn instant(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// "3 September 2026" (UTC).
pub fn long_date(ms: i64) -> String {
    instant(ms)
        .and_then(|t| t.format(DATE).ok())
        .unwrap_or_default()
}

/// "3 September 2026, 09:14" (UTC).
pub fn long_date_time(ms: i64) -> String {
    instant(ms)
        .and_then(|t| t.format(DATE_TIME).ok())
        .unwrap_or_default()
}

/// Only http(s) addresses go into `src` and `href` attributes built from stored URLs.
pub fn web_url(url: &str) -> Option<&str> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    // A path on this server (the demo's pictures) is as safe as an http(s) URL.
    let local = url.starts_with('/') && !url.starts_with("//") && !url.contains('\\');
    (local || lower.starts_with("https://") || lower.starts_with("http://")).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/stories/a?x=1#c2"), "/"),
            "/stories/a?x=1#c2"
        );
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/a\nb",
            "",
        ] {
            assert_eq!(safe_next(Some(bad), "/"), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None, "/x"), "/x");
    }

    #[test]
    fn dates_read_like_a_newspaper() {
        assert_eq!(long_date(1_788_424_200_000), "3 September 2026");
        assert_eq!(long_date_time(1_788_424_200_000), "3 September 2026, 08:30");
    }

    #[test]
    fn messages_become_sentences() {
        assert_eq!(
            sentence("wrong email or password"),
            "Wrong email or password."
        );
        assert_eq!(
            human_message("not_found", "comment not found"),
            "We could not find this comment. It may have been removed."
        );
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(enc("/stories/a b#c"), "%2Fstories%2Fa%20b%23c");
    }
}
