//! The conversation's use cases, shared by the JSON API and the HTML pages: each
//! validates input, calls the store, drops cached pages and announces the change.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use axum::http::StatusCode;
use parley_core::cursor::ReplyCursor;
use parley_core::moderation::{self, Facts, Policy, Rules, Verdict};
use parley_core::thread::{CommentStatus, ThreadNode, nest};
use parley_core::{CommentBody, CommentSort, Cursor, DisplayName, Email, Password, Role, markdown};
use parley_store::{
    ActivityCaps, Comment, CommentEdit, NewAudit, NewComment, NewReport, NewUser, Ruling, Site,
    Story, User,
};

use crate::auth::{hash_password, new_token, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::events::{EventKind, ModerationEvent, ModerationKind, StoryEvent};
use crate::metrics::CommentOutcome;
use crate::{AppState, now_ms};

/// A top-level (or featured) comment with its first replies, nested.
pub struct Thread {
    pub comment: Comment,
    pub replies: Vec<ThreadNode<Comment>>,
    /// Continues the replies where they were cut off.
    pub more_replies: Option<String>,
}

pub struct CommentPage {
    pub story: Story,
    pub sort: CommentSort,
    pub threads: Vec<Thread>,
    pub next_cursor: Option<String>,
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

pub fn parse_sort(raw: Option<&str>) -> ApiResult<CommentSort> {
    match raw {
        None | Some("") => Ok(CommentSort::default()),
        Some(s) => CommentSort::parse(s).ok_or_else(|| {
            ApiError::invalid(
                "sort",
                "sort is one of newest, oldest, most_reactions, most_replies",
            )
        }),
    }
}

pub fn check_limit(state: &AppState, limit: Option<i64>) -> ApiResult<i64> {
    let cfg = &state.config;
    let limit = limit.unwrap_or(cfg.page_size);
    if (1..=cfg.max_page_size).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid(
            "limit",
            format!("limit is between 1 and {}", cfg.max_page_size),
        ))
    }
}

pub fn bad_cursor(e: parley_core::CursorError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_cursor", e.to_string()).with_field("cursor")
}

/// One page of a story's top-level comments, each with its first replies.
pub async fn comment_page(
    state: &AppState,
    story: Story,
    sort: CommentSort,
    cursor: Option<&str>,
    limit: i64,
) -> ApiResult<CommentPage> {
    let after = match cursor {
        None | Some("") => None,
        Some(raw) => Some(Cursor::decode(raw, sort).map_err(bad_cursor)?),
    };
    let mut top = state
        .store
        .top_level_page(story.id, sort, after, limit + 1)
        .await?;
    let has_more = top.len() as i64 > limit;
    top.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if has_more {
        top.last().map(|c| c.cursor_after(sort).encode())
    } else {
        None
    };
    let threads = with_replies(state, top).await?;
    Ok(CommentPage {
        story,
        sort,
        threads,
        next_cursor,
    })
}

/// The comments editors selected for a story, with their first replies.
pub async fn featured(state: &AppState, story_id: i64) -> ApiResult<Vec<Thread>> {
    let featured = state.store.featured_comments(story_id, 50).await?;
    with_replies(state, featured).await
}

async fn with_replies(state: &AppState, roots: Vec<Comment>) -> ApiResult<Vec<Thread>> {
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
    let per_root = usize::try_from(cfg.replies_per_comment).unwrap_or(0);
    Ok(roots
        .into_iter()
        .map(|root| {
            let mut replies = if root.depth == 0 {
                by_root.remove(&root.id).unwrap_or_default()
            } else {
                Vec::new()
            };
            let more = replies.len() > per_root;
            replies.truncate(per_root);
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
            Thread {
                comment: root,
                replies: nest(replies),
                more_replies,
            }
        })
        .collect())
}

/// Replies under `comment` in depth-first order after the cursor, flat.
pub async fn replies_after(
    state: &AppState,
    comment: &Comment,
    cursor: Option<&str>,
    limit: i64,
) -> ApiResult<(Vec<Comment>, Option<String>)> {
    let after = match cursor {
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
        .replies_after(comment.root_id, &after, limit + 1, state.config.max_depth)
        .await?;
    found.retain(|r| r.path.starts_with(&comment.path));
    let has_more = found.len() as i64 > limit;
    found.truncate(usize::try_from(limit).unwrap_or(0));
    let next = if has_more {
        found.last().map(|last| {
            ReplyCursor {
                root_id: comment.root_id,
                path: last.path.clone(),
            }
            .encode()
        })
    } else {
        None
    };
    Ok((found, next))
}

/// A comment as readers may see it (published, or a tombstone).
pub async fn visible_comment(state: &AppState, id: i64) -> ApiResult<Comment> {
    state
        .store
        .public_comment(id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))
}

