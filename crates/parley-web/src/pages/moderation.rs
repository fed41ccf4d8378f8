//! The moderators' pages: the queues (Pending, Reported, Rejected, Approved, Featured)
//! with each comment in context, every moderation action as a plain form
//! (POST-redirect-GET), bulk decisions, and the audit log. Moderator role and up; the
//! actions are the JSON API's (`crate::api::moderation`), so the rules are the same.
//! `assets/moderation.js` adds keyboard shortcuts and keeps the queue live.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use parley_core::Role;
use parley_core::UserStatus;
use parley_core::thread::CommentStatus;
use serde::Deserialize;

use super::actions::{reason_label, site_name};
use super::{
    Chrome, MessagePage, PageError, PageForm, PagePath, PageQuery, PageResult, Viewer, describe,
    enc, long_date, long_date_time, render, safe_next, see_other,
};
use crate::AppState;
use crate::api::moderation::{
    self as api, AuditParams, QUEUES, QueueItem, QueueParams, excerpt, reject_reason,
};
use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::service::{self, REPORT_REASONS};

fn queue_label(queue: &str) -> &'static str {
    match queue {
        "pending" => "Pending",
        "reported" => "Reported",
        "rejected" => "Rejected",
        "approved" => "Approved",
        "featured" => "Featured",
        _ => "Queue",
    }
}

/// The signed-in moderator, a redirect to sign in, or a 403 page for everyone else.
fn require_moderator<'a>(viewer: &'a Viewer, here: &str) -> PageResult<&'a SignedIn> {
    let me = viewer.require(here)?;
    me.require_role(Role::Moderator)?;
    Ok(me)
}

/// `/moderate/{queue}` with the filters as a query string.
fn queue_href(queue: &str, params: &QueueParams) -> String {
    let mut parts = Vec::new();
    if let Some(s) = params.story {
        parts.push(format!("story={s}"));
    }
    if let Some(q) = params.q.as_deref().filter(|q| !q.trim().is_empty()) {
        parts.push(format!("q={}", enc(q)));
    }
    if let Some(n) = params.limit {
        parts.push(format!("limit={n}"));
    }
    if parts.is_empty() {
        format!("/moderate/{queue}")
    } else {
        format!("/moderate/{queue}?{}", parts.join("&"))
    }
}

/// The status words of an account.
fn standing(status: UserStatus) -> String {
    match status {
        UserStatus::Active => "active".into(),
        UserStatus::Banned => "banned".into(),
        UserStatus::PreModerated => "pre-moderated".into(),
        UserStatus::Suspended { until } => format!("suspended until {}", long_date(until)),
    }
}

pub struct ReportLine {
    pub reporter: String,
    pub reason: &'static str,
    pub note: String,
    pub open: bool,
}

pub struct HistoryLine {
    pub when: String,
    pub action: String,
    pub target: String,
    pub reason: String,
}

/// One queue item, ready for the template.
pub struct ItemView {
    pub id: i64,
    pub status: &'static str,
    pub featured: bool,
    pub body_html: String,
    pub posted: String,
    pub story_headline: String,
    pub story_href: String,
    pub story_filter_href: String,
    pub story_closed: bool,
    pub parent: Option<(String, String)>,
    pub author_name: String,
    /// The newsroom's badges for the author (single sign-on), as readers see them.
    pub author_badges: Vec<String>,
    pub author_id: Option<i64>,
    pub author_standing: String,
    /// Whether the moderator may change the author's standing (a lower role).
    pub can_act_on_author: bool,
    pub author_active: bool,
    pub published: i64,
    pub pending: i64,
    pub rejected: i64,
    pub history: Vec<HistoryLine>,
    pub reasons: Vec<String>,
    pub reports: Vec<ReportLine>,
    pub open_reports: usize,
    pub can_approve: bool,
    pub can_reject: bool,
    pub can_feature: bool,
}

