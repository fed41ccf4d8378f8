//! The moderators' JSON API: queues, decisions on comments, account standing, the
//! audit log, and (admins) the site's moderation policy. Moderator role and up, on the
//! moderator's own site only.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use parley_core::moderation::{Policy, Rules};
use parley_core::thread::CommentStatus;
use parley_core::{Role, UserStatus};
use parley_store::{
    AuditEntry, AuditLine, AuditQuery, AuthorRecord, Comment, CommentDecision, NewAudit,
    QueueQuery, ReportNote, Story, User,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::events::{EventKind, ModerationEvent, ModerationKind, StoryEvent};
use crate::extract::{ApiJson, ApiQuery};
use crate::service::{self, REPORT_REASONS};
use crate::view::{CommentView, timestamp};
use crate::{AppState, now_ms};

pub const QUEUES: [&str; 5] = ["pending", "reported", "rejected", "approved", "featured"];

/// Past moderation shown with each queue item's author.
const HISTORY_SHOWN: i64 = 8;

#[derive(Deserialize, Default, Clone)]
pub struct QueueParams {
    pub story: Option<i64>,
    pub q: Option<String>,
    pub limit: Option<i64>,
}

pub(crate) fn moderator(me: &SignedIn) -> ApiResult<()> {
    me.require_role(Role::Moderator)
}

/// A queue item with what a moderator needs to judge it.
pub struct QueueItem {
    pub comment: Comment,
    pub story: Option<Story>,
    /// The comment it replies to, if any.
    pub parent: Option<Comment>,
    pub author: Option<User>,
    pub record: AuthorRecord,
    /// The author's past moderation (on the account and on their comments), newest first.
    pub history: Vec<AuditEntry>,
    /// Why the pipeline held the latest revision (one reason a line).
    pub reasons: String,
    pub reports: Vec<ReportNote>,
}

impl QueueItem {
    pub fn open_reports(&self) -> usize {
        self.reports.iter().filter(|r| r.open).count()
    }

    pub fn to_json(&self) -> Value {
        let story = self.story.as_ref().map(|s| {
            json!({
                "id": s.id,
                "headline": s.fields.headline,
                "slug": s.fields.slug,
                "url": s.fields.url,
                "is_closed": s.fields.is_closed,
                "closed_message": s.fields.closed_message,
            })
        });
        let parent = self.parent.as_ref().map(|p| {
            json!({
                "id": p.id,
                "author_name": p.author_name,
                "status": p.status,
                "excerpt": excerpt(&p.body_src, 200),
            })
        });
        let author = self.author.as_ref().map(|u| {
            let (status, until) = u.status.to_parts();
            json!({
                "id": u.id,
                "display_name": u.display_name,
                "role": u.role,
                "status": status,
                "suspended_until": until.map(timestamp),
                "published": self.record.published,
                "pending": self.record.pending,
                "rejected": self.record.rejected,
                "history": self.history,
            })
        });
        json!({
            "comment": CommentView::from(&self.comment),
            "reasons": self.reasons,
            "story": story,
            "parent": parent,
            "author": author,
            "open_reports": self.open_reports(),
            "reports": self.reports.iter().map(|r| json!({
                "reporter_id": r.reporter_id,
                "reporter_name": r.reporter_name,
                "reason": r.reason,
                "note": r.note,
                "created_at": timestamp(r.created_at),
                "open": r.open,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The first `max` characters of `text` on one line, with an ellipsis when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max).collect();
    cut.push('…');
    cut
}

/// The open-report threshold of the site's policy for the Reported queue.
async fn report_threshold(state: &AppState, site_id: i64) -> ApiResult<i64> {
    let settings = service::site_settings(state, site_id).await?;
    Ok(service::merged_policy(&settings, None)
        .map(|p| i64::from(p.report_threshold))
        .unwrap_or(1))
}

/// One queue of the moderator's site, newest first, each item with its context.
pub async fn load_queue(
    state: &AppState,
    site_id: i64,
    queue: &str,
    params: &QueueParams,
) -> ApiResult<Vec<QueueItem>> {
    if !QUEUES.contains(&queue) {
        return Err(ApiError::not_found("queue"));
    }
    let limit = service::check_limit(state, params.limit)?;
    let comments = state
        .store
        .moderation_queue(QueueQuery {
            site_id,
            queue: queue.to_owned(),
            story_id: params.story,
            text: params.q.clone(),
            min_reports: report_threshold(state, site_id).await?,
            limit,
        })
        .await?;
    with_context(state, comments).await
}

/// The comments with their story, parent, author's record and history, hold reasons
/// and reports.
pub async fn with_context(state: &AppState, comments: Vec<Comment>) -> ApiResult<Vec<QueueItem>> {
    let ids: Vec<i64> = comments.iter().map(|c| c.id).collect();
    let story_ids: BTreeSet<i64> = comments.iter().map(|c| c.story_id).collect();
    let parent_ids: Vec<i64> = comments
        .iter()
        .filter_map(|c| c.parent_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let author_ids: Vec<i64> = comments
        .iter()
        .filter_map(|c| c.author_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut stories = HashMap::new();
    for id in story_ids {
        if let Some(s) = state.store.story_by_id(id).await? {
            stories.insert(id, s);
        }
    }
    let parents: HashMap<i64, Comment> = state
        .store
        .comments_by_ids(&parent_ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut authors = HashMap::new();
    let mut histories = HashMap::new();
    for &id in &author_ids {
        if let Some(u) = state.store.user_by_id(id).await? {
            authors.insert(id, u);
        }
        histories.insert(id, state.store.author_audit(id, HISTORY_SHOWN).await?);
    }
    let records: HashMap<i64, AuthorRecord> = state
        .store
        .author_records(&author_ids)
        .await?
        .into_iter()
        .map(|r| (r.author_id, r))
        .collect();
    let mut reports: HashMap<i64, Vec<ReportNote>> = HashMap::new();
    for r in state.store.reports_for(&ids).await? {
        reports.entry(r.comment_id).or_default().push(r);
    }
    let mut items = Vec::with_capacity(comments.len());
    for c in comments {
        let reasons = state
            .store
            .revisions(c.id)
            .await?
            .into_iter()
            .max_by_key(|r| r.id)
            .map(|r| r.reasons)
            .unwrap_or_default();
        let author = c.author_id.and_then(|a| authors.get(&a).cloned());
        items.push(QueueItem {
            story: stories.get(&c.story_id).cloned(),
            parent: c.parent_id.and_then(|p| parents.get(&p).cloned()),
            record: c
                .author_id
                .and_then(|a| records.get(&a).cloned())
                .unwrap_or_default(),
            history: c
                .author_id
                .and_then(|a| histories.get(&a).cloned())
                .unwrap_or_default(),
            reports: reports.remove(&c.id).unwrap_or_default(),
            author,
            reasons,
            comment: c,
        });
    }
    Ok(items)
}

/// The comment as an item of `queue` narrowed by `params`, or None when it is not in
/// that queue (any more): how a live queue page learns what an event changed.
pub async fn queue_item(
    state: &AppState,
    site_id: i64,
    queue: &str,
    params: &QueueParams,
    comment_id: i64,
) -> ApiResult<Option<QueueItem>> {
    if !QUEUES.contains(&queue) {
        return Err(ApiError::not_found("queue"));
    }
    let Some(c) = state.store.comment_by_id(comment_id).await? else {
        return Ok(None);
    };
    if params.story.is_some_and(|s| s != c.story_id) {
        return Ok(None);
    }
    if let Some(q) = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let q = q.to_lowercase();
        let name = c.author_name.as_deref().unwrap_or_default().to_lowercase();
        if !c.body_src.to_lowercase().contains(&q) && !name.contains(&q) {
            return Ok(None);
        }
    }
    let listed = match queue {
        "pending" => c.status == CommentStatus::Pending,
        "rejected" => c.status == CommentStatus::Rejected,
        "approved" | "reported" => c.status == CommentStatus::Published,
        "featured" => c.status == CommentStatus::Published && c.featured,
        _ => false,
    };
    if !listed {
        return Ok(None);
    }
    let mut items = with_context(state, vec![c]).await?;
    let Some(item) = items.pop() else {
        return Ok(None);
    };
    if item.story.as_ref().is_none_or(|s| s.site_id != site_id) {
        return Ok(None);
    }
    if queue == "reported"
        && (item.open_reports() as i64) < report_threshold(state, site_id).await?.max(1)
    {
        return Ok(None);
    }
    Ok(Some(item))
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

/// GET /api/v1/moderation/queues/{queue}: newest first, each with its context (story,
/// parent, author's record and history) and why it was held or reported.
pub async fn queue(
    State(state): State<AppState>,
    me: SignedIn,
    Path(queue): Path<String>,
    ApiQuery(p): ApiQuery<QueueParams>,
) -> ApiResult<impl IntoResponse> {
    moderator(&me)?;
    let items = load_queue(&state, me.user.site_id, &queue, &p).await?;
    let items: Vec<Value> = items.iter().map(QueueItem::to_json).collect();
    Ok(Json(json!({ "queue": queue, "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    reason_code: String,
    note: Option<String>,
}

/// The audit reason of a reject: a known reason code, and the note to the author.
pub fn reject_reason(reason_code: &str, note: Option<&str>) -> ApiResult<String> {
    if !REPORT_REASONS.contains(&reason_code) {
        return Err(ApiError::invalid(
            "reason_code",
            format!("reason_code is one of {}", REPORT_REASONS.join(", ")),
        ));
    }
    let note = note.unwrap_or_default().trim();
    if note.chars().count() > 1000 {
        return Err(ApiError::invalid(
            "note",
            "a note has at most 1,000 characters",
        ));
    }
    Ok(if note.is_empty() {
        reason_code.to_owned()
    } else {
        format!("{reason_code}: {note}")
    })
}

/// Approves or rejects a comment of the moderator's site.
pub async fn decide(
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
    let kind = if approve {
        ModerationKind::Approved
    } else {
        ModerationKind::Rejected
    };
    service::announce_moderation(state, me.user.site_id, kind, &comment);
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
    let reason = reject_reason(&body.reason_code, body.note.as_deref())?;
    decide(&state, &me, id, false, reason).await
}

/// Changes the standing of an account with a lower role on the moderator's site.
pub async fn set_status(
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
    suspend_for(&state, &me, id, body.days).await
}

/// Suspends an account for `days` days.
pub async fn suspend_for(
    state: &AppState,
    me: &SignedIn,
    id: i64,
    days: i64,
) -> ApiResult<Json<Value>> {
    moderator(me)?;
    if !(1..=3650).contains(&days) {
        return Err(ApiError::invalid("days", "days is between 1 and 3650"));
    }
    let until = now_ms() + days * 86_400_000;
    let reason = format!("{days} days");
    set_status(state, me, id, UserStatus::Suspended { until }, reason).await
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

#[derive(Deserialize, Default)]
pub struct AuditParams {
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<i64>,
    /// A person's id or display name, or an automatic rule's name.
    pub actor: Option<String>,
    /// Entries older than this entry id.
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

/// The moderator's site's audit log narrowed by `p`, newest first.
pub async fn search_audit(
    state: &AppState,
    site_id: i64,
    p: &AuditParams,
) -> ApiResult<Vec<AuditLine>> {
    let limit = service::check_limit(state, p.limit)?;
    let blank = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Ok(state
        .store
        .search_audit(AuditQuery {
            site_id,
            action: blank(&p.action),
            target_kind: blank(&p.target_kind),
            target_id: p.target_id,
            actor: blank(&p.actor),
            before: p.before,
            limit,
        })
        .await?)
}

/// GET /api/v1/moderation/audit: by action, target kind and id, and actor.
pub async fn audit(
    State(state): State<AppState>,
    me: SignedIn,
    ApiQuery(p): ApiQuery<AuditParams>,
) -> ApiResult<impl IntoResponse> {
    moderator(&me)?;
    let entries = search_audit(&state, me.user.site_id, &p).await?;
    Ok(Json(json!({ "entries": entries })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    message: Option<String>,
}

/// Closes (with an optional message for readers) or reopens a story of the moderator's
/// site, and audits it.
pub async fn set_story_closed(
    state: &AppState,
    me: &SignedIn,
    story_id: i64,
    closed: bool,
    message: Option<&str>,
) -> ApiResult<Story> {
    moderator(me)?;
    let story = state.story(story_id).await?;
    if story.site_id != me.user.site_id {
        return Err(ApiError::not_found("story"));
    }
    let message = message.map(str::trim).filter(|m| !m.is_empty());
    if message.is_some_and(|m| m.chars().count() > 500) {
        return Err(ApiError::invalid(
            "message",
            "a closed message has at most 500 characters",
        ));
    }
    let story_was_closed = story.fields.is_closed;
    let mut fields = story.fields.clone();
    fields.is_closed = closed;
    fields.closed_message = if closed {
        message.map(str::to_owned)
    } else {
        None
    };
    let now = now_ms();
    let story = state
        .store
        .update_story(story.id, fields, story.body_html.clone(), now)
        .await?;
    state
        .store
        .record_audit(NewAudit {
            at: now,
            site_id: story.site_id,
            actor_id: Some(me.user.id),
            actor_rule: None,
            action: if closed { "close" } else { "reopen" }.into(),
            target_kind: "story".into(),
            target_id: story.id,
            reason: message.unwrap_or_default().to_owned(),
        })
        .await?;
    if closed && !story_was_closed {
        crate::webhooks::story_closed(state, &story);
    }
    state.cache.invalidate(story.id);
    state.events.publish(StoryEvent {
        id: 0,
        kind: EventKind::StoryChanged,
        story_id: story.id,
        comment_id: None,
        parent_id: None,
        author_id: None,
        reaction_count: None,
    });
    Ok(story)
}

fn story_json(story: &Story) -> Json<Value> {
    Json(json!({ "story": {
        "id": story.id,
        "headline": story.fields.headline,
        "is_closed": story.fields.is_closed,
        "closed_message": story.fields.closed_message,
    }}))
}

/// POST /api/v1/moderation/stories/{id}/close
pub async fn close_story(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CloseBody>,
) -> ApiResult<impl IntoResponse> {
    let story = set_story_closed(&state, &me, id, true, body.message.as_deref()).await?;
    Ok(story_json(&story))
}

/// POST /api/v1/moderation/stories/{id}/reopen
pub async fn reopen_story(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let story = set_story_closed(&state, &me, id, false, None).await?;
    Ok(story_json(&story))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkBody {
    ids: Vec<i64>,
    action: String,
    reason_code: Option<String>,
    note: Option<String>,
}

/// At most this many comments in one bulk action.
pub const MAX_BULK: usize = 100;

/// Approves or rejects each comment in turn; answers with what happened to each.
pub async fn bulk_decide(
    state: &AppState,
    me: &SignedIn,
    ids: &[i64],
    approve: bool,
    reason: String,
) -> ApiResult<Vec<(i64, Result<(), ApiError>)>> {
    moderator(me)?;
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(ApiError::invalid(
            "ids",
            format!("choose between 1 and {MAX_BULK} comments"),
        ));
    }
    let mut done = Vec::with_capacity(ids.len());
    for &id in ids {
        let outcome = decide(state, me, id, approve, reason.clone())
            .await
            .map(|_| ());
        if let Err(ApiError::Internal(_)) = outcome {
            return outcome.map(|_| Vec::new());
        }
        done.push((id, outcome));
    }
    Ok(done)
}

/// POST /api/v1/moderation/bulk: approve or reject several comments.
pub async fn bulk(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(body): ApiJson<BulkBody>,
) -> ApiResult<impl IntoResponse> {
    moderator(&me)?;
    let approve = match body.action.as_str() {
        "approve" => true,
        "reject" => false,
        _ => {
            return Err(ApiError::invalid("action", "action is approve or reject"));
        }
    };
    let reason = if approve {
        String::new()
    } else {
        reject_reason(
            body.reason_code.as_deref().unwrap_or_default(),
            body.note.as_deref(),
        )?
    };
    let done = bulk_decide(&state, &me, &body.ids, approve, reason).await?;
    let results: Vec<Value> = done
        .into_iter()
        .map(|(id, outcome)| match outcome {
            Ok(()) => json!({ "id": id, "ok": true }),
            Err(e) => {
                let (_, _, message) = crate::pages::describe(&e);
                json!({ "id": id, "ok": false, "message": message })
            }
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}

fn moderation_sse(e: &ModerationEvent) -> Event {
    Event::default()
        .id(e.id.to_string())
        .event(e.kind.as_str())
        .data(serde_json::to_string(e).unwrap_or_default())
}

/// GET /api/v1/moderation/events: the site's moderation events as Server-Sent Events
/// (a comment held, reported, decided, featured...), resumable with Last-Event-ID.
pub async fn events(
    State(state): State<AppState>,
    me: SignedIn,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    moderator(&me)?;
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let sub = state.events.subscribe_moderation(me.user.site_id, last);
    let reset = || Event::default().event("reset").data("{}");
    let first: Vec<Event> = if sub.gap {
        vec![reset()]
    } else {
        sub.missed.iter().map(|e| moderation_sse(e)).collect()
    };
    // Ids follow delivery order only per node; skip what was replayed by id.
    let replayed: std::collections::HashSet<u64> = sub.missed.iter().map(|e| e.id).collect();
    let live = BroadcastStream::new(sub.live).filter_map(move |item| {
        std::future::ready(match item {
            Ok(e) if replayed.contains(&e.id) => None,
            Ok(e) => Some(moderation_sse(&e)),
            Err(BroadcastStreamRecvError::Lagged(_)) => {
                Some(Event::default().event("reset").data("{}"))
            }
        })
    });
    let open = state.metrics.sse_stream();
    let stream = futures::stream::iter(first)
        .chain(live)
        .take_until(state.shutting_down())
        .map(move |event| {
            // Counted as open until the moderator goes and the stream is dropped.
            let _open = &open;
            Ok(event)
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(20))))
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
