//! What account mail and notifications keep: confirmed addresses, the single-use links
//! mailed to readers (only their hashes), each reader's notification choices with the
//! key of their unsubscribe links, and the notifications waiting for a daily digest.
//!
//! Redeeming a link marks it used in the same transaction as what it does, with a
//! conditional UPDATE: two clicks (or two nodes) cannot both use it.

use async_trait::async_trait;
use parley_core::notify::{
    Delivery, LinkProblem, LinkPurpose, NotificationKind, NotificationPrefs, link_problem,
};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::rows::*;
use super::{Backend, SqlStore};
use crate::error::{StoreError, StoreResult};

/// A link about to be mailed.
#[derive(Debug, Clone)]
pub struct NewAccountLink {
    pub token_hash: String,
    pub user_id: i64,
    pub purpose: LinkPurpose,
    /// The address the link confirms: the account's address for a verification, the
    /// new one for a change of address.
    pub email: Option<String>,
    pub now: i64,
}

/// What redeeming a link does besides spending it.
#[derive(Debug, Clone)]
pub enum LinkAction {
    /// Marks the account's address confirmed (if it is still the one the link was for).
    VerifyEmail,
    /// Sets this password hash and ends every session of the account.
    ResetPassword { password_hash: String },
    /// Moves the account to the link's address, confirmed.
    ChangeEmail,
}

impl LinkAction {
    fn purpose(&self) -> LinkPurpose {
        match self {
            LinkAction::VerifyEmail => LinkPurpose::VerifyEmail,
            LinkAction::ResetPassword { .. } => LinkPurpose::ResetPassword,
            LinkAction::ChangeEmail => LinkPurpose::ChangeEmail,
        }
    }
}

/// Who a notification would go to, and whether it may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationTarget {
    pub user_id: i64,
    pub site_id: i64,
    pub email: String,
    pub display_name: String,
    /// Mail goes only to confirmed addresses of live, non-imported accounts.
    pub reachable: bool,
    pub prefs: NotificationPrefs,
    /// None until the first notification mail made one.
    pub unsubscribe_key: Option<String>,
}

/// A notification waiting for its reader's digest.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct DigestItem {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    pub comment_id: i64,
    /// Kind-specific detail ("approved"/"rejected" for moderation).
    pub detail: String,
    pub created_at: i64,
}

#[derive(FromRow)]
pub struct TargetRow {
    user_id: i64,
    site_id: i64,
    email: String,
    display_name: String,
    imported: bool,
    deleted_at: Option<i64>,
    verified_at: Option<i64>,
    reply: Option<String>,
    featured: Option<String>,
    moderation: Option<String>,
    unsubscribe_key: Option<String>,
}

#[derive(FromRow)]
pub struct LinkRow {
    user_id: i64,
    email: Option<String>,
    expires_at: i64,
    used_at: Option<i64>,
}

#[async_trait]
pub trait AccountMailStore: Send + Sync {
    /// Stores a link; the account's earlier unused links for the same purpose stop
    /// working, so only the newest mail counts.
    async fn create_account_link(&self, link: NewAccountLink) -> StoreResult<()>;
    /// When the last link for `purpose` was made for this account.
    async fn last_account_link_at(
        &self,
        user_id: i64,
        purpose: LinkPurpose,
    ) -> StoreResult<Option<i64>>;
    /// Spends the link and does `action`; returns the account's id. Refused with
    /// `link_invalid`, `link_expired` or `link_used`; a change to an address another
    /// account took meanwhile is a conflict (`email_taken`).
    async fn redeem_account_link(
        &self,
        token_hash: String,
        action: LinkAction,
        now: i64,
    ) -> StoreResult<i64>;
    /// Marks the account's current address confirmed (accounts a newsroom vouches for).
    async fn mark_email_verified(&self, user_id: i64, now: i64) -> StoreResult<()>;
    async fn email_verified_at(&self, user_id: i64) -> StoreResult<Option<i64>>;
    async fn notification_prefs(&self, user_id: i64) -> StoreResult<NotificationPrefs>;
    async fn set_notification_prefs(
        &self,
        user_id: i64,
        prefs: NotificationPrefs,
        new_key: String,
        now: i64,
    ) -> StoreResult<()>;
    /// The account's unsubscribe key; `new_key` becomes it when it has none yet.
    async fn unsubscribe_key(&self, user_id: i64, new_key: String, now: i64)
    -> StoreResult<String>;
    /// One-click unsubscribe: from `kind`, from everything (None), or from the digest.
    /// Returns the account's id, None for an unknown key.
    async fn unsubscribe(
        &self,
        key: String,
        kind: Option<NotificationKind>,
        digest_only: bool,
        now: i64,
    ) -> StoreResult<Option<i64>>;
    async fn notification_target(&self, user_id: i64) -> StoreResult<Option<NotificationTarget>>;
    async fn add_digest_item(
        &self,
        user_id: i64,
        kind: NotificationKind,
        comment_id: i64,
        detail: String,
        now: i64,
    ) -> StoreResult<()>;
    /// Takes (removes and returns) every waiting item of up to `limit` readers whose
    /// oldest item was added at or before `cutoff`. Each item is taken once, whichever
    /// node asks.
    async fn take_due_digests(&self, cutoff: i64, limit: i64) -> StoreResult<Vec<DigestItem>>;
    /// Forgets links that expired before `before`; returns how many.
    async fn sweep_account_links(&self, before: i64) -> StoreResult<i64>;
}

