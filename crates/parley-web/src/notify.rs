//! Notifications: telling readers by mail that someone replied to them, that editors
//! selected their comment, or what a moderator decided about their held comment.
//!
//! The request that caused one only spawns the work, so a comment post never waits on
//! it. Each reader chooses per kind: off, a mail each time, or a daily digest; mail
//! goes only to confirmed addresses. Every notification mail carries a one-click
//! unsubscribe link (and the List-Unsubscribe headers) keyed by the reader's
//! unsubscribe key, so it works without signing in.

use std::collections::BTreeMap;

use parley_core::notify::{Delivery, NotificationKind};
use parley_store::Comment;
use parley_store::account_mail::{DigestItem, NotificationTarget};

use crate::account_mail::links_base;
use crate::auth::new_token;
use crate::error::ApiResult;
use crate::events::ModerationKind;
use crate::mail_content::{self, MailItem, NotificationFacts, Recipient};
use crate::{AppState, now_ms};

/// Readers' digests one round of the job takes at most.
const DIGEST_BATCH: i64 = 50;

/// Queues what `c` entering a moderation queue means for its author, or for the author
/// of the comment it replies to, in the background.
pub(crate) fn comment_changed(state: &AppState, kind: ModerationKind, c: &Comment) {
    if !matches!(
        kind,
        ModerationKind::Published
            | ModerationKind::Approved
            | ModerationKind::Rejected
            | ModerationKind::Featured
    ) {
        return;
    }
    let state = state.clone();
    let c = c.clone();
    tokio::spawn(async move {
        if let Err(e) = notify(&state, kind, &c).await {
            tracing::warn!(error = ?e, comment_id = c.id, "queueing notifications");
        }
    });
}

async fn notify(state: &AppState, kind: ModerationKind, c: &Comment) -> ApiResult<()> {
    match kind {
        ModerationKind::Published => reply_to_parent(state, c).await,
        ModerationKind::Approved => {
            tell_author(state, c, NotificationKind::Moderation, "approved").await?;
            reply_to_parent(state, c).await
        }
        ModerationKind::Rejected => {
            tell_author(state, c, NotificationKind::Moderation, "rejected").await
        }
        ModerationKind::Featured => tell_author(state, c, NotificationKind::Featured, "").await,
        _ => Ok(()),
    }
}

async fn tell_author(
    state: &AppState,
    c: &Comment,
    kind: NotificationKind,
    detail: &str,
) -> ApiResult<()> {
    match c.author_id {
        Some(author) => deliver(state, author, kind, detail, c).await,
        None => Ok(()),
    }
}

/// A published reply tells the author of the comment it answers (not themselves).
async fn reply_to_parent(state: &AppState, c: &Comment) -> ApiResult<()> {
    let Some(parent_id) = c.parent_id else {
        return Ok(());
    };
    let Some(parent) = state.store.comment_by_id(parent_id).await? else {
        return Ok(());
    };
    match parent.author_id {
        Some(to) if Some(to) != c.author_id => {
            deliver(state, to, NotificationKind::Reply, "", c).await
        }
        _ => Ok(()),
    }
}

async fn deliver(
    state: &AppState,
    user_id: i64,
    kind: NotificationKind,
    detail: &str,
    c: &Comment,
) -> ApiResult<()> {
    let store = state.store.account_mail();
    let Some(target) = store.notification_target(user_id).await? else {
        return Ok(());
    };
    if !target.reachable {
        return Ok(());
    }
    let now = now_ms();
    match target.prefs.get(kind) {
        Delivery::Off => Ok(()),
        Delivery::Digest => Ok(store
            .add_digest_item(user_id, kind, c.id, detail.to_owned(), now)
            .await?),
        Delivery::Immediate => {
            let Some(links) = Links::for_target(state, &target).await? else {
                return Ok(());
            };
            let story = state.story(c.story_id).await?;
            let facts = NotificationFacts {
                kind,
                detail,
                headline: &story.fields.headline,
                other_name: c.author_name.as_deref().unwrap_or("A reader"),
                comment_text: &c.body_src,
                url: &comment_url(state, c, &story.fields.slug, detail),
            };
            let mail = mail_content::notification(
                &links.site,
                &target.display_name,
                &facts,
                &links.settings,
                &links.unsubscribe(Some(kind)),
            );
            state
                .store
                .mail()
                .enqueue_mail(mail.to_mail(kind.as_str(), &recipient(&target), now))
                .await?;
            Ok(())
        }
    }
}

