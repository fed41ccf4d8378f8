//! The moderators' JSON API: queues, decisions on comments, account standing, the
//! audit log, and (admins) the site's moderation policy. Moderator role and up, on the
//! moderator's own site only.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use parley_core::moderation::{Policy, Rules};
use parley_core::{Role, UserStatus};
use parley_store::{Comment, CommentDecision, QueueQuery, User};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::events::EventKind;
use crate::extract::{ApiJson, ApiQuery};
use crate::service::{self, REPORT_REASONS};
use crate::view::CommentView;
use crate::{AppState, now_ms};

const QUEUES: [&str; 5] = ["pending", "reported", "rejected", "approved", "featured"];

#[derive(Deserialize)]
pub struct QueueParams {
    story: Option<i64>,
    q: Option<String>,
    limit: Option<i64>,
}

fn moderator(me: &SignedIn) -> ApiResult<()> {
    me.require_role(Role::Moderator)
}

/// The comment, if it belongs to the moderator's site.
async fn site_comment(state: &AppState, me: &SignedIn, id: i64) -> ApiResult<Comment> {
    let comment = state
        .store
        .comment_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    let story = state.story(comment.story_id).await?;
    if story.site_id != me.user.site_id {
        return Err(ApiError::not_found("comment"));
    }
    Ok(comment)
}

async fn site_user(state: &AppState, me: &SignedIn, id: i64) -> ApiResult<User> {
    state
        .store
        .user_by_id(id)
        .await?
        .filter(|u| u.site_id == me.user.site_id)
        .ok_or_else(|| ApiError::not_found("user"))
}

