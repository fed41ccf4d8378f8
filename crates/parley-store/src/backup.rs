//! Lossless backups: every table as JSON Lines in a fixed order (docs/BACKUP.md).
//!
//! A backup is a header line, one line per row (tables in [`TABLES`] order, rows in
//! key order), and a trailer with the number of rows of each table, so a cut-off file
//! is refused. Nothing in it depends on the backend or the moment it was written:
//! exporting, restoring into the other backend and exporting again gives the same bytes.

use std::io::{BufRead, Write};
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::StoreError;

/// The `format` of the header line.
pub const FORMAT: &str = "parley-backup";
/// The version this build writes and the newest it reads.
pub const VERSION: i64 = 1;

/// How a column's values are written: JSON numbers, strings or booleans (or null).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Int,
    Text,
    Bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnKind,
    pub nullable: bool,
    /// Written only with secrets; null otherwise.
    pub secret: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    /// The columns that order (and identify) its rows.
    pub key: &'static [&'static str],
    /// Written only with secrets (sessions).
    pub secret: bool,
    /// Has an `id` its backend numbers: after a restore PostgreSQL's sequence moves past it.
    pub identity: bool,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

const fn int(name: &'static str) -> Column {
    Column {
        name,
        kind: ColumnKind::Int,
        nullable: false,
        secret: false,
    }
}

const fn int_or_null(name: &'static str) -> Column {
    Column {
        nullable: true,
        ..int(name)
    }
}

const fn text(name: &'static str) -> Column {
    Column {
        name,
        kind: ColumnKind::Text,
        nullable: false,
        secret: false,
    }
}

const fn text_or_null(name: &'static str) -> Column {
    Column {
        nullable: true,
        ..text(name)
    }
}

const fn boolean(name: &'static str) -> Column {
    Column {
        name,
        kind: ColumnKind::Bool,
        nullable: false,
        secret: false,
    }
}

/// Every table of the schema, parents before children. A test fails when the schema
/// has a table or column this list does not name, so nothing is left out of backups.
pub const TABLES: &[Table] = &[
    Table {
        name: "sites",
        columns: &[int("id"), text("name"), text("settings"), int("created_at")],
        key: &["id"],
        secret: false,
        identity: true,
    },
    Table {
        name: "site_origins",
        columns: &[int("site_id"), text("origin")],
        key: &["site_id", "origin"],
        secret: false,
        identity: false,
    },
    Table {
        name: "stories",
        columns: &[
            int("id"),
            int("site_id"),
            text("url"),
            text("slug"),
            text("headline"),
            text("standfirst"),
            text("body_md"),
            text("body_html"),
            int("published_at"),
            text_or_null("picture_url"),
            text_or_null("picture_caption"),
            text_or_null("picture_credit"),
            boolean("is_closed"),
            text_or_null("closed_message"),
            int("version"),
            int("comment_count"),
            int("created_at"),
            int("updated_at"),
        ],
        key: &["id"],
        secret: false,
        identity: true,
    },
    Table {
        name: "users",
        columns: &[
            int("id"),
            int("site_id"),
            text("email"),
            text("display_name"),
            text("name_key"),
            Column {
                secret: true,
                ..text_or_null("password_hash")
            },
            text("role"),
            text("status"),
            int_or_null("suspended_until"),
            int("created_at"),
            boolean("imported"),
            int_or_null("deleted_at"),
        ],
        key: &["id"],
        secret: false,
        identity: true,
    },
    Table {
        name: "sessions",
        columns: &[
            text("token_hash"),
            int("user_id"),
            int("created_at"),
            int("expires_at"),
        ],
        key: &["token_hash"],
        secret: true,
        identity: false,
    },
    Table {
        name: "comments",
        columns: &[
            int("id"),
            int("story_id"),
            int_or_null("author_id"),
            int_or_null("parent_id"),
            int("root_id"),
            int("depth"),
            text("path"),
            int("reply_count"),
            int("reaction_count"),
            text("status"),
            boolean("featured"),
            text("body_src"),
            text("body_html"),
            int("created_at"),
            int_or_null("edited_at"),
            int_or_null("deleted_at"),
        ],
        key: &["id"],
        secret: false,
        identity: true,
    },
    Table {
        name: "comment_revisions",
        columns: &[
            int("id"),
            int("comment_id"),
            text("body_src"),
            text("body_html"),
            text("decision"),
            text("reasons"),
            int("created_at"),
        ],
        key: &["id"],
        secret: false,
        identity: true,
    },
    Table {
        name: "reactions",
        columns: &[
            int("comment_id"),
            int("user_id"),
            text("kind"),
            int("created_at"),
        ],
        key: &["comment_id", "user_id"],
        secret: false,
        identity: false,
    },
    Table {
        name: "reports",
        columns: &[
            int("id"),
            int("comment_id"),
            int("user_id"),
            text("reason"),
            text("note"),
            int("created_at"),
            int_or_null("resolved_at"),
        ],
        key: &["id"],
        secret: false,
        identity: true,
    },
    Table {
        name: "audit_log",
        columns: &[
            int("id"),
            int("at"),
            int_or_null("site_id"),
            int_or_null("actor_id"),
            text_or_null("actor_rule"),
            text("action"),
            text("target_kind"),
            int("target_id"),
            int_or_null("revision_id"),
            text("reason"),
        ],
        key: &["id"],
        secret: false,
        identity: true,
    },
    Table {
        name: "import_keys",
        columns: &[
            int("site_id"),
            text("source"),
            text("kind"),
            text("source_id"),
            int("target_id"),
        ],
        key: &["site_id", "source", "kind", "source_id"],
        secret: false,
        identity: false,
    },
    Table {
        name: "sso_links",
        columns: &[
            int("site_id"),
            text("external_id"),
            int("user_id"),
            text("badges"),
            int("created_at"),
        ],
        key: &["site_id", "external_id"],
        secret: false,
        identity: false,
    },
    Table {
        name: "email_verifications",
        columns: &[int("user_id"), int("verified_at")],
        key: &["user_id"],
        secret: false,
        identity: false,
    },
    Table {
        name: "notification_prefs",
        columns: &[
            int("user_id"),
            text("reply"),
            text("featured"),
            text("moderation"),
            // A credential of sorts (it unsubscribes), but losing it would break the
            // links in mail already sent: it is kept, like the choices themselves.
            text("unsubscribe_key"),
            int("updated_at"),
        ],
        key: &["user_id"],
        secret: false,
        identity: false,
    },
    // Only with secrets: an endpoint is no use without its signing secret.
    Table {
        name: "webhooks",
        columns: &[
            int("id"),
            int("site_id"),
            text("url"),
            text("events"),
            text("secret"),
            boolean("active"),
            int("created_at"),
        ],
        key: &["id"],
        secret: true,
        identity: true,
    },
];

