//! The plain-form versions of the comment actions: reply, edit, delete, react, report.
//! Each succeeds with a 303 back to the story at the comment; a failure changes nothing
//! and shows the form again (or a page) with the reason.

use std::collections::HashSet;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parley_core::thread::CommentStatus;
use parley_store::{Comment, Story};
use serde::Deserialize;

use super::conversation::{Card, Ctx, FormState};
use super::{
    Chrome, MessagePage, PageError, PageForm, PagePath, PageResult, Viewer, describe, referer_path,
    render, safe_next, see_other,
};
use crate::AppState;
use crate::error::ApiError;
use crate::service;

/// The comment (any status; callers decide), its story and the name of its site.
async fn load(state: &AppState, id: i64) -> PageResult<(Comment, Story, String)> {
    let c = state
        .store
        .comment_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    let story = state.story(c.story_id).await?;
    let site_name = site_name(state, story.site_id).await?;
    Ok((c, story, site_name))
}

pub async fn site_name(state: &AppState, site_id: i64) -> PageResult<String> {
    let default = state.site(None).await?;
    if default.id == site_id {
        return Ok(default.name);
    }
    Ok(state
        .store
        .site_by_id(site_id)
        .await?
        .map(|s| s.name)
        .unwrap_or_default())
}

fn at_comment(story: &Story, id: i64) -> String {
    format!("/stories/{}#c{id}", story.fields.slug)
}

fn not_found() -> PageError {
    ApiError::not_found("comment").into()
}

// ---------------------------------------------------------------------------------------
// Reply

#[derive(Template)]
#[template(path = "reply.html", whitespace = "minimize")]
struct ReplyPage<'a> {
    chrome: Chrome<'a>,
    story: &'a Story,
    card: Card<'a>,
    signed_in: bool,
    max_chars: usize,
    body: &'a str,
    error: Option<&'a str>,
}

async fn reply_form(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    status: StatusCode,
    form: &FormState,
) -> PageResult<Response> {
    let (c, story, site_name) = load(state, id).await?;
    if !c.status.is_visible() {
        return Err(not_found());
    }
    if c.status == CommentStatus::Deleted {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "parent_deleted",
            "this comment was deleted, so it cannot take replies",
        )
        .into());
    }
    let user = viewer.user();
    let mut ctx = Ctx::new(state, user, HashSet::new(), story.fields.is_closed);
    ctx.edit_window_ms = service::viewer_edit_window_ms(state, &story, user).await?;
    let page = ReplyPage {
        chrome: Chrome::new(&site_name, user, format!("/comments/{id}/reply")),
        story: &story,
        card: ctx.card(&c),
        signed_in: user.is_some(),
        max_chars: state.config.max_comment_chars,
        body: &form.body,
        error: form.error.as_deref(),
    };
    Ok(render(status, &page))
}

/// GET /comments/{id}/reply: the reply form, for readers without JavaScript.
pub async fn reply_page(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    viewer: Viewer,
) -> PageResult<Response> {
    reply_form(&state, &viewer, id, StatusCode::OK, &FormState::default()).await
}

