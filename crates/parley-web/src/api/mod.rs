//! The JSON API under /api/v1: one route table, handlers grouped by resource.

pub mod account_mail;
pub mod accounts;
pub mod comments;
pub mod events;
pub mod mail;
pub mod me;
pub mod meta;
pub mod moderation;
pub mod sso;
pub mod stories;
pub mod webhooks;

use axum::Router;
use axum::routing::{get, post, put};

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(meta::openapi))
        .route("/api/v1/accounts", post(accounts::register))
        .route("/api/v1/sessions", post(accounts::sign_in))
        .route(
            "/api/v1/sessions/current",
            axum::routing::delete(accounts::sign_out),
        )
        .route("/api/v1/me", get(accounts::me).delete(me::delete))
        .route("/api/v1/me/export", get(me::export))
        .route(
            "/api/v1/me/verification",
            post(account_mail::resend_verification),
        )
        .route("/api/v1/verification", post(account_mail::verify))
        .route("/api/v1/password-resets", post(account_mail::request_reset))
        .route(
            "/api/v1/password-resets/confirm",
            post(account_mail::confirm_reset),
        )
        .route("/api/v1/me/email", post(account_mail::request_email_change))
        .route(
            "/api/v1/email-changes/confirm",
            post(account_mail::confirm_email_change),
        )
        .route(
            "/api/v1/me/notifications",
            get(account_mail::get_prefs).put(account_mail::put_prefs),
        )
        .route(
            "/api/v1/counts",
            get(stories::counts_get).post(stories::counts_post),
        )
        .route("/api/v1/stories", get(stories::find).post(stories::create))
        .route("/api/v1/preview", post(stories::preview))
        .route(
            "/api/v1/stories/{id}",
            get(stories::get).patch(stories::update),
        )
        .route(
            "/api/v1/stories/{id}/comments",
            get(comments::page).post(comments::create),
        )
        .route("/api/v1/stories/{id}/featured", get(comments::featured))
        .route("/api/v1/stories/{id}/viewer", get(comments::viewer))
        .route("/api/v1/stories/{id}/events", get(events::stream))
        .route(
            "/api/v1/comments/{id}",
            get(comments::get_one)
                .patch(comments::edit)
                .delete(comments::delete),
        )
        .route("/api/v1/comments/{id}/replies", get(comments::replies))
        .route(
            "/api/v1/comments/{id}/reactions",
            post(comments::react).delete(comments::unreact),
        )
        .route("/api/v1/comments/{id}/reports", post(comments::report))
        .route(
            "/api/v1/comments/{id}/featured",
            put(comments::feature).delete(comments::unfeature),
        )
        .route("/api/v1/moderation/queues/{queue}", get(moderation::queue))
        .route(
            "/api/v1/moderation/comments/{id}/approve",
            post(moderation::approve),
        )
        .route(
            "/api/v1/moderation/comments/{id}/reject",
            post(moderation::reject),
        )
        .route("/api/v1/moderation/users/{id}/ban", post(moderation::ban))
        .route(
            "/api/v1/moderation/users/{id}/suspend",
            post(moderation::suspend),
        )
        .route(
            "/api/v1/moderation/users/{id}/premoderate",
            post(moderation::premoderate),
        )
        .route("/api/v1/moderation/users/{id}/lift", post(moderation::lift))
        .route("/api/v1/moderation/audit", get(moderation::audit))
        .route("/api/v1/moderation/events", get(moderation::events))
        .route("/api/v1/moderation/bulk", post(moderation::bulk))
        .route(
            "/api/v1/moderation/stories/{id}/close",
            post(moderation::close_story),
        )
        .route(
            "/api/v1/moderation/stories/{id}/reopen",
            post(moderation::reopen_story),
        )
        .route("/api/v1/sites/{name}/policy", put(moderation::put_policy))
        .route("/api/v1/sso/session", post(sso::session))
        .route("/api/v1/sites/{name}/sso", put(sso::put_settings))
        .route(
            "/api/v1/sites/{name}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/api/v1/sites/{name}/webhooks/{id}",
            axum::routing::delete(webhooks::delete).patch(webhooks::update),
        )
        .route(
            "/api/v1/sites/{name}/webhooks/{id}/secret",
            post(webhooks::rotate_secret),
        )
        .route(
            "/api/v1/sites/{name}/webhooks/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .route("/api/v1/sites/{name}/mail", get(mail::outbox))
        .route(
            "/api/v1/stories/{id}/policy",
            put(moderation::put_story_policy),
        )
}