fn item_view(item: &QueueItem, me: &SignedIn, queue: &str, params: &QueueParams) -> ItemView {
    let c = &item.comment;
    let (story_headline, story_href, story_closed) = match &item.story {
        Some(s) => (
            s.fields.headline.clone(),
            format!("/stories/{}#c{}", s.fields.slug, c.id),
            s.fields.is_closed,
        ),
        None => (String::new(), "/".to_owned(), false),
    };
    let filter = QueueParams {
        story: Some(c.story_id),
        q: params.q.clone(),
        limit: None,
    };
    let author = item.author.as_ref();
    let history = item
        .history
        .iter()
        .map(|e| HistoryLine {
            when: long_date_time(e.at),
            action: e.action.clone(),
            target: if e.target_kind == "comment" {
                format!("comment {}", e.target_id)
            } else {
                "account".to_owned()
            },
            reason: e.reason.clone(),
        })
        .collect();
    ItemView {
        id: c.id,
        status: c.status.as_str(),
        featured: c.featured,
        body_html: c.body_html.clone(),
        posted: long_date_time(c.created_at),
        story_headline,
        story_href,
        story_filter_href: queue_href(queue, &filter),
        story_closed,
        parent: item.parent.as_ref().map(|p| {
            (
                p.author_name
                    .clone()
                    .unwrap_or_else(|| "a deleted comment".into()),
                excerpt(&p.body_src, 160),
            )
        }),
        author_name: c
            .author_name
            .clone()
            .unwrap_or_else(|| "(deleted account)".into()),
        author_badges: c.author_badges.clone(),
        author_id: c.author_id,
        author_standing: author.map(|u| standing(u.status)).unwrap_or_default(),
        can_act_on_author: author.is_some_and(|u| u.role < me.user.role),
        author_active: author.is_none_or(|u| u.status == UserStatus::Active),
        published: item.record.published,
        pending: item.record.pending,
        rejected: item.record.rejected,
        history,
        reasons: item
            .reasons
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect(),
        reports: item
            .reports
            .iter()
            .map(|r| ReportLine {
                reporter: r.reporter_name.clone().unwrap_or_default(),
                reason: reason_label(&r.reason),
                note: r.note.clone(),
                open: r.open,
            })
            .collect(),
        open_reports: item.open_reports(),
        can_approve: c.status != CommentStatus::Published || item.open_reports() > 0,
        can_reject: c.status != CommentStatus::Rejected,
        can_feature: c.status == CommentStatus::Published,
    }
}

/// (value, label) of the reject reasons.
fn reject_reasons() -> Vec<(&'static str, &'static str)> {
    REPORT_REASONS
        .iter()
        .map(|&r| (r, reason_label(r)))
        .collect()
}

pub struct Tab {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "moderation.html", whitespace = "minimize")]
struct QueuePage<'a> {
    chrome: Chrome<'a>,
    queue: &'a str,
    queue_label: &'static str,
    tabs: Vec<Tab>,
    /// (id, headline, selected)
    stories: Vec<(i64, String, bool)>,
    story_param: String,
    q: &'a str,
    /// The story the queue is narrowed to: (id, headline, closed, closed message).
    story: Option<(i64, String, bool, String)>,
    notice: Option<String>,
    items: Vec<ItemView>,
    /// Shows more of the queue, when it was cut off.
    more: Option<String>,
    back: String,
    reasons: Vec<(&'static str, &'static str)>,
    css: String,
    js: String,
}

#[derive(Template)]
#[template(path = "moderation_item.html", whitespace = "minimize")]
struct ItemFragment<'a> {
    item: &'a ItemView,
    back: &'a str,
    reasons: &'a [(&'static str, &'static str)],
}

#[derive(Deserialize, Default)]
pub struct QueueQueryParams {
    story: Option<String>,
    q: Option<String>,
    notice: Option<String>,
    n: Option<usize>,
    limit: Option<String>,
}

