//! Sign in, register and sign out with plain forms, and the reader's account page (their
//! data to download, deleting the account). A new session is the API's HttpOnly
//! cookie; `next` brings the reader back to the page they came from (on this site only).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use parley_core::moderation::OnAccountDelete;
use parley_core::notify::NotificationKind;
use parley_store::{Site, User};
use serde::Deserialize;

use super::{
    Chrome, MessagePage, PageForm, PageQuery, PageResult, Viewer, describe, enc, long_date,
    no_framing, render, safe_next, see_other,
};
use crate::AppState;
use crate::api::accounts::session_cookie;
use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::service;

#[derive(Deserialize, Default)]
pub struct AccountQuery {
    pub next: Option<String>,
    pub site: Option<String>,
}

/// The named site, or the default one for an empty or missing name.
pub async fn site_named(state: &AppState, name: Option<&str>) -> PageResult<Site> {
    Ok(state.site(name.filter(|n| !n.trim().is_empty())).await?)
}

fn site_param(site: &Site, default: &Site) -> String {
    if site.id == default.id {
        String::new()
    } else {
        site.name.clone()
    }
}

fn with_site(path: &str, site: &str, next: &str) -> String {
    let mut href = format!("{path}?next={}", enc(next));
    if !site.is_empty() {
        href.push_str("&site=");
        href.push_str(&enc(site));
    }
    href
}

// ---------------------------------------------------------------------------------------
// Sign in

#[derive(Template)]
#[template(path = "signin.html", whitespace = "minimize")]
pub struct SigninPage<'a> {
    pub chrome: Chrome<'a>,
    pub action: String,
    pub email: &'a str,
    pub next: &'a str,
    pub site: &'a str,
    pub error: Option<&'a str>,
    pub register_href: String,
    pub forgot_href: String,
    /// Offered in the embed's popup when a cookie session exists already.
    pub continue_as: Option<&'a str>,
}

#[derive(Deserialize, Default)]
pub struct SigninForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    pub next: Option<String>,
    pub site: Option<String>,
    /// The embed popup's "Continue as NAME".
    #[serde(rename = "continue")]
    pub continue_as: Option<String>,
}

fn signin_form(
    site: &Site,
    default: &Site,
    viewer: Option<&User>,
    next: &str,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let site_name = site_param(site, default);
    let page = SigninPage {
        chrome: Chrome::new(&site.name, viewer, with_site("/signin", &site_name, next)),
        action: "/signin".into(),
        email,
        next,
        site: &site_name,
        error,
        register_href: with_site("/register", &site_name, next),
        forgot_href: with_site("/forgot", &site_name, next),
        continue_as: None,
    };
    no_framing(render(status, &page))
}

/// GET /signin?next=
pub async fn signin_page(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<AccountQuery>,
    viewer: Viewer,
) -> PageResult<Response> {
    let default = state.site(None).await?;
    let site = site_named(&state, q.site.as_deref()).await?;
    let next = safe_next(q.next.as_deref(), "/");
    Ok(signin_form(
        &site,
        &default,
        viewer.user(),
        &next,
        "",
        None,
        StatusCode::OK,
    ))
}

/// Sends a freshly signed-in reader on with the session cookie.
async fn with_session(state: &AppState, user: &User, to: &str) -> PageResult<Response> {
    let token = service::start_session(state, user).await?;
    let mut r = see_other(to);
    r.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(state, &token, state.config.session_ttl.as_secs())?,
    );
    Ok(r)
}

/// POST /signin
pub async fn signin(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    PageForm(form): PageForm<SigninForm>,
) -> PageResult<Response> {
    let default = state.site(None).await?;
    let site = site_named(&state, form.site.as_deref()).await?;
    let next = safe_next(form.next.as_deref(), "/");
    match service::sign_in(&state, &site, &form.email, &form.password, ip).await {
        Ok(user) => with_session(&state, &user, &next).await,
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let (status, _, message) = describe(&e);
            let mut r = signin_form(
                &site,
                &default,
                viewer.user(),
                &next,
                form.email.trim(),
                Some(&message),
                status,
            );
            if let ApiError::TooManyRequests { retry_after_secs } = e
                && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(r)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Register

#[derive(Template)]
#[template(path = "register.html", whitespace = "minimize")]
struct RegisterPage<'a> {
    chrome: Chrome<'a>,
    email: &'a str,
    display_name: &'a str,
    next: &'a str,
    site: &'a str,
    error: Option<&'a str>,
    error_field: Option<&'static str>,
    signin_href: String,
}

impl RegisterPage<'_> {
    fn invalid(&self, field: &str) -> bool {
        self.error_field == Some(field)
    }
}

