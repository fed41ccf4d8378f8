//! The JSON shapes the API returns, built from store records.

use parley_core::Role;
use parley_core::thread::{CommentStatus, ThreadNode};
use parley_store::{Comment, Story, User};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// RFC 3339 in UTC for a unix-milliseconds instant.
pub fn timestamp(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[derive(Serialize)]
pub struct UserView {
    pub id: i64,
    pub site_id: i64,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub status: &'static str,
    pub created_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id,
            site_id: u.site_id,
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            role: u.role,
            status: u.status.to_parts().0,
            created_at: timestamp(u.created_at),
        }
    }
}

#[derive(Serialize)]
pub struct AuthorView {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// Shown as a badge: the newsroom's own people.
    pub staff: bool,
}

#[derive(Serialize)]
pub struct InReplyTo {
    pub id: i64,
    /// None when the parent is a tombstone.
    pub author_name: Option<String>,
}

#[derive(Serialize)]
pub struct CommentView {
    pub id: i64,
    pub story_id: i64,
    pub parent_id: Option<i64>,
    pub root_id: i64,
    pub depth: i64,
    pub author: Option<AuthorView>,
    /// The newsroom's labels for the author (single sign-on); empty on tombstones.
    pub author_badges: Vec<String>,
    pub in_reply_to: Option<InReplyTo>,
    pub status: CommentStatus,
    pub deleted: bool,
    pub featured: bool,
    /// Markdown source, for editing.
    pub body: String,
    pub body_html: String,
    pub reaction_count: i64,
    pub reply_count: i64,
    pub created_at: String,
    pub edited: bool,
    pub edited_at: Option<String>,
}

impl From<&Comment> for CommentView {
    fn from(c: &Comment) -> Self {
        let author = match (c.author_id, &c.author_name) {
            (Some(id), Some(name)) => {
                let role = c.author_role.unwrap_or(Role::Reader);
                Some(AuthorView {
                    id,
                    name: name.clone(),
                    role,
                    staff: role.is_staff(),
                })
            }
            _ => None,
        };
        CommentView {
            id: c.id,
            story_id: c.story_id,
            parent_id: c.parent_id,
            root_id: c.root_id,
            depth: c.depth,
            author_badges: if author.is_some() {
                c.author_badges.clone()
            } else {
                Vec::new()
            },
            author,
            in_reply_to: c.parent_id.map(|id| InReplyTo {
                id,
                author_name: c.parent_author_name.clone(),
            }),
            status: c.status,
            deleted: c.status == CommentStatus::Deleted,
            featured: c.featured,
            body: c.body_src.clone(),
            body_html: c.body_html.clone(),
            reaction_count: c.reaction_count,
            reply_count: c.reply_count,
            created_at: timestamp(c.created_at),
            edited: c.edited_at.is_some(),
            edited_at: c.edited_at.map(timestamp),
        }
    }
}

/// A comment with its replies nested; `more_replies` continues the replies when not all
/// were sent (GET /api/v1/comments/{id}/replies?cursor=...).
#[derive(Serialize)]
pub struct ThreadView {
    #[serde(flatten)]
    pub comment: CommentView,
    pub replies: Vec<ThreadView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more_replies: Option<String>,
}

impl ThreadView {
    pub fn from_thread(t: &crate::service::Thread) -> Self {
        ThreadView {
            comment: CommentView::from(&t.comment),
            replies: t.replies.iter().map(ThreadView::from_node).collect(),
            more_replies: t.more_replies.clone(),
        }
    }

    pub fn from_node(node: &ThreadNode<Comment>) -> Self {
        ThreadView {
            comment: CommentView::from(&node.item),
            replies: node.replies.iter().map(ThreadView::from_node).collect(),
            more_replies: None,
        }
    }
}

#[derive(Serialize)]
pub struct PictureView {
    pub url: String,
    pub caption: Option<String>,
    pub credit: Option<String>,
}

#[derive(Serialize)]
pub struct StoryView {
    pub id: i64,
    pub site_id: i64,
    pub url: String,
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub body: String,
    pub body_html: String,
    pub published_at: String,
    pub picture: Option<PictureView>,
    pub is_closed: bool,
    pub closed_message: Option<String>,
    pub comment_count: i64,
    pub version: i64,
}

impl From<&Story> for StoryView {
    fn from(s: &Story) -> Self {
        let f = &s.fields;
        StoryView {
            id: s.id,
            site_id: s.site_id,
            url: f.url.clone(),
            slug: f.slug.clone(),
            headline: f.headline.clone(),
            standfirst: f.standfirst.clone(),
            body: f.body_md.clone(),
            body_html: s.body_html.clone(),
            published_at: timestamp(f.published_at),
            picture: f.picture_url.clone().map(|url| PictureView {
                url,
                caption: f.picture_caption.clone(),
                credit: f.picture_credit.clone(),
            }),
            is_closed: f.is_closed,
            closed_message: f.closed_message.clone(),
            comment_count: s.comment_count,
            version: s.version,
        }
    }
}
