//! Account mail: confirming an address, resetting a forgotten password, moving an
//! account to a new address. Each sends a single-use link by mail; only the link's
//! hash is stored. Mail is queued in the outbox and sent by the mail worker, so none of
//! this waits for a mail server.

use parley_core::notify::LinkPurpose;
use parley_core::{Email, Password, Role};
use parley_store::User;
use parley_store::account_mail::{LinkAction, NewAccountLink};

use crate::auth::{hash_password, new_token, token_hash, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::mail_content::{self, Recipient};
use crate::{AppState, now_ms};

/// The origin links in mail point at: `--public-origin`, else the address the server
/// listens on (fine for trying Parley out; a deployment sets the origin).
pub fn links_base(state: &AppState) -> String {
    let config = &state.config;
    config
        .public_origin
        .as_deref()
        .or(config.links_origin.as_deref())
        .map(|o| o.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| "http://localhost".into())
}

fn recipient<'a>(user: &'a User, email: &'a str) -> Recipient<'a> {
    Recipient {
        site_id: user.site_id,
        user_id: user.id,
        email,
        name: &user.display_name,
    }
}

async fn site_name(state: &AppState, site_id: i64) -> ApiResult<String> {
    Ok(state
        .store
        .site_by_id(site_id)
        .await?
        .map(|s| s.name)
        .unwrap_or_default())
}

/// Makes a link for `purpose` and returns its token (for the mailed URL).
async fn new_link(
    state: &AppState,
    user: &User,
    purpose: LinkPurpose,
    email: Option<String>,
    now: i64,
) -> ApiResult<String> {
    let (token, hash) = new_token();
    state
        .store
        .account_mail()
        .create_account_link(NewAccountLink {
            token_hash: hash,
            user_id: user.id,
            purpose,
            email,
            now,
        })
        .await?;
    Ok(token)
}

/// Refuses a second mail of `purpose` to this account within a minute.
async fn check_resend(
    state: &AppState,
    user: &User,
    purpose: LinkPurpose,
    now: i64,
) -> ApiResult<()> {
    if let Some(last) = state
        .store
        .account_mail()
        .last_account_link_at(user.id, purpose)
        .await?
    {
        let wait = last + purpose.resend_after_ms() - now;
        if wait > 0 {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: u64::try_from(wait / 1000 + 1).unwrap_or(60),
            });
        }
    }
    Ok(())
}

/// Mails a link that confirms the account's address.
pub async fn send_verification(state: &AppState, user: &User) -> ApiResult<()> {
    let now = now_ms();
    let token = new_link(
        state,
        user,
        LinkPurpose::VerifyEmail,
        Some(user.email.clone()),
        now,
    )
    .await?;
    let link = format!("{}/account/verify?token={token}", links_base(state));
    let site = site_name(state, user.site_id).await?;
    let mail = mail_content::verify_email(&site, &user.display_name, &link);
    state
        .store
        .mail()
        .enqueue_mail(mail.to_mail("verify", &recipient(user, &user.email), now))
        .await?;
    Ok(())
}

/// After registration: readers confirm their address; staff made by an admin and
/// accounts a newsroom vouches for are confirmed already.
pub async fn after_registration(state: &AppState, user: &User) {
    if let Err(e) = send_verification(state, user).await {
        tracing::warn!(error = ?e, user_id = user.id, "queueing the address confirmation mail");
    }
}

/// "Send the link again".
pub async fn resend_verification(state: &AppState, user: &User) -> ApiResult<()> {
    if is_verified(state, user).await? {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "already_verified",
            "your email address is confirmed already",
        ));
    }
    check_resend(state, user, LinkPurpose::VerifyEmail, now_ms()).await?;
    send_verification(state, user).await
}

pub async fn is_verified(state: &AppState, user: &User) -> ApiResult<bool> {
    Ok(state
        .store
        .account_mail()
        .email_verified_at(user.id)
        .await?
        .is_some())
}

/// Refuses a reader whose site wants confirmed addresses before comments.
pub async fn require_verified(state: &AppState, user: &User, required: bool) -> ApiResult<()> {
    if !required || user.role != Role::Reader || is_verified(state, user).await? {
        return Ok(());
    }
    Err(ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "email_unverified",
        "confirm your email address before you comment: use the link we mailed you, or ask for a new one on your account page",
    ))
}

async fn redeem(state: &AppState, token: &str, action: LinkAction) -> ApiResult<User> {
    let token = token.trim();
    if token.is_empty() || token.len() > 200 {
        let problem = parley_core::notify::LinkProblem::Unknown;
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            problem.code(),
            problem.message(),
        ));
    }
    let user_id = state
        .store
        .account_mail()
        .redeem_account_link(token_hash(token), action, now_ms())
        .await?;
    state
        .store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))
}