/// GET /api/v1/moderation/queues/{queue}: newest first, with why each was held.
pub async fn queue(
    State(state): State<AppState>,
    me: SignedIn,
    Path(queue): Path<String>,
    ApiQuery(p): ApiQuery<QueueParams>,
) -> ApiResult<impl IntoResponse> {
    moderator(&me)?;
    if !QUEUES.contains(&queue.as_str()) {
        return Err(ApiError::not_found("queue"));
    }
    let limit = service::check_limit(&state, p.limit)?;
    let settings = service::site_settings(&state, me.user.site_id).await?;
    let threshold = service::merged_policy(&settings, None)
        .map(|p| p.report_threshold)
        .unwrap_or(1);
    let comments = state
        .store
        .moderation_queue(QueueQuery {
            site_id: me.user.site_id,
            queue: queue.clone(),
            story_id: p.story,
            text: p.q,
            min_reports: i64::from(threshold),
            limit,
        })
        .await?;
    let mut items = Vec::with_capacity(comments.len());
    for c in &comments {
        let reasons = state
            .store
            .revisions(c.id)
            .await?
            .into_iter()
            .max_by_key(|r| r.id)
            .map(|r| r.reasons)
            .unwrap_or_default();
        items.push(json!({ "comment": CommentView::from(c), "reasons": reasons }));
    }
    Ok(Json(json!({ "queue": queue, "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    reason_code: String,
    note: Option<String>,
}

async fn decide(
    state: &AppState,
    me: &SignedIn,
    id: i64,
    approve: bool,
    reason: String,
) -> ApiResult<Json<Value>> {
    moderator(me)?;
    site_comment(state, me, id).await?;
    let comment = state
        .store
        .decide_comment(CommentDecision {
            comment_id: id,
            approve,
            actor_id: me.user.id,
            reason,
            now: now_ms(),
        })
        .await?;
    let kind = if approve {
        EventKind::CommentPublished
    } else {
        EventKind::CommentDeleted
    };
    service::announce(state, kind, &comment, None);
    Ok(Json(json!({ "comment": CommentView::from(&comment) })))
}

/// POST /api/v1/moderation/comments/{id}/approve
pub async fn approve(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    decide(&state, &me, id, true, String::new()).await
}

/// POST /api/v1/moderation/comments/{id}/reject
pub async fn reject(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RejectBody>,
) -> ApiResult<impl IntoResponse> {
    moderator(&me)?;
    if !REPORT_REASONS.contains(&body.reason_code.as_str()) {
        return Err(ApiError::invalid(
            "reason_code",
            format!("reason_code is one of {}", REPORT_REASONS.join(", ")),
        ));
    }
    let note = body.note.unwrap_or_default().trim().to_owned();
    if note.chars().count() > 1000 {
        return Err(ApiError::invalid(
            "note",
            "a note has at most 1,000 characters",
        ));
    }
    let reason = if note.is_empty() {
        body.reason_code
    } else {
        format!("{}: {note}", body.reason_code)
    };
    decide(&state, &me, id, false, reason).await
}

async fn set_status(
    state: &AppState,
    me: &SignedIn,
    id: i64,
    status: UserStatus,
    reason: String,
) -> ApiResult<Json<Value>> {
    moderator(me)?;
    let user = site_user(state, me, id).await?;
    if user.role >= me.user.role {
        return Err(ApiError::forbidden(
            "you can only act on accounts with a lower role than yours",
        ));
    }
    let user = state
        .store
        .set_user_status(id, status, me.user.id, reason, now_ms())
        .await?;
    Ok(Json(json!({ "user": {
        "id": user.id,
        "display_name": user.display_name,
        "role": user.role,
        "status": user.status,
    }})))
}

/// POST /api/v1/moderation/users/{id}/ban
pub async fn ban(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    set_status(&state, &me, id, UserStatus::Banned, String::new()).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuspendBody {
    days: i64,
}

/// POST /api/v1/moderation/users/{id}/suspend
pub async fn suspend(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<SuspendBody>,
) -> ApiResult<impl IntoResponse> {
    moderator(&me)?;
    if !(1..=3650).contains(&body.days) {
        return Err(ApiError::invalid("days", "days is between 1 and 3650"));
    }
    let until = now_ms() + body.days * 86_400_000;
    let reason = format!("{} days", body.days);
    set_status(&state, &me, id, UserStatus::Suspended { until }, reason).await
}

/// POST /api/v1/moderation/users/{id}/premoderate
pub async fn premoderate(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    set_status(&state, &me, id, UserStatus::PreModerated, String::new()).await
}

/// POST /api/v1/moderation/users/{id}/lift
pub async fn lift(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    set_status(&state, &me, id, UserStatus::Active, String::new()).await
}

#[derive(Deserialize)]
pub struct AuditParams {
    target_kind: Option<String>,
    target_id: Option<i64>,
    limit: Option<i64>,
}

/// GET /api/v1/moderation/audit
pub async fn audit(
    State(state): State<AppState>,
    me: SignedIn,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<impl IntoResponse> {
    moderator(&me)?;
    let limit = service::check_limit(&state, p.limit)?;
    let entries = state
        .store
        .audit_log(me.user.site_id, p.target_kind, p.target_id, limit)
        .await?;
    Ok(Json(json!({ "entries": entries })))
}

/// PUT /api/v1/sites/{name}/policy (admin): replaces the site's moderation policy.
pub async fn put_policy(
    State(state): State<AppState>,
    me: SignedIn,
    Path(name): Path<String>,
    ApiJson(policy): ApiJson<Policy>,
) -> ApiResult<impl IntoResponse> {
    me.require_role(Role::Admin)?;
    let site = state
        .store
        .site_by_name(&name)
        .await?
        .filter(|s| s.id == me.user.site_id)
        .ok_or_else(|| ApiError::not_found("site"))?;
    if let Err(e) = Rules::compile(policy.clone()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("a word list has mistakes: {e}"),
        ));
    }
    let mut value = service::site_settings(&state, site.id).await?;
    value["policy"] =
        serde_json::to_value(&policy).map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .store
        .set_site_settings(site.id, value.to_string())
        .await?;
    Ok(Json(json!({ "policy": policy })))
}

/// PUT /api/v1/stories/{id}/policy (moderator): the fields given replace the site's for
/// this story; `{}` removes the override. Answers with the policy now in force there.
pub async fn put_story_policy(
    State(state): State<AppState>,
    me: SignedIn,
    Path(story_id): Path<i64>,
    ApiJson(overrides): ApiJson<serde_json::Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    moderator(&me)?;
    let story = state.story(story_id).await?;
    if story.site_id != me.user.site_id {
        return Err(ApiError::not_found("story"));
    }
    let mut value = service::site_settings(&state, story.site_id).await?;
    if !value["stories"].is_object() {
        value["stories"] = json!({});
    }
    let key = story_id.to_string();
    if overrides.is_empty() {
        if let Some(m) = value["stories"].as_object_mut() {
            m.remove(&key);
        }
    } else {
        value["stories"][&key] = Value::Object(overrides);
    }
    let policy = service::merged_policy(&value, Some(story_id))
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e))?;
    if let Err(e) = Rules::compile(policy.clone()) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("a word list has mistakes: {e}"),
        ));
    }
    state
        .store
        .set_site_settings(story.site_id, value.to_string())
        .await?;
    Ok(Json(json!({ "policy": policy })))
}