pub(crate) fn announce(
    state: &AppState,
    kind: EventKind,
    c: &Comment,
    reaction_count: Option<i64>,
) {
    state.cache.invalidate(c.story_id);
    state.events.publish(StoryEvent {
        id: 0,
        kind,
        story_id: c.story_id,
        comment_id: Some(c.id),
        parent_id: c.parent_id,
        author_id: c.author_id,
        reaction_count,
    });
}

/// Tells the site's moderators' live queues that `c` changed (it may have entered or
/// left a queue).
pub(crate) fn announce_moderation(
    state: &AppState,
    site_id: i64,
    kind: ModerationKind,
    c: &Comment,
) {
    state.events.publish_moderation(ModerationEvent {
        id: 0,
        kind,
        site_id,
        story_id: c.story_id,
        comment_id: c.id,
        status: c.status.as_str().into(),
    });
    crate::webhooks::comment_changed(state, site_id, kind, c);
    crate::notify::comment_changed(state, kind, c);
}

fn new_comment_kind(c: &Comment) -> ModerationKind {
    if c.status == CommentStatus::Pending {
        ModerationKind::Held
    } else {
        ModerationKind::Published
    }
}

fn edit_kind(c: &Comment) -> ModerationKind {
    if c.status == CommentStatus::Pending {
        ModerationKind::Held
    } else {
        ModerationKind::Edited
    }
}

/// The site's settings JSON as an object (empty when unset or unreadable).
pub async fn site_settings(state: &AppState, site_id: i64) -> ApiResult<serde_json::Value> {
    let settings = state
        .store
        .site_settings(site_id)
        .await?
        .ok_or_else(|| ApiError::not_found("site"))?;
    let value: serde_json::Value = serde_json::from_str(&settings).unwrap_or_default();
    Ok(if value.is_object() {
        value
    } else {
        serde_json::json!({})
    })
}

