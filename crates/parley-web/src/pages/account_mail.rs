//! The pages behind the links in account mail and notifications: confirm an address,
//! forgot/reset password, confirm a new address, one-click unsubscribe; and the
//! account page's forms for notifications, a new address and "mail the link again".

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use parley_core::notify::{Delivery, NotificationKind, NotificationPrefs};
use serde::Deserialize;

use super::account::{AccountNotes, account_page_with, site_named};
use super::{
    Chrome, MessagePage, PageForm, PagePath, PageQuery, PageResult, Viewer, describe, enc,
    no_framing, render, see_other,
};
use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::{AppState, account_mail, now_ms};

#[derive(Deserialize, Default)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

fn message(
    site: &str,
    title: &'static str,
    text: &str,
    back: Option<(String, &'static str)>,
) -> Response {
    let page = MessagePage {
        chrome: Chrome::new(site, None, "/".into()),
        title,
        message: text,
        back,
        home: true,
    };
    no_framing(render(StatusCode::OK, &page))
}

async fn default_site_name(state: &AppState) -> PageResult<String> {
    Ok(state.site(None).await?.name)
}

// ---------------------------------------------------------------------------------------
// Confirming an address

/// GET /account/verify?token=: the link from the confirmation mail.
pub async fn verify(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<TokenQuery>,
) -> PageResult<Response> {
    let user = account_mail::verify_email(&state, &q.token).await?;
    let site = crate::pages::actions::site_name(&state, user.site_id).await?;
    Ok(message(
        &site,
        "Your email address is confirmed",
        &format!(
            "Thank you, {}. We can now tell you about replies to your comments.",
            user.display_name
        ),
        Some(("/account#notifications".into(), "Choose your notifications")),
    ))
}

/// POST /account/verification: "mail me the link again".
pub async fn resend(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    let me = viewer.require("/account")?;
    match account_mail::resend_verification(&state, &me.user).await {
        Ok(()) => Ok(see_other("/account?notice=verification")),
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let (status, _, text) = describe(&e);
            let notes = AccountNotes {
                notice: Some(&text),
                ..AccountNotes::default()
            };
            account_page_with(&state, &me.user, notes, status).await
        }
    }
}

// ---------------------------------------------------------------------------------------
// Forgot / reset password

#[derive(Template)]
#[template(path = "forgot.html", whitespace = "minimize")]
struct ForgotPage<'a> {
    chrome: Chrome<'a>,
    email: &'a str,
    site: &'a str,
    error: Option<&'a str>,
    signin_href: String,
}

#[derive(Deserialize, Default)]
pub struct ForgotQuery {
    site: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
    site: Option<String>,
}

fn forgot_form(
    site_name: &str,
    site_param: &str,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let mut signin_href = "/signin".to_owned();
    if !site_param.is_empty() {
        signin_href.push_str(&format!("?site={}", enc(site_param)));
    }
    let page = ForgotPage {
        chrome: Chrome::new(site_name, None, "/forgot".into()),
        email,
        site: site_param,
        error,
        signin_href,
    };
    no_framing(render(status, &page))
}

/// GET /forgot
pub async fn forgot_page(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<ForgotQuery>,
) -> PageResult<Response> {
    let site = site_named(&state, q.site.as_deref()).await?;
    let param = q.site.unwrap_or_default();
    Ok(forgot_form(&site.name, &param, "", None, StatusCode::OK))
}

