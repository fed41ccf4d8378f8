//! The store's one implementation, generic over the sqlx backend. Every query here is
//! plain SQL that SQLite and PostgreSQL read the same way (`$n` placeholders,
//! `RETURNING`, window functions, partial indexes); what differs lives in
//! `crate::sqlite` and `crate::postgres`: connecting, pragmas, migrations, how writes
//! are committed.

mod account_data;
pub mod account_mail;
mod backup;
mod feeds;
mod import;
pub mod mail;
mod rows;
pub mod sso;
pub mod webhooks;
pub(crate) mod writer;

use async_trait::async_trait;
use futures::future::BoxFuture;
use parley_core::thread::{CommentStatus, ParentFacts, Placement};
use parley_core::{CommentSort, Cursor, Role, UserStatus, account::PostingRight};
use sqlx::migrate::Migrator;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use crate::error::{StoreError, StoreResult, is_unique_violation};
use crate::model::*;
use crate::nodes::NodeFeed;
use crate::store::Store;
use rows::*;
use writer::BatchWriter;

/// A sqlx database Parley runs on.
pub trait Backend: Database {
    const KIND: &'static str;
    /// Opens a transaction that will write (SQLite must take its write lock up front).
    const BEGIN: &'static str;

    /// Tells every node sharing the database; false when there is no one to tell.
    fn notify_nodes(pool: &Pool<Self>, message: String) -> BoxFuture<'_, StoreResult<bool>>;
    /// Hears what every node tells, this one included; None without such a channel.
    fn listen_nodes(pool: &Pool<Self>) -> BoxFuture<'_, StoreResult<Option<NodeFeed>>>;
}

impl Backend for sqlx::Sqlite {
    const KIND: &'static str = "sqlite";
    const BEGIN: &'static str = "BEGIN IMMEDIATE";

    fn notify_nodes(_: &Pool<Self>, _: String) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(async { Ok(false) })
    }

    fn listen_nodes(_: &Pool<Self>) -> BoxFuture<'_, StoreResult<Option<NodeFeed>>> {
        Box::pin(async { Ok(None) })
    }
}

impl Backend for sqlx::Postgres {
    const KIND: &'static str = "postgres";
    const BEGIN: &'static str = "BEGIN";

    fn notify_nodes(pool: &Pool<Self>, message: String) -> BoxFuture<'_, StoreResult<bool>> {
        Box::pin(crate::postgres::notify_nodes(pool, message))
    }

    fn listen_nodes(pool: &Pool<Self>) -> BoxFuture<'_, StoreResult<Option<NodeFeed>>> {
        Box::pin(async move { crate::postgres::listen_nodes(pool).await.map(Some) })
    }
}

/// How writes reach the database.
pub(crate) enum Writer<DB: Database> {
    /// One transaction per write on a pooled connection (PostgreSQL: many writers).
    Pooled(Pool<DB>),
    /// Group commit on one connection (SQLite: one writer at a time anyway).
    Batched(BatchWriter<DB>),
}

pub struct SqlStore<DB: Backend> {
    reads: Pool<DB>,
    writer: Writer<DB>,
    /// The migrations this binary knows, for readiness checks.
    known_migrations: Vec<i64>,
}

/// The author's newsroom badges come from `sso_links` by its unique `user_id`: one index
/// probe per comment row.
const COMMENT_SELECT: &str = "SELECT c.id, c.story_id, c.author_id, u.display_name AS author_name, \
     u.role AS author_role, sl.badges AS author_badges, c.parent_id, \
     pu.display_name AS parent_author_name, \
     p.status AS parent_status, c.root_id, c.depth, c.path, c.reply_count, c.reaction_count, \
     c.status, c.featured, c.body_src, c.body_html, c.created_at, c.edited_at \
     FROM comments c \
     LEFT JOIN users u ON u.id = c.author_id \
     LEFT JOIN sso_links sl ON sl.user_id = c.author_id \
     LEFT JOIN comments p ON p.id = c.parent_id \
     LEFT JOIN users pu ON pu.id = p.author_id";

/// `COMMENT_SELECT` as readers may see it: a comment that is in the thread only as a
/// placeholder (rejected, or held again after an edit, with visible replies) comes out
/// as a tombstone, without its text or author.
const PUBLIC_COMMENT_SELECT: &str = "SELECT c.id, c.story_id, c.author_id, u.display_name AS author_name, \
     u.role AS author_role, sl.badges AS author_badges, c.parent_id, \
     pu.display_name AS parent_author_name, \
     CASE WHEN p.status IN ('pending', 'rejected') THEN 'deleted' ELSE p.status END AS parent_status, \
     c.root_id, c.depth, c.path, c.reply_count, c.reaction_count, \
     CASE WHEN c.status = 'published' THEN c.status ELSE 'deleted' END AS status, c.featured, \
     CASE WHEN c.status = 'published' THEN c.body_src ELSE '' END AS body_src, \
     CASE WHEN c.status = 'published' THEN c.body_html ELSE '' END AS body_html, \
     c.created_at, c.edited_at \
     FROM comments c \
     LEFT JOIN users u ON u.id = c.author_id \
     LEFT JOIN sso_links sl ON sl.user_id = c.author_id \
     LEFT JOIN comments p ON p.id = c.parent_id \
     LEFT JOIN users pu ON pu.id = p.author_id";

/// Part of the public thread: published, or a placeholder (deleted, rejected or held
/// again after an edit) that still has visible replies.
const VISIBLE: &str = "(c.status = 'published' OR c.reply_count > 0)";

const STORY_COLUMNS: &str = "id, site_id, url, slug, headline, standfirst, body_md, body_html, \
     published_at, picture_url, picture_caption, picture_credit, is_closed, closed_message, \
     version, comment_count, created_at, updated_at";

const USER_COLUMNS: &str = "id, site_id, email, display_name, password_hash, role, status, \
     suspended_until, created_at";

const FACTS_COLUMNS: &str =
    "id, story_id, author_id, parent_id, root_id, depth, path, status, reply_count, created_at";