/// The reply form again after a failed post, with what was typed and why it failed.
pub async fn reply_form_again(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    status: StatusCode,
    form: FormState,
) -> PageResult<Response> {
    match reply_form(state, viewer, id, status, &form).await {
        Ok(page) => Ok(page),
        // The comment went away meanwhile: say why the reply failed instead.
        Err(_) => {
            let message = form.error.unwrap_or_default();
            let page = MessagePage {
                chrome: Chrome::bare(),
                title: "Your reply was not posted",
                message: &message,
                back: None,
                home: true,
            };
            Ok(render(status, &page))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Edit

#[derive(Template)]
#[template(path = "edit.html", whitespace = "minimize")]
struct EditPage<'a> {
    chrome: Chrome<'a>,
    story: &'a Story,
    card: Card<'a>,
    max_chars: usize,
    body: &'a str,
    error: Option<&'a str>,
    window_minutes: i64,
}

async fn edit_form(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    status: StatusCode,
    form: Option<&FormState>,
) -> PageResult<Response> {
    let me = viewer.require(&format!("/comments/{id}/edit"))?;
    let (c, story, site_name) = load(state, id).await?;
    if c.status == CommentStatus::Deleted || c.author_id != Some(me.user.id) {
        if c.status.is_visible() {
            return Err(ApiError::forbidden("only the author can edit this comment").into());
        }
        return Err(not_found());
    }
    let mut ctx = Ctx::new(
        state,
        Some(&me.user),
        HashSet::new(),
        story.fields.is_closed,
    );
    ctx.edit_window_ms = service::edit_window_ms(state, &story).await?;
    let window_minutes = ctx.edit_window_ms / 60_000;
    let card = ctx.card(&c);
    if form.is_none() && !card.can_edit {
        let message = if story.fields.is_closed {
            "This story is closed for comments, so comments on it can no longer be edited."
                .to_owned()
        } else {
            format!(
                "Comments can be edited for {window_minutes} minutes after posting; this one can no longer be changed."
            )
        };
        let page = MessagePage {
            chrome: Chrome::new(&site_name, Some(&me.user), at_comment(&story, id)),
            title: "This comment can no longer be edited",
            message: &message,
            back: Some((at_comment(&story, id), "Back to the conversation")),
            home: true,
        };
        return Ok(render(StatusCode::CONFLICT, &page));
    }
    let page = EditPage {
        chrome: Chrome::new(&site_name, Some(&me.user), format!("/comments/{id}/edit")),
        story: &story,
        max_chars: state.config.max_comment_chars,
        body: form.map_or(c.body_src.as_str(), |f| f.body.as_str()),
        error: form.and_then(|f| f.error.as_deref()),
        window_minutes,
        card,
    };
    Ok(render(status, &page))
}

/// GET /comments/{id}/edit: the author's edit form, within the edit window.
pub async fn edit_page(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    viewer: Viewer,
) -> PageResult<Response> {
    edit_form(&state, &viewer, id, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct BodyForm {
    #[serde(default)]
    body: String,
}

/// POST /comments/{id}/edit
pub async fn edit(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    viewer: Viewer,
    PageForm(form): PageForm<BodyForm>,
) -> PageResult<Response> {
    let me = viewer.require(&format!("/comments/{id}/edit"))?;
    match service::edit_comment(&state, &me.user, id, &form.body).await {
        Ok(c) => {
            let story = state.story(c.story_id).await?;
            Ok(see_other(&at_comment(&story, id)))
        }
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let (status, _, message) = describe(&e);
            let form = FormState {
                body: form.body,
                error: Some(message),
            };
            edit_form(&state, &viewer, id, status, Some(&form)).await
        }
    }
}

// ---------------------------------------------------------------------------------------
// Delete, react, unreact

/// A failed one-button action: the reason, and the way back.
fn action_failed(e: ApiError, title: &str, back: String) -> PageResult<Response> {
    if let ApiError::Internal(_) = e {
        return Err(e.into());
    }
    let (status, _, message) = describe(&e);
    let page = MessagePage {
        chrome: Chrome::bare(),
        title,
        message: &message,
        back: Some((back, "Back to the conversation")),
        home: true,
    };
    Ok(render(status, &page))
}

/// Where to go back to after an action on comment `id`: the page the form was on when
/// it is one of ours, else the story.
fn back_to(headers: &HeaderMap, state: &AppState, story: &Story, id: i64) -> String {
    match referer_path(headers, state) {
        Some(path) if path != "/" => format!("{path}#c{id}"),
        _ => at_comment(story, id),
    }
}

/// POST /comments/{id}/delete: the author removes their comment; a tombstone keeps its
/// place while it has replies.
pub async fn delete(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    viewer: Viewer,
    headers: HeaderMap,
) -> PageResult<Response> {
    let (_, story, _) = load(&state, id).await?;
    let me = viewer.require(&back_to(&headers, &state, &story, id))?;
    match service::delete_comment(&state, &me.user, id).await {
        Ok(_) => Ok(see_other(&format!(
            "/stories/{}?notice=deleted#conversation",
            story.fields.slug
        ))),
        Err(e) => action_failed(e, "Your comment was not deleted", at_comment(&story, id)),
    }
}

async fn set_reaction(
    state: AppState,
    id: i64,
    viewer: Viewer,
    headers: HeaderMap,
    on: bool,
) -> PageResult<Response> {
    let (_, story, _) = load(&state, id).await?;
    let back = back_to(&headers, &state, &story, id);
    let me = viewer.require(&back)?;
    match service::set_reaction(&state, &me.user, id, on).await {
        Ok(_) => Ok(see_other(&back)),
        // Pressed twice (two tabs, a double click): what the reader wanted holds already.
        Err(ApiError::Client { code, message, .. })
            if code == "already_reacted" || (!on && message == "reaction not found") =>
        {
            Ok(see_other(&back))
        }
        Err(e) => action_failed(e, "That did not work", back),
    }
}

/// POST /comments/{id}/react
pub async fn react(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    viewer: Viewer,
    headers: HeaderMap,
) -> PageResult<Response> {
    set_reaction(state, id, viewer, headers, true).await
}

/// POST /comments/{id}/unreact
pub async fn unreact(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    viewer: Viewer,
    headers: HeaderMap,
) -> PageResult<Response> {
    set_reaction(state, id, viewer, headers, false).await
}

// ---------------------------------------------------------------------------------------
// Report

pub fn reason_label(reason: &str) -> &'static str {
    match reason {
        "spam" => "Spam or advertising",
        "abuse" => "Abuse or harassment",
        "hate" => "Hateful content",
        "off_topic" => "Off topic",
        "misinformation" => "False or misleading information",
        _ => "Something else",
    }
}

#[derive(Template)]
#[template(path = "report.html", whitespace = "minimize")]
struct ReportPage<'a> {
    chrome: Chrome<'a>,
    story: &'a Story,
    card: Card<'a>,
    /// (value, label, selected)
    reasons: Vec<(&'static str, &'static str, bool)>,
    note: &'a str,
    error: Option<&'a str>,
}

#[derive(Deserialize, Default)]
pub struct ReportForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

async fn report_form(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    status: StatusCode,
    form: &ReportForm,
    error: Option<&str>,
) -> PageResult<Response> {
    let me = viewer.require(&format!("/comments/{id}/report"))?;
    let (c, story, site_name) = load(state, id).await?;
    if c.status != CommentStatus::Published {
        return Err(not_found());
    }
    if c.author_id == Some(me.user.id) {
        return Err(ApiError::forbidden("you cannot report your own comment").into());
    }
    let ctx = Ctx::new(
        state,
        Some(&me.user),
        HashSet::new(),
        story.fields.is_closed,
    );
    let mut reasons = vec![("", "Choose a reason", form.reason.is_empty())];
    reasons.extend(
        service::REPORT_REASONS
            .iter()
            .map(|&r| (r, reason_label(r), form.reason == r)),
    );
    let page = ReportPage {
        chrome: Chrome::new(&site_name, Some(&me.user), format!("/comments/{id}/report")),
        story: &story,
        card: ctx.card(&c),
        reasons,
        note: &form.note,
        error,
    };
    Ok(render(status, &page))
}

/// GET /comments/{id}/report: why is this comment a problem?
pub async fn report_page(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    viewer: Viewer,
) -> PageResult<Response> {
    report_form(
        &state,
        &viewer,
        id,
        StatusCode::OK,
        &ReportForm::default(),
        None,
    )
    .await
}

/// POST /comments/{id}/report
pub async fn report(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    viewer: Viewer,
    PageForm(form): PageForm<ReportForm>,
) -> PageResult<Response> {
    let me = viewer.require(&format!("/comments/{id}/report"))?;
    let note = (!form.note.trim().is_empty()).then_some(form.note.as_str());
    match service::report(&state, &me.user, id, &form.reason, note).await {
        Ok(()) => {
            let (_, story, _) = load(&state, id).await?;
            Ok(see_other(&safe_next(
                Some(&format!(
                    "/stories/{}?notice=reported#c{id}",
                    story.fields.slug
                )),
                "/",
            )))
        }
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let (status, _, message) = describe(&e);
            let message = if form.reason.is_empty() {
                "Please choose a reason for your report.".to_owned()
            } else {
                message
            };
            report_form(&state, &viewer, id, status, &form, Some(&message)).await
        }
    }
}
