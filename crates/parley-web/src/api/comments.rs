//! A story's conversation: pages of comments with nested replies, and the writes on
//! single comments (post, reply, edit, delete, react, report, feature).

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use parley_core::cursor::ReplyCursor;
use parley_core::thread::{CommentStatus, nest, path_ids};
use parley_core::{CommentBody, CommentSort, Cursor, Role, markdown};
use parley_store::{Comment, CommentEdit, NewComment, NewReport};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::{MaybeSignedIn, SignedIn};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::view::{CommentView, ThreadView};
use crate::{AppState, now_ms};

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

fn bad_cursor(e: parley_core::CursorError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_cursor", e.to_string()).with_field("cursor")
}

/// GET /api/v1/stories/{id}/comments: top-level comments with their first replies.
pub async fn page(
    State(state): State<AppState>,
    Path(story_id): Path<i64>,
    ApiQuery(q): ApiQuery<PageQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let sort = match q.sort.as_deref() {
        None | Some("") => CommentSort::default(),
        Some(s) => CommentSort::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "sort",
                "sort is one of newest, oldest, most_reactions, most_replies",
            )
        })?,
    };
    let cfg = &state.config;
    let limit = q.limit.unwrap_or(cfg.page_size);
    if !(1..=cfg.max_page_size).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("limit is between 1 and {}", cfg.max_page_size),
        ));
    }
    let cursor_text = q.cursor.unwrap_or_default();
    let key = format!("{}|{limit}|{cursor_text}", sort.as_str());
    if let Some(hit) = state.cache.get(story_id, &key) {
        return Ok(cached_response(hit.body, &hit.etag, &headers));
    }
    let generation = state.cache.generation(story_id);
    let after = if cursor_text.is_empty() {
        None
    } else {
        Some(Cursor::decode(&cursor_text, sort).map_err(bad_cursor)?)
    };
    let story = state.story(story_id).await?;
    let mut top = state
        .store
        .top_level_page(story_id, sort, after, limit + 1)
        .await?;
    let has_more = top.len() as i64 > limit;
    top.truncate(limit as usize);
    let next_cursor = has_more
        .then(|| top.last().map(|c| cursor_after(sort, c).encode()))
        .flatten();
    let comments = with_replies(&state, top).await?;
    let view = PageView {
        story_id,
        version: story.version,
        comment_count: story.comment_count,
        is_closed: story.fields.is_closed,
        sort,
        comments,
        next_cursor,
    };
    let body =
        Bytes::from(serde_json::to_vec(&view).map_err(|e| ApiError::Internal(e.to_string()))?);
    let etag = format!("\"c{story_id}-{}-{:x}\"", story.version, fxhash(&key));
    state
        .cache
        .put(story_id, generation, key, body.clone(), etag.clone());
    Ok(cached_response(body, &etag, &headers))
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn cached_response(body: Bytes, etag: &str, headers: &HeaderMap) -> Response {
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
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn cursor_after(sort: CommentSort, c: &Comment) -> Cursor {
    let key = match sort {
        CommentSort::Newest | CommentSort::Oldest => c.id,
        CommentSort::MostReactions => c.reaction_count,
        CommentSort::MostReplies => c.reply_count,
    };
    Cursor {
        sort,
        key,
        id: c.id,
    }
}

/// Nests the first replies under each of `roots`, with a "more replies" cursor where
/// some were left out.
async fn with_replies(state: &AppState, roots: Vec<Comment>) -> ApiResult<Vec<ThreadView>> {
    let cfg = &state.config;
    let root_ids: Vec<i64> = roots
        .iter()
        .filter(|c| c.depth == 0)
        .map(|c| c.id)
        .collect();
    let replies = state
        .store
        .replies_for_roots(&root_ids, cfg.replies_per_comment + 1, cfg.max_depth)
        .await?;
    let mut by_root: HashMap<i64, Vec<Comment>> = HashMap::new();
    for r in replies {
        by_root.entry(r.root_id).or_default().push(r);
    }
    Ok(roots
        .into_iter()
        .map(|root| {
            let mut replies = by_root.remove(&root.id).unwrap_or_default();
            let more = replies.len() as i64 > cfg.replies_per_comment;
            replies.truncate(cfg.replies_per_comment as usize);
            let more_replies = if more {
                replies.last().map(|last| {
                    ReplyCursor {
                        root_id: root.id,
                        path: last.path.clone(),
                    }
                    .encode()
                })
            } else {
                None
            };
            ThreadView {
                comment: CommentView::from(&root),
                replies: nest(replies).iter().map(ThreadView::from_node).collect(),
                more_replies,
            }
        })
        .collect())
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
    let cfg = &state.config;
    let limit = q.limit.unwrap_or(cfg.page_size);
    if !(1..=cfg.max_page_size).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("limit is between 1 and {}", cfg.max_page_size),
        ));
    }
    let comment = visible_comment(&state, id).await?;
    let after = match q.cursor.as_deref() {
        None | Some("") => comment.path.clone(),
        Some(raw) => {
            let c = ReplyCursor::decode(raw).map_err(bad_cursor)?;
            if c.root_id != comment.root_id || !c.path.starts_with(&comment.path) {
                return Err(bad_cursor(parley_core::CursorError::Malformed));
            }
            c.path
        }
    };
    let mut found = state
        .store
        .replies_after(comment.root_id, &after, limit + 1, cfg.max_depth)
        .await?;
    found.retain(|r| r.path.starts_with(&comment.path));
    let has_more = found.len() as i64 > limit;
    found.truncate(limit as usize);
    let next_cursor = has_more
        .then(|| {
            found.last().map(|last| {
                ReplyCursor {
                    root_id: comment.root_id,
                    path: last.path.clone(),
                }
                .encode()
            })
        })
        .flatten();
    let replies: Vec<CommentView> = found.iter().map(CommentView::from).collect();
    Ok(Json(
        json!({ "replies": replies, "next_cursor": next_cursor }),
    ))
}