/// A policy from the site's `policy` with the story's override (`stories.{id}` in the
/// site settings: the fields it names replace the site's) laid over it.
pub fn merged_policy(
    settings: &serde_json::Value,
    story_id: Option<i64>,
) -> Result<Policy, String> {
    let mut merged = match settings.get("policy") {
        Some(serde_json::Value::Object(m)) => m.clone(),
        _ => serde_json::Map::new(),
    };
    if let Some(id) = story_id
        && let Some(serde_json::Value::Object(o)) =
            settings.get("stories").and_then(|s| s.get(id.to_string()))
    {
        for (k, v) in o {
            merged.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(serde_json::Value::Object(merged)).map_err(|e| e.to_string())
}

/// The policy in force for a story: the site's, with the story's override.
pub async fn story_policy(state: &AppState, story: &Story) -> ApiResult<Policy> {
    let settings = site_settings(state, story.site_id).await?;
    Ok(merged_policy(&settings, Some(story.id)).unwrap_or_else(|e| {
        tracing::warn!(story_id = story.id, error = %e, "unreadable moderation policy; using defaults");
        Policy::default()
    }))
}

/// How long after posting a comment on `story` may be edited: the story's policy, else
/// the server's `--edit-window-secs`.
pub async fn edit_window_ms(state: &AppState, story: &Story) -> ApiResult<i64> {
    let policy = story_policy(state, story).await?;
    Ok(policy
        .edit_window_secs
        .map_or(ms(state.config.edit_window), |secs| {
            ms(Duration::from_secs(secs))
        }))
}

/// The edit window that decides a viewer's Edit links: only a signed-in viewer has
/// any, so the policy is read only for them.
pub async fn viewer_edit_window_ms(
    state: &AppState,
    story: &Story,
    viewer: Option<&User>,
) -> ApiResult<i64> {
    match viewer {
        Some(_) => edit_window_ms(state, story).await,
        None => Ok(ms(state.config.edit_window)),
    }
}

/// The compiled rules of `policy`, compiled once per distinct policy.
fn compiled_rules(
    state: &AppState,
    policy: Policy,
) -> Result<std::sync::Arc<Rules>, parley_core::wordlist::WordListError> {
    let key = serde_json::to_string(&policy).unwrap_or_default();
    if let Some(rules) = state
        .rules
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
    {
        return Ok(rules.clone());
    }
    let rules = std::sync::Arc::new(Rules::compile(policy)?);
    let mut cache = state.rules.lock().unwrap_or_else(|p| p.into_inner());
    // Policies change rarely; a bound keeps a stream of edits from growing it.
    if cache.len() >= 64 {
        cache.clear();
    }
    cache.insert(key, rules.clone());
    Ok(rules)
}

/// Runs the moderation pipeline on a new comment or an edit (`edited` is the comment
/// being edited) under the story's `policy`, which the caller has already read. A
/// reject becomes the error the author sees, after an audit entry (on
/// the comment for an edit, on the author for a new comment, which is not stored); a
/// hold becomes the ruling the store keeps with the revision.
async fn moderate(
    state: &AppState,
    author: &User,
    story: &Story,
    body: &str,
    edited: Option<i64>,
    ip: Option<IpAddr>,
    policy: Policy,
) -> ApiResult<Ruling> {
    let rules = compiled_rules(state, policy)
        .map_err(|e| ApiError::Internal(format!("site {} word lists: {e}", story.site_id)))?;
    let now = now_ms();
    let caps = ActivityCaps {
        approved: i64::from(rules.policy.hold_new_commenters),
        recent: i64::from(rules.policy.rate_per_minute),
    };
    let activity = state
        .store
        .author_activity(author.id, now - 60_000, edited, caps)
        .await?;
    let facts = Facts {
        body,
        is_edit: edited.is_some(),
        now,
        story_closed: story.fields.is_closed,
        closed_message: story.fields.closed_message.as_deref(),
        author_status: author.status,
        approved_count: activity.approved_count,
        recent_count: activity.recent_count,
        ip_recent_count: ip.map_or(0, |ip| state.posts_by_address.recent(ip)),
        last_body: activity.last_body.as_deref(),
    };
    let decision = moderation::run(&facts, &rules);
    match decision.verdict {
        Verdict::Publish => Ok(Ruling::default()),
        Verdict::Hold => Ok(Ruling {
            hold: true,
            rule: decision.first_phase().map(str::to_owned),
            reasons: decision.reasons_text(),
        }),
        Verdict::Reject => {
            if edited.is_none() {
                state.metrics.comment(CommentOutcome::Rejected);
            }
            let Some(why) = decision.reasons.last() else {
                return Err(ApiError::Internal("a reject without a reason".into()));
            };
            if why.phase != "story_open" {
                let (target_kind, target_id) = match edited {
                    Some(id) => ("comment", id),
                    None => ("user", author.id),
                };
                state
                    .store
                    .record_audit(NewAudit {
                        at: now,
                        site_id: story.site_id,
                        actor_id: None,
                        actor_rule: Some(why.phase.clone()),
                        action: "reject".into(),
                        target_kind: target_kind.into(),
                        target_id,
                        reason: decision.reasons_text(),
                    })
                    .await?;
            }
            Err(match (why.phase.as_str(), why.code.as_str()) {
                ("story_open", _) => {
                    ApiError::new(StatusCode::CONFLICT, "story_closed", why.message.clone())
                }
                ("author_status", _) => ApiError::new(
                    StatusCode::FORBIDDEN,
                    "account_restricted",
                    why.message.clone(),
                ),
                (_, "rate_limited") => ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    why.message.clone(),
                ),
                _ => ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "comment_rejected",
                    why.message.clone(),
                )
                .with_field("body"),
            })
        }
    }
}