fn prefs_from(
    reply: Option<&str>,
    featured: Option<&str>,
    moderation: Option<&str>,
) -> NotificationPrefs {
    let defaults = NotificationPrefs::default();
    let pick = |s: Option<&str>, d: Delivery| s.and_then(Delivery::parse).unwrap_or(d);
    NotificationPrefs {
        reply: pick(reply, defaults.reply),
        featured: pick(featured, defaults.featured),
        moderation: pick(moderation, defaults.moderation),
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
    for<'r> TargetRow: FromRow<'r, DB::Row>,
    for<'r> LinkRow: FromRow<'r, DB::Row>,
    for<'r> DigestItem: FromRow<'r, DB::Row>,
{
    async fn tx_redeem(
        conn: &mut DB::Connection,
        token_hash: String,
        action: LinkAction,
        now: i64,
    ) -> StoreResult<i64> {
        let purpose = action.purpose();
        let refuse = |p: LinkProblem| StoreError::refused(p.code(), p.message());
        let link = sqlx::query_as::<DB, LinkRow>(
            "SELECT user_id, new_email AS email, expires_at, used_at FROM account_tokens \
             WHERE token_hash = $1 AND purpose = $2",
        )
        .bind(token_hash.clone())
        .bind(purpose.as_str().to_owned())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(refuse(LinkProblem::Unknown))?;
        if let Some(problem) = link_problem(link.expires_at, link.used_at, now) {
            return Err(refuse(problem));
        }
        // The conditional UPDATE is what makes the link single-use under concurrency.
        let spent = sqlx::query_as::<DB, (i64,)>(
            "UPDATE account_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
             RETURNING user_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        if spent.is_none() {
            return Err(refuse(LinkProblem::Used));
        }
        let user = sqlx::query_as::<DB, (String,)>(
            "SELECT email FROM users WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(link.user_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(refuse(LinkProblem::Unknown))?;
        match action {
            LinkAction::VerifyEmail => {
                // A link for an address the account no longer has confirms nothing.
                if link.email.as_deref() != Some(user.0.as_str()) {
                    return Err(refuse(LinkProblem::Unknown));
                }
                Self::tx_mark_verified(conn, link.user_id, now).await?;
            }
            LinkAction::ResetPassword { password_hash } => {
                sqlx::query::<DB>("UPDATE users SET password_hash = $2 WHERE id = $1")
                    .bind(link.user_id)
                    .bind(password_hash)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query::<DB>("DELETE FROM sessions WHERE user_id = $1")
                    .bind(link.user_id)
                    .execute(&mut *conn)
                    .await?;
                // Whoever could read the mail owns the address.
                Self::tx_mark_verified(conn, link.user_id, now).await?;
            }
            LinkAction::ChangeEmail => {
                let email = link.email.ok_or(refuse(LinkProblem::Unknown))?;
                let moved = sqlx::query::<DB>("UPDATE users SET email = $2 WHERE id = $1")
                    .bind(link.user_id)
                    .bind(email)
                    .execute(&mut *conn)
                    .await;
                match moved {
                    Err(e) if crate::error::is_unique_violation(&e) => {
                        return Err(StoreError::conflict(
                            "email_taken",
                            Some("email"),
                            "another account has this email address now",
                        ));
                    }
                    other => {
                        other?;
                    }
                }
                Self::tx_mark_verified(conn, link.user_id, now).await?;
                // Links sent to the old address are for an address the account left.
                sqlx::query::<DB>(
                    "UPDATE account_tokens SET used_at = $2 \
                     WHERE user_id = $1 AND used_at IS NULL AND purpose <> 'reset'",
                )
                .bind(link.user_id)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            }
        }
        Ok(link.user_id)
    }

    async fn tx_mark_verified(
        conn: &mut DB::Connection,
        user_id: i64,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query::<DB>(
            "INSERT INTO email_verifications (user_id, verified_at) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET verified_at = excluded.verified_at",
        )
        .bind(user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Makes the prefs row with the defaults if there is none; returns its key.
    async fn tx_ensure_prefs(
        conn: &mut DB::Connection,
        user_id: i64,
        new_key: String,
        now: i64,
    ) -> StoreResult<String> {
        let d = NotificationPrefs::default();
        sqlx::query::<DB>(
            "INSERT INTO notification_prefs \
             (user_id, reply, featured, moderation, unsubscribe_key, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(d.reply.as_str().to_owned())
        .bind(d.featured.as_str().to_owned())
        .bind(d.moderation.as_str().to_owned())
        .bind(new_key)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let (key,) = sqlx::query_as::<DB, (String,)>(
            "SELECT unsubscribe_key FROM notification_prefs WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
        Ok(key)
    }

    async fn tx_write_prefs(
        conn: &mut DB::Connection,
        user_id: i64,
        prefs: NotificationPrefs,
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query::<DB>(
            "UPDATE notification_prefs SET reply = $2, featured = $3, moderation = $4, \
             updated_at = $5 WHERE user_id = $1",
        )
        .bind(user_id)
        .bind(prefs.reply.as_str().to_owned())
        .bind(prefs.featured.as_str().to_owned())
        .bind(prefs.moderation.as_str().to_owned())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl<DB> AccountMailStore for SqlStore<DB>
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
    for<'r> TargetRow: FromRow<'r, DB::Row>,
    for<'r> LinkRow: FromRow<'r, DB::Row>,
    for<'r> DigestItem: FromRow<'r, DB::Row>,
{
    async fn create_account_link(&self, link: NewAccountLink) -> StoreResult<()> {
        self.write(move |conn| {
            Box::pin(async move {
                let purpose = link.purpose.as_str().to_owned();
                sqlx::query::<DB>(
                    "UPDATE account_tokens SET used_at = $3 \
                     WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
                )
                .bind(link.user_id)
                .bind(purpose.clone())
                .bind(link.now)
                .execute(&mut *conn)
                .await?;
                sqlx::query::<DB>(
                    "INSERT INTO account_tokens \
                     (token_hash, user_id, purpose, new_email, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(link.token_hash)
                .bind(link.user_id)
                .bind(purpose)
                .bind(link.email)
                .bind(link.now)
                .bind(link.now.saturating_add(link.purpose.lifetime_ms()))
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn last_account_link_at(
        &self,
        user_id: i64,
        purpose: LinkPurpose,
    ) -> StoreResult<Option<i64>> {
        let row = sqlx::query_as::<DB, (i64,)>(
            "SELECT created_at FROM account_tokens WHERE user_id = $1 AND purpose = $2 \
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(user_id)
        .bind(purpose.as_str().to_owned())
        .fetch_optional(&self.reads)
        .await?;
        Ok(row.map(|(at,)| at))
    }

    async fn redeem_account_link(
        &self,
        token_hash: String,
        action: LinkAction,
        now: i64,
    ) -> StoreResult<i64> {
        self.write(move |conn| Box::pin(Self::tx_redeem(conn, token_hash, action, now)))
            .await
    }

    async fn mark_email_verified(&self, user_id: i64, now: i64) -> StoreResult<()> {
        self.write(move |conn| Box::pin(Self::tx_mark_verified(conn, user_id, now)))
            .await
    }

    async fn email_verified_at(&self, user_id: i64) -> StoreResult<Option<i64>> {
        let row = sqlx::query_as::<DB, (i64,)>(
            "SELECT verified_at FROM email_verifications WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.reads)
        .await?;
        Ok(row.map(|(at,)| at))
    }

    async fn notification_prefs(&self, user_id: i64) -> StoreResult<NotificationPrefs> {
        Ok(self
            .notification_target(user_id)
            .await?
            .map(|t| t.prefs)
            .unwrap_or_default())
    }

    async fn set_notification_prefs(
        &self,
        user_id: i64,
        prefs: NotificationPrefs,
        new_key: String,
        now: i64,
    ) -> StoreResult<()> {
        self.write(move |conn| {
            Box::pin(async move {
                Self::tx_ensure_prefs(conn, user_id, new_key, now).await?;
                Self::tx_write_prefs(conn, user_id, prefs, now).await
            })
        })
        .await
    }

    async fn unsubscribe_key(
        &self,
        user_id: i64,
        new_key: String,
        now: i64,
    ) -> StoreResult<String> {
        self.write(move |conn| Box::pin(Self::tx_ensure_prefs(conn, user_id, new_key, now)))
            .await
    }

    async fn unsubscribe(
        &self,
        key: String,
        kind: Option<NotificationKind>,
        digest_only: bool,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        self.write(move |conn| {
            Box::pin(async move {
                let Some(row) = sqlx::query_as::<DB, TargetRow>(&format!(
                    "{TARGET_SELECT} WHERE p.unsubscribe_key = $1"
                ))
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?
                else {
                    return Ok(None);
                };
                let prefs = prefs_from(
                    row.reply.as_deref(),
                    row.featured.as_deref(),
                    row.moderation.as_deref(),
                );
                let prefs = if digest_only {
                    prefs.without_digest()
                } else {
                    prefs.unsubscribed(kind)
                };
                Self::tx_write_prefs(conn, row.user_id, prefs, now).await?;
                Ok(Some(row.user_id))
            })
        })
        .await
    }

    async fn notification_target(&self, user_id: i64) -> StoreResult<Option<NotificationTarget>> {
        let row = sqlx::query_as::<DB, TargetRow>(&format!("{TARGET_SELECT} WHERE u.id = $1"))
            .bind(user_id)
            .fetch_optional(&self.reads)
            .await?;
        Ok(row.map(|r| NotificationTarget {
            user_id: r.user_id,
            site_id: r.site_id,
            reachable: r.verified_at.is_some() && !r.imported && r.deleted_at.is_none(),
            prefs: prefs_from(
                r.reply.as_deref(),
                r.featured.as_deref(),
                r.moderation.as_deref(),
            ),
            email: r.email,
            display_name: r.display_name,
            unsubscribe_key: r.unsubscribe_key,
        }))
    }

    async fn add_digest_item(
        &self,
        user_id: i64,
        kind: NotificationKind,
        comment_id: i64,
        detail: String,
        now: i64,
    ) -> StoreResult<()> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query::<DB>(
                    "INSERT INTO digest_items (user_id, kind, comment_id, detail, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(user_id)
                .bind(kind.as_str().to_owned())
                .bind(comment_id)
                .bind(detail)
                .bind(now)
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn take_due_digests(&self, cutoff: i64, limit: i64) -> StoreResult<Vec<DigestItem>> {
        self.write(move |conn| {
            Box::pin(async move {
                // DELETE .. RETURNING hands each row to one transaction only: a second
                // node's DELETE waits on the first and then finds the rows gone.
                let mut items = sqlx::query_as::<DB, DigestItem>(
                    "DELETE FROM digest_items WHERE user_id IN ( \
                         SELECT user_id FROM digest_items GROUP BY user_id \
                         HAVING MIN(created_at) <= $1 ORDER BY MIN(created_at) LIMIT $2) \
                     RETURNING id, user_id, kind, comment_id, detail, created_at",
                )
                .bind(cutoff)
                .bind(limit)
                .fetch_all(&mut *conn)
                .await?;
                items.sort_by_key(|i| (i.user_id, i.created_at, i.id));
                Ok(items)
            })
        })
        .await
    }

    async fn sweep_account_links(&self, before: i64) -> StoreResult<i64> {
        self.write(move |conn| {
            Box::pin(async move {
                let gone = sqlx::query_as::<DB, (i64,)>(
                    "DELETE FROM account_tokens WHERE expires_at < $1 RETURNING user_id",
                )
                .bind(before)
                .fetch_all(&mut *conn)
                .await?;
                Ok(gone.len() as i64)
            })
        })
        .await
    }
}

const TARGET_SELECT: &str = "SELECT u.id AS user_id, u.site_id, u.email, u.display_name, \
     u.imported, u.deleted_at, v.verified_at, p.reply, p.featured, p.moderation, \
     p.unsubscribe_key \
     FROM users u LEFT JOIN email_verifications v ON v.user_id = u.id \
     LEFT JOIN notification_prefs p ON p.user_id = u.id";
