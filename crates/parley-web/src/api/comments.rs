//! A story's conversation over JSON: pages of comments with nested replies, and the
//! writes on single comments. The rules live in `crate::service`.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use parley_core::CommentSort;
use parley_core::thread::path_ids;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::auth::{MaybeSignedIn, SignedIn};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, ClientIp};
use crate::service::{self, Thread};
use crate::view::{CommentView, ThreadView};

#[derive(Deserialize)]
pub struct PageQuery {
    sort: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize)]
struct PageView {
    story_id: i64,
    version: i64,
    comment_count: i64,
    is_closed: bool,
    sort: CommentSort,
    comments: Vec<ThreadView>,
    next_cursor: Option<String>,
}

fn thread_views(threads: &[Thread]) -> Vec<ThreadView> {
    threads.iter().map(ThreadView::from_thread).collect()
}

/// GET /api/v1/stories/{id}/comments: top-level comments with their first replies.
pub async fn page(
    State(state): State<AppState>,
    Path(story_id): Path<i64>,
    ApiQuery(q): ApiQuery<PageQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let sort = service::parse_sort(q.sort.as_deref())?;
    let limit = service::check_limit(&state, q.limit)?;
    let cursor = q.cursor.unwrap_or_default();
    let key = format!("json|{}|{limit}|{cursor}", sort.as_str());
    if let Some(hit) = state.cached_page(story_id, &key).await {
        return Ok(cached_response(
            hit.body,
            &hit.etag,
            &headers,
            "application/json",
        ));
    }
    let generation = state.cache.generation(story_id);
    let story = state.story(story_id).await?;
    let page = service::comment_page(&state, story, sort, Some(&cursor), limit).await?;
    let view = PageView {
        story_id,
        version: page.story.version,
        comment_count: page.story.comment_count,
        is_closed: page.story.fields.is_closed,
        sort,
        comments: thread_views(&page.threads),
        next_cursor: page.next_cursor,
    };
    let body =
        Bytes::from(serde_json::to_vec(&view).map_err(|e| ApiError::Internal(e.to_string()))?);
    let etag = format!("\"c{story_id}-{}-{:x}\"", page.story.version, fnv(&key));
    state.cache.put(
        story_id,
        generation,
        page.story.version,
        key,
        body.clone(),
        etag.clone(),
    );
    Ok(cached_response(body, &etag, &headers, "application/json"))
}