/// Tables left out of backups on purpose, with the reason (docs/BACKUP.md). A restored
/// database starts them empty.
pub const EXCLUDED: &[(&str, &str)] = &[
    (
        "signin_failures",
        "sign-in throttle counters: they last minutes and are keyed by email and network address",
    ),
    (
        "sso_used_tokens",
        "single sign-on token ids already used: kept only until the tokens expire",
    ),
    (
        "webhook_deliveries",
        "the webhook outbox and its log: restoring it would send old events again",
    ),
    (
        "webhook_attempts",
        "the webhook delivery log's attempts (see webhook_deliveries)",
    ),
    (
        "account_tokens",
        "links mailed for confirming an address or resetting a password: single-use, they expire within days",
    ),
    (
        "digest_items",
        "notifications waiting for a daily digest: restoring them would mail them again",
    ),
    (
        "mail_outbox",
        "queued and sent mail: transient, and restoring it would send old mail again",
    ),
];

pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Password hashes and sessions too: a backup that can replace the database as it is.
    pub with_secrets: bool,
}

/// Rows per table, in [`TABLES`] order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupCounts(pub Vec<(&'static str, u64)>);

impl BackupCounts {
    pub fn get(&self, table: &str) -> u64 {
        self.0
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(0, |(_, n)| *n)
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, n)| n).sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file is not a backup this build can restore; `line` is 1-based.
    #[error("line {line}: {message}")]
    Format { line: u64, message: String },
    #[error("the database is not empty (table {table} has rows): restore only into a new database")]
    NotEmpty { table: String },
    #[error("writing the backup: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(StoreError),
}

/// Restores travel through the store's write path as a `StoreError`; these codes bring
/// them back to [`BackupError`].
pub(crate) const FORMAT_CODE: &str = "backup_format";
pub(crate) const NOT_EMPTY_CODE: &str = "backup_not_empty";

impl From<StoreError> for BackupError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused { code, message } if code == FORMAT_CODE => {
                match message.split_once(':') {
                    Some((line, rest)) if line.parse::<u64>().is_ok() => BackupError::Format {
                        line: line.parse().unwrap_or(0),
                        message: rest.trim_start().to_owned(),
                    },
                    _ => BackupError::Format { line: 0, message },
                }
            }
            StoreError::Refused { code, message } if code == NOT_EMPTY_CODE => {
                BackupError::NotEmpty { table: message }
            }
            other => BackupError::Store(other),
        }
    }
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> Self {
        BackupError::Store(e.into())
    }
}

/// Writing and restoring backups. Implemented by [`crate::SqlStore`] for both backends.
#[async_trait]
pub trait Backup: Send + Sync + 'static {
    /// Writes the whole database to `out` from one consistent snapshot, row by row.
    async fn export(
        &self,
        out: &mut (dyn Write + Send),
        options: ExportOptions,
    ) -> Result<BackupCounts, BackupError>;

    /// Restores a backup into this database, which must be empty, in one transaction:
    /// any bad line restores nothing. Reads `input` line by line.
    async fn restore(&self, input: Box<dyn BufRead + Send>) -> Result<BackupCounts, BackupError>;

    /// The tables and their columns as the database has them, for checking [`TABLES`].
    async fn schema_columns(&self) -> Result<Vec<(String, String)>, BackupError>;
}

/// Opens the database at `url` (as [`crate::connect`] does) for backups.
pub async fn connect(url: &str) -> Result<Arc<dyn Backup>, BackupError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(crate::postgres::open(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(crate::sqlite::open(url).await?))
    } else if url.contains("://") {
        Err(StoreError::BadUrl(format!(
            "{url}: use sqlite://FILE or postgres://USER@HOST/DATABASE"
        ))
        .into())
    } else {
        Ok(Arc::new(
            crate::sqlite::open(&format!("sqlite://{url}")).await?,
        ))
    }
}

/// Reads lines with their 1-based numbers; shared by the restore and its tests.
pub(crate) fn numbered_lines(
    input: Box<dyn BufRead + Send>,
) -> impl Iterator<Item = (u64, std::io::Result<String>)> {
    input.lines().zip(1u64..).map(|(l, n)| (n, l))
}