/// POST /forgot: the same answer whether or not the address has an account.
pub async fn forgot(
    State(state): State<AppState>,
    _viewer: Viewer,
    PageForm(form): PageForm<ForgotForm>,
) -> PageResult<Response> {
    let site = site_named(&state, form.site.as_deref()).await?;
    match account_mail::request_password_reset(&state, site.id, &form.email).await {
        Ok(()) => Ok(message(
            &site.name,
            "Check your email",
            &format!(
                "If an account uses {}, we have mailed it a link to choose a new password. The link works for an hour.",
                form.email.trim()
            ),
            None,
        )),
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let (status, _, text) = describe(&e);
            let param = form.site.unwrap_or_default();
            Ok(forgot_form(
                &site.name,
                &param,
                form.email.trim(),
                Some(&text),
                status,
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "reset.html", whitespace = "minimize")]
struct ResetPage<'a> {
    chrome: Chrome<'a>,
    token: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize, Default)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

/// GET /reset?token=
pub async fn reset_page(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<TokenQuery>,
) -> PageResult<Response> {
    let site = default_site_name(&state).await?;
    let page = ResetPage {
        chrome: Chrome::new(&site, None, "/reset".into()),
        token: &q.token,
        error: None,
    };
    Ok(no_framing(render(StatusCode::OK, &page)))
}

/// POST /reset
pub async fn reset(
    State(state): State<AppState>,
    _viewer: Viewer,
    PageForm(form): PageForm<ResetForm>,
) -> PageResult<Response> {
    match account_mail::reset_password(&state, &form.token, &form.password).await {
        Ok(user) => {
            let site = crate::pages::actions::site_name(&state, user.site_id).await?;
            Ok(message(
                &site,
                "Your password is changed",
                "Every device that was signed in to your account is signed out. Sign in with your new password.",
                Some(("/signin".into(), "Sign in")),
            ))
        }
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        // A bad password can be fixed on the same form; a bad link cannot.
        Err(
            e @ ApiError::Client {
                field: Some("password"),
                ..
            },
        ) => {
            let (status, _, text) = describe(&e);
            let site = default_site_name(&state).await?;
            let page = ResetPage {
                chrome: Chrome::new(&site, None, "/reset".into()),
                token: &form.token,
                error: Some(&text),
            };
            Ok(no_framing(render(status, &page)))
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------
// A new address

#[derive(Deserialize, Default)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
    password: Option<String>,
}

/// POST /account/email
pub async fn change_email(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    PageForm(form): PageForm<EmailForm>,
) -> PageResult<Response> {
    let me = viewer.require("/account")?;
    match account_mail::request_email_change(
        &state,
        &me.user,
        &form.email,
        form.password.as_deref(),
        ip,
    )
    .await
    {
        Ok(()) => Ok(see_other("/account?notice=email")),
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let (status, _, text) = describe(&e);
            let notes = AccountNotes {
                email_error: Some(&text),
                ..AccountNotes::default()
            };
            account_page_with(&state, &me.user, notes, status).await
        }
    }
}

/// GET /account/confirm-email?token=: the link mailed to the new address.
pub async fn confirm_email(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<TokenQuery>,
) -> PageResult<Response> {
    let user = account_mail::confirm_email_change(&state, &q.token).await?;
    let site = crate::pages::actions::site_name(&state, user.site_id).await?;
    Ok(message(
        &site,
        "Your new email address is confirmed",
        &format!(
            "Your account now uses {}. Sign in with it from now on.",
            user.email
        ),
        Some(("/account".into(), "Your account")),
    ))
}

// ---------------------------------------------------------------------------------------
// Notification settings

#[derive(Deserialize, Default)]
pub struct PrefsForm {
    reply: Option<String>,
    featured: Option<String>,
    moderation: Option<String>,
}

/// POST /account/notifications
pub async fn save_notifications(
    State(state): State<AppState>,
    viewer: Viewer,
    PageForm(form): PageForm<PrefsForm>,
) -> PageResult<Response> {
    let me = viewer.require("/account")?;
    let current = state
        .store
        .account_mail()
        .notification_prefs(me.user.id)
        .await?;
    let pick = |value: Option<&str>, now: Delivery| -> Result<Delivery, ApiError> {
        match value {
            None => Ok(now),
            Some(v) => Delivery::parse(v).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_form",
                    "choose one of the offered settings; nothing was changed",
                )
            }),
        }
    };
    let prefs = NotificationPrefs {
        reply: pick(form.reply.as_deref(), current.reply)?,
        featured: pick(form.featured.as_deref(), current.featured)?,
        moderation: pick(form.moderation.as_deref(), current.moderation)?,
    };
    crate::api::account_mail::save_prefs(&state, me.user.id, prefs).await?;
    Ok(see_other("/account?notice=notifications#notifications"))
}

