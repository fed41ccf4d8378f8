//! A reader's own data: the download of everything about them, and deleting their
//! account (comments tombstoned or removed, reactions and reports gone with counts
//! fixed, sessions ended, the row anonymised, the audit log kept without their name).

use std::collections::HashMap;

use parley_core::moderation::OnAccountDelete;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::rows::*;
use super::{Backend, SqlStore, placeholders};
use crate::account_data::{
    AccountData, AccountDeletion, OwnComment, OwnReaction, OwnReport, Profile,
};
use crate::error::{StoreError, StoreResult};
use crate::model::Revision;

/// What replaces a deleted reader's name and email in the audit log's free text.
pub const DELETED_MARK: &str = "[deleted account]";
/// The display name a deleted account keeps (tombstones show no name at all).
pub const DELETED_NAME: &str = "Deleted account";

/// Ids per statement when removing comments in bulk.
const CHUNK: usize = 500;

#[derive(FromRow)]
pub struct OwnCommentRow {
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
}

impl<DB> SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Type<DB> + for<'q> Encode<'q, DB>,
    String: Type<DB> + for<'q> Encode<'q, DB>,
    bool: Type<DB> + for<'q> Encode<'q, DB>,
    Option<i64>: Type<DB> + for<'q> Encode<'q, DB>,
    Option<String>: Type<DB> + for<'q> Encode<'q, DB>,
    for<'r> SiteRow: FromRow<'r, DB::Row>,
    for<'r> OriginRow: FromRow<'r, DB::Row>,
    for<'r> StoryRow: FromRow<'r, DB::Row>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> SessionRow: FromRow<'r, DB::Row>,
    for<'r> CommentRow: FromRow<'r, DB::Row>,
    for<'r> CommentFactsRow: FromRow<'r, DB::Row>,
    for<'r> StoryGateRow: FromRow<'r, DB::Row>,
    for<'r> StandingRow: FromRow<'r, DB::Row>,
    for<'r> RevisionRow: FromRow<'r, DB::Row>,
    for<'r> AuditRow: FromRow<'r, DB::Row>,
    for<'r> CountRow: FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    // What the readers' own data adds.
    for<'r> OwnCommentRow: FromRow<'r, DB::Row>,
    for<'r> OwnReaction: FromRow<'r, DB::Row>,
    for<'r> OwnReport: FromRow<'r, DB::Row>,
{
    pub(super) async fn read_account_data(&self, user_id: i64) -> StoreResult<Option<AccountData>> {
        let mut conn = self.reads.acquire().await?;
        let user = sqlx::query_as::<DB, UserRow>(
            "SELECT id, site_id, email, display_name, password_hash, role, status, \
             suspended_until, created_at FROM users WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(user) = user else {
            return Ok(None);
        };
        let (site,) = sqlx::query_as::<DB, (String,)>("SELECT name FROM sites WHERE id = $1")
            .bind(user.site_id)
            .fetch_one(&mut *conn)
            .await?;
        let profile = Profile {
            id: user.id,
            site,
            email: user.email,
            display_name: user.display_name,
            role: user.role,
            status: user.status,
            suspended_until: user.suspended_until,
            created_at: user.created_at,
        };
        let rows = sqlx::query_as::<DB, OwnCommentRow>(
            "SELECT c.id, c.story_id, s.url AS story_url, s.headline AS story_headline, \
             c.parent_id, c.status, c.featured, c.body_src, c.body_html, c.created_at, \
             c.edited_at, c.deleted_at \
             FROM comments c JOIN stories s ON s.id = c.story_id \
             WHERE c.author_id = $1 ORDER BY c.id",
        )
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut revisions: HashMap<i64, Vec<Revision>> = HashMap::new();
        let revision_rows = sqlx::query_as::<DB, RevisionRow>(
            "SELECT r.id, r.comment_id, r.body_src, r.body_html, r.decision, r.reasons, r.created_at \
             FROM comment_revisions r JOIN comments c ON c.id = r.comment_id \
             WHERE c.author_id = $1 ORDER BY r.comment_id, r.id",
        )
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
        for r in revision_rows {
            revisions
                .entry(r.comment_id)
                .or_default()
                .push(Revision::from(r));
        }
        let comments = rows
            .into_iter()
            .map(|r| OwnComment {
                revisions: revisions.remove(&r.id).unwrap_or_default(),
                id: r.id,
                story_id: r.story_id,
                story_url: r.story_url,
                story_headline: r.story_headline,
                parent_id: r.parent_id,
                status: r.status,
                featured: r.featured,
                body_src: r.body_src,
                body_html: r.body_html,
                created_at: r.created_at,
                edited_at: r.edited_at,
                deleted_at: r.deleted_at,
            })
            .collect();
        let reactions = sqlx::query_as::<DB, OwnReaction>(
            "SELECT comment_id, kind, created_at FROM reactions WHERE user_id = $1 \
             ORDER BY comment_id",
        )
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
        let reports = sqlx::query_as::<DB, OwnReport>(
            "SELECT id, comment_id, reason, note, created_at, resolved_at FROM reports \
             WHERE user_id = $1 ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
        Ok(Some(AccountData {
            profile,
            comments,
            reactions,
            reports,
        }))
    }

    pub(super) async fn remove_account(
        &self,
        user_id: i64,
        fate: OnAccountDelete,
        now: i64,
    ) -> StoreResult<AccountDeletion> {
        self.write(move |conn| Box::pin(Self::tx_delete_account(conn, user_id, fate, now)))
            .await
    }

    async fn ids(conn: &mut DB::Connection, sql: &str, user_id: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_as::<DB, (i64,)>(sql)
            .bind(user_id)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect())
    }

    /// Sets every reply count of a story from its comments, deepest first (a
    /// placeholder counts only while it has visible replies), then its comment count.
    async fn recount_story(conn: &mut DB::Connection, story_id: i64, now: i64) -> StoreResult<()> {
        let (deepest,) = sqlx::query_as::<DB, (i64,)>(
            "SELECT COALESCE(MAX(depth), 0) FROM comments WHERE story_id = $1",
        )
        .bind(story_id)
        .fetch_one(&mut *conn)
        .await?;
        for depth in (0..=deepest).rev() {
            sqlx::query::<DB>(
                "UPDATE comments SET reply_count = (SELECT COUNT(*) FROM comments ch \
                 WHERE ch.parent_id = comments.id \
                 AND (ch.status = 'published' OR ch.reply_count > 0)) \
                 WHERE story_id = $1 AND depth = $2",
            )
            .bind(story_id)
            .bind(depth)
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query::<DB>(
            "UPDATE stories SET comment_count = (SELECT COUNT(*) FROM comments \
             WHERE story_id = $1 AND status = 'published'), version = version + 1, \
             updated_at = $2 WHERE id = $1",
        )
        .bind(story_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Deletes the comments `ids` and everything that hangs on them.
    async fn purge_comments(conn: &mut DB::Connection, ids: &[i64]) -> StoreResult<()> {
        for chunk in ids.chunks(CHUNK) {
            let list = placeholders(1, chunk.len());
            for table in ["comment_revisions", "reactions", "reports"] {
                let sql = format!("DELETE FROM {table} WHERE comment_id IN ({list})");
                let mut q = sqlx::query::<DB>(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(&mut *conn).await?;
            }
            let sql = format!("DELETE FROM comments WHERE id IN ({list})");
            let mut q = sqlx::query::<DB>(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }

    async fn tx_delete_account(
        conn: &mut DB::Connection,
        user_id: i64,
        fate: OnAccountDelete,
        now: i64,
    ) -> StoreResult<AccountDeletion> {
        let user = sqlx::query_as::<DB, UserRow>(
            "SELECT id, site_id, email, display_name, password_hash, role, status, \
             suspended_until, created_at FROM users WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
        let story_ids = Self::ids(
            conn,
            "SELECT story_id FROM comments WHERE author_id = $1 \
             UNION SELECT c.story_id FROM reactions r JOIN comments c ON c.id = r.comment_id \
             WHERE r.user_id = $1 ORDER BY 1",
            user_id,
        )
        .await?;

        sqlx::query::<DB>(
            "UPDATE comments SET reaction_count = reaction_count - 1 \
             WHERE id IN (SELECT comment_id FROM reactions WHERE user_id = $1)",
        )
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
        let reactions = Self::ids(
            conn,
            "DELETE FROM reactions WHERE user_id = $1 RETURNING comment_id",
            user_id,
        )
        .await?
        .len();
        let reports = Self::ids(
            conn,
            "DELETE FROM reports WHERE user_id = $1 RETURNING id",
            user_id,
        )
        .await?
        .len();

        let mut removed = 0;
        if fate == OnAccountDelete::Remove {
            // Leaves first: removing a reply can leave its parent (also theirs) without
            // replies, removable in the next round.
            loop {
                let leaves = Self::ids(
                    conn,
                    "SELECT id FROM comments c WHERE c.author_id = $1 \
                     AND NOT EXISTS (SELECT 1 FROM comments ch WHERE ch.parent_id = c.id)",
                    user_id,
                )
                .await?;
                if leaves.is_empty() {
                    break;
                }
                removed += leaves.len();
                Self::purge_comments(conn, &leaves).await?;
            }
        }
        // What is left keeps the thread's shape: no text, no author shown, not featured.
        let tombstoned = sqlx::query_as::<DB, (i64,)>(
            "UPDATE comments SET status = 'deleted', body_src = '', body_html = '', \
                 featured = FALSE, deleted_at = COALESCE(deleted_at, $2) \
                 WHERE author_id = $1 RETURNING id",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?
        .len();
        sqlx::query::<DB>(
            "UPDATE comment_revisions SET body_src = '', body_html = '' \
             WHERE comment_id IN (SELECT id FROM comments WHERE author_id = $1)",
        )
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
        sqlx::query::<DB>(
            "UPDATE reports SET resolved_at = $2 WHERE resolved_at IS NULL \
             AND comment_id IN (SELECT id FROM comments WHERE author_id = $1)",
        )
        .bind(user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        for story_id in &story_ids {
            Self::recount_story(conn, *story_id, now).await?;
        }

        let sessions = Self::ids(
            conn,
            "DELETE FROM sessions WHERE user_id = $1 RETURNING user_id",
            user_id,
        )
        .await?
        .len();
        // Mail state goes with the address it was about.
        for table in [
            "account_tokens",
            "email_verifications",
            "notification_prefs",
            "digest_items",
        ] {
            sqlx::query::<DB>(&format!("DELETE FROM {table} WHERE user_id = $1"))
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
        }

        // An importer's key for an author is their email, username or name at the
        // source. Keys of their imported comments stay: a re-import must not bring back
        // what was removed.
        sqlx::query::<DB>("DELETE FROM import_keys WHERE kind = 'author' AND target_id = $1")
            .bind(user_id)
            .execute(&mut *conn)
            .await?;

        // The audit log keeps who did what to which id and when; free text that names
        // the reader loses the name.
        for personal in [&user.display_name, &user.email] {
            sqlx::query::<DB>(
                "UPDATE audit_log SET reason = REPLACE(reason, $1, $2) \
                 WHERE REPLACE(reason, $1, '') <> reason",
            )
            .bind(personal.clone())
            .bind(DELETED_MARK.to_owned())
            .execute(&mut *conn)
            .await?;
        }
        // A leading space: no display name a reader can choose normalises to this key.
        sqlx::query::<DB>(
            "UPDATE users SET email = $2, display_name = $3, name_key = $4, \
             password_hash = NULL, imported = FALSE, deleted_at = $5 WHERE id = $1",
        )
        .bind(user_id)
        .bind(format!("deleted-{user_id}@deleted.invalid"))
        .bind(DELETED_NAME.to_owned())
        .bind(format!(" deleted {user_id}"))
        .bind(now)
        .execute(&mut *conn)
        .await?;
        sqlx::query::<DB>(
            "INSERT INTO audit_log (at, site_id, actor_id, actor_rule, action, target_kind, \
             target_id, revision_id, reason) VALUES ($1, $2, $3, NULL, 'delete_account', \
             'user', $3, NULL, $4)",
        )
        .bind(now)
        .bind(user.site_id)
        .bind(user_id)
        .bind(format!("comments: {}", fate.as_str()))
        .execute(&mut *conn)
        .await?;
        Ok(AccountDeletion {
            tombstoned: tombstoned as i64,
            removed: removed as i64,
            reactions: reactions as i64,
            reports: reports as i64,
            sessions: sessions as i64,
            story_ids,
        })
    }
}