/// Where a notification about `c` sends the reader: the comment in its thread, or
/// the story when the comment is not shown (rejected).
fn comment_url(state: &AppState, c: &Comment, slug: &str, detail: &str) -> String {
    let base = links_base(state);
    if detail == "rejected" {
        format!("{base}/stories/{slug}")
    } else {
        format!("{base}/comments/{}/thread", c.id)
    }
}

fn recipient(target: &NotificationTarget) -> Recipient<'_> {
    Recipient {
        site_id: target.site_id,
        user_id: target.user_id,
        email: &target.email,
        name: &target.display_name,
    }
}

/// The links every notification mail carries.
struct Links {
    site: String,
    base: String,
    key: String,
    settings: String,
}

impl Links {
    async fn for_target(state: &AppState, target: &NotificationTarget) -> ApiResult<Option<Self>> {
        let Some(site) = state.store.site_by_id(target.site_id).await? else {
            return Ok(None);
        };
        let key = match &target.unsubscribe_key {
            Some(key) => key.clone(),
            None => {
                state
                    .store
                    .account_mail()
                    .unsubscribe_key(target.user_id, new_token().0, now_ms())
                    .await?
            }
        };
        let base = links_base(state);
        Ok(Some(Links {
            site: site.name,
            settings: format!("{base}/account#notifications"),
            base,
            key,
        }))
    }

    /// The one-click address: for one kind, or (None) for the digest.
    fn unsubscribe(&self, kind: Option<NotificationKind>) -> String {
        let what = kind.map_or("digest", NotificationKind::as_str);
        format!("{}/unsubscribe/{}?kind={what}", self.base, self.key)
    }
}

/// Mails the digests that are due: each reader's waiting notifications once the oldest
/// has waited `config.digest_every`. Returns how many digests were queued.
pub async fn send_digests(state: &AppState, now: i64) -> ApiResult<usize> {
    let period = i64::try_from(state.config.digest_every.as_millis()).unwrap_or(i64::MAX);
    let cutoff = now.saturating_sub(period);
    let mut queued = 0;
    loop {
        let items = state
            .store
            .account_mail()
            .take_due_digests(cutoff, DIGEST_BATCH)
            .await?;
        if items.is_empty() {
            return Ok(queued);
        }
        let mut by_reader: BTreeMap<i64, Vec<DigestItem>> = BTreeMap::new();
        for item in items {
            by_reader.entry(item.user_id).or_default().push(item);
        }
        for (user_id, items) in by_reader {
            match digest_for(state, user_id, &items, now).await {
                Ok(true) => queued += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = ?e, user_id, "queueing a digest"),
            }
        }
    }
}

/// Queues one reader's digest; false when nothing in it is still worth telling.
async fn digest_for(
    state: &AppState,
    user_id: i64,
    items: &[DigestItem],
    now: i64,
) -> ApiResult<bool> {
    let Some(target) = state
        .store
        .account_mail()
        .notification_target(user_id)
        .await?
    else {
        return Ok(false);
    };
    if !target.reachable {
        return Ok(false);
    }
    let mut lines = Vec::new();
    for item in items {
        let Some(kind) = NotificationKind::parse(&item.kind) else {
            continue;
        };
        // The reader may have changed their mind since the item was collected.
        if target.prefs.get(kind) != Delivery::Digest {
            continue;
        }
        let Some(c) = state.store.comment_by_id(item.comment_id).await? else {
            continue;
        };
        if c.status == parley_core::thread::CommentStatus::Deleted {
            continue;
        }
        let Ok(story) = state.story(c.story_id).await else {
            continue;
        };
        let facts = NotificationFacts {
            kind,
            detail: &item.detail,
            headline: &story.fields.headline,
            other_name: c.author_name.as_deref().unwrap_or("A reader"),
            comment_text: &c.body_src,
            url: &comment_url(state, &c, &story.fields.slug, &item.detail),
        };
        lines.push(MailItem {
            title: mail_content::notification_title(&facts),
            excerpt: mail_content::excerpt(&c.body_src),
            url: facts.url.to_owned(),
        });
    }
    if lines.is_empty() {
        return Ok(false);
    }
    let Some(links) = Links::for_target(state, &target).await? else {
        return Ok(false);
    };
    let mail = mail_content::digest(
        &links.site,
        &target.display_name,
        lines,
        &links.settings,
        &links.unsubscribe(None),
    );
    state
        .store
        .mail()
        .enqueue_mail(mail.to_mail("digest", &recipient(&target), now))
        .await?;
    Ok(true)
}
