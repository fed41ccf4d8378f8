//! Importers: read other systems' exports into Parley's model, without touching storage.
//!
//! - [`disqus`] and [`wordpress`] stream their XML with quick-xml and yield
//!   [`SourceItem`]s one at a time, so a file of any size reads in bounded memory;
//! - [`commento`] (Commento's JSON export v1) and [`comentario`] (Comentario's export
//!   v3, plain or gzip) stream their JSON with serde_json, one comment at a time, on a
//!   thread of their own; memory grows with the number of commenters and pages, not
//!   comments;
//! - [`text`] parses the plain text of a news page as a browser copies it;
//! - [`body`] turns imported HTML (or plain text) into a comment body: Markdown source
//!   plus the HTML that [`parley_core::markdown::render_comment`] makes of it;
//! - [`plan`] runs two passes over a source: the first learns which posts exist and which
//!   have replies, the second hands out records parents-first, ready to store.

pub mod body;
pub mod comentario;
pub mod commento;
pub mod disqus;
mod json;
pub mod plan;
pub mod text;
pub mod wordpress;
mod xml;

pub use plan::{Plan, PlannedComment, PlannedItem, PlannedStory, Scan, Skip};

/// Where a conversation came from; also the `source` of its import keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Disqus,
    Wordpress,
    Text,
    Commento,
    Comentario,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Disqus => "disqus",
            Source::Wordpress => "wordpress",
            Source::Text => "text",
            Source::Commento => "commento",
            Source::Comentario => "comentario",
        }
    }
}

/// A thread (Disqus) or item (WordPress): becomes a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceThread {
    /// The export's id for it, unique within the file.
    pub key: String,
    pub url: String,
    pub title: String,
    /// Unix milliseconds, when the export says.
    pub created_at: Option<i64>,
    pub closed: bool,
    /// The line it starts on, for messages.
    pub line: u64,
}

/// How the export left a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceStatus {
    Approved,
    /// Waiting for a moderator in the old system: kept as pending.
    Unapproved,
    /// Marked as spam: kept as rejected.
    Spam,
    /// Deleted: a tombstone when it has replies, dropped otherwise.
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceAuthor {
    pub name: String,
    /// Lower-cased; None when the export has none.
    pub email: Option<String>,
    /// The old system's account name, when it has one.
    pub username: Option<String>,
}

impl SourceAuthor {
    /// What identifies this author within one source: the email when there is one,
    /// else the account name, else the display name.
    pub fn key(&self) -> String {
        if let Some(email) = &self.email {
            return format!("email:{email}");
        }
        if let Some(username) = &self.username {
            return format!("user:{username}");
        }
        format!("name:{}", self.name.to_lowercase())
    }
}

/// A post (Disqus) or comment (WordPress): becomes a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePost {
    pub key: String,
    pub thread_key: String,
    pub parent_key: Option<String>,
    pub author: SourceAuthor,
    /// HTML (Disqus), or text with optional HTML (WordPress).
    pub message: String,
    pub created_at: Option<i64>,
    pub status: SourceStatus,
    pub featured: bool,
    pub line: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceItem {
    Thread(SourceThread),
    Post(SourcePost),
    /// Something the reader could not use, with the reason (a pingback, a post without id).
    Skipped(Skip),
}

/// Why a file could not be read: names the line and, when known, the element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: u64,
    pub message: String,
}

impl ParseError {
    pub fn new(line: u64, message: impl Into<String>) -> Self {
        ParseError {
            line,
            message: message.into(),
        }
    }
}