impl QueueQueryParams {
    /// The filters; a limit outside 1..=`max` is brought into it.
    fn params(&self, max: i64) -> QueueParams {
        QueueParams {
            story: self.story.as_deref().and_then(|s| s.trim().parse().ok()),
            q: self.q.clone().filter(|q| !q.trim().is_empty()),
            limit: self
                .limit
                .as_deref()
                .and_then(|l| l.trim().parse::<i64>().ok())
                .map(|l| l.clamp(1, max)),
        }
    }
}

fn notice_text(code: &str, n: usize) -> Option<String> {
    Some(match code {
        "approved" => "The comment was approved.".into(),
        "rejected" => "The comment was rejected.".into(),
        "featured" => "The comment is now among the selected comments.".into(),
        "unfeatured" => "The comment is no longer selected.".into(),
        "banned" => "The account was banned.".into(),
        "suspended" => "The account was suspended.".into(),
        "premoderated" => "The account's comments will be held for moderation.".into(),
        "lifted" => "The account's restrictions were lifted.".into(),
        "closed" => "The story is closed for comments.".into(),
        "reopened" => "The story is open for comments again.".into(),
        "bulk" => format!(
            "{n} comment{} done.",
            if n == 1 { " was" } else { "s were" }
        ),
        _ => return None,
    })
}

/// GET /moderate: the Pending queue.
pub async fn front(
    state: State<AppState>,
    viewer: Viewer,
    query: PageQuery<QueueQueryParams>,
) -> PageResult<Response> {
    queue_page(state, PagePath("pending".to_owned()), viewer, query).await
}

