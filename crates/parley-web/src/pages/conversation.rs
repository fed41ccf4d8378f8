//! The conversation under a story, as the story page and the embed both show it: the
//! comment box, the viewer's pending comments, the sort switcher, the selected comments
//! and the numbered list of threads. One comment's `<li>` is its own template, so the
//! fragment endpoint and the thread page render exactly the same markup.

use std::collections::HashSet;

use askama::Template;
use parley_core::CommentSort;
use parley_core::thread::{CommentStatus, ThreadNode};
use parley_store::{Comment, Story, User};

use super::{enc, long_date_time};
use crate::error::ApiResult;
use crate::service::{self, CommentPage, Thread};
use crate::view::timestamp;
use crate::{AppState, now_ms};

/// What the viewer may do with a comment, and how it reads.
pub struct Card<'a> {
    pub c: &'a Comment,
    pub created_iso: String,
    pub created_human: String,
    pub staff: bool,
    /// The newsroom's labels for the author (single sign-on); none on tombstones.
    pub badges: &'a [String],
    /// "Reply to NAME" (replies only).
    pub reply_to: Option<&'a str>,
    pub deleted: bool,
    pub pending: bool,
    pub edited: bool,
    pub reacted: bool,
    pub own: bool,
    pub can_react: bool,
    pub can_reply: bool,
    pub can_edit: bool,
    pub can_delete: bool,
    pub can_report: bool,
}

impl Card<'_> {
    pub fn parent_id(&self) -> String {
        self.c.parent_id.map(|p| p.to_string()).unwrap_or_default()
    }

    pub fn author_id(&self) -> String {
        self.c.author_id.map(|a| a.to_string()).unwrap_or_default()
    }

    pub fn author_name(&self) -> &str {
        self.c.author_name.as_deref().unwrap_or("A reader")
    }

    pub fn react_action(&self) -> &'static str {
        if self.reacted { "unreact" } else { "react" }
    }
}

/// One comment's `<li>` with the replies loaded under it.
#[derive(Template)]
#[template(path = "comment.html", whitespace = "minimize")]
pub struct CommentLi<'a> {
    /// "thread" for a top-level comment, "reply" below one.
    pub class: &'static str,
    /// Before the element ids: "" for the comment's own place, "selected-" for its copy
    /// in the selected block (ids stay unique; scripts find comments by data attribute).
    pub id_prefix: &'static str,
    pub card: Card<'a>,
    pub replies: Vec<CommentLi<'a>>,
    /// Where the rest of the replies are (`/comments/{root}/thread?cursor=`).
    pub more_replies: Option<String>,
}

impl CommentLi<'_> {
    pub fn set_prefix(&mut self, prefix: &'static str) {
        self.id_prefix = prefix;
        for r in &mut self.replies {
            r.set_prefix(prefix);
        }
    }
}

/// Everything that decides how comments render for one viewer.
pub struct Ctx<'a> {
    pub viewer: Option<&'a User>,
    pub reacted: HashSet<i64>,
    pub now: i64,
    pub edit_window_ms: i64,
    pub max_depth: i64,
    pub closed: bool,
}

impl<'a> Ctx<'a> {
    pub fn new(
        state: &AppState,
        viewer: Option<&'a User>,
        reacted: HashSet<i64>,
        closed: bool,
    ) -> Self {
        Ctx {
            viewer,
            reacted,
            now: now_ms(),
            edit_window_ms: i64::try_from(state.config.edit_window.as_millis()).unwrap_or(i64::MAX),
            max_depth: state.config.max_depth,
            closed,
        }
    }

