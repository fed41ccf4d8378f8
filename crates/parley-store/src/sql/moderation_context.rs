//! What moderators need to judge a comment in context, beyond the queue itself: the
//! reports filed on it, its author's record, the author's past moderation, and the
//! audit log searched by action, target and actor. Read-only queries, written once for
//! both backends like the rest of [`SqlStore`].

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use crate::error::{StoreError, StoreResult};
use crate::model::AuditEntry;
use crate::sql::{Backend, SqlStore};

/// One reader's report on a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportNote {
    pub comment_id: i64,
    pub reporter_id: i64,
    pub reporter_name: Option<String>,
    pub reason: String,
    pub note: String,
    pub created_at: i64,
    /// Not yet settled by a moderator's decision.
    pub open: bool,
}

/// How an author's comments have fared, by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuthorRecord {
    pub author_id: i64,
    pub published: i64,
    pub pending: i64,
    pub rejected: i64,
    pub deleted: i64,
}

/// A search of a site's audit log; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub site_id: i64,
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<i64>,
    /// A person (user id or display name, any case) or an automatic rule's name.
    pub actor: Option<String>,
    /// Only entries older than this entry id (for paging back).
    pub before: Option<i64>,
    pub limit: i64,
}

/// An audit entry with the name of the person who acted, if a person did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditLine {
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub actor_name: Option<String>,
}

#[async_trait]
pub trait ModerationContext: Send + Sync {
    /// Every report on these comments, oldest first.
    async fn reports_for(&self, comment_ids: &[i64]) -> StoreResult<Vec<ReportNote>>;
    /// One record per author among `author_ids` (authors without comments get zeros).
    async fn author_records(&self, author_ids: &[i64]) -> StoreResult<Vec<AuthorRecord>>;
    /// Audit entries about the author: on their account and on their comments, newest
    /// first, at most `limit`.
    async fn author_audit(&self, author_id: i64, limit: i64) -> StoreResult<Vec<AuditEntry>>;
    /// The site's audit log narrowed by `query`, newest first.
    async fn search_audit(&self, query: AuditQuery) -> StoreResult<Vec<AuditLine>>;
}

/// Each row comes back as one JSON object (built by the database), so these queries need
/// no row types beyond the `(String,)` every backend decodes: they run under the same
/// bounds as the rest of the store.
#[derive(Deserialize)]
struct ReportNoteRow {
    comment_id: i64,
    user_id: i64,
    display_name: Option<String>,
    reason: String,
    note: String,
    created_at: i64,
    resolved_at: Option<i64>,
}

#[derive(Deserialize)]
struct StatusCountRow {
    author_id: i64,
    status: String,
    n: i64,
}

#[derive(Deserialize)]
struct AuditLineRow {
    id: i64,
    at: i64,
    site_id: Option<i64>,
    actor_id: Option<i64>,
    actor_rule: Option<String>,
    action: String,
    target_kind: String,
    target_id: i64,
    revision_id: Option<i64>,
    reason: String,
    actor_name: Option<String>,
}

impl From<AuditLineRow> for AuditLine {
    fn from(r: AuditLineRow) -> Self {
        AuditLine {
            entry: AuditEntry {
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
            },
            actor_name: r.actor_name,
        }
    }
}

/// `SELECT <one JSON object of these columns>` in the backend's dialect.
fn json_select<DB: Backend>(columns: &[(&str, &str)]) -> String {
    let pairs = columns
        .iter()
        .map(|(key, expr)| format!("'{key}', {expr}"))
        .collect::<Vec<_>>()
        .join(", ");
    if DB::KIND == "postgres" {
        format!("SELECT json_build_object({pairs})::text")
    } else {
        format!("SELECT json_object({pairs})")
    }
}

fn decode<T: serde::de::DeserializeOwned>(rows: Vec<(String,)>) -> StoreResult<Vec<T>> {
    rows.into_iter()
        .map(|(json,)| {
            serde_json::from_str(&json)
                .map_err(|e| StoreError::Database(Arc::new(sqlx::Error::Decode(Box::new(e)))))
        })
        .collect()
}

const AUDIT_LINE_COLUMNS: [(&str, &str); 11] = [
    ("id", "a.id"),
    ("at", "a.at"),
    ("site_id", "a.site_id"),
    ("actor_id", "a.actor_id"),
    ("actor_rule", "a.actor_rule"),
    ("action", "a.action"),
    ("target_kind", "a.target_kind"),
    ("target_id", "a.target_id"),
    ("revision_id", "a.revision_id"),
    ("reason", "a.reason"),
    ("actor_name", "u.display_name"),
];

const AUDIT_LINE_FROM: &str = " FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id";

enum Bind {
    Int(i64),
    Text(String),
}

fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl<DB> ModerationContext for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Type<DB> + for<'q> Encode<'q, DB>,
    String: Type<DB> + for<'q> Encode<'q, DB>,
    Option<i64>: Type<DB> + for<'q> Encode<'q, DB>,
    Option<String>: Type<DB> + for<'q> Encode<'q, DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
{
    async fn reports_for(&self, comment_ids: &[i64]) -> StoreResult<Vec<ReportNote>> {
        if comment_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{} FROM reports r LEFT JOIN users u ON u.id = r.user_id \
             WHERE r.comment_id IN ({}) ORDER BY r.id",
            json_select::<DB>(&[
                ("comment_id", "r.comment_id"),
                ("user_id", "r.user_id"),
                ("display_name", "u.display_name"),
                ("reason", "r.reason"),
                ("note", "r.note"),
                ("created_at", "r.created_at"),
                ("resolved_at", "r.resolved_at"),
            ]),
            placeholders(1, comment_ids.len())
        );
        let mut q = sqlx::query_as::<DB, (String,)>(&sql);
        for id in comment_ids {
            q = q.bind(*id);
        }
        let rows: Vec<ReportNoteRow> = decode(q.fetch_all(self.read_pool()).await?)?;
        Ok(rows
            .into_iter()
            .map(|r| ReportNote {
                comment_id: r.comment_id,
                reporter_id: r.user_id,
                reporter_name: r.display_name,
                reason: r.reason,
                note: r.note,
                created_at: r.created_at,
                open: r.resolved_at.is_none(),
            })
            .collect())
    }

    async fn author_records(&self, author_ids: &[i64]) -> StoreResult<Vec<AuthorRecord>> {
        let mut records: BTreeMap<i64, AuthorRecord> = author_ids
            .iter()
            .map(|&id| {
                (
                    id,
                    AuthorRecord {
                        author_id: id,
                        ..AuthorRecord::default()
                    },
                )
            })
            .collect();
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{} FROM comments WHERE author_id IN ({}) GROUP BY author_id, status",
            json_select::<DB>(&[
                ("author_id", "author_id"),
                ("status", "status"),
                ("n", "COUNT(*)"),
            ]),
            placeholders(1, records.len())
        );
        let mut q = sqlx::query_as::<DB, (String,)>(&sql);
        for id in records.keys() {
            q = q.bind(*id);
        }
        let rows: Vec<StatusCountRow> = decode(q.fetch_all(self.read_pool()).await?)?;
        for row in rows {
            if let Some(r) = records.get_mut(&row.author_id) {
                match row.status.as_str() {
                    "published" => r.published += row.n,
                    "pending" => r.pending += row.n,
                    "rejected" => r.rejected += row.n,
                    "deleted" => r.deleted += row.n,
                    _ => {}
                }
            }
        }
        Ok(records.into_values().collect())
    }

    async fn author_audit(&self, author_id: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let sql = format!(
            "{}{AUDIT_LINE_FROM} WHERE (a.target_kind = 'user' AND a.target_id = $1) \
             OR (a.target_kind = 'comment' AND a.target_id IN \
             (SELECT id FROM comments WHERE author_id = $1)) ORDER BY a.id DESC LIMIT $2",
            json_select::<DB>(&AUDIT_LINE_COLUMNS)
        );
        let rows: Vec<AuditLineRow> = decode(
            sqlx::query_as::<DB, (String,)>(&sql)
                .bind(author_id)
                .bind(limit)
                .fetch_all(self.read_pool())
                .await?,
        )?;
        Ok(rows.into_iter().map(|r| AuditLine::from(r).entry).collect())
    }

    async fn search_audit(&self, query: AuditQuery) -> StoreResult<Vec<AuditLine>> {
        let mut sql = format!(
            "{}{AUDIT_LINE_FROM} WHERE a.site_id = $1",
            json_select::<DB>(&AUDIT_LINE_COLUMNS)
        );
        let mut binds = vec![Bind::Int(query.site_id)];
        let mut add = |binds: &mut Vec<Bind>, clause: &str, value: Bind| {
            binds.push(value);
            sql.push_str(&clause.replace("$n", &format!("${}", binds.len())));
        };
        if let Some(action) = query.action.filter(|a| !a.is_empty()) {
            add(&mut binds, " AND a.action = $n", Bind::Text(action));
        }
        if let Some(kind) = query.target_kind.filter(|k| !k.is_empty()) {
            add(&mut binds, " AND a.target_kind = $n", Bind::Text(kind));
        }
        if let Some(id) = query.target_id {
            add(&mut binds, " AND a.target_id = $n", Bind::Int(id));
        }
        if let Some(actor) = query.actor.map(|a| a.trim().to_lowercase())
            && !actor.is_empty()
        {
            add(
                &mut binds,
                " AND (a.actor_rule = $n OR LOWER(u.display_name) = $n \
                 OR CAST(a.actor_id AS TEXT) = $n)",
                Bind::Text(actor),
            );
        }
        if let Some(before) = query.before {
            add(&mut binds, " AND a.id < $n", Bind::Int(before));
        }
        add(
            &mut binds,
            " ORDER BY a.id DESC LIMIT $n",
            Bind::Int(query.limit),
        );
        let mut q = sqlx::query_as::<DB, (String,)>(&sql);
        for b in binds {
            q = match b {
                Bind::Int(v) => q.bind(v),
                Bind::Text(v) => q.bind(v),
            };
        }
        let rows: Vec<AuditLineRow> = decode(q.fetch_all(self.read_pool()).await?)?;
        Ok(rows.into_iter().map(AuditLine::from).collect())
    }
}