/// The note the account page shows after one of its forms redirected back.
pub fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "notifications" => Some("Your notification settings are saved."),
        "verification" => Some("We mailed you a new link to confirm your address."),
        "email" => Some(
            "We mailed a link to your new address: your account moves there when you use it. Until then it keeps its present address.",
        ),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// One-click unsubscribe

#[derive(Template)]
#[template(path = "unsubscribe.html", whitespace = "minimize")]
struct UnsubscribePage<'a> {
    chrome: Chrome<'a>,
    question: String,
    action: String,
}

#[derive(Deserialize, Default)]
pub struct UnsubscribeQuery {
    kind: Option<String>,
}

/// What `?kind=` names: one kind, the digest, or everything.
enum Scope {
    Kind(NotificationKind),
    Digest,
    All,
}

impl Scope {
    fn parse(kind: Option<&str>) -> Option<Self> {
        match kind {
            None | Some("all") => Some(Scope::All),
            Some("digest") => Some(Scope::Digest),
            Some(k) => NotificationKind::parse(k).map(Scope::Kind),
        }
    }

    fn query(&self) -> &'static str {
        match self {
            Scope::Kind(k) => k.as_str(),
            Scope::Digest => "digest",
            Scope::All => "all",
        }
    }

    fn describe(&self) -> String {
        match self {
            Scope::Kind(k) => format!("emails about {}", k.describe()),
            Scope::Digest => "the daily digest".into(),
            Scope::All => "all notification emails".into(),
        }
    }
}

fn unknown_link() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "link_invalid",
        "this unsubscribe link is not valid; you can choose your notifications on your account page",
    )
}

/// GET /unsubscribe/{key}?kind=: asks first, so a mail scanner following links
/// unsubscribes nobody.
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    PagePath(key): PagePath<String>,
    PageQuery(q): PageQuery<UnsubscribeQuery>,
) -> PageResult<Response> {
    let scope = Scope::parse(q.kind.as_deref()).ok_or_else(unknown_link)?;
    let site = default_site_name(&state).await?;
    let page = UnsubscribePage {
        chrome: Chrome::new(&site, None, "/".into()),
        question: format!("You will no longer get {}.", scope.describe()),
        action: format!("/unsubscribe/{}?kind={}", enc(&key), scope.query()),
    };
    Ok(no_framing(render(StatusCode::OK, &page)))
}

/// POST /unsubscribe/{key}?kind=: the one-click unsubscribe (RFC 8058) that mail
/// programs send from the List-Unsubscribe headers, and the page's button. The key is
/// the credential, so neither a session nor a same-origin check applies, and the body
/// ("List-Unsubscribe=One-Click", in whatever encoding) is not read.
pub async fn unsubscribe(
    State(state): State<AppState>,
    PagePath(key): PagePath<String>,
    PageQuery(q): PageQuery<UnsubscribeQuery>,
) -> PageResult<Response> {
    let scope = Scope::parse(q.kind.as_deref()).ok_or_else(unknown_link)?;
    let (kind, digest_only) = match &scope {
        Scope::Kind(k) => (Some(*k), false),
        Scope::Digest => (None, true),
        Scope::All => (None, false),
    };
    if key.len() > 100 {
        return Err(unknown_link().into());
    }
    let user_id = state
        .store
        .account_mail()
        .unsubscribe(key, kind, digest_only, now_ms())
        .await?
        .ok_or_else(unknown_link)?;
    let site = match state.store.user_by_id(user_id).await? {
        Some(user) => crate::pages::actions::site_name(&state, user.site_id).await?,
        None => default_site_name(&state).await?,
    };
    Ok(message(
        &site,
        "You are unsubscribed",
        &format!("You will no longer get {}.", scope.describe()),
        Some(("/account#notifications".into(), "Choose your notifications")),
    ))
}