#[derive(Deserialize, Default)]
pub struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
    site: Option<String>,
}

/// GET /register?next=
pub async fn register_page(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<AccountQuery>,
    viewer: Viewer,
) -> PageResult<Response> {
    let default = state.site(None).await?;
    let site = site_named(&state, q.site.as_deref()).await?;
    let next = safe_next(q.next.as_deref(), "/");
    let site_name = site_param(&site, &default);
    let page = RegisterPage {
        chrome: Chrome::new(
            &site.name,
            viewer.user(),
            with_site("/register", &site_name, &next),
        ),
        email: "",
        display_name: "",
        next: &next,
        site: &site_name,
        error: None,
        error_field: None,
        signin_href: with_site("/signin", &site_name, &next),
    };
    Ok(no_framing(render(StatusCode::OK, &page)))
}

/// POST /register: a new reader account, signed in straight away.
pub async fn register(
    State(state): State<AppState>,
    viewer: Viewer,
    PageForm(form): PageForm<RegisterForm>,
) -> PageResult<Response> {
    let default = state.site(None).await?;
    let site = site_named(&state, form.site.as_deref()).await?;
    let next = safe_next(form.next.as_deref(), "/");
    let made = service::register(
        &state,
        &site,
        &form.email,
        &form.display_name,
        &form.password,
    )
    .await;
    match made {
        Ok(user) => with_session(&state, &user, &next).await,
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let field = match &e {
                ApiError::Client { field, .. } => *field,
                _ => None,
            };
            let (status, _, message) = describe(&e);
            let site_name = site_param(&site, &default);
            let page = RegisterPage {
                chrome: Chrome::new(
                    &site.name,
                    viewer.user(),
                    with_site("/register", &site_name, &next),
                ),
                email: form.email.trim(),
                display_name: form.display_name.trim(),
                next: &next,
                site: &site_name,
                error: Some(&message),
                error_field: field,
                signin_href: with_site("/signin", &site_name, &next),
            };
            Ok(no_framing(render(status, &page)))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Sign out

#[derive(Deserialize, Default)]
pub struct SignoutForm {
    next: Option<String>,
}

/// POST /signout: ends this session and clears the cookie.
pub async fn signout(
    State(state): State<AppState>,
    viewer: Viewer,
    PageForm(form): PageForm<SignoutForm>,
) -> PageResult<Response> {
    if let Some(me) = &viewer.0 {
        state.store.delete_session(&me.token_hash).await?;
    }
    let next = safe_next(form.next.as_deref(), "/");
    let mut r = see_other(&next);
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, "", 0)?);
    Ok(r)
}

// ---------------------------------------------------------------------------------------
// The reader's account page: their data to download, and deleting the account

#[derive(Template)]
#[template(path = "account.html", whitespace = "minimize")]
struct AccountPage<'a> {
    chrome: Chrome<'a>,
    user: &'a User,
    since: String,
    has_password: bool,
    fate_sentence: &'static str,
    error: Option<&'a str>,
    email_verified: bool,
    verification_required: bool,
    /// (form field, label, current setting) per notification kind.
    notification_rows: Vec<(&'static str, &'static str, &'static str)>,
    can_change_email: bool,
    email_error: Option<&'a str>,
    notice: Option<&'a str>,
}

/// What the account page shows besides the basics: a note after a form, or the
/// email form's error.
#[derive(Default)]
pub(crate) struct AccountNotes<'a> {
    pub error: Option<&'a str>,
    pub email_error: Option<&'a str>,
    pub notice: Option<&'a str>,
}

#[derive(Deserialize, Default)]
pub struct DeleteAccountForm {
    password: Option<String>,
    confirm: Option<String>,
}

