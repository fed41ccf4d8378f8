//! The one storage interface. Both backends implement it with the same code
//! ([`crate::sql::SqlStore`]); callers hold an `Arc<dyn Store>` and never know which.

use async_trait::async_trait;
use parley_core::{CommentSort, Cursor, Role, UserStatus};

use crate::error::StoreResult;
use crate::model::*;

#[async_trait]
pub trait Store: crate::moderation_context::ModerationContext + Send + Sync + 'static {
    /// "sqlite" or "postgres", for logs and `doctor`.
    fn backend(&self) -> &'static str;
    /// Whether the database answers, and which migrations it lacks or has that this
    /// binary does not know (a newer node migrated it).
    async fn readiness(&self) -> StoreResult<Readiness>;
    /// Connections of the read pool (on PostgreSQL, the pool every query uses).
    fn pool_use(&self) -> PoolUse;
    /// Tells every node sharing the database (PostgreSQL NOTIFY); false on SQLite,
    /// where this is the only node.
    async fn notify_nodes(&self, message: String) -> StoreResult<bool>;
    /// Hears every node's messages in commit order, this node's own included
    /// (PostgreSQL LISTEN); None on SQLite.
    async fn listen_nodes(&self) -> StoreResult<Option<crate::nodes::NodeFeed>>;

    /// Bulk import in one transaction (`parley import`); see [`crate::import`].
    fn importer(&self) -> &dyn crate::import::ImportStore;

    // ---- sites ----
    async fn create_site(&self, name: &str, origins: &[String], now: i64) -> StoreResult<Site>;
    async fn site_by_name(&self, name: &str) -> StoreResult<Option<Site>>;
    async fn site_by_id(&self, id: i64) -> StoreResult<Option<Site>>;
    async fn list_sites(&self) -> StoreResult<Vec<Site>>;
    /// The site's settings JSON (`{}` when none were set); None for an unknown site.
    async fn site_settings(&self, site_id: i64) -> StoreResult<Option<String>>;
    async fn set_site_settings(&self, site_id: i64, settings: String) -> StoreResult<()>;

    // ---- stories ----
    async fn create_story(
        &self,
        site_id: i64,
        fields: StoryFields,
        body_html: String,
        now: i64,
    ) -> StoreResult<Story>;
    async fn update_story(
        &self,
        id: i64,
        fields: StoryFields,
        body_html: String,
        now: i64,
    ) -> StoreResult<Story>;
    async fn story_by_id(&self, id: i64) -> StoreResult<Option<Story>>;
    /// The version counters of these stories (unknown ids left out): the cheap
    /// freshness check of cached pages, asked for many pages at once.
    async fn story_versions(&self, ids: &[i64]) -> StoreResult<Vec<(i64, i64)>>;
    async fn story_by_url(&self, site_id: i64, url: &str) -> StoreResult<Option<Story>>;
    async fn story_by_slug(&self, site_id: i64, slug: &str) -> StoreResult<Option<Story>>;
    /// Newest first, at most `limit`.
    async fn list_stories(&self, site_id: i64, limit: i64) -> StoreResult<Vec<Story>>;
    /// Published-comment counts of the stories at these URLs; unknown URLs are left out.
    async fn comment_counts(&self, site_id: i64, urls: &[String]) -> StoreResult<Vec<StoryCount>>;

    // ---- accounts ----
    async fn create_user(&self, new: NewUser) -> StoreResult<User>;
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<User>>;
    /// The user with this email on this site, and their password hash if they have one.
    async fn user_credentials(
        &self,
        site_id: i64,
        email: &str,
    ) -> StoreResult<Option<(User, Option<String>)>>;
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// The session with this token hash, expired or not: the caller decides.
    async fn session_user(&self, token_hash: &str) -> StoreResult<Option<SessionUser>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Removes sessions that ended before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: i64) -> StoreResult<i64>;
    async fn set_user_role(&self, user_id: i64, role: Role) -> StoreResult<User>;
    /// Failed sign-ins under `key` in the window that started at the returned time.
    async fn signin_failures(&self, key: &str) -> StoreResult<Option<(i64, i64)>>;
    /// Counts a failed sign-in under `key`: in the current window, or in a new one when
    /// the last started at or before `now - window_ms`.
    async fn record_signin_failure(&self, key: &str, now: i64, window_ms: i64) -> StoreResult<()>;
    async fn clear_signin_failures(&self, key: &str) -> StoreResult<()>;
    /// Forgets windows that started before `before`; returns how many.
    async fn sweep_signin_failures(&self, before: i64) -> StoreResult<i64>;

    // ---- comments: writes ----
    /// Posts a comment or reply: checks the story is open, the author may post and the
    /// parent can take a reply, all inside one transaction.
    async fn create_comment(&self, new: NewComment) -> StoreResult<Comment> {
        self.create_comment_ruled(new, Ruling::default()).await
    }
    /// Posts a comment the moderation pipeline ruled on: held comments are pending,
    /// the reasons are kept with the revision and a hold is audited under its rule.
    async fn create_comment_ruled(&self, new: NewComment, ruling: Ruling) -> StoreResult<Comment>;
    /// The author edits within the window; the previous text is kept as a revision.
    async fn edit_comment(&self, edit: CommentEdit) -> StoreResult<Comment> {
        self.edit_comment_ruled(edit, Ruling::default()).await
    }
    /// An edit the pipeline ruled on: a held edit of a published comment takes it off
    /// the page (pending again) and is audited under its rule.
    async fn edit_comment_ruled(&self, edit: CommentEdit, ruling: Ruling) -> StoreResult<Comment>;
    /// Counts the pipeline needs about an author, each up to its cap; `except` leaves
    /// one comment out of `last_body` (the one being edited).
    async fn author_activity(
        &self,
        author_id: i64,
        since: i64,
        except: Option<i64>,
        caps: ActivityCaps,
    ) -> StoreResult<AuthorActivity>;
    async fn record_audit(&self, entry: NewAudit) -> StoreResult<()>;
    /// The author deletes: the comment becomes a tombstone.
    async fn delete_comment(&self, comment_id: i64, user_id: i64, now: i64)
    -> StoreResult<Comment>;
    /// Returns the comment's new reaction count. A second reaction is a conflict.
    async fn add_reaction(&self, comment_id: i64, user_id: i64, now: i64) -> StoreResult<i64>;
    async fn remove_reaction(&self, comment_id: i64, user_id: i64, now: i64) -> StoreResult<i64>;
    async fn add_report(&self, report: NewReport) -> StoreResult<()>;
    async fn set_featured(
        &self,
        comment_id: i64,
        featured: bool,
        actor_id: i64,
        now: i64,
    ) -> StoreResult<Comment>;

    // ---- comments: reads ----
    async fn comment_by_id(&self, id: i64) -> StoreResult<Option<Comment>>;
    async fn comments_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<Comment>>;
    /// The comment as readers see it: published, or a tombstone (a deleted comment, or
    /// one taken off the page that still has visible replies); None otherwise.
    async fn public_comment(&self, id: i64) -> StoreResult<Option<Comment>>;
    /// Publicly visible top-level comments after `after`, in `sort` order, at most `limit`.
    async fn top_level_page(
        &self,
        story_id: i64,
        sort: CommentSort,
        after: Option<Cursor>,
        limit: i64,
    ) -> StoreResult<Vec<Comment>>;
    /// Visible replies under each root, depth-first, at most `per_root` per root and no
    /// deeper than `max_depth`.
    async fn replies_for_roots(
        &self,
        root_ids: &[i64],
        per_root: i64,
        max_depth: i64,
    ) -> StoreResult<Vec<Comment>>;
    /// Visible replies under `root_id` after `after_path` in depth-first order.
    async fn replies_after(
        &self,
        root_id: i64,
        after_path: &str,
        limit: i64,
        max_depth: i64,
    ) -> StoreResult<Vec<Comment>>;
    /// The author's own comments on a story that readers cannot see yet (pending).
    async fn pending_of_author(&self, story_id: i64, author_id: i64) -> StoreResult<Vec<Comment>>;
    /// Ids among `comment_ids` that `user_id` has reacted to.
    async fn reacted_by(&self, user_id: i64, comment_ids: &[i64]) -> StoreResult<Vec<i64>>;
    async fn featured_comments(&self, story_id: i64, limit: i64) -> StoreResult<Vec<Comment>>;
    async fn revisions(&self, comment_id: i64) -> StoreResult<Vec<Revision>>;
    async fn audit_for(&self, target_kind: &str, target_id: i64) -> StoreResult<Vec<AuditEntry>>;

    // ---- moderation ----
    /// Approves or rejects a comment: publishing or unpublishing fixes the parent's
    /// reply count and the story's count and version; resolves the comment's open
    /// reports; appends an audit entry.
    async fn decide_comment(&self, decision: CommentDecision) -> StoreResult<Comment>;
    /// Changes an account's standing and audits it.
    async fn set_user_status(
        &self,
        user_id: i64,
        status: UserStatus,
        actor_id: i64,
        reason: String,
        now: i64,
    ) -> StoreResult<User>;
    /// Newest first.
    async fn moderation_queue(&self, query: QueueQuery) -> StoreResult<Vec<Comment>>;
    /// Closes the site's open stories published before `published_before` — only story
    /// `only` when given, never those in `except` — and audits each under the rule
    /// `auto_close`; returns the ids it closed. Nodes may race on it: each story is
    /// closed, and audited, by exactly one of them.
    async fn auto_close_stories(
        &self,
        site_id: i64,
        published_before: i64,
        only: Option<i64>,
        except: Vec<i64>,
        now: i64,
    ) -> StoreResult<Vec<i64>>;
    /// A site's audit log, newest first, optionally for one kind of target or one target.
    async fn audit_log(
        &self,
        site_id: i64,
        target_kind: Option<String>,
        target_id: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEntry>>;

    // ---- feeds (Atom): implemented in sql/feeds.rs ----
    /// A story's published comments and replies, newest first, at most `limit`.
    async fn feed_story_comments(&self, story_id: i64, limit: i64) -> StoreResult<Vec<Comment>>;
    /// A site's published featured comments across its stories, newest first, at most `limit`.
    async fn feed_featured_comments(&self, site_id: i64, limit: i64) -> StoreResult<Vec<Comment>>;

    // ---- readers' own data: implemented in sql/account_data.rs ----
    /// Everything stored about a reader and by them (profile, comments with revisions,
    /// reactions, reports they filed); None for an unknown or deleted account.
    async fn account_data(
        &self,
        user_id: i64,
    ) -> StoreResult<Option<crate::account_data::AccountData>>;
    /// Deletes a reader's account in one transaction: their comments become tombstones
    /// or are removed (`fate`), their reactions and reports go (counts fixed), every
    /// session ends, the row is anonymised and can never sign in again, and the audit
    /// log keeps its entries without their name or email. NotFound if already deleted.
    async fn delete_account(
        &self,
        user_id: i64,
        fate: parley_core::moderation::OnAccountDelete,
        now: i64,
    ) -> StoreResult<crate::account_data::AccountDeletion>;

    // ---- webhooks: implemented in sql/webhooks.rs ----
    /// Endpoints, their outbox of deliveries and the attempts log; see [`crate::webhooks`].
    fn webhooks(&self) -> &dyn crate::webhooks::WebhookStore;

    // ---- single sign-on: implemented in sql/sso.rs ----
    /// Newsroom reader links and used token ids; see [`crate::sso`].
    fn sso(&self) -> &dyn crate::sso::SsoStore;

    // ---- mail: implemented in sql/mail.rs ----
    /// The outbox of mail to readers, sent by a worker over SMTP; see [`crate::mail`].
    fn mail(&self) -> &dyn crate::mail::MailStore;

    // ---- account mail and notifications: implemented in sql/account_mail.rs ----
    /// Confirmed addresses, mailed links, notification choices and digests; see
    /// [`crate::account_mail`].
    fn account_mail(&self) -> &dyn crate::account_mail::AccountMailStore;
}