    pub fn card(&self, c: &'a Comment) -> Card<'a> {
        let deleted = c.status == CommentStatus::Deleted;
        let published = c.status == CommentStatus::Published;
        let pending = c.status == CommentStatus::Pending;
        let own = !deleted
            && self
                .viewer
                .is_some_and(|v| c.author_id.is_some_and(|a| a == v.id));
        let staff = !deleted && c.author_role.is_some_and(|r| r.is_staff());
        let reply_to = c.parent_id.map(|_| {
            c.parent_author_name
                .as_deref()
                .unwrap_or("a deleted comment")
        });
        Card {
            c,
            created_iso: timestamp(c.created_at),
            created_human: long_date_time(c.created_at),
            staff,
            badges: if deleted { &[] } else { &c.author_badges },
            reply_to,
            deleted,
            pending,
            edited: c.edited_at.is_some(),
            reacted: self.reacted.contains(&c.id),
            own,
            can_react: published && !own,
            can_reply: published && !self.closed && c.depth < self.max_depth,
            can_edit: own
                && !self.closed
                && c.status != CommentStatus::Rejected
                && self.now.saturating_sub(c.created_at) <= self.edit_window_ms,
            can_delete: own,
            can_report: published && !own,
        }
    }

    pub fn li(&self, c: &'a Comment) -> CommentLi<'a> {
        CommentLi {
            class: if c.depth == 0 { "thread" } else { "reply" },
            id_prefix: "",
            card: self.card(c),
            replies: Vec::new(),
            more_replies: None,
        }
    }

    pub fn node(&self, n: &'a ThreadNode<Comment>) -> CommentLi<'a> {
        CommentLi {
            replies: n.replies.iter().map(|r| self.node(r)).collect(),
            ..self.li(&n.item)
        }
    }

    pub fn thread(&self, t: &'a Thread) -> CommentLi<'a> {
        CommentLi {
            replies: t.replies.iter().map(|r| self.node(r)).collect(),
            more_replies: t
                .more_replies
                .as_deref()
                .map(|cursor| format!("/comments/{}/thread?cursor={}", t.comment.id, enc(cursor))),
            ..self.li(&t.comment)
        }
    }
}

/// Every comment id in these threads, replies included.
pub fn ids_in(threads: &[Thread], out: &mut Vec<i64>) {
    fn walk(nodes: &[ThreadNode<Comment>], out: &mut Vec<i64>) {
        for n in nodes {
            out.push(n.item.id);
            walk(&n.replies, out);
        }
    }
    for t in threads {
        out.push(t.comment.id);
        walk(&t.replies, out);
    }
}

/// The comments of one page of a conversation, as loaded for one viewer.
pub struct Loaded {
    pub page: CommentPage,
    pub featured: Vec<Thread>,
    pub pending: Vec<Comment>,
    pub reacted: HashSet<i64>,
    /// The story's edit window, for the viewer's Edit links.
    pub edit_window_ms: i64,
}

/// Loads a page of comments (the selected ones on the first page only) and, for a
/// signed-in viewer, their pending comments and reactions.
pub async fn load(
    state: &AppState,
    story: Story,
    sort: CommentSort,
    cursor: &str,
    viewer: Option<&User>,
) -> ApiResult<Loaded> {
    let story_id = story.id;
    let edit_window_ms = service::viewer_edit_window_ms(state, &story, viewer).await?;
    let page =
        service::comment_page(state, story, sort, Some(cursor), state.config.page_size).await?;
    let featured = if cursor.is_empty() {
        service::featured(state, story_id).await?
    } else {
        Vec::new()
    };
    let (pending, reacted) = match viewer {
        None => (Vec::new(), HashSet::new()),
        Some(v) => {
            let pending = state.store.pending_of_author(story_id, v.id).await?;
            let mut ids = Vec::new();
            ids_in(&page.threads, &mut ids);
            ids_in(&featured, &mut ids);
            let reacted = if ids.is_empty() {
                HashSet::new()
            } else {
                state
                    .store
                    .reacted_by(v.id, &ids)
                    .await?
                    .into_iter()
                    .collect()
            };
            (pending, reacted)
        }
    };
    Ok(Loaded {
        page,
        featured,
        pending,
        reacted,
        edit_window_ms,
    })
}

pub struct SortLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

pub fn sort_label(sort: CommentSort) -> &'static str {
    match sort {
        CommentSort::Newest => "Newest",
        CommentSort::Oldest => "Oldest",
        CommentSort::MostReactions => "Most liked",
        CommentSort::MostReplies => "Most replies",
    }
}

/// The comment box's state when a post failed: what was typed and why it failed.
#[derive(Default)]
pub struct FormState {
    pub body: String,
    pub error: Option<String>,
}

/// How the conversation is shown: on our story page, or inside an embedding page.
pub enum Mode<'a> {
    Page,
    Embed { site: &'a str, url: &'a str },
}

/// The conversation section, ready for `conversation.html`.
pub struct Conversation<'a> {
    pub story_id: i64,
    pub slug: &'a str,
    pub embed: bool,
    pub embed_signin_href: String,
    pub viewer_id: Option<i64>,
    pub viewer_name: Option<&'a str>,
    pub max_chars: usize,
    pub count: i64,
    pub closed: bool,
    pub closed_message: &'a str,
    pub form_body: &'a str,
    pub form_error: Option<&'a str>,
    pub signin_href: String,
    pub register_href: String,
    pub notice: Option<&'static str>,
    pub pending: Vec<CommentLi<'a>>,
    pub sort_links: Vec<SortLink>,
    pub featured: Vec<CommentLi<'a>>,
    pub threads: Vec<CommentLi<'a>>,
    pub start: i64,
    pub more_comments: Option<String>,
}

impl Conversation<'_> {
    pub fn signed_in(&self) -> bool {
        self.viewer_id.is_some()
    }

