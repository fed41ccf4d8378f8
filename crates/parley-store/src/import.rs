//! Bulk import: records an importer hands the store, and the one operation that writes
//! them. A whole import is ONE transaction: records arrive in batches over a channel
//! while the source is still being read, and anything short of [`ImportMessage::Done`]
//! (a parse error, a dropped sender) rolls everything back.
//!
//! Every story, comment and author written is keyed in `import_keys` by its source id,
//! so importing the same export again finds them and writes nothing.

use async_trait::async_trait;
use parley_core::thread::CommentStatus;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::error::StoreResult;

#[derive(Debug, Clone)]
pub struct ImportJob {
    pub site_id: i64,
    /// "disqus", "wordpress", "text": the namespace of the source ids.
    pub source: String,
    /// The deepest reply level: a reply nested deeper is attached to its ancestor at
    /// `max_depth - 1`, so it shows at `max_depth`, right under that thread.
    pub max_depth: i64,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct ImportStory {
    pub key: String,
    pub url: String,
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub body_md: String,
    pub body_html: String,
    pub published_at: i64,
    pub picture_caption: Option<String>,
    pub picture_credit: Option<String>,
    pub closed: bool,
}

#[derive(Debug, Clone)]
pub struct ImportAuthor {
    /// Unique within the source (an email, account name or display name).
    pub key: String,
    pub name: String,
    /// Lower-case; authors with the same email are one user, and a reader who
    /// registers with it later takes the account over.
    pub email: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ImportComment {
    pub key: String,
    pub story_key: String,
    /// Written before this comment (in this import or an earlier one).
    pub parent_key: Option<String>,
    /// The export named a parent it does not hold: the comment is top-level.
    pub orphan: bool,
    pub author: ImportAuthor,
    pub body_src: String,
    pub body_html: String,
    /// Deleted comments are stored as tombstones, without author.
    pub status: CommentStatus,
    pub featured: bool,
    pub created_at: i64,
    /// A forecast of its reply count (the source's replies to it), 0 when unknown. Only a
    /// hint: the row is written with it, and written again at the end only when the
    /// replies actually stored came to another number. Replies often arrive long after
    /// their parent; without the forecast each such parent would be written twice.
    pub expected_replies: i64,
}

#[derive(Debug, Clone)]
pub enum ImportRecord {
    Story(ImportStory),
    Comment(ImportComment),
}

#[derive(Debug)]
pub enum ImportMessage {
    Records(Vec<ImportRecord>),
    /// The source was read to its end: commit.
    Done,
    /// The source broke part-way: roll back, reporting this.
    Failed(String),
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub stories_created: i64,
    /// Stories found by an earlier import's key or by URL.
    pub stories_existing: i64,
    pub comments_created: i64,
    /// Comments an earlier import of the same source wrote already.
    pub comments_existing: i64,
    pub authors_created: i64,
    /// Authors found by an earlier import's key or by email.
    pub authors_existing: i64,
    /// Comments whose parent is missing, now top-level.
    pub orphans: i64,
    /// Replies nested deeper than the maximum depth, attached higher up.
    pub reattached: i64,
}

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Writes everything received until `Done` in one transaction; `Failed` or a closed
    /// channel rolls back and returns the error.
    async fn import(
        &self,
        job: ImportJob,
        messages: mpsc::Receiver<ImportMessage>,
    ) -> StoreResult<ImportReport>;
}