/// The link from the confirmation mail.
pub async fn verify_email(state: &AppState, token: &str) -> ApiResult<User> {
    redeem(state, token, LinkAction::VerifyEmail).await
}

/// "Forgot your password?": mails a reset link when the address belongs to an account
/// with a password. Says nothing either way, so it cannot be used to find accounts.
pub async fn request_password_reset(state: &AppState, site_id: i64, email: &str) -> ApiResult<()> {
    crate::sso::require_local_accounts(state, site_id).await?;
    let email = Email::parse(email)?;
    let Some((user, hash)) = state
        .store
        .user_credentials(site_id, email.as_str())
        .await?
    else {
        return Ok(());
    };
    let now = now_ms();
    // No password (imported authors, newsroom sign-in): nothing to reset. A second
    // request within a minute is dropped silently rather than refused, for the same
    // reason the answer never says whether the account exists.
    if hash.is_none()
        || check_resend(state, &user, LinkPurpose::ResetPassword, now)
            .await
            .is_err()
    {
        return Ok(());
    }
    let token = new_link(state, &user, LinkPurpose::ResetPassword, None, now).await?;
    let link = format!("{}/reset?token={token}", links_base(state));
    let site = site_name(state, site_id).await?;
    let mail = mail_content::reset_password(&site, &user.display_name, &link);
    state
        .store
        .mail()
        .enqueue_mail(mail.to_mail("reset", &recipient(&user, &user.email), now))
        .await?;
    Ok(())
}

/// The link from the reset mail, with the new password: sets it and signs the account
/// out everywhere.
pub async fn reset_password(state: &AppState, token: &str, password: &str) -> ApiResult<User> {
    let password = Password::parse(password)?;
    let password_hash = hash_password(password.expose().to_owned()).await?;
    let user = redeem(state, token, LinkAction::ResetPassword { password_hash }).await?;
    // The old password's failed attempts no longer say anything.
    let attempt_key = format!("{}:{}", user.site_id, user.email);
    if let Err(e) = state
        .account_throttle
        .clear(state.store.as_ref(), &attempt_key)
        .await
    {
        tracing::warn!(error = %e, "clearing sign-in failures after a reset");
    }
    Ok(user)
}

/// Asks to move the account to `new_email`: a link goes to the new address, a notice
/// to the old one. Accounts with a password confirm it first.
pub async fn request_email_change(
    state: &AppState,
    user: &User,
    new_email: &str,
    password: Option<&str>,
    ip: std::net::IpAddr,
) -> ApiResult<()> {
    let email = Email::parse(new_email)?;
    if email.as_str() == user.email {
        return Err(ApiError::invalid("email", "this is your address already"));
    }
    if state.store.sso().sso_external_id(user.id).await?.is_some() {
        return Err(ApiError::forbidden(
            "your email address comes from the newsroom's sign-in: change it there",
        ));
    }
    let (_, hash) = state
        .store
        .user_credentials(user.site_id, &user.email)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    if hash.is_some() {
        // Throttled like a sign-in: this form must not be a way to guess the password.
        let attempt = crate::service::PasswordAttempt::new(user.site_id, &user.email, ip);
        attempt.check(state).await?;
        if !verify_password(password.unwrap_or_default().to_owned(), hash).await? {
            attempt.failed(state).await?;
            return Err(ApiError::invalid("password", "the password is not right"));
        }
        attempt.succeeded(state).await?;
    }
    if state
        .store
        .user_credentials(user.site_id, email.as_str())
        .await?
        .is_some()
    {
        return Err(ApiError::Client {
            status: axum::http::StatusCode::CONFLICT,
            code: "email_taken",
            message: "another account has this email address".into(),
            field: Some("email"),
        });
    }
    let now = now_ms();
    check_resend(state, user, LinkPurpose::ChangeEmail, now).await?;
    let token = new_link(
        state,
        user,
        LinkPurpose::ChangeEmail,
        Some(email.as_str().to_owned()),
        now,
    )
    .await?;
    let base = links_base(state);
    let site = site_name(state, user.site_id).await?;
    let confirm = mail_content::confirm_new_email(
        &site,
        &user.display_name,
        email.as_str(),
        &format!("{base}/account/confirm-email?token={token}"),
    );
    let notice = mail_content::email_change_notice(
        &site,
        &user.display_name,
        email.as_str(),
        &format!("{base}/account"),
    );
    let mail = state.store.mail();
    mail.enqueue_mail(confirm.to_mail("email_change", &recipient(user, email.as_str()), now))
        .await?;
    mail.enqueue_mail(notice.to_mail("email_change_notice", &recipient(user, &user.email), now))
        .await?;
    Ok(())
}

/// The link from the new address's mail: the account moves there, confirmed.
pub async fn confirm_email_change(state: &AppState, token: &str) -> ApiResult<User> {
    redeem(state, token, LinkAction::ChangeEmail).await
}