/// `$first, $first+1, ...` for an IN list of `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl<DB: Backend> SqlStore<DB> {
    pub(crate) fn new(reads: Pool<DB>, writer: Writer<DB>, migrator: &Migrator) -> Self {
        Self {
            reads,
            writer,
            known_migrations: migrator.iter().map(|m| m.version).collect(),
        }
    }

    pub fn read_pool(&self) -> &Pool<DB> {
        &self.reads
    }
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
{
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut DB::Connection) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        match &self.writer {
            Writer::Batched(w) => w.write(f).await,
            Writer::Pooled(pool) => {
                // A sqlx Transaction rather than a bare BEGIN: if the caller gives up
                // mid-write, dropping it rolls back before the connection is reused
                // (a bare BEGIN went back to the pool still open, holding its locks).
                let mut tx = pool.begin_with(DB::BEGIN).await?;
                match f(&mut tx).await {
                    Ok(v) => {
                        tx.commit().await?;
                        Ok(v)
                    }
                    Err(e) => {
                        tx.rollback().await?;
                        Err(e)
                    }
                }
            }
        }
    }

    async fn load_site(conn: &mut DB::Connection, row: SiteRow) -> StoreResult<Site> {
        let origins = sqlx::query_as::<DB, OriginRow>(
            "SELECT site_id, origin FROM site_origins WHERE site_id = $1 ORDER BY origin",
        )
        .bind(row.id)
        .fetch_all(&mut *conn)
        .await?;
        Ok(Site {
            id: row.id,
            name: row.name,
            origins: origins.into_iter().map(|o| o.origin).collect(),
            created_at: row.created_at,
        })
    }

    async fn sites_where(&self, filter: &str, arg: Option<SiteKey>) -> StoreResult<Vec<Site>> {
        let sql = format!("SELECT id, name, created_at FROM sites {filter} ORDER BY id");
        let mut q = sqlx::query_as::<DB, SiteRow>(&sql);
        match arg {
            Some(SiteKey::Id(id)) => q = q.bind(id),
            Some(SiteKey::Name(name)) => q = q.bind(name),
            None => {}
        }
        let mut conn = self.reads.acquire().await?;
        let rows = q.fetch_all(&mut *conn).await?;
        let mut sites = Vec::with_capacity(rows.len());
        for row in rows {
            sites.push(Self::load_site(&mut conn, row).await?);
        }
        Ok(sites)
    }

    async fn story_where(
        &self,
        filter: &str,
        site_or_id: i64,
        key: Option<String>,
    ) -> StoreResult<Option<Story>> {
        let sql = format!("SELECT {STORY_COLUMNS} FROM stories WHERE {filter}");
        let mut q = sqlx::query_as::<DB, StoryRow>(&sql).bind(site_or_id);
        if let Some(key) = key {
            q = q.bind(key);
        }
        Ok(q.fetch_optional(&self.reads).await?.map(Story::from))
    }

    async fn comments_where(&self, sql: String, args: Vec<Arg>) -> StoreResult<Vec<Comment>> {
        let mut q = sqlx::query_as::<DB, CommentRow>(&sql);
        for a in args {
            q = match a {
                Arg::Int(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
            };
        }
        Ok(q.fetch_all(&self.reads)
            .await?
            .into_iter()
            .map(Comment::from)
            .collect())
    }

    // ---- transaction bodies: each runs on the write connection inside a transaction ----

    async fn comment_in_tx(conn: &mut DB::Connection, id: i64) -> StoreResult<Comment> {
        let sql = format!("{COMMENT_SELECT} WHERE c.id = $1");
        sqlx::query_as::<DB, CommentRow>(&sql)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .map(Comment::from)
            .ok_or(StoreError::NotFound("comment"))
    }

    async fn facts(conn: &mut DB::Connection, id: i64) -> StoreResult<Option<CommentFactsRow>> {
        let sql = format!("SELECT {FACTS_COLUMNS} FROM comments WHERE id = $1");
        Ok(sqlx::query_as::<DB, CommentFactsRow>(&sql)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?)
    }

    async fn open_story(conn: &mut DB::Connection, story_id: i64) -> StoreResult<()> {
        let gate = sqlx::query_as::<DB, StoryGateRow>(
            "SELECT is_closed, closed_message FROM stories WHERE id = $1",
        )
        .bind(story_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("story"))?;
        if gate.is_closed {
            let message = gate
                .closed_message
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| "this story is closed for comments".into());
            return Err(StoreError::refused("story_closed", message));
        }
        Ok(())
    }

    async fn posting_right(
        conn: &mut DB::Connection,
        user_id: i64,
        now: i64,
    ) -> StoreResult<PostingRight> {
        let standing = sqlx::query_as::<DB, StandingRow>(
            "SELECT status, suspended_until FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
        let status = UserStatus::from_parts(&standing.status, standing.suspended_until)
            .unwrap_or(UserStatus::Banned);
        Ok(status.posting_right(now))
    }

    async fn bump_story(
        conn: &mut DB::Connection,
        story_id: i64,
        count_delta: i64,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query::<DB>(
            "UPDATE stories SET version = version + 1, comment_count = comment_count + $2, \
             updated_at = $3 WHERE id = $1",
        )
        .bind(story_id)
        .bind(count_delta)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn audit(conn: &mut DB::Connection, entry: AuditDraft) -> StoreResult<()> {
        sqlx::query::<DB>(
            "INSERT INTO audit_log (at, site_id, actor_id, actor_rule, action, target_kind, \
             target_id, revision_id, reason) \
             VALUES ($1, (SELECT site_id FROM stories WHERE id = $2), $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(entry.at)
        .bind(entry.story_id)
        .bind(entry.actor_id)
        .bind(entry.actor_rule)
        .bind(entry.action.to_owned())
        .bind(entry.target_kind.to_owned())
        .bind(entry.target_id)
        .bind(entry.revision_id)
        .bind(entry.reason)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn add_revision(
        conn: &mut DB::Connection,
        comment_id: i64,
        src: String,
        html: String,
        decision: CommentStatus,
        reasons: String,
        now: i64,
    ) -> StoreResult<i64> {
        let (id,) = sqlx::query_as::<DB, (i64,)>(
            "INSERT INTO comment_revisions (comment_id, body_src, body_html, decision, reasons, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(comment_id)
        .bind(src)
        .bind(html)
        .bind(decision.as_str().to_owned())
        .bind(reasons)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        Ok(id)
    }

    async fn tx_create_comment(
        conn: &mut DB::Connection,
        new: NewComment,
        ruling: Ruling,
    ) -> StoreResult<Comment> {
        Self::open_story(conn, new.story_id).await?;
        let status = match Self::posting_right(conn, new.author_id, new.now).await? {
            PostingRight::Publish if ruling.hold => CommentStatus::Pending,
            PostingRight::Publish => CommentStatus::Published,
            PostingRight::Hold => CommentStatus::Pending,
            PostingRight::Refuse(why) => {
                return Err(StoreError::refused("account_restricted", why));
            }
        };
        let placement = match new.parent_id {
            None => Placement::top_level(),
            Some(parent_id) => {
                let parent = Self::facts(conn, parent_id).await?.map(|f| ParentFacts {
                    status: f.status(),
                    id: f.id,
                    story_id: f.story_id,
                    depth: f.depth,
                    root_id: f.root_id,
                    path: f.path,
                });
                Placement::reply_to(parent.as_ref(), new.story_id, new.max_depth)?
            }
        };
        let (id,) = sqlx::query_as::<DB, (i64,)>(
            "INSERT INTO comments (story_id, author_id, parent_id, depth, status, body_src, \
             body_html, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(new.story_id)
        .bind(new.author_id)
        .bind(placement.parent_id)
        .bind(placement.depth)
        .bind(status.as_str().to_owned())
        .bind(new.body_src.clone())
        .bind(new.body_html.clone())
        .bind(new.now)
        .fetch_one(&mut *conn)
        .await?;
        let path = parley_core::thread::child_path(placement.parent_path.as_deref(), id);
        sqlx::query::<DB>("UPDATE comments SET root_id = $2, path = $3 WHERE id = $1")
            .bind(id)
            .bind(placement.root_id.unwrap_or(id))
            .bind(path)
            .execute(&mut *conn)
            .await?;
        let (rule, reason) = match ruling.rule {
            Some(rule) if ruling.hold => (rule, ruling.reasons.clone()),
            _ => (
                "author_premoderated".to_owned(),
                "the author's comments are pre-moderated".to_owned(),
            ),
        };
        let revision = Self::add_revision(
            conn,
            id,
            new.body_src,
            new.body_html,
            status,
            ruling.reasons,
            new.now,
        )
        .await?;
        if status == CommentStatus::Published {
            if let Some(parent_id) = placement.parent_id {
                sqlx::query::<DB>(
                    "UPDATE comments SET reply_count = reply_count + 1 WHERE id = $1",
                )
                .bind(parent_id)
                .execute(&mut *conn)
                .await?;
            }
            Self::bump_story(conn, new.story_id, 1, new.now).await?;
        } else {
            Self::audit(
                conn,
                AuditDraft {
                    at: new.now,
                    story_id: new.story_id,
                    actor_id: None,
                    actor_rule: Some(rule),
                    action: "hold",
                    target_kind: "comment",
                    target_id: id,
                    revision_id: Some(revision),
                    reason,
                },
            )
            .await?;
        }
        Self::comment_in_tx(conn, id).await
    }

    /// The comment `id` as its author may change it.
    async fn own_comment(
        conn: &mut DB::Connection,
        id: i64,
        user_id: i64,
    ) -> StoreResult<CommentFactsRow> {
        let facts = Self::facts(conn, id)
            .await?
            .ok_or(StoreError::NotFound("comment"))?;
        if facts.author_id != Some(user_id) {
            return Err(StoreError::refused(
                "not_author",
                "only the author can change this comment",
            ));
        }
        if facts.status() == CommentStatus::Deleted {
            return Err(StoreError::refused(
                "comment_deleted",
                "this comment was deleted",
            ));
        }
        Ok(facts)
    }

    async fn tx_edit_comment(
        conn: &mut DB::Connection,
        edit: CommentEdit,
        ruling: Ruling,
    ) -> StoreResult<Comment> {
        let facts = Self::own_comment(conn, edit.comment_id, edit.editor_id).await?;
        let was = facts.status();
        if was == CommentStatus::Rejected {
            return Err(StoreError::refused(
                "comment_rejected",
                "a rejected comment cannot be edited",
            ));
        }
        if edit.now - facts.created_at > edit.window_ms {
            return Err(StoreError::refused(
                "edit_window_over",
                format!(
                    "comments can be edited for {} minutes after posting",
                    edit.window_ms / 60_000
                ),
            ));
        }
        Self::open_story(conn, facts.story_id).await?;
        if let PostingRight::Refuse(why) =
            Self::posting_right(conn, edit.editor_id, edit.now).await?
        {
            return Err(StoreError::refused("account_restricted", why));
        }
        let status = if ruling.hold {
            CommentStatus::Pending
        } else {
            was
        };
        sqlx::query::<DB>(
            "UPDATE comments SET body_src = $2, body_html = $3, edited_at = $4, status = $5 \
             WHERE id = $1",
        )
        .bind(edit.comment_id)
        .bind(edit.body_src.clone())
        .bind(edit.body_html.clone())
        .bind(edit.now)
        .bind(status.as_str().to_owned())
        .execute(&mut *conn)
        .await?;
        let revision = Self::add_revision(
            conn,
            edit.comment_id,
            edit.body_src,
            edit.body_html,
            status,
            ruling.reasons.clone(),
            edit.now,
        )
        .await?;
        if was == CommentStatus::Published && status == CommentStatus::Pending {
            // Off the page until a moderator approves the new text; its replies stay,
            // under a placeholder.
            Self::leave_thread(conn, &facts).await?;
            Self::bump_story(conn, facts.story_id, -1, edit.now).await?;
        } else if status == CommentStatus::Published {
            Self::bump_story(conn, facts.story_id, 0, edit.now).await?;
        }
        if ruling.hold {
            Self::audit(
                conn,
                AuditDraft {
                    at: edit.now,
                    story_id: facts.story_id,
                    actor_id: None,
                    actor_rule: ruling.rule.or_else(|| Some("moderation".to_owned())),
                    action: "hold",
                    target_kind: "comment",
                    target_id: edit.comment_id,
                    revision_id: Some(revision),
                    reason: ruling.reasons,
                },
            )
            .await?;
        }
        Self::comment_in_tx(conn, edit.comment_id).await
    }

    /// A published comment stops being published (deleted, rejected or held again).
    /// With visible replies it stays in the thread as a placeholder; without, it leaves,
    /// and takes with it ancestors that were placeholders kept only for its sake.
    async fn leave_thread(conn: &mut DB::Connection, facts: &CommentFactsRow) -> StoreResult<()> {
        let mut gone = facts.reply_count == 0;
        let mut parent = facts.parent_id;
        while gone {
            let Some(pid) = parent else { break };
            let Some(p) = Self::facts(conn, pid).await? else {
                break;
            };
            sqlx::query::<DB>("UPDATE comments SET reply_count = reply_count - 1 WHERE id = $1")
                .bind(pid)
                .execute(&mut *conn)
                .await?;
            gone = p.status() != CommentStatus::Published && p.reply_count == 1;
            parent = p.parent_id;
        }
        Ok(())
    }

    /// A comment becomes published: unless it was already in the thread as a
    /// placeholder, its (published) parent gains a visible reply.
    async fn join_thread(conn: &mut DB::Connection, facts: &CommentFactsRow) -> StoreResult<()> {
        if facts.reply_count == 0
            && let Some(pid) = facts.parent_id
        {
            sqlx::query::<DB>("UPDATE comments SET reply_count = reply_count + 1 WHERE id = $1")
                .bind(pid)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    async fn tx_delete_comment(
        conn: &mut DB::Connection,
        id: i64,
        user_id: i64,
        now: i64,
    ) -> StoreResult<Comment> {
        let facts = Self::own_comment(conn, id, user_id).await?;
        let was = facts.status();
        sqlx::query::<DB>(
            "UPDATE comments SET status = 'deleted', body_src = '', body_html = '', deleted_at = $2 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        if was == CommentStatus::Published {
            Self::leave_thread(conn, &facts).await?;
            Self::bump_story(conn, facts.story_id, -1, now).await?;
        }
        Self::audit(
            conn,
            AuditDraft {
                at: now,
                story_id: facts.story_id,
                actor_id: Some(user_id),
                actor_rule: None,
                action: "delete_by_author",
                target_kind: "comment",
                target_id: id,
                revision_id: None,
                reason: String::new(),
            },
        )
        .await?;
        Self::comment_in_tx(conn, id).await
    }

    /// A published comment someone other than its author can react to or report.
    async fn published_comment(conn: &mut DB::Connection, id: i64) -> StoreResult<CommentFactsRow> {
        let facts = Self::facts(conn, id)
            .await?
            .ok_or(StoreError::NotFound("comment"))?;
        if facts.status() != CommentStatus::Published {
            return Err(StoreError::NotFound("comment"));
        }
        Ok(facts)
    }

    async fn tx_add_reaction(
        conn: &mut DB::Connection,
        comment_id: i64,
        user_id: i64,
        now: i64,
    ) -> StoreResult<i64> {
        let facts = Self::published_comment(conn, comment_id).await?;
        if facts.author_id == Some(user_id) {
            return Err(StoreError::refused(
                "own_comment",
                "you cannot react to your own comment",
            ));
        }
        let inserted = sqlx::query_as::<DB, (i64,)>(
            "INSERT INTO reactions (comment_id, user_id, kind, created_at) VALUES ($1, $2, 'like', $3) \
             ON CONFLICT DO NOTHING RETURNING comment_id",
        )
        .bind(comment_id)
        .bind(user_id)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        if inserted.is_none() {
            return Err(StoreError::conflict(
                "already_reacted",
                None,
                "you have already reacted to this comment",
            ));
        }
        Self::change_reactions(conn, facts.story_id, comment_id, 1, now).await
    }

    async fn tx_remove_reaction(
        conn: &mut DB::Connection,
        comment_id: i64,
        user_id: i64,
        now: i64,
    ) -> StoreResult<i64> {
        let facts = Self::facts(conn, comment_id)
            .await?
            .ok_or(StoreError::NotFound("comment"))?;
        let removed = sqlx::query_as::<DB, (i64,)>(
            "DELETE FROM reactions WHERE comment_id = $1 AND user_id = $2 RETURNING comment_id",
        )
        .bind(comment_id)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
        if removed.is_none() {
            return Err(StoreError::NotFound("reaction"));
        }
        Self::change_reactions(conn, facts.story_id, comment_id, -1, now).await
    }

    async fn change_reactions(
        conn: &mut DB::Connection,
        story_id: i64,
        comment_id: i64,
        delta: i64,
        now: i64,
    ) -> StoreResult<i64> {
        let (count,) = sqlx::query_as::<DB, (i64,)>(
            "UPDATE comments SET reaction_count = reaction_count + $2 WHERE id = $1 RETURNING reaction_count",
        )
        .bind(comment_id)
        .bind(delta)
        .fetch_one(&mut *conn)
        .await?;
        Self::bump_story(conn, story_id, 0, now).await?;
        Ok(count)
    }

    async fn tx_add_report(conn: &mut DB::Connection, report: NewReport) -> StoreResult<()> {
        Self::published_comment(conn, report.comment_id).await?;
        let inserted = sqlx::query_as::<DB, (i64,)>(
            "INSERT INTO reports (comment_id, user_id, reason, note, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(report.comment_id)
        .bind(report.user_id)
        .bind(report.reason)
        .bind(report.note)
        .bind(report.now)
        .fetch_optional(&mut *conn)
        .await?;
        match inserted {
            Some(_) => Ok(()),
            None => Err(StoreError::conflict(
                "already_reported",
                None,
                "you have already reported this comment",
            )),
        }
    }

    async fn tx_set_featured(
        conn: &mut DB::Connection,
        id: i64,
        featured: bool,
        actor_id: i64,
        now: i64,
    ) -> StoreResult<Comment> {
        let facts = Self::published_comment(conn, id).await?;
        sqlx::query::<DB>("UPDATE comments SET featured = $2 WHERE id = $1")
            .bind(id)
            .bind(featured)
            .execute(&mut *conn)
            .await?;
        Self::bump_story(conn, facts.story_id, 0, now).await?;
        Self::audit(
            conn,
            AuditDraft {
                at: now,
                story_id: facts.story_id,
                actor_id: Some(actor_id),
                actor_rule: None,
                action: if featured { "feature" } else { "unfeature" },
                target_kind: "comment",
                target_id: id,
                revision_id: None,
                reason: String::new(),
            },
        )
        .await?;
        Self::comment_in_tx(conn, id).await
    }

    async fn tx_decide_comment(
        conn: &mut DB::Connection,
        d: CommentDecision,
    ) -> StoreResult<Comment> {
        let facts = Self::facts(conn, d.comment_id)
            .await?
            .ok_or(StoreError::NotFound("comment"))?;
        let was = facts.status();
        if was == CommentStatus::Deleted {
            return Err(StoreError::refused(
                "comment_deleted",
                "this comment was deleted",
            ));
        }
        let to = if d.approve {
            CommentStatus::Published
        } else {
            CommentStatus::Rejected
        };
        let delta = match (
            was == CommentStatus::Published,
            to == CommentStatus::Published,
        ) {
            (false, true) => 1,
            (true, false) => -1,
            _ => 0,
        };
        if delta == 1
            && let Some(parent_id) = facts.parent_id
        {
            let parent = Self::facts(conn, parent_id).await?;
            if parent.is_none_or(|p| p.status() != CommentStatus::Published) {
                return Err(StoreError::refused(
                    "parent_not_published",
                    "approve the comment this replies to first",
                ));
            }
        }
        sqlx::query::<DB>(
            "UPDATE comments SET status = $2, featured = (featured AND $3) WHERE id = $1",
        )
        .bind(d.comment_id)
        .bind(to.as_str().to_owned())
        .bind(d.approve)
        .execute(&mut *conn)
        .await?;
        match delta {
            1 => Self::join_thread(conn, &facts).await?,
            -1 => Self::leave_thread(conn, &facts).await?,
            _ => {}
        }
        if delta != 0 {
            Self::bump_story(conn, facts.story_id, delta, d.now).await?;
        }
        sqlx::query::<DB>(
            "UPDATE reports SET resolved_at = $2 WHERE comment_id = $1 AND resolved_at IS NULL",
        )
        .bind(d.comment_id)
        .bind(d.now)
        .execute(&mut *conn)
        .await?;
        let revision = sqlx::query_as::<DB, (i64,)>(
            "SELECT MAX(id) FROM comment_revisions WHERE comment_id = $1",
        )
        .bind(d.comment_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|(id,)| id);
        Self::audit(
            conn,
            AuditDraft {
                at: d.now,
                story_id: facts.story_id,
                actor_id: Some(d.actor_id),
                actor_rule: None,
                action: if d.approve { "approve" } else { "reject" },
                target_kind: "comment",
                target_id: d.comment_id,
                revision_id: revision,
                reason: d.reason,
            },
        )
        .await?;
        Self::comment_in_tx(conn, d.comment_id).await
    }

    async fn tx_create_story(
        conn: &mut DB::Connection,
        site_id: i64,
        f: StoryFields,
        html: String,
        now: i64,
    ) -> StoreResult<Story> {
        let sql = format!(
            "INSERT INTO stories (site_id, url, slug, headline, standfirst, body_md, body_html, \
             published_at, picture_url, picture_caption, picture_credit, is_closed, closed_message, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING {STORY_COLUMNS}"
        );
        let row = sqlx::query_as::<DB, StoryRow>(&sql)
            .bind(site_id)
            .bind(f.url)
            .bind(f.slug)
            .bind(f.headline)
            .bind(f.standfirst)
            .bind(f.body_md)
            .bind(html)
            .bind(f.published_at)
            .bind(f.picture_url)
            .bind(f.picture_caption)
            .bind(f.picture_credit)
            .bind(f.is_closed)
            .bind(f.closed_message)
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(story_conflict)?;
        Ok(row.into())
    }

    async fn tx_update_story(
        conn: &mut DB::Connection,
        id: i64,
        f: StoryFields,
        html: String,
        now: i64,
    ) -> StoreResult<Story> {
        let sql = format!(
            "UPDATE stories SET url = $2, slug = $3, headline = $4, standfirst = $5, body_md = $6, \
             body_html = $7, published_at = $8, picture_url = $9, picture_caption = $10, \
             picture_credit = $11, is_closed = $12, closed_message = $13, updated_at = $14, \
             version = version + 1 WHERE id = $1 RETURNING {STORY_COLUMNS}"
        );
        let row = sqlx::query_as::<DB, StoryRow>(&sql)
            .bind(id)
            .bind(f.url)
            .bind(f.slug)
            .bind(f.headline)
            .bind(f.standfirst)
            .bind(f.body_md)
            .bind(html)
            .bind(f.published_at)
            .bind(f.picture_url)
            .bind(f.picture_caption)
            .bind(f.picture_credit)
            .bind(f.is_closed)
            .bind(f.closed_message)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await
            .map_err(story_conflict)?
            .ok_or(StoreError::NotFound("story"))?;
        Ok(row.into())
    }

    async fn tx_create_user(conn: &mut DB::Connection, new: NewUser) -> StoreResult<User> {
        let name_key = new.display_name.to_lowercase();
        // A reader who registers with the email of an author brought in by an importer
        // takes that account over: the imported comments become theirs. (Synthetic
        // addresses under `.invalid` belong to nobody and cannot be claimed.)
        let imported = sqlx::query_as::<DB, (i64,)>(
            "SELECT id FROM users WHERE site_id = $1 AND email = $2 AND imported \
             AND email NOT LIKE '%.invalid'",
        )
        .bind(new.site_id)
        .bind(new.email.clone())
        .fetch_optional(&mut *conn)
        .await?;
        if let Some((id,)) = imported {
            let clash = sqlx::query_as::<DB, (i64,)>(
                "SELECT id FROM users WHERE site_id = $1 AND name_key = $2 AND id <> $3",
            )
            .bind(new.site_id)
            .bind(name_key.clone())
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            if clash.is_some() {
                return Err(StoreError::conflict(
                    "name_taken",
                    Some("display_name"),
                    "this display name is taken",
                ));
            }
            let sql = format!(
                "UPDATE users SET display_name = $2, name_key = $3, password_hash = $4, role = $5, \
                 imported = FALSE WHERE id = $1 RETURNING {USER_COLUMNS}"
            );
            let row = sqlx::query_as::<DB, UserRow>(&sql)
                .bind(id)
                .bind(new.display_name)
                .bind(name_key)
                .bind(new.password_hash)
                .bind(new.role.as_str().to_owned())
                .fetch_one(&mut *conn)
                .await?;
            return Ok(row.into_user().0);
        }
        let taken = sqlx::query_as::<DB, (i64,)>(
            "SELECT CASE WHEN email = $2 THEN CAST(1 AS BIGINT) ELSE CAST(2 AS BIGINT) END FROM users \
             WHERE site_id = $1 AND (email = $2 OR name_key = $3) ORDER BY 1 LIMIT 1",
        )
        .bind(new.site_id)
        .bind(new.email.clone())
        .bind(name_key.clone())
        .fetch_optional(&mut *conn)
        .await?;
        match taken {
            Some((1,)) => {
                return Err(StoreError::conflict(
                    "email_taken",
                    Some("email"),
                    "an account with this email exists already",
                ));
            }
            Some(_) => {
                return Err(StoreError::conflict(
                    "name_taken",
                    Some("display_name"),
                    "this display name is taken",
                ));
            }
            None => {}
        }
        let sql = format!(
            "INSERT INTO users (site_id, email, display_name, name_key, password_hash, role, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query_as::<DB, UserRow>(&sql)
            .bind(new.site_id)
            .bind(new.email)
            .bind(new.display_name)
            .bind(name_key)
            .bind(new.password_hash)
            .bind(new.role.as_str().to_owned())
            .bind(new.now)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::conflict(
                        "account_exists",
                        None,
                        "this email or display name is taken",
                    )
                } else {
                    e.into()
                }
            })?;
        Ok(row.into_user().0)
    }
}

fn story_conflict(e: sqlx::Error) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::conflict(
            "story_exists",
            Some("url"),
            "a story with this URL or slug exists already",
        )
    } else {
        e.into()
    }
}

enum SiteKey {
    Id(i64),
    Name(String),
}

enum Arg {
    Int(i64),
    Text(String),
}

struct AuditDraft {
    at: i64,
    story_id: i64,
    actor_id: Option<i64>,
    actor_rule: Option<String>,
    action: &'static str,
    target_kind: &'static str,
    target_id: i64,
    revision_id: Option<i64>,
    reason: String,
}

/// The WHERE and ORDER BY of one page of top-level comments.
fn top_level_order(sort: CommentSort, after: Option<Cursor>) -> (String, Vec<Arg>) {
    let (key, dir) = match sort {
        CommentSort::Newest => ("c.id", "DESC"),
        CommentSort::Oldest => ("c.id", "ASC"),
        CommentSort::MostReactions => ("c.reaction_count", "DESC"),
        CommentSort::MostReplies => ("c.reply_count", "DESC"),
    };
    let cmp = if dir == "DESC" { "<" } else { ">" };
    let order = if key == "c.id" {
        format!("ORDER BY c.id {dir}")
    } else {
        format!("ORDER BY {key} {dir}, c.id {dir}")
    };
    match after {
        None => (order, Vec::new()),
        Some(c) if key == "c.id" => (format!("AND c.id {cmp} $3 {order}"), vec![Arg::Int(c.id)]),
        Some(c) => (
            format!("AND ({key} {cmp} $3 OR ({key} = $3 AND c.id {cmp} $4)) {order}"),
            vec![Arg::Int(c.key), Arg::Int(c.id)],
        ),
    }
}

#[async_trait]
impl<DB> Store for SqlStore<DB>
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
    for<'r> (i64, i64): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    // readers' own data (sql/account_data.rs)
    for<'r> account_data::OwnCommentRow: FromRow<'r, DB::Row>,
    for<'r> crate::account_data::OwnReaction: FromRow<'r, DB::Row>,
    for<'r> crate::account_data::OwnReport: FromRow<'r, DB::Row>,
    // bulk import (sql/import.rs)
    for<'r> (String, i64): FromRow<'r, DB::Row>,
    for<'r> (i64, String): FromRow<'r, DB::Row>,
    for<'r> (i64, i64, i64, i64, String, String, i64): FromRow<'r, DB::Row>,
    for<'r> (String, i64, i64, i64, i64, String, String, i64): FromRow<'r, DB::Row>,
    // webhooks (sql/webhooks.rs)
    for<'r> webhooks::Webhook: FromRow<'r, DB::Row>,
    for<'r> webhooks::ClaimedDelivery: FromRow<'r, DB::Row>,
    for<'r> webhooks::WebhookDelivery: FromRow<'r, DB::Row>,
    for<'r> webhooks::WebhookAttempt: FromRow<'r, DB::Row>,
    // account mail and notifications (sql/account_mail.rs)
    for<'r> account_mail::TargetRow: FromRow<'r, DB::Row>,
    for<'r> account_mail::LinkRow: FromRow<'r, DB::Row>,
    for<'r> account_mail::DigestItem: FromRow<'r, DB::Row>,
    // mail outbox (sql/mail.rs)
    for<'r> mail::ClaimedMail: FromRow<'r, DB::Row>,
    for<'r> mail::OutboxMail: FromRow<'r, DB::Row>,
{
    fn backend(&self) -> &'static str {
        DB::KIND
    }

    async fn readiness(&self) -> StoreResult<Readiness> {
        let applied: Vec<(i64,)> =
            sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&self.reads)
                .await?;
        let applied: Vec<i64> = applied.into_iter().map(|(v,)| v).collect();
        Ok(Readiness::compare(&self.known_migrations, &applied))
    }

    async fn notify_nodes(&self, message: String) -> StoreResult<bool> {
        DB::notify_nodes(&self.reads, message).await
    }

    async fn listen_nodes(&self) -> StoreResult<Option<NodeFeed>> {
        DB::listen_nodes(&self.reads).await
    }

    fn pool_use(&self) -> PoolUse {
        let open = self.reads.size();
        let idle = u32::try_from(self.reads.num_idle()).unwrap_or(u32::MAX);
        PoolUse {
            open,
            idle: idle.min(open),
            max: self.reads.options().get_max_connections(),
        }
    }

    fn importer(&self) -> &dyn crate::import::ImportStore {
        self
    }

    fn webhooks(&self) -> &dyn webhooks::WebhookStore {
        self
    }

    fn sso(&self) -> &dyn sso::SsoStore {
        self
    }

    fn mail(&self) -> &dyn mail::MailStore {
        self
    }

    fn account_mail(&self) -> &dyn account_mail::AccountMailStore {
        self
    }

    async fn create_site(&self, name: &str, origins: &[String], now: i64) -> StoreResult<Site> {
        let name = name.to_owned();
        let origins = origins.to_vec();
        self.write(move |conn| {
            Box::pin(async move {
                let row = sqlx::query_as::<DB, SiteRow>(
                    "INSERT INTO sites (name, created_at) VALUES ($1, $2) RETURNING id, name, created_at",
                )
                .bind(name)
                .bind(now)
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::conflict("site_exists", Some("name"), "a site with this name exists already")
                    } else {
                        e.into()
                    }
                })?;
                for origin in origins {
                    sqlx::query::<DB>(
                        "INSERT INTO site_origins (site_id, origin) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    )
                    .bind(row.id)
                    .bind(origin)
                    .execute(&mut *conn)
                    .await?;
                }
                Self::load_site(conn, row).await
            })
        })
        .await
    }

    async fn site_by_name(&self, name: &str) -> StoreResult<Option<Site>> {
        Ok(self
            .sites_where("WHERE name = $1", Some(SiteKey::Name(name.to_owned())))
            .await?
            .pop())
    }

    async fn site_by_id(&self, id: i64) -> StoreResult<Option<Site>> {
        Ok(self
            .sites_where("WHERE id = $1", Some(SiteKey::Id(id)))
            .await?
            .pop())
    }

    async fn list_sites(&self) -> StoreResult<Vec<Site>> {
        self.sites_where("", None).await
    }

    async fn site_settings(&self, site_id: i64) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_as::<DB, (String,)>("SELECT settings FROM sites WHERE id = $1")
                .bind(site_id)
                .fetch_optional(&self.reads)
                .await?
                .map(|(s,)| s),
        )
    }

    async fn set_site_settings(&self, site_id: i64, settings: String) -> StoreResult<()> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query_as::<DB, (i64,)>(
                    "UPDATE sites SET settings = $2 WHERE id = $1 RETURNING id",
                )
                .bind(site_id)
                .bind(settings)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound("site"))?;
                Ok(())
            })
        })
        .await
    }

    async fn create_story(
        &self,
        site_id: i64,
        fields: StoryFields,
        body_html: String,
        now: i64,
    ) -> StoreResult<Story> {
        self.write(move |conn| {
            Box::pin(Self::tx_create_story(conn, site_id, fields, body_html, now))
        })
        .await
    }

    async fn update_story(
        &self,
        id: i64,
        fields: StoryFields,
        body_html: String,
        now: i64,
    ) -> StoreResult<Story> {
        self.write(move |conn| Box::pin(Self::tx_update_story(conn, id, fields, body_html, now)))
            .await
    }

    async fn story_versions(&self, ids: &[i64]) -> StoreResult<Vec<(i64, i64)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, version FROM stories WHERE id IN ({})",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query_as::<DB, (i64, i64)>(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        Ok(q.fetch_all(&self.reads).await?)
    }

    async fn story_by_id(&self, id: i64) -> StoreResult<Option<Story>> {
        self.story_where("id = $1", id, None).await
    }

    async fn story_by_url(&self, site_id: i64, url: &str) -> StoreResult<Option<Story>> {
        self.story_where("site_id = $1 AND url = $2", site_id, Some(url.to_owned()))
            .await
    }

    async fn story_by_slug(&self, site_id: i64, slug: &str) -> StoreResult<Option<Story>> {
        self.story_where("site_id = $1 AND slug = $2", site_id, Some(slug.to_owned()))
            .await
    }

    async fn list_stories(&self, site_id: i64, limit: i64) -> StoreResult<Vec<Story>> {
        let sql = format!(
            "SELECT {STORY_COLUMNS} FROM stories WHERE site_id = $1 ORDER BY published_at DESC, id DESC LIMIT $2"
        );
        let rows = sqlx::query_as::<DB, StoryRow>(&sql)
            .bind(site_id)
            .bind(limit)
            .fetch_all(&self.reads)
            .await?;
        Ok(rows.into_iter().map(Story::from).collect())
    }

    async fn comment_counts(&self, site_id: i64, urls: &[String]) -> StoreResult<Vec<StoryCount>> {
        if urls.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT url, id, comment_count FROM stories WHERE site_id = $1 AND url IN ({})",
            placeholders(2, urls.len())
        );
        let mut q = sqlx::query_as::<DB, CountRow>(&sql).bind(site_id);
        for url in urls {
            q = q.bind(url.clone());
        }
        let rows = q.fetch_all(&self.reads).await?;
        Ok(rows
            .into_iter()
            .map(|r| StoryCount {
                url: r.url,
                story_id: r.id,
                count: r.comment_count,
            })
            .collect())
    }

    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        self.write(move |conn| Box::pin(Self::tx_create_user(conn, new)))
            .await
    }

    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query_as::<DB, UserRow>(&sql)
            .bind(id)
            .fetch_optional(&self.reads)
            .await?;
        Ok(row.map(|r| r.into_user().0))
    }

    async fn user_credentials(
        &self,
        site_id: i64,
        email: &str,
    ) -> StoreResult<Option<(User, Option<String>)>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE site_id = $1 AND email = $2");
        let row = sqlx::query_as::<DB, UserRow>(&sql)
            .bind(site_id)
            .bind(email.to_owned())
            .fetch_optional(&self.reads)
            .await?;
        Ok(row.map(UserRow::into_user))
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query::<DB>(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(token_hash)
                .bind(user_id)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn session_user(&self, token_hash: &str) -> StoreResult<Option<SessionUser>> {
        let row = sqlx::query_as::<DB, SessionRow>(
            "SELECT u.id, u.site_id, u.email, u.display_name, u.password_hash, u.role, u.status, \
             u.suspended_until, u.created_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        )
        .bind(token_hash.to_owned())
        .fetch_optional(&self.reads)
        .await?;
        Ok(row.map(|r| SessionUser {
            user: r.user.into_user().0,
            expires_at: r.expires_at,
        }))
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query::<DB>("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    async fn delete_expired_sessions(&self, now: i64) -> StoreResult<i64> {
        self.write(move |conn| {
            Box::pin(async move {
                let gone = sqlx::query_as::<DB, (i64,)>(
                    "DELETE FROM sessions WHERE expires_at <= $1 RETURNING user_id",
                )
                .bind(now)
                .fetch_all(&mut *conn)
                .await?;
                Ok(gone.len() as i64)
            })
        })
        .await
    }

    async fn signin_failures(&self, key: &str) -> StoreResult<Option<(i64, i64)>> {
        Ok(sqlx::query_as::<DB, (i64, i64)>(
            "SELECT window_start, failures FROM signin_failures WHERE key = $1",
        )
        .bind(key.to_owned())
        .fetch_optional(&self.reads)
        .await?)
    }

    async fn record_signin_failure(&self, key: &str, now: i64, window_ms: i64) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                // One statement, so failures counted on several nodes at once all count.
                sqlx::query::<DB>(
                    "INSERT INTO signin_failures (key, window_start, failures) VALUES ($1, $2, 1) \
                     ON CONFLICT (key) DO UPDATE SET \
                     failures = CASE WHEN signin_failures.window_start <= $3 THEN 1 \
                                ELSE signin_failures.failures + 1 END, \
                     window_start = CASE WHEN signin_failures.window_start <= $3 THEN $2 \
                                    ELSE signin_failures.window_start END",
                )
                .bind(key)
                .bind(now)
                .bind(now.saturating_sub(window_ms))
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn clear_signin_failures(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query::<DB>("DELETE FROM signin_failures WHERE key = $1")
                    .bind(key)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    async fn sweep_signin_failures(&self, before: i64) -> StoreResult<i64> {
        self.write(move |conn| {
            Box::pin(async move {
                let gone = sqlx::query_as::<DB, (i64,)>(
                    "DELETE FROM signin_failures WHERE window_start < $1 RETURNING failures",
                )
                .bind(before)
                .fetch_all(&mut *conn)
                .await?;
                Ok(i64::try_from(gone.len()).unwrap_or(i64::MAX))
            })
        })
        .await
    }

    async fn set_user_role(&self, user_id: i64, role: Role) -> StoreResult<User> {
        self.write(move |conn| {
            Box::pin(async move {
                let sql =
                    format!("UPDATE users SET role = $2 WHERE id = $1 RETURNING {USER_COLUMNS}");
                let row = sqlx::query_as::<DB, UserRow>(&sql)
                    .bind(user_id)
                    .bind(role.as_str().to_owned())
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("user"))?;
                Ok(row.into_user().0)
            })
        })
        .await
    }

    async fn create_comment_ruled(&self, new: NewComment, ruling: Ruling) -> StoreResult<Comment> {
        self.write(move |conn| Box::pin(Self::tx_create_comment(conn, new, ruling)))
            .await
    }

    async fn edit_comment_ruled(&self, edit: CommentEdit, ruling: Ruling) -> StoreResult<Comment> {
        self.write(move |conn| Box::pin(Self::tx_edit_comment(conn, edit, ruling)))
            .await
    }

    async fn author_activity(
        &self,
        author_id: i64,
        since: i64,
        except: Option<i64>,
        caps: ActivityCaps,
    ) -> StoreResult<AuthorActivity> {
        // Both counts stop at their cap: an author with thousands of comments must not
        // make every post of theirs walk all of them.
        let approved_count = if caps.approved > 0 {
            sqlx::query_as::<DB, (i64,)>(
                "SELECT COUNT(*) FROM (SELECT 1 FROM comments \
                 WHERE author_id = $1 AND status = 'published' LIMIT $2) capped",
            )
            .bind(author_id)
            .bind(caps.approved)
            .fetch_one(&self.reads)
            .await?
            .0
        } else {
            0
        };
        // The newest comments first (ids grow with time): within the window they are
        // the first `cap` of them.
        let recent_count = if caps.recent > 0 {
            sqlx::query_as::<DB, (i64,)>(
                "SELECT COUNT(*) FROM (SELECT created_at FROM comments WHERE author_id = $1 \
                 ORDER BY id DESC LIMIT $2) newest WHERE created_at >= $3",
            )
            .bind(author_id)
            .bind(caps.recent)
            .bind(since)
            .fetch_one(&self.reads)
            .await?
            .0
        } else {
            0
        };
        let last_body = sqlx::query_as::<DB, (String,)>(
            "SELECT body_src FROM comments WHERE author_id = $1 AND id <> $2 \
             AND status <> 'deleted' ORDER BY id DESC LIMIT 1",
        )
        .bind(author_id)
        .bind(except.unwrap_or(0))
        .fetch_optional(&self.reads)
        .await?
        .map(|(b,)| b);
        Ok(AuthorActivity {
            approved_count,
            recent_count,
            last_body,
        })
    }

    async fn record_audit(&self, e: NewAudit) -> StoreResult<()> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query::<DB>(
                    "INSERT INTO audit_log (at, site_id, actor_id, actor_rule, action, \
                     target_kind, target_id, revision_id, reason) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)",
                )
                .bind(e.at)
                .bind(e.site_id)
                .bind(e.actor_id)
                .bind(e.actor_rule)
                .bind(e.action)
                .bind(e.target_kind)
                .bind(e.target_id)
                .bind(e.reason)
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn delete_comment(
        &self,
        comment_id: i64,
        user_id: i64,
        now: i64,
    ) -> StoreResult<Comment> {
        self.write(move |conn| Box::pin(Self::tx_delete_comment(conn, comment_id, user_id, now)))
            .await
    }

    async fn add_reaction(&self, comment_id: i64, user_id: i64, now: i64) -> StoreResult<i64> {
        self.write(move |conn| Box::pin(Self::tx_add_reaction(conn, comment_id, user_id, now)))
            .await
    }

    async fn remove_reaction(&self, comment_id: i64, user_id: i64, now: i64) -> StoreResult<i64> {
        self.write(move |conn| Box::pin(Self::tx_remove_reaction(conn, comment_id, user_id, now)))
            .await
    }

    async fn add_report(&self, report: NewReport) -> StoreResult<()> {
        self.write(move |conn| Box::pin(Self::tx_add_report(conn, report)))
            .await
    }

    async fn set_featured(
        &self,
        comment_id: i64,
        featured: bool,
        actor_id: i64,
        now: i64,
    ) -> StoreResult<Comment> {
        self.write(move |conn| {
            Box::pin(Self::tx_set_featured(
                conn, comment_id, featured, actor_id, now,
            ))
        })
        .await
    }

    async fn comment_by_id(&self, id: i64) -> StoreResult<Option<Comment>> {
        let sql = format!("{COMMENT_SELECT} WHERE c.id = $1");
        Ok(self.comments_where(sql, vec![Arg::Int(id)]).await?.pop())
    }

    async fn public_comment(&self, id: i64) -> StoreResult<Option<Comment>> {
        let sql = format!(
            "{PUBLIC_COMMENT_SELECT} WHERE c.id = $1 AND ({VISIBLE} OR c.status = 'deleted')"
        );
        Ok(self
            .comments_where(sql, vec![Arg::Int(id)])
            .await?
            .into_iter()
            .next())
    }

    async fn comments_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<Comment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{COMMENT_SELECT} WHERE c.id IN ({}) ORDER BY c.path",
            placeholders(1, ids.len())
        );
        self.comments_where(sql, ids.iter().copied().map(Arg::Int).collect())
            .await
    }

    async fn top_level_page(
        &self,
        story_id: i64,
        sort: CommentSort,
        after: Option<Cursor>,
        limit: i64,
    ) -> StoreResult<Vec<Comment>> {
        let (tail, mut extra) = top_level_order(sort, after);
        let sql = format!(
            "{PUBLIC_COMMENT_SELECT} WHERE c.story_id = $1 AND c.depth = 0 AND {VISIBLE} {tail} LIMIT $2"
        );
        let mut args = vec![Arg::Int(story_id), Arg::Int(limit)];
        args.append(&mut extra);
        self.comments_where(sql, args).await
    }

    async fn replies_for_roots(
        &self,
        root_ids: &[i64],
        per_root: i64,
        max_depth: i64,
    ) -> StoreResult<Vec<Comment>> {
        if root_ids.is_empty() {
            return Ok(Vec::new());
        }
        let inner = PUBLIC_COMMENT_SELECT.replacen(
            "SELECT ",
            "SELECT ROW_NUMBER() OVER (PARTITION BY c.root_id ORDER BY c.path) AS rn, ",
            1,
        );
        let sql = format!(
            "SELECT * FROM ({inner} WHERE c.root_id IN ({}) AND c.depth > 0 AND c.depth <= $2 AND {VISIBLE}) t \
             WHERE t.rn <= $1 ORDER BY t.path",
            placeholders(3, root_ids.len())
        );
        let mut args = vec![Arg::Int(per_root), Arg::Int(max_depth)];
        args.extend(root_ids.iter().copied().map(Arg::Int));
        self.comments_where(sql, args).await
    }

    async fn replies_after(
        &self,
        root_id: i64,
        after_path: &str,
        limit: i64,
        max_depth: i64,
    ) -> StoreResult<Vec<Comment>> {
        let sql = format!(
            "{PUBLIC_COMMENT_SELECT} WHERE c.root_id = $1 AND c.depth > 0 AND c.path > $2 AND c.depth <= $4 \
             AND {VISIBLE} ORDER BY c.path LIMIT $3"
        );
        let args = vec![
            Arg::Int(root_id),
            Arg::Text(after_path.to_owned()),
            Arg::Int(limit),
            Arg::Int(max_depth),
        ];
        self.comments_where(sql, args).await
    }

    async fn pending_of_author(&self, story_id: i64, author_id: i64) -> StoreResult<Vec<Comment>> {
        let sql = format!(
            "{COMMENT_SELECT} WHERE c.author_id = $2 AND c.story_id = $1 AND c.status = 'pending' ORDER BY c.id"
        );
        self.comments_where(sql, vec![Arg::Int(story_id), Arg::Int(author_id)])
            .await
    }

    async fn reacted_by(&self, user_id: i64, comment_ids: &[i64]) -> StoreResult<Vec<i64>> {
        if comment_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT comment_id FROM reactions WHERE user_id = $1 AND comment_id IN ({})",
            placeholders(2, comment_ids.len())
        );
        let mut q = sqlx::query_as::<DB, (i64,)>(&sql).bind(user_id);
        for id in comment_ids {
            q = q.bind(*id);
        }
        Ok(q.fetch_all(&self.reads)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect())
    }

    async fn featured_comments(&self, story_id: i64, limit: i64) -> StoreResult<Vec<Comment>> {
        let sql = format!(
            "{COMMENT_SELECT} WHERE c.story_id = $1 AND c.featured AND c.status = 'published' \
             ORDER BY c.id LIMIT $2"
        );
        self.comments_where(sql, vec![Arg::Int(story_id), Arg::Int(limit)])
            .await
    }

    async fn revisions(&self, comment_id: i64) -> StoreResult<Vec<Revision>> {
        let rows = sqlx::query_as::<DB, RevisionRow>(
            "SELECT id, comment_id, body_src, body_html, decision, reasons, created_at \
             FROM comment_revisions WHERE comment_id = $1 ORDER BY id",
        )
        .bind(comment_id)
        .fetch_all(&self.reads)
        .await?;
        Ok(rows.into_iter().map(Revision::from).collect())
    }

    async fn decide_comment(&self, decision: CommentDecision) -> StoreResult<Comment> {
        self.write(move |conn| Box::pin(Self::tx_decide_comment(conn, decision)))
            .await
    }

    async fn set_user_status(
        &self,
        user_id: i64,
        status: UserStatus,
        actor_id: i64,
        reason: String,
        now: i64,
    ) -> StoreResult<User> {
        self.write(move |conn| {
            Box::pin(async move {
                let (word, until) = status.to_parts();
                let sql = format!(
                    "UPDATE users SET status = $2, suspended_until = $3 WHERE id = $1 \
                     RETURNING {USER_COLUMNS}"
                );
                let row = sqlx::query_as::<DB, UserRow>(&sql)
                    .bind(user_id)
                    .bind(word.to_owned())
                    .bind(until)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound("user"))?;
                let user = row.into_user().0;
                let action = match status {
                    UserStatus::Active => "lift",
                    UserStatus::Suspended { .. } => "suspend",
                    UserStatus::Banned => "ban",
                    UserStatus::PreModerated => "premoderate",
                };
                sqlx::query::<DB>(
                    "INSERT INTO audit_log (at, site_id, actor_id, actor_rule, action, \
                     target_kind, target_id, revision_id, reason) \
                     VALUES ($1, $2, $3, NULL, $4, 'user', $5, NULL, $6)",
                )
                .bind(now)
                .bind(user.site_id)
                .bind(actor_id)
                .bind(action.to_owned())
                .bind(user_id)
                .bind(reason)
                .execute(&mut *conn)
                .await?;
                Ok(user)
            })
        })
        .await
    }

    async fn moderation_queue(&self, query: QueueQuery) -> StoreResult<Vec<Comment>> {
        let filter = match query.queue.as_str() {
            "pending" => "c.status = 'pending'",
            "rejected" => "c.status = 'rejected'",
            "approved" => "c.status = 'published'",
            "featured" => "c.status = 'published' AND c.featured",
            "reported" => {
                "c.status = 'published' AND (SELECT COUNT(*) FROM reports r \
                 WHERE r.comment_id = c.id AND r.resolved_at IS NULL) >= $2"
            }
            _ => return Err(StoreError::NotFound("queue")),
        };
        let mut sql = format!(
            "{COMMENT_SELECT} WHERE {filter} AND c.story_id IN \
             (SELECT id FROM stories WHERE site_id = $1)"
        );
        let mut args = vec![Arg::Int(query.site_id)];
        if query.queue == "reported" {
            args.push(Arg::Int(query.min_reports.max(1)));
        }
        if let Some(story) = query.story_id {
            args.push(Arg::Int(story));
            sql.push_str(&format!(" AND c.story_id = ${}", args.len()));
        }
        if let Some(text) = query.text.filter(|t| !t.trim().is_empty()) {
            let pattern = format!(
                "%{}%",
                text.trim()
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            args.push(Arg::Text(pattern));
            let n = args.len();
            sql.push_str(&format!(
                " AND (LOWER(c.body_src) LIKE ${n} ESCAPE '\\' \
                 OR LOWER(u.display_name) LIKE ${n} ESCAPE '\\')"
            ));
        }
        args.push(Arg::Int(query.limit));
        sql.push_str(&format!(" ORDER BY c.id DESC LIMIT ${}", args.len()));
        self.comments_where(sql, args).await
    }

    async fn auto_close_stories(
        &self,
        site_id: i64,
        published_before: i64,
        only: Option<i64>,
        except: Vec<i64>,
        now: i64,
    ) -> StoreResult<Vec<i64>> {
        self.write(move |conn| {
            Box::pin(async move {
                // One UPDATE claims the stories: a node that races us waits on the row
                // locks, then finds them closed and skips them.
                let mut sql = "UPDATE stories SET is_closed = TRUE, version = version + 1, \
                               updated_at = $3 \
                               WHERE site_id = $1 AND NOT is_closed AND published_at < $2"
                    .to_owned();
                let mut args = vec![Arg::Int(site_id), Arg::Int(published_before), Arg::Int(now)];
                if let Some(id) = only {
                    args.push(Arg::Int(id));
                    sql.push_str(&format!(" AND id = ${}", args.len()));
                }
                if !except.is_empty() {
                    sql.push_str(&format!(
                        " AND id NOT IN ({})",
                        placeholders(args.len() + 1, except.len())
                    ));
                    args.extend(except.iter().copied().map(Arg::Int));
                }
                sql.push_str(" RETURNING id");
                let mut q = sqlx::query_as::<DB, (i64,)>(&sql);
                for arg in args {
                    q = match arg {
                        Arg::Int(v) => q.bind(v),
                        Arg::Text(v) => q.bind(v),
                    };
                }
                let mut closed: Vec<i64> = q
                    .fetch_all(&mut *conn)
                    .await?
                    .into_iter()
                    .map(|(id,)| id)
                    .collect();
                closed.sort_unstable();
                for &id in &closed {
                    Self::audit(
                        conn,
                        AuditDraft {
                            at: now,
                            story_id: id,
                            actor_id: None,
                            actor_rule: Some("auto_close".to_owned()),
                            action: "close",
                            target_kind: "story",
                            target_id: id,
                            revision_id: None,
                            reason: "closed automatically after the policy's number of days"
                                .to_owned(),
                        },
                    )
                    .await?;
                }
                Ok(closed)
            })
        })
        .await
    }

    async fn audit_log(
        &self,
        site_id: i64,
        target_kind: Option<String>,
        target_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>> {
        let mut sql = "SELECT id, at, site_id, actor_id, actor_rule, action, target_kind, \
                       target_id, revision_id, reason FROM audit_log WHERE site_id = $1"
            .to_owned();
        let mut n = 1;
        if target_kind.is_some() {
            n += 1;
            sql.push_str(&format!(" AND target_kind = ${n}"));
        }
        if target_id.is_some() {
            n += 1;
            sql.push_str(&format!(" AND target_id = ${n}"));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
        let mut q = sqlx::query_as::<DB, AuditRow>(&sql).bind(site_id);
        if let Some(k) = target_kind {
            q = q.bind(k);
        }
        if let Some(t) = target_id {
            q = q.bind(t);
        }
        let rows = q.bind(limit).fetch_all(&self.reads).await?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }

    async fn audit_for(&self, target_kind: &str, target_id: i64) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query_as::<DB, AuditRow>(
            "SELECT id, at, site_id, actor_id, actor_rule, action, target_kind, target_id, revision_id, reason \
             FROM audit_log WHERE target_kind = $1 AND target_id = $2 ORDER BY id",
        )
        .bind(target_kind.to_owned())
        .bind(target_id)
        .fetch_all(&self.reads)
        .await?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }

    // ---- feeds (Atom): see feeds.rs ----
    async fn feed_story_comments(&self, story_id: i64, limit: i64) -> StoreResult<Vec<Comment>> {
        SqlStore::feed_story_comments(self, story_id, limit).await
    }

    async fn feed_featured_comments(&self, site_id: i64, limit: i64) -> StoreResult<Vec<Comment>> {
        SqlStore::feed_featured_comments(self, site_id, limit).await
    }

    // ---- readers' own data: implemented in sql/account_data.rs ----
    async fn account_data(
        &self,
        user_id: i64,
    ) -> StoreResult<Option<crate::account_data::AccountData>> {
        self.read_account_data(user_id).await
    }

    async fn delete_account(
        &self,
        user_id: i64,
        fate: parley_core::moderation::OnAccountDelete,
        now: i64,
    ) -> StoreResult<crate::account_data::AccountDeletion> {
        self.remove_account(user_id, fate, now).await
    }
}