async fn visible_comment(state: &AppState, id: i64) -> ApiResult<Comment> {
    state
        .store
        .comment_by_id(id)
        .await?
        .filter(|c| c.status.is_visible())
        .ok_or_else(|| ApiError::not_found("comment"))
}

/// GET /api/v1/comments/{id}: one comment and its ancestors, root first.
pub async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let comment = visible_comment(&state, id).await?;
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
    let featured = state.store.featured_comments(story_id, 50).await?;
    let threads = with_replies(&state, featured).await?;
    Ok(Json(json!({ "comments": threads })))
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
    Path(story_id): Path<i64>,
    ApiJson(input): ApiJson<NewCommentBody>,
) -> ApiResult<impl IntoResponse> {
    let body = CommentBody::parse(&input.body, state.config.max_comment_chars)?;
    let story = state.story(story_id).await?;
    if story.site_id != me.user.site_id {
        return Err(ApiError::forbidden("your account belongs to another site"));
    }
    let comment = state
        .store
        .create_comment(NewComment {
            story_id,
            author_id: me.user.id,
            parent_id: input.parent_id,
            body_html: markdown::render_comment(body.as_str()),
            body_src: body.as_str().to_owned(),
            max_depth: state.config.max_depth,
            now: now_ms(),
        })
        .await?;
    state.cache.invalidate(story_id);
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
    let body = CommentBody::parse(&input.body, state.config.max_comment_chars)?;
    let window_ms = i64::try_from(state.config.edit_window.as_millis()).unwrap_or(i64::MAX);
    let comment = state
        .store
        .edit_comment(CommentEdit {
            comment_id: id,
            editor_id: me.user.id,
            body_html: markdown::render_comment(body.as_str()),
            body_src: body.as_str().to_owned(),
            window_ms,
            now: now_ms(),
        })
        .await?;
    state.cache.invalidate(comment.story_id);
    Ok(Json(json!({ "comment": CommentView::from(&comment) })))
}

/// DELETE /api/v1/comments/{id}: the author removes it; a tombstone keeps its place.
pub async fn delete(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let comment = state.store.delete_comment(id, me.user.id, now_ms()).await?;
    state.cache.invalidate(comment.story_id);
    Ok(Json(json!({ "comment": CommentView::from(&comment) })))
}

async fn story_of(state: &AppState, comment_id: i64) -> ApiResult<i64> {
    Ok(state
        .store
        .comment_by_id(comment_id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?
        .story_id)
}

/// POST /api/v1/comments/{id}/reactions
pub async fn react(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let story_id = story_of(&state, id).await?;
    let count = state.store.add_reaction(id, me.user.id, now_ms()).await?;
    state.cache.invalidate(story_id);
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
    let story_id = story_of(&state, id).await?;
    let count = state
        .store
        .remove_reaction(id, me.user.id, now_ms())
        .await?;
    state.cache.invalidate(story_id);
    Ok(Json(json!({ "reaction_count": count, "reacted": false })))
}

/// Why a reader reports a comment.
pub const REPORT_REASONS: [&str; 6] = [
    "spam",
    "abuse",
    "hate",
    "off_topic",
    "misinformation",
    "other",
];

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
    if !REPORT_REASONS.contains(&input.reason.as_str()) {
        return Err(ApiError::invalid(
            "reason",
            format!("reason is one of {}", REPORT_REASONS.join(", ")),
        ));
    }
    let note = input.note.unwrap_or_default().trim().to_owned();
    if note.chars().count() > 1000 {
        return Err(ApiError::invalid(
            "note",
            "a note has at most 1,000 characters",
        ));
    }
    state
        .store
        .add_report(NewReport {
            comment_id: id,
            user_id: me.user.id,
            reason: input.reason,
            note,
            now: now_ms(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "reported": true }))))
}

async fn set_featured(
    state: AppState,
    me: SignedIn,
    id: i64,
    featured: bool,
) -> ApiResult<Json<serde_json::Value>> {
    me.require_role(Role::Staff)?;
    let comment = state
        .store
        .comment_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    let story = state.story(comment.story_id).await?;
    if story.site_id != me.user.site_id {
        return Err(ApiError::forbidden("this comment belongs to another site"));
    }
    if comment.status != CommentStatus::Published {
        return Err(ApiError::not_found("comment"));
    }
    let comment = state
        .store
        .set_featured(id, featured, me.user.id, now_ms())
        .await?;
    state.cache.invalidate(comment.story_id);
    Ok(Json(json!({ "comment": CommentView::from(&comment) })))
}

/// PUT /api/v1/comments/{id}/featured (staff and up)
pub async fn feature(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    set_featured(state, me, id, true).await
}

/// DELETE /api/v1/comments/{id}/featured (staff and up)
pub async fn unfeature(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    set_featured(state, me, id, false).await
}
