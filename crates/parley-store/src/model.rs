//! The records the store hands out and the inputs it takes. Times are unix milliseconds.

use parley_core::thread::{CommentStatus, Threaded};
use parley_core::{CommentSort, Cursor, Role, UserStatus};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    pub id: i64,
    pub name: String,
    /// Origins (scheme://host[:port]) allowed to embed this site's conversations.
    pub origins: Vec<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoryFields {
    pub url: String,
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub body_md: String,
    pub published_at: i64,
    pub picture_url: Option<String>,
    pub picture_caption: Option<String>,
    pub picture_credit: Option<String>,
    pub is_closed: bool,
    pub closed_message: Option<String>,
}

impl StoryFields {
    /// An open story with only its address, slug and headline: no body, picture or
    /// standfirst yet.
    pub fn bare(url: &str, slug: String, headline: String, published_at: i64) -> Self {
        StoryFields {
            url: url.to_owned(),
            slug,
            headline,
            standfirst: String::new(),
            body_md: String::new(),
            published_at,
            picture_url: None,
            picture_caption: None,
            picture_credit: None,
            is_closed: false,
            closed_message: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Story {
    pub id: i64,
    pub site_id: i64,
    #[serde(flatten)]
    pub fields: StoryFields,
    pub body_html: String,
    /// Bumped by every change a reader could see; the key of caches and ETags.
    pub version: i64,
    /// Published comments.
    pub comment_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub site_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub status: UserStatus,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub site_id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub role: Role,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub id: i64,
    pub story_id: i64,
    /// None for tombstones: a deleted comment keeps its place, not its author.
    pub author_id: Option<i64>,
    pub author_name: Option<String>,
    pub author_role: Option<Role>,
    /// The newsroom's labels for the author from single sign-on (`sso_links.badges`);
    /// empty for tombstones and for accounts not linked to a newsroom.
    pub author_badges: Vec<String>,
    pub parent_id: Option<i64>,
    /// Display name of the parent's author, for "Reply to NAME".
    pub parent_author_name: Option<String>,
    pub root_id: i64,
    pub depth: i64,
    pub path: String,
    pub reply_count: i64,
    pub reaction_count: i64,
    pub status: CommentStatus,
    pub featured: bool,
    pub body_src: String,
    pub body_html: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
}

impl Comment {
    /// The cursor that continues a `sort`-ordered list of top-level comments after this one.
    pub fn cursor_after(&self, sort: CommentSort) -> Cursor {
        let key = match sort {
            CommentSort::Newest | CommentSort::Oldest => self.id,
            CommentSort::MostReactions => self.reaction_count,
            CommentSort::MostReplies => self.reply_count,
        };
        Cursor {
            sort,
            key,
            id: self.id,
        }
    }
}

impl Threaded for Comment {
    fn path(&self) -> &str {
        &self.path
    }
}

#[derive(Debug, Clone)]
pub struct NewComment {
    pub story_id: i64,
    pub author_id: i64,
    pub parent_id: Option<i64>,
    pub body_src: String,
    pub body_html: String,
    pub max_depth: i64,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct CommentEdit {
    pub comment_id: i64,
    pub editor_id: i64,
    pub body_src: String,
    pub body_html: String,
    /// How long after posting an author may still edit.
    pub window_ms: i64,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    pub id: i64,
    pub comment_id: i64,
    pub body_src: String,
    pub body_html: String,
    pub decision: String,
    pub reasons: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewReport {
    pub comment_id: i64,
    pub user_id: i64,
    pub reason: String,
    pub note: String,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub site_id: Option<i64>,
    pub actor_id: Option<i64>,
    /// The automatic rule that acted, when no person did.
    pub actor_rule: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: i64,
    pub revision_id: Option<i64>,
    pub reason: String,
}

/// A session as found by its token: the user and when it ends.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoryCount {
    pub url: String,
    pub story_id: i64,
    pub count: i64,
}

/// The moderation pipeline's ruling on a comment, as the store keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ruling {
    /// Hold the comment for a moderator instead of publishing it.
    pub hold: bool,
    /// The rule (pipeline phase) that held it: the audit entry's `actor_rule`.
    pub rule: Option<String>,
    /// The reasons, one a line, stored with the revision.
    pub reasons: String,
}

/// How far the author's counts are needed: the rules only compare them with a policy's
/// small numbers, so each is counted up to its cap (0: not counted at all) rather than
/// over every comment an author ever wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCaps {
    pub approved: i64,
    pub recent: i64,
}

impl ActivityCaps {
    /// Whole counts.
    pub const UNCAPPED: ActivityCaps = ActivityCaps {
        approved: i64::MAX,
        recent: i64::MAX,
    };
}

/// What the moderation pipeline needs to know about an author's recent posting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuthorActivity {
    /// The author's published comments.
    pub approved_count: i64,
    /// The author's comments created at or after `since`.
    pub recent_count: i64,
    /// The body of the author's newest comment that is not deleted (nor the excepted one).
    pub last_body: Option<String>,
}

/// An audit entry written directly (an automatic reject leaves no comment to hang it on).
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub at: i64,
    pub site_id: i64,
    pub actor_id: Option<i64>,
    pub actor_rule: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: i64,
    pub reason: String,
}

/// A moderator's decision on one comment.
#[derive(Debug, Clone)]
pub struct CommentDecision {
    pub comment_id: i64,
    /// Approve (publish) or reject.
    pub approve: bool,
    pub actor_id: i64,
    /// Why, for the audit log (a reason code and an optional note).
    pub reason: String,
    pub now: i64,
}

/// Which moderation queue, and how to narrow it.
#[derive(Debug, Clone)]
pub struct QueueQuery {
    pub site_id: i64,
    /// pending, reported, rejected, approved or featured.
    pub queue: String,
    pub story_id: Option<i64>,
    /// Matched case-insensitively against the text and the author's name.
    pub text: Option<String>,
    /// Open reports a comment needs to be in the `reported` queue.
    pub min_reports: i64,
    pub limit: i64,
}

/// What `/readyz` and `parley doctor` need to know about the schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Readiness {
    /// Migrations this binary has that the database has not applied.
    pub pending: Vec<i64>,
    /// Migrations the database has applied that this binary does not know.
    pub unknown: Vec<i64>,
}

impl Readiness {
    /// The migrations this binary `known`s against those the database `applied`.
    pub fn compare(known: &[i64], applied: &[i64]) -> Self {
        Readiness {
            pending: known
                .iter()
                .copied()
                .filter(|v| !applied.contains(v))
                .collect(),
            unknown: applied
                .iter()
                .copied()
                .filter(|v| !known.contains(v))
                .collect(),
        }
    }

    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.unknown.is_empty()
    }
}

/// Database connections, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PoolUse {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}