    pub fn viewer_id_attr(&self) -> String {
        self.viewer_id.map(|v| v.to_string()).unwrap_or_default()
    }
}

pub struct Build<'a> {
    pub mode: Mode<'a>,
    pub viewer: Option<&'a User>,
    pub from: i64,
    pub form: &'a FormState,
    pub notice: Option<&'static str>,
}

pub fn build<'a>(state: &AppState, data: &'a Loaded, b: Build<'a>) -> Conversation<'a> {
    let story = &data.page.story;
    let closed = story.fields.is_closed;
    let mut ctx = Ctx::new(state, b.viewer, data.reacted.clone(), closed);
    ctx.edit_window_ms = data.edit_window_ms;
    let (base, sep, embed, embed_signin_href) = match b.mode {
        Mode::Page => (
            format!("/stories/{}", story.fields.slug),
            '?',
            false,
            String::new(),
        ),
        Mode::Embed { site, url } => (
            format!("/embed?site={}&url={}", enc(site), enc(url)),
            '&',
            true,
            format!("/embed/signin?site={}", enc(site)),
        ),
    };
    let sort = data.page.sort;
    let sort_links = CommentSort::ALL
        .iter()
        .map(|&s| SortLink {
            label: sort_label(s),
            href: format!("{base}{sep}sort={}#conversation", s.as_str()),
            current: s == sort,
        })
        .collect();
    let shown = i64::try_from(data.page.threads.len()).unwrap_or(0);
    let more_comments = data.page.next_cursor.as_deref().map(|cursor| {
        format!(
            "{base}{sep}sort={}&cursor={}&from={}#comments",
            sort.as_str(),
            enc(cursor),
            b.from + shown
        )
    });
    let here = format!("/stories/{}#conversation", story.fields.slug);
    Conversation {
        story_id: story.id,
        slug: &story.fields.slug,
        embed,
        embed_signin_href,
        viewer_id: b.viewer.map(|v| v.id),
        viewer_name: b.viewer.map(|v| v.display_name.as_str()),
        max_chars: state.config.max_comment_chars,
        count: story.comment_count,
        closed,
        closed_message: story
            .fields
            .closed_message
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or("Comments on this story are closed."),
        form_body: &b.form.body,
        form_error: b.form.error.as_deref(),
        signin_href: format!("/signin?next={}", enc(&here)),
        register_href: format!("/register?next={}", enc(&here)),
        notice: b.notice,
        pending: data.pending.iter().map(|c| ctx.li(c)).collect(),
        sort_links,
        featured: data
            .featured
            .iter()
            .map(|t| {
                let mut li = ctx.thread(t);
                li.set_prefix("selected-");
                li
            })
            .collect(),
        threads: data.page.threads.iter().map(|t| ctx.thread(t)).collect(),
        start: b.from,
        more_comments,
    }
}
