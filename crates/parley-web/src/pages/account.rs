//! Sign in, register and sign out with plain forms, and the reader's account page (their
//! data to download, deleting the account). A new session is the API's HttpOnly
//! cookie; `next` brings the reader back to the page they came from (on this site only).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use parley_core::moderation::OnAccountDelete;
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
    let site_name = crate::pages::actions::site_name(state, user.site_id).await?;
    let has_password = state
        .store
        .user_credentials(user.site_id, &user.email)
        .await?
        .is_some_and(|(_, hash)| hash.is_some());
    let settings = service::site_settings(state, user.site_id).await?;
    let fate = service::merged_policy(&settings, None)
        .map(|p| p.on_account_delete)
        .unwrap_or_default();
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
        error,
    };
    Ok(no_framing(render(status, &page)))
}

/// GET /account
pub async fn account_page(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    let me = viewer.require("/account")?;
    account_page_for(&state, &me.user, None, StatusCode::OK).await
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