pub async fn post_comment(
    state: &AppState,
    author: &User,
    story_id: i64,
    body: &str,
    parent_id: Option<i64>,
    ip: IpAddr,
) -> ApiResult<Comment> {
    let body = CommentBody::parse(body, state.config.max_comment_chars)?;
    let story = state.story(story_id).await?;
    if story.site_id != author.site_id {
        return Err(ApiError::forbidden("your account belongs to another site"));
    }
    let policy = story_policy(state, &story).await?;
    crate::account_mail::require_verified(state, author, policy.require_verified_email).await?;
    let ruling = moderate(state, author, &story, body.as_str(), None, Some(ip), policy).await?;
    let comment = state
        .store
        .create_comment_ruled(
            NewComment {
                story_id,
                author_id: author.id,
                parent_id,
                body_html: markdown::render_comment(body.as_str()),
                body_src: body.as_str().to_owned(),
                max_depth: state.config.max_depth,
                now: now_ms(),
            },
            ruling,
        )
        .await?;
    state.posts_by_address.note(ip);
    if comment.status == CommentStatus::Published {
        state.metrics.comment(CommentOutcome::Published);
        announce(state, EventKind::CommentPublished, &comment, None);
    } else {
        state.metrics.comment(CommentOutcome::Held);
    }
    announce_moderation(state, author.site_id, new_comment_kind(&comment), &comment);
    Ok(comment)
}

pub async fn edit_comment(
    state: &AppState,
    editor: &User,
    id: i64,
    body: &str,
) -> ApiResult<Comment> {
    let body = CommentBody::parse(body, state.config.max_comment_chars)?;
    let mut window_ms = ms(state.config.edit_window);
    let before = state.store.comment_by_id(id).await?;
    let was_published = before
        .as_ref()
        .is_some_and(|c| c.status == CommentStatus::Published);
    let ruling = match before {
        // Only the author's own, live comment is moderated: the store refuses the rest.
        Some(c)
            if c.author_id == Some(editor.id)
                && matches!(c.status, CommentStatus::Published | CommentStatus::Pending) =>
        {
            let story = state.story(c.story_id).await?;
            let policy = story_policy(state, &story).await?;
            if let Some(secs) = policy.edit_window_secs {
                window_ms = ms(Duration::from_secs(secs));
            }
            moderate(state, editor, &story, body.as_str(), Some(id), None, policy).await?
        }
        _ => Ruling::default(),
    };
    let comment = state
        .store
        .edit_comment_ruled(
            CommentEdit {
                comment_id: id,
                editor_id: editor.id,
                body_html: markdown::render_comment(body.as_str()),
                body_src: body.as_str().to_owned(),
                window_ms,
                now: now_ms(),
            },
            ruling,
        )
        .await?;
    if comment.status == CommentStatus::Published {
        announce(state, EventKind::CommentEdited, &comment, None);
    } else if was_published {
        // Held by moderation: off the page until a moderator approves it.
        announce(state, EventKind::CommentDeleted, &comment, None);
    }
    announce_moderation(state, editor.site_id, edit_kind(&comment), &comment);
    Ok(comment)
}

pub async fn delete_comment(state: &AppState, author: &User, id: i64) -> ApiResult<Comment> {
    let comment = state.store.delete_comment(id, author.id, now_ms()).await?;
    announce(state, EventKind::CommentDeleted, &comment, None);
    announce_moderation(state, author.site_id, ModerationKind::Deleted, &comment);
    Ok(comment)
}

/// Adds (`on`) or removes the reader's reaction; returns the new count.
pub async fn set_reaction(state: &AppState, reader: &User, id: i64, on: bool) -> ApiResult<i64> {
    let comment = state
        .store
        .comment_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    let count = if on {
        state.store.add_reaction(id, reader.id, now_ms()).await?
    } else {
        state.store.remove_reaction(id, reader.id, now_ms()).await?
    };
    announce(state, EventKind::ReactionsChanged, &comment, Some(count));
    Ok(count)
}

pub async fn report(
    state: &AppState,
    reader: &User,
    id: i64,
    reason: &str,
    note: Option<&str>,
) -> ApiResult<()> {
    if !REPORT_REASONS.contains(&reason) {
        return Err(ApiError::invalid(
            "reason",
            format!("reason is one of {}", REPORT_REASONS.join(", ")),
        ));
    }
    let note = note.unwrap_or_default().trim().to_owned();
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
            user_id: reader.id,
            reason: reason.to_owned(),
            note,
            now: now_ms(),
        })
        .await?;
    if let Some(comment) = state.store.comment_by_id(id).await? {
        announce_moderation(state, reader.site_id, ModerationKind::Reported, &comment);
    }
    Ok(())
}

