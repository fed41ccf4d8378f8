//! A reader's own data: what they can download, and what deleting their account does.

use serde::Serialize;

use crate::model::Revision;

/// Everything the store holds that a reader put there or that describes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountData {
    pub profile: Profile,
    /// Oldest first, every status (pending, rejected and their own deletions too).
    pub comments: Vec<OwnComment>,
    pub reactions: Vec<OwnReaction>,
    /// Reports they filed.
    pub reports: Vec<OwnReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub id: i64,
    pub site: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub status: String,
    pub suspended_until: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnComment {
    pub id: i64,
    pub story_id: i64,
    pub story_url: String,
    pub story_headline: String,
    pub parent_id: Option<i64>,
    pub status: String,
    pub featured: bool,
    pub body_src: String,
    pub body_html: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    /// Every text the comment has had, oldest first, with the moderation decision.
    pub revisions: Vec<Revision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct OwnReaction {
    pub comment_id: i64,
    pub kind: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct OwnReport {
    pub id: i64,
    pub comment_id: i64,
    pub reason: String,
    pub note: String,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
}

/// What deleting an account changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccountDeletion {
    pub tombstoned: i64,
    pub removed: i64,
    pub reactions: i64,
    pub reports: i64,
    pub sessions: i64,
    /// Stories whose pages changed (their caches must go).
    pub story_ids: Vec<i64>,
}