/// GET /moderate/{queue}
pub async fn queue_page(
    State(state): State<AppState>,
    PagePath(queue): PagePath<String>,
    viewer: Viewer,
    PageQuery(query): PageQuery<QueueQueryParams>,
) -> PageResult<Response> {
    if !QUEUES.contains(&queue.as_str()) {
        return Err(ApiError::not_found("queue").into());
    }
    let params = query.params(state.config.max_page_size);
    let here = queue_href(&queue, &params);
    let me = require_moderator(&viewer, &here)?;
    let site_id = me.user.site_id;
    let items = api::load_queue(&state, site_id, &queue, &params).await?;
    let site_name = site_name(&state, site_id).await?;
    let stories = state.store.list_stories(site_id, 200).await?;
    let mut story = None;
    if let Some(id) = params.story {
        let s = match stories.iter().find(|s| s.id == id) {
            Some(s) => Some(s.clone()),
            None => state.store.story_by_id(id).await?,
        };
        if let Some(s) = s.filter(|s| s.site_id == site_id) {
            story = Some((
                s.id,
                s.fields.headline.clone(),
                s.fields.is_closed,
                s.fields.closed_message.clone().unwrap_or_default(),
            ));
        }
    }
    let shown = params.limit.unwrap_or(state.config.page_size);
    let more = (items.len() as i64 >= shown && shown < state.config.max_page_size).then(|| {
        queue_href(
            &queue,
            &QueueParams {
                limit: Some(state.config.max_page_size),
                ..params.clone()
            },
        )
    });
    let unlimited = QueueParams {
        limit: None,
        ..params.clone()
    };
    let tabs = QUEUES
        .iter()
        .map(|&q| Tab {
            href: queue_href(q, &unlimited),
            label: queue_label(q),
            current: q == queue,
        })
        .collect();
    let page = QueuePage {
        chrome: Chrome::new(&site_name, Some(&me.user), here.clone()),
        queue: &queue,
        queue_label: queue_label(&queue),
        tabs,
        stories: stories
            .iter()
            .map(|s| (s.id, s.fields.headline.clone(), params.story == Some(s.id)))
            .collect(),
        story_param: params.story.map(|s| s.to_string()).unwrap_or_default(),
        q: params.q.as_deref().unwrap_or_default(),
        story,
        notice: query
            .notice
            .as_deref()
            .and_then(|c| notice_text(c, query.n.unwrap_or(0))),
        items: items
            .iter()
            .map(|i| item_view(i, me, &queue, &params))
            .collect(),
        more,
        back: here,
        reasons: reject_reasons(),
        css: crate::assets::moderation_css_url().to_owned(),
        js: crate::assets::moderation_js_url().to_owned(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// GET /moderate/{queue}/items/{id}: one item as the queue page shows it, or 204 No
/// Content when the comment is not (or no longer) in that queue. The live queue asks
/// this after every moderation event.
pub async fn item_fragment(
    State(state): State<AppState>,
    PagePath((queue, id)): PagePath<(String, i64)>,
    viewer: Viewer,
    PageQuery(query): PageQuery<QueueQueryParams>,
) -> PageResult<Response> {
    let params = query.params(state.config.max_page_size);
    let here = queue_href(&queue, &params);
    let me = require_moderator(&viewer, &here)?;
    let Some(item) = api::queue_item(&state, me.user.site_id, &queue, &params, id).await? else {
        return Ok((
            StatusCode::NO_CONTENT,
            [(axum::http::header::CACHE_CONTROL, "no-store")],
        )
            .into_response());
    };
    let view = item_view(&item, me, &queue, &params);
    let reasons = reject_reasons();
    let page = ItemFragment {
        item: &view,
        back: &here,
        reasons: &reasons,
    };
    Ok(render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------------------------------
// Actions

#[derive(Deserialize, Default)]
pub struct ActionForm {
    #[serde(default)]
    back: String,
    #[serde(default)]
    reason_code: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    message: String,
}

/// After an action: back to the queue the form was on, saying what was done.
fn done(back: &str, notice: &str, n: Option<usize>) -> Response {
    let back = safe_next(Some(back), "/moderate");
    let path = back.split('#').next().unwrap_or("/moderate");
    // Drop an earlier notice so they do not pile up.
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let mut kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("notice=") && !p.starts_with("n="))
        .collect();
    let notice = format!("notice={notice}");
    kept.push(&notice);
    let count = n.map(|n| format!("n={n}"));
    if let Some(c) = &count {
        kept.push(c);
    }
    see_other(&format!("{base}?{}", kept.join("&")))
}

/// A refused action: the reason, and the way back to the queue.
fn refused(e: ApiError, back: &str) -> PageResult<Response> {
    if let ApiError::Internal(_) = e {
        return Err(e.into());
    }
    let (status, _, message) = describe(&e);
    let page = MessagePage {
        chrome: Chrome::bare(),
        title: "That was not done",
        message: &message,
        back: Some((safe_next(Some(back), "/moderate"), "Back to the queue")),
        home: false,
    };
    Ok(render(status, &page))
}

fn finish<T>(outcome: Result<T, ApiError>, back: &str, notice: &str) -> PageResult<Response> {
    match outcome {
        Ok(_) => Ok(done(back, notice, None)),
        Err(e) => refused(e, back),
    }
}

/// POST /moderate/comments/{id}/{action}: approve, reject, feature, unfeature.
pub async fn comment_action(
    State(state): State<AppState>,
    PagePath((id, action)): PagePath<(i64, String)>,
    viewer: Viewer,
    PageForm(form): PageForm<ActionForm>,
) -> PageResult<Response> {
    let me = require_moderator(&viewer, &safe_next(Some(&form.back), "/moderate"))?;
    let back = form.back.as_str();
    match action.as_str() {
        "approve" => finish(
            api::decide(&state, me, id, true, String::new()).await,
            back,
            "approved",
        ),
        "reject" => {
            let reason = match reject_reason(&form.reason_code, Some(&form.note)) {
                Ok(r) => r,
                Err(e) => return refused(e, back),
            };
            finish(
                api::decide(&state, me, id, false, reason).await,
                back,
                "rejected",
            )
        }
        "feature" | "unfeature" => {
            let on = action == "feature";
            // Only a comment of the moderator's own site.
            if let Err(e) = site_comment(&state, me, id).await {
                return refused(e, back);
            }
            finish(
                service::set_featured(&state, &me.user, id, on).await,
                back,
                if on { "featured" } else { "unfeatured" },
            )
        }
        _ => Err(ApiError::not_found("action").into()),
    }
}

async fn site_comment(state: &AppState, me: &SignedIn, id: i64) -> Result<(), ApiError> {
    let c = state
        .store
        .comment_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    let story = state.story(c.story_id).await?;
    if story.site_id != me.user.site_id {
        return Err(ApiError::not_found("comment"));
    }
    Ok(())
}

/// POST /moderate/users/{id}/{action}: ban, suspend, premoderate, lift.
pub async fn user_action(
    State(state): State<AppState>,
    PagePath((id, action)): PagePath<(i64, String)>,
    viewer: Viewer,
    PageForm(form): PageForm<ActionForm>,
) -> PageResult<Response> {
    let me = require_moderator(&viewer, &safe_next(Some(&form.back), "/moderate"))?;
    let back = form.back.as_str();
    let outcome = match action.as_str() {
        "ban" => api::set_status(&state, me, id, UserStatus::Banned, String::new()).await,
        "suspend" => match form.days.trim().parse::<i64>() {
            Ok(days) => api::suspend_for(&state, me, id, days).await,
            Err(_) => Err(ApiError::invalid(
                "days",
                "days is a whole number between 1 and 3650",
            )),
        },
        "premoderate" => {
            api::set_status(&state, me, id, UserStatus::PreModerated, String::new()).await
        }
        "lift" => api::set_status(&state, me, id, UserStatus::Active, String::new()).await,
        _ => return Err(ApiError::not_found("action").into()),
    };
    let notice = match action.as_str() {
        "ban" => "banned",
        "suspend" => "suspended",
        "premoderate" => "premoderated",
        _ => "lifted",
    };
    finish(outcome, back, notice)
}

/// POST /moderate/stories/{id}/{close|reopen}
pub async fn story_action(
    State(state): State<AppState>,
    PagePath((id, action)): PagePath<(i64, String)>,
    viewer: Viewer,
    PageForm(form): PageForm<ActionForm>,
) -> PageResult<Response> {
    let me = require_moderator(&viewer, &safe_next(Some(&form.back), "/moderate"))?;
    let back = form.back.as_str();
    let (closed, notice) = match action.as_str() {
        "close" => (true, "closed"),
        "reopen" => (false, "reopened"),
        _ => return Err(ApiError::not_found("action").into()),
    };
    let message = (!form.message.trim().is_empty()).then_some(form.message.as_str());
    finish(
        api::set_story_closed(&state, me, id, closed, message).await,
        back,
        notice,
    )
}

/// POST /moderate/bulk: approve or reject the ticked comments. The form's fields come
/// as a list, since `ids` repeats.
pub async fn bulk(
    State(state): State<AppState>,
    viewer: Viewer,
    PageForm(fields): PageForm<Vec<(String, String)>>,
) -> PageResult<Response> {
    let mut one: HashMap<&str, &str> = HashMap::new();
    let mut ids = Vec::new();
    for (k, v) in &fields {
        if k == "ids" {
            match v.trim().parse::<i64>() {
                Ok(id) => ids.push(id),
                Err(_) => {
                    return Err(ApiError::invalid("ids", "a comment id is not a number").into());
                }
            }
        } else {
            one.insert(k, v);
        }
    }
    let back = one.get("back").copied().unwrap_or("/moderate");
    let me = require_moderator(&viewer, &safe_next(Some(back), "/moderate"))?;
    let approve = match one.get("action").copied() {
        Some("approve") => true,
        Some("reject") => false,
        _ => {
            return refused(
                ApiError::invalid("action", "choose approve or reject"),
                back,
            );
        }
    };
    if ids.is_empty() {
        return refused(
            ApiError::invalid("ids", "tick the comments to act on first"),
            back,
        );
    }
    let reason = if approve {
        String::new()
    } else {
        match reject_reason(
            one.get("reason_code").copied().unwrap_or_default(),
            one.get("note").copied(),
        ) {
            Ok(r) => r,
            Err(e) => return refused(e, back),
        }
    };
    let results = match api::bulk_decide(&state, me, &ids, approve, reason).await {
        Ok(r) => r,
        Err(e) => return refused(e, back),
    };
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(id, r)| {
            r.as_ref()
                .err()
                .map(|e| format!("comment {id}: {}", describe(e).2))
        })
        .collect();
    if !failed.is_empty() {
        let message = format!(
            "{} of {} comments were done. Not done: {}",
            results.len() - failed.len(),
            results.len(),
            failed.join(" ")
        );
        let page = MessagePage {
            chrome: Chrome::bare(),
            title: "Some comments were not done",
            message: &message,
            back: Some((safe_next(Some(back), "/moderate"), "Back to the queue")),
            home: false,
        };
        return Ok(render(StatusCode::CONFLICT, &page));
    }
    Ok(done(back, "bulk", Some(results.len())))
}

// ---------------------------------------------------------------------------------------
// Audit log

pub struct AuditRow {
    pub when: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub target_href: Option<String>,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "moderation_audit.html", whitespace = "minimize")]
struct AuditPage<'a> {
    chrome: Chrome<'a>,
    tabs: Vec<Tab>,
    target_id: String,
    actor: &'a str,
    actions: Vec<(String, bool)>,
    kinds: Vec<(&'static str, bool)>,
    rows: Vec<AuditRow>,
    older: Option<String>,
    css: String,
}

#[derive(Deserialize, Default)]
pub struct AuditForm {
    action: Option<String>,
    target_kind: Option<String>,
    target_id: Option<String>,
    actor: Option<String>,
    before: Option<i64>,
}

/// The actions the audit log holds (an address may name another; it is kept).
const AUDIT_ACTIONS: [&str; 12] = [
    "hold",
    "reject",
    "approve",
    "feature",
    "unfeature",
    "ban",
    "suspend",
    "premoderate",
    "lift",
    "close",
    "reopen",
    "delete_by_author",
];

/// GET /moderate/audit: the site's audit log, filterable.
pub async fn audit_page(
    State(state): State<AppState>,
    viewer: Viewer,
    PageQuery(form): PageQuery<AuditForm>,
) -> PageResult<Response> {
    let me = require_moderator(&viewer, "/moderate/audit")?;
    let site_id = me.user.site_id;
    let target_id_raw = form.target_id.clone().unwrap_or_default();
    let target_id = match target_id_raw.trim() {
        "" => None,
        t => Some(t.parse::<i64>().map_err(|_| {
            PageError::from(ApiError::invalid("target_id", "the target id is a number"))
        })?),
    };
    let params = AuditParams {
        action: form.action.clone(),
        target_kind: form.target_kind.clone(),
        target_id,
        actor: form.actor.clone(),
        before: form.before,
        limit: Some(state.config.max_page_size),
    };
    let lines = api::search_audit(&state, site_id, &params).await?;
    let site_name = site_name(&state, site_id).await?;
    let older = (lines.len() as i64 == state.config.max_page_size)
        .then(|| lines.last().map(|l| l.entry.id))
        .flatten()
        .map(|before| {
            let mut q = vec![format!("before={before}")];
            for (k, v) in [
                ("action", &form.action),
                ("target_kind", &form.target_kind),
                ("target_id", &form.target_id),
                ("actor", &form.actor),
            ] {
                if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                    q.push(format!("{k}={}", enc(v)));
                }
            }
            format!("/moderate/audit?{}", q.join("&"))
        });
    let rows = lines
        .into_iter()
        .map(|l| {
            let e = l.entry;
            let actor = match (l.actor_name, e.actor_rule) {
                (Some(name), _) => name,
                (None, Some(rule)) => format!("rule: {rule}"),
                (None, None) => "—".to_owned(),
            };
            let target_href = match e.target_kind.as_str() {
                "comment" => Some(format!(
                    "/moderate/audit?target_kind=comment&target_id={}",
                    e.target_id
                )),
                "user" => Some(format!(
                    "/moderate/audit?target_kind=user&target_id={}",
                    e.target_id
                )),
                "story" => Some(format!("/moderate/pending?story={}", e.target_id)),
                _ => None,
            };
            AuditRow {
                when: long_date_time(e.at),
                actor,
                action: e.action,
                target: format!("{} {}", e.target_kind, e.target_id),
                target_href,
                reason: e.reason,
            }
        })
        .collect();
    let action = form.action.as_deref().unwrap_or_default();
    let target_kind = form.target_kind.as_deref().unwrap_or_default();
    let page = AuditPage {
        chrome: Chrome::new(&site_name, Some(&me.user), "/moderate/audit".into()),
        tabs: QUEUES
            .iter()
            .map(|&q| Tab {
                href: format!("/moderate/{q}"),
                label: queue_label(q),
                current: false,
            })
            .collect(),
        target_id: target_id_raw,
        actor: form.actor.as_deref().unwrap_or_default(),
        actions: {
            let mut list: Vec<(String, bool)> = AUDIT_ACTIONS
                .iter()
                .map(|&a| (a.to_owned(), a == action))
                .collect();
            if !action.is_empty() && !AUDIT_ACTIONS.contains(&action) {
                list.push((action.to_owned(), true));
            }
            list
        },
        kinds: ["comment", "user", "story"]
            .into_iter()
            .map(|k| (k, k == target_kind))
            .collect(),
        rows,
        older,
        css: crate::assets::moderation_css_url().to_owned(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(r: &Response) -> &str {
        r.headers()
            .get(axum::http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[test]
    fn queue_addresses_carry_their_filters_encoded() {
        let p = QueueParams {
            story: Some(7),
            q: Some("a&b c".into()),
            limit: Some(50),
        };
        assert_eq!(
            queue_href("pending", &p),
            "/moderate/pending?story=7&q=a%26b%20c&limit=50"
        );
        assert_eq!(
            queue_href("rejected", &QueueParams::default()),
            "/moderate/rejected"
        );
        let blank = QueueParams {
            q: Some("  ".into()),
            ..QueueParams::default()
        };
        assert_eq!(queue_href("approved", &blank), "/moderate/approved");
    }

    #[test]
    fn after_an_action_the_queue_says_what_was_done_once() {
        let r = done(
            "/moderate/pending?story=3&notice=approved&n=2#item-9",
            "rejected",
            None,
        );
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&r), "/moderate/pending?story=3&notice=rejected");
        let r = done("/moderate", "bulk", Some(4));
        assert_eq!(location(&r), "/moderate?notice=bulk&n=4");
        // Never another site.
        let r = done("//evil.example/moderate", "approved", None);
        assert_eq!(location(&r), "/moderate?notice=approved");
    }

    #[test]
    fn notices_name_what_happened() {
        assert_eq!(
            notice_text("bulk", 1).as_deref(),
            Some("1 comment was done.")
        );
        assert_eq!(
            notice_text("bulk", 3).as_deref(),
            Some("3 comments were done.")
        );
        assert_eq!(notice_text("<script>", 0), None);
    }

    #[test]
    fn parent_excerpts_are_one_line_and_cut_with_an_ellipsis() {
        assert_eq!(excerpt("one\n\n two   three", 50), "one two three");
        assert_eq!(excerpt("abcdef", 3), "abc…");
        assert_eq!(excerpt("éèêë", 4), "éèêë");
    }
}