async fn account_page_for(
    state: &AppState,
    user: &User,
    error: Option<&str>,
    status: StatusCode,
) -> PageResult<Response> {
    let notes = AccountNotes {
        error,
        ..AccountNotes::default()
    };
    account_page_with(state, user, notes, status).await
}

pub(crate) async fn account_page_with(
    state: &AppState,
    user: &User,
    notes: AccountNotes<'_>,
    status: StatusCode,
) -> PageResult<Response> {
    let site_name = crate::pages::actions::site_name(state, user.site_id).await?;
    let has_password = state
        .store
        .user_credentials(user.site_id, &user.email)
        .await?
        .is_some_and(|(_, hash)| hash.is_some());
    let settings = service::site_settings(state, user.site_id).await?;
    let policy = service::merged_policy(&settings, None).unwrap_or_default();
    let fate = policy.on_account_delete;
    let prefs = state
        .store
        .account_mail()
        .notification_prefs(user.id)
        .await?;
    let notification_rows = NotificationKind::ALL
        .into_iter()
        .map(|kind| {
            let label = match kind {
                NotificationKind::Reply => "When someone replies to my comments",
                NotificationKind::Featured => "When the editors select one of my comments",
                NotificationKind::Moderation => {
                    "When a moderator approves or rejects my held comment"
                }
            };
            (kind.as_str(), label, prefs.get(kind).as_str())
        })
        .collect();
    let from_newsroom = state.store.sso().sso_external_id(user.id).await?.is_some();
    let fate_sentence = match fate {
        OnAccountDelete::Tombstone => {
            "Your comments are replaced by a note that a comment was deleted, without your name or words, so the replies of others keep their place."
        }
        OnAccountDelete::Remove => {
            "Your comments are removed; one that others replied to is replaced by a note that a comment was deleted, without your name or words, so their replies keep their place."
        }
    };
    let page = AccountPage {
        chrome: Chrome::new(&site_name, Some(user), "/account".into()),
        user,
        since: long_date(user.created_at),
        has_password,
        fate_sentence,
        error: notes.error,
        email_verified: crate::account_mail::is_verified(state, user).await?,
        verification_required: policy.require_verified_email,
        notification_rows,
        can_change_email: !from_newsroom,
        email_error: notes.email_error,
        notice: notes.notice,
    };
    Ok(no_framing(render(status, &page)))
}

#[derive(Deserialize, Default)]
pub struct AccountPageQuery {
    notice: Option<String>,
}

/// GET /account(?notice=...: after one of its forms)
pub async fn account_page(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(q): PageQuery<AccountPageQuery>,
) -> PageResult<Response> {
    let me = viewer.require("/account")?;
    let notes = AccountNotes {
        notice: q
            .notice
            .as_deref()
            .and_then(super::account_mail::notice_text),
        ..AccountNotes::default()
    };
    account_page_with(&state, &me.user, notes, StatusCode::OK).await
}

/// POST /account/delete: deletes the account, ends this session, and says so.
pub async fn delete_account(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    PageForm(form): PageForm<DeleteAccountForm>,
) -> PageResult<Response> {
    let me = viewer.require("/account")?;
    let request = crate::api::me::DeleteAccount {
        password: form.password,
        confirm: form.confirm,
    };
    match crate::api::me::delete_account(&state, &me.user, &request, ip).await {
        Ok(_) => {
            let mut r = see_other("/account/deleted");
            r.headers_mut()
                .insert(header::SET_COOKIE, session_cookie(&state, "", 0)?);
            Ok(r)
        }
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let (status, _, message) = describe(&e);
            let mut r = account_page_for(&state, &me.user, Some(&message), status).await?;
            if let ApiError::TooManyRequests { retry_after_secs } = e
                && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(r)
        }
    }
}

/// GET /account/deleted: where a deleted account's last form lands.
pub async fn account_deleted(State(state): State<AppState>) -> PageResult<Response> {
    let site = state.site(None).await?;
    let page = MessagePage {
        chrome: Chrome::new(&site.name, None, "/".into()),
        title: "Your account is deleted",
        message: "Your account is deleted and you are signed out everywhere. Thank you for taking part.",
        back: None,
        home: true,
    };
    Ok(render(StatusCode::OK, &page))
}
