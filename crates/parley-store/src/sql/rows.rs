//! Rows as the database returns them, and their conversion into the store's records.

use parley_core::thread::CommentStatus;
use parley_core::{Role, UserStatus};

use crate::model::*;

#[derive(sqlx::FromRow)]
pub struct SiteRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
pub struct OriginRow {
    pub site_id: i64,
    pub origin: String,
}

#[derive(sqlx::FromRow)]
pub struct StoryRow {
    pub id: i64,
    pub site_id: i64,
    pub url: String,
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub body_md: String,
    pub body_html: String,
    pub published_at: i64,
    pub picture_url: Option<String>,
    pub picture_caption: Option<String>,
    pub picture_credit: Option<String>,
    pub is_closed: bool,
    pub closed_message: Option<String>,
    pub version: i64,
    pub comment_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<StoryRow> for Story {
    fn from(r: StoryRow) -> Self {
        Story {
            id: r.id,
            site_id: r.site_id,
            fields: StoryFields {
                url: r.url,
                slug: r.slug,
                headline: r.headline,
                standfirst: r.standfirst,
                body_md: r.body_md,
                published_at: r.published_at,
                picture_url: r.picture_url,
                picture_caption: r.picture_caption,
                picture_credit: r.picture_credit,
                is_closed: r.is_closed,
                closed_message: r.closed_message,
            },
            body_html: r.body_html,
            version: r.version,
            comment_count: r.comment_count,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub site_id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub status: String,
    pub suspended_until: Option<i64>,
    pub created_at: i64,
}

impl UserRow {
    pub fn into_user(self) -> (User, Option<String>) {
        // Unknown words can only come from a hand-edited database: fall back to the
        // least privileged reading rather than fail every request of that user.
        let role = Role::parse(&self.role).unwrap_or(Role::Reader);
        let status = UserStatus::from_parts(&self.status, self.suspended_until)
            .unwrap_or(UserStatus::Banned);
        let user = User {
            id: self.id,
            site_id: self.site_id,
            email: self.email,
            display_name: self.display_name,
            role,
            status,
            created_at: self.created_at,
        };
        (user, self.password_hash)
    }
}

#[derive(sqlx::FromRow)]
pub struct SessionRow {
    #[sqlx(flatten)]
    pub user: UserRow,
    pub expires_at: i64,
}

#[derive(sqlx::FromRow)]
pub struct CommentRow {
    pub id: i64,
    pub story_id: i64,
    pub author_id: Option<i64>,
    pub author_name: Option<String>,
    pub author_role: Option<String>,
    /// `sso_links.badges` (JSON text) when the author signed in through a newsroom.
    pub author_badges: Option<String>,
    pub parent_id: Option<i64>,
    pub parent_author_name: Option<String>,
    pub parent_status: Option<String>,
    pub root_id: i64,
    pub depth: i64,
    pub path: String,
    pub reply_count: i64,
    pub reaction_count: i64,
    pub status: String,
    pub featured: bool,
    pub body_src: String,
    pub body_html: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
}

impl From<CommentRow> for Comment {
    fn from(r: CommentRow) -> Self {
        let status = CommentStatus::parse(&r.status).unwrap_or(CommentStatus::Rejected);
        let tombstone = status == CommentStatus::Deleted;
        let parent_gone = r.parent_status.as_deref() == Some(CommentStatus::Deleted.as_str());
        Comment {
            id: r.id,
            story_id: r.story_id,
            author_id: if tombstone { None } else { r.author_id },
            author_name: if tombstone { None } else { r.author_name },
            author_role: if tombstone {
                None
            } else {
                r.author_role.as_deref().and_then(Role::parse)
            },
            author_badges: if tombstone {
                Vec::new()
            } else {
                badges_from_json(r.author_badges.as_deref())
            },
            parent_id: r.parent_id,
            parent_author_name: if parent_gone {
                None
            } else {
                r.parent_author_name
            },
            root_id: r.root_id,
            depth: r.depth,
            path: r.path,
            reply_count: r.reply_count,
            reaction_count: r.reaction_count,
            status,
            featured: r.featured,
            body_src: if tombstone { String::new() } else { r.body_src },
            body_html: if tombstone {
                String::new()
            } else {
                r.body_html
            },
            created_at: r.created_at,
            edited_at: r.edited_at,
        }
    }
}

/// Badges as stored with a newsroom link. They were checked when the token came in; a
/// restored or hand-edited row that no longer parses or passes those checks shows none.
fn badges_from_json(text: Option<&str>) -> Vec<String> {
    text.and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
        .and_then(|raw| parley_core::sso::check_badges(&raw).ok())
        .unwrap_or_default()
}

/// What a write needs to know about an existing comment.
#[derive(sqlx::FromRow)]
pub struct CommentFactsRow {
    pub id: i64,
    pub story_id: i64,
    pub author_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub root_id: i64,
    pub depth: i64,
    pub path: String,
    pub status: String,
    pub reply_count: i64,
    pub created_at: i64,
}

impl CommentFactsRow {
    pub fn status(&self) -> CommentStatus {
        CommentStatus::parse(&self.status).unwrap_or(CommentStatus::Rejected)
    }
}

#[derive(sqlx::FromRow)]
pub struct StoryGateRow {
    pub is_closed: bool,
    pub closed_message: Option<String>,
}

#[derive(sqlx::FromRow)]
pub struct StandingRow {
    pub status: String,
    pub suspended_until: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub struct RevisionRow {
    pub id: i64,
    pub comment_id: i64,
    pub body_src: String,
    pub body_html: String,
    pub decision: String,
    pub reasons: String,
    pub created_at: i64,
}

impl From<RevisionRow> for Revision {
    fn from(r: RevisionRow) -> Self {
        Revision {
            id: r.id,
            comment_id: r.comment_id,
            body_src: r.body_src,
            body_html: r.body_html,
            decision: r.decision,
            reasons: r.reasons,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub site_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub actor_rule: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: i64,
    pub revision_id: Option<i64>,
    pub reason: String,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: r.id,
            at: r.at,
            site_id: r.site_id,
            actor_id: r.actor_id,
            actor_rule: r.actor_rule,
            action: r.action,
            target_kind: r.target_kind,
            target_id: r.target_id,
            revision_id: r.revision_id,
            reason: r.reason,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct CountRow {
    pub url: String,
    pub id: i64,
    pub comment_count: i64,
}