/// Staff and up select comments for the "selected comments" block.
pub async fn set_featured(
    state: &AppState,
    editor: &User,
    id: i64,
    featured: bool,
) -> ApiResult<Comment> {
    if !editor.role.is_staff() {
        return Err(ApiError::forbidden("this needs the staff role"));
    }
    let comment = state
        .store
        .comment_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    let story = state.story(comment.story_id).await?;
    if story.site_id != editor.site_id {
        return Err(ApiError::forbidden("this comment belongs to another site"));
    }
    if comment.status != CommentStatus::Published {
        return Err(ApiError::not_found("comment"));
    }
    let comment = state
        .store
        .set_featured(id, featured, editor.id, now_ms())
        .await?;
    let kind = if featured {
        EventKind::CommentFeatured
    } else {
        EventKind::CommentUnfeatured
    };
    announce(state, kind, &comment, None);
    let kind = if featured {
        ModerationKind::Featured
    } else {
        ModerationKind::Unfeatured
    };
    announce_moderation(state, editor.site_id, kind, &comment);
    Ok(comment)
}

pub async fn register(
    state: &AppState,
    site: &Site,
    email: &str,
    name: &str,
    password: &str,
) -> ApiResult<User> {
    crate::sso::require_local_accounts(state, site.id).await?;
    let email = Email::parse(email)?;
    let name = DisplayName::parse(name)?;
    let password = Password::parse(password)?;
    let hash = hash_password(password.expose().to_owned()).await?;
    let user = state
        .store
        .create_user(NewUser {
            site_id: site.id,
            email: email.as_str().to_owned(),
            display_name: name.as_str().to_owned(),
            password_hash: Some(hash),
            role: Role::Reader,
            now: now_ms(),
        })
        .await?;
    crate::account_mail::after_registration(state, &user).await;
    Ok(user)
}

/// Checks credentials, throttling failures per account and per client address.
pub async fn sign_in(
    state: &AppState,
    site: &Site,
    email: &str,
    password: &str,
    ip: IpAddr,
) -> ApiResult<User> {
    let email = email.trim().to_lowercase();
    let attempt = PasswordAttempt::new(site.id, &email, ip);
    attempt.check(state).await?;
    let (user, hash) = match state.store.user_credentials(site.id, &email).await? {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    match (user, verify_password(password.to_owned(), hash).await?) {
        (Some(user), true) => {
            attempt.succeeded(state).await?;
            // Admins keep their password when readers must use SSO, so no site locks
            // its admins out.
            if user.role < Role::Admin {
                crate::sso::require_local_accounts(state, site.id).await?;
            }
            Ok(user)
        }
        _ => {
            attempt.failed(state).await?;
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad_credentials",
                "wrong email or password",
            ))
        }
    }
}

/// A password being tried for an account from an address: failures are throttled per
/// account and per address, on every node alike.
pub struct PasswordAttempt {
    account: String,
    ip: String,
}

impl PasswordAttempt {
    pub fn new(site_id: i64, email: &str, ip: IpAddr) -> Self {
        Self {
            account: format!("{site_id}:{}", email.trim().to_lowercase()),
            ip: ip.to_string(),
        }
    }

    /// Refuses (429, with when to retry) while either key is blocked.
    pub async fn check(&self, state: &AppState) -> ApiResult<()> {
        let now = now_ms();
        for (throttle, key) in [
            (&state.account_throttle, &self.account),
            (&state.ip_throttle, &self.ip),
        ] {
            if let Some(secs) = throttle.blocked_for(state.store.as_ref(), key, now).await? {
                return Err(ApiError::TooManyRequests {
                    retry_after_secs: secs,
                });
            }
        }
        Ok(())
    }

    pub async fn failed(&self, state: &AppState) -> ApiResult<()> {
        let now = now_ms();
        let store = state.store.as_ref();
        state
            .account_throttle
            .fail(store, &self.account, now)
            .await?;
        state.ip_throttle.fail(store, &self.ip, now).await?;
        Ok(())
    }

    pub async fn succeeded(&self, state: &AppState) -> ApiResult<()> {
        Ok(state
            .account_throttle
            .clear(state.store.as_ref(), &self.account)
            .await?)
    }
}

/// A new session for `user`: the token to hand to the client.
pub async fn start_session(state: &AppState, user: &User) -> ApiResult<String> {
    let (token, hash) = new_token();
    let now = now_ms();
    let ttl = i64::try_from(state.config.session_ttl.as_millis()).unwrap_or(i64::MAX / 2);
    state
        .store
        .create_session(&hash, user.id, now, now.saturating_add(ttl))
        .await?;
    Ok(token)
}

/// A duration in milliseconds, saturating.
fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