/// FNV-1a: a stable, cheap hash for ETags.
pub fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A public, cacheable response that honours If-None-Match.
pub fn cached_response(
    body: Bytes,
    etag: &str,
    headers: &HeaderMap,
    content_type: &'static str,
) -> Response {
    let etag_value = HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"x\""));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let common = [
        (header::ETAG, etag_value),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=2, stale-while-revalidate=30"),
        ),
    ];
    if matches {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let mut response = (common, Body::from(body)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[derive(Deserialize)]
pub struct RepliesQuery {
    cursor: Option<String>,
    limit: Option<i64>,
}

/// GET /api/v1/comments/{id}/replies: the replies under a comment, depth-first, flat
/// (each names its parent), continuing from a "more replies" cursor.
pub async fn replies(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<RepliesQuery>,
) -> ApiResult<impl IntoResponse> {
    let limit = service::check_limit(&state, q.limit)?;
    let comment = service::visible_comment(&state, id).await?;
    let (found, next_cursor) =
        service::replies_after(&state, &comment, q.cursor.as_deref(), limit).await?;
    let replies: Vec<CommentView> = found.iter().map(CommentView::from).collect();
    Ok(Json(
        json!({ "replies": replies, "next_cursor": next_cursor }),
    ))
}

/// GET /api/v1/comments/{id}: one comment and its ancestors, root first.
pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let comment = service::visible_comment(&state, id).await?;
    let mut ids = path_ids(&comment.path);
    ids.pop();
    let ancestors = state.store.comments_by_ids(&ids).await?;
    let ancestors: Vec<CommentView> = ancestors.iter().map(CommentView::from).collect();
    Ok(Json(
        json!({ "comment": CommentView::from(&comment), "ancestors": ancestors }),
    ))
}

/// GET /api/v1/stories/{id}/featured: the comments editors selected, with first replies.
pub async fn featured(
    State(state): State<AppState>,
    Path(story_id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    state.story(story_id).await?;
    let threads = service::featured(&state, story_id).await?;
    Ok(Json(json!({ "comments": thread_views(&threads) })))
}

#[derive(Deserialize)]
pub struct ViewerQuery {
    /// Comma-separated comment ids to check for the viewer's reactions.
    ids: Option<String>,
}

/// GET /api/v1/stories/{id}/viewer: the per-reader part of a story page, kept apart so
/// the public part stays cacheable: own pending comments, own reactions.
pub async fn viewer(
    State(state): State<AppState>,
    Path(story_id): Path<i64>,
    MaybeSignedIn(me): MaybeSignedIn,
    ApiQuery(q): ApiQuery<ViewerQuery>,
) -> ApiResult<Response> {
    let Some(me) = me else {
        return Ok(Json(json!({ "user": null, "reacted": [], "pending": [] })).into_response());
    };
    let ids: Vec<i64> = q
        .ids
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .take(500)
        .collect();
    let reacted = state.store.reacted_by(me.user.id, &ids).await?;
    let pending = state.store.pending_of_author(story_id, me.user.id).await?;
    let pending: Vec<CommentView> = pending.iter().map(CommentView::from).collect();
    let mut response = Json(json!({
        "user": crate::view::UserView::from(&me.user),
        "reacted": reacted,
        "pending": pending,
    }))
    .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCommentBody {
    body: String,
    parent_id: Option<i64>,
}

/// POST /api/v1/stories/{id}/comments
pub async fn create(
    State(state): State<AppState>,
    me: SignedIn,
    ClientIp(ip): ClientIp,
    Path(story_id): Path<i64>,
    ApiJson(input): ApiJson<NewCommentBody>,
) -> ApiResult<impl IntoResponse> {
    let comment =
        service::post_comment(&state, &me.user, story_id, &input.body, input.parent_id, ip).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "comment": CommentView::from(&comment) })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    body: String,
}

/// PATCH /api/v1/comments/{id}
pub async fn edit(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<EditBody>,
) -> ApiResult<impl IntoResponse> {
    let comment = service::edit_comment(&state, &me.user, id, &input.body).await?;
    Ok(Json(json!({ "comment": CommentView::from(&comment) })))
}

/// DELETE /api/v1/comments/{id}: the author removes it; a tombstone keeps its place.
pub async fn delete(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let comment = service::delete_comment(&state, &me.user, id).await?;
    Ok(Json(json!({ "comment": CommentView::from(&comment) })))
}

/// POST /api/v1/comments/{id}/reactions
pub async fn react(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let count = service::set_reaction(&state, &me.user, id, true).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "reaction_count": count, "reacted": true })),
    ))
}

/// DELETE /api/v1/comments/{id}/reactions
pub async fn unreact(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let count = service::set_reaction(&state, &me.user, id, false).await?;
    Ok(Json(json!({ "reaction_count": count, "reacted": false })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    reason: String,
    note: Option<String>,
}

/// POST /api/v1/comments/{id}/reports
pub async fn report(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ReportBody>,
) -> ApiResult<impl IntoResponse> {
    service::report(&state, &me.user, id, &input.reason, input.note.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "reported": true }))))
}

/// PUT /api/v1/comments/{id}/featured (staff and up)
pub async fn feature(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let comment = service::set_featured(&state, &me.user, id, true).await?;
    Ok(Json(json!({ "comment": CommentView::from(&comment) })))
}

/// DELETE /api/v1/comments/{id}/featured (staff and up)
pub async fn unfeature(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let comment = service::set_featured(&state, &me.user, id, false).await?;
    Ok(Json(json!({ "comment": CommentView::from(&comment) })))
}
