//! Single sign-on: a newsroom's reader id linked to one account per site, and the token
//! ids already used. Signing in spends the token id, then finds, updates or creates the
//! account in the same transaction, so a token signs in once even on many nodes.

use async_trait::async_trait;
use parley_core::Role;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::rows::*;
use super::{Backend, SqlStore, USER_COLUMNS};
use crate::error::{StoreError, StoreResult};
use crate::model::{NewUser, User};

/// A reader signing in with a verified token.
#[derive(Debug, Clone)]
pub struct SsoLogin {
    pub site_id: i64,
    /// The newsroom's stable id for the reader (`sub`).
    pub external_id: String,
    pub email: String,
    pub display_name: String,
    /// Set only when the site lets tokens grant roles; otherwise the role is kept.
    pub role: Option<Role>,
    pub badges: Vec<String>,
    /// The token's `jti`, kept until `token_expires_at` (unix ms).
    pub token_id: String,
    pub token_expires_at: i64,
    pub now: i64,
}

/// A reader signed in by a token.
#[derive(Debug, Clone)]
pub struct SsoSignedIn {
    pub user: User,
    /// Stories with the reader's published comments, whose version was bumped because
    /// the token changed what those comments show (display name or badges): cached
    /// pages of them are stale.
    pub changed_stories: Vec<i64>,
}

#[async_trait]
pub trait SsoStore: Send + Sync {
    /// Spends the token id (Refused `sso_replayed` if it was used already), then signs
    /// the linked account in, updating its email, name and badges, or links the account
    /// with the token's email, or creates one. A display name another reader holds gets
    /// a number.
    async fn sso_sign_in(&self, login: SsoLogin) -> StoreResult<SsoSignedIn>;
    /// The newsroom's id linked to this account, if any.
    async fn sso_external_id(&self, user_id: i64) -> StoreResult<Option<String>>;
    /// Forgets used token ids that expired before `now`; returns how many.
    async fn sweep_sso_tokens(&self, now: i64) -> StoreResult<i64>;
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
    /// `name`, or `name 2`, `name 3`... : the first no other account on the site holds.
    async fn free_display_name(
        conn: &mut DB::Connection,
        site_id: i64,
        name: &str,
        except_user: i64,
    ) -> StoreResult<String> {
        for n in 1..=50 {
            let candidate = if n == 1 {
                name.to_owned()
            } else {
                format!("{name} {n}")
            };
            let clash = sqlx::query_as::<DB, (i64,)>(
                "SELECT id FROM users WHERE site_id = $1 AND name_key = $2 AND id <> $3",
            )
            .bind(site_id)
            .bind(candidate.to_lowercase())
            .bind(except_user)
            .fetch_optional(&mut *conn)
            .await?;
            if clash.is_none() {
                return Ok(candidate);
            }
        }
        Err(StoreError::conflict(
            "name_taken",
            Some("display_name"),
            "this display name is taken",
        ))
    }

    async fn tx_sso_sign_in(
        conn: &mut DB::Connection,
        login: SsoLogin,
    ) -> StoreResult<SsoSignedIn> {
        let spent = sqlx::query_as::<DB, (String,)>(
            "INSERT INTO sso_used_tokens (site_id, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING RETURNING jti",
        )
        .bind(login.site_id)
        .bind(login.token_id.clone())
        .bind(login.token_expires_at)
        .fetch_optional(&mut *conn)
        .await?;
        if spent.is_none() {
            return Err(StoreError::refused(
                "sso_replayed",
                "this sign-in token has been used already",
            ));
        }
        let badges = serde_json::to_string(&login.badges).unwrap_or_else(|_| "[]".into());

        let linked = sqlx::query_as::<DB, (i64,)>(
            "SELECT l.user_id FROM sso_links l JOIN users u ON u.id = l.user_id \
             WHERE l.site_id = $1 AND l.external_id = $2 AND u.deleted_at IS NULL",
        )
        .bind(login.site_id)
        .bind(login.external_id.clone())
        .fetch_optional(&mut *conn)
        .await?;
        // A link to a deleted account is dropped: the reader starts afresh.
        sqlx::query::<DB>(
            "DELETE FROM sso_links WHERE site_id = $1 AND external_id = $2 \
             AND user_id IN (SELECT id FROM users WHERE deleted_at IS NOT NULL)",
        )
        .bind(login.site_id)
        .bind(login.external_id.clone())
        .execute(&mut *conn)
        .await?;

        // Whether the account found is linked already (else the link is made below).
        let (existing, is_linked) = match linked {
            Some((id,)) => (Some(id), true),
            None => {
                // An account with the token's email that no other newsroom id holds:
                // the newsroom vouches for its readers' addresses on its own site.
                let by_email = sqlx::query_as::<DB, (i64,)>(
                    "SELECT id FROM users WHERE site_id = $1 AND email = $2 \
                     AND deleted_at IS NULL \
                     AND id NOT IN (SELECT user_id FROM sso_links WHERE site_id = $1)",
                )
                .bind(login.site_id)
                .bind(login.email.clone())
                .fetch_optional(&mut *conn)
                .await?;
                (by_email.map(|(id,)| id), false)
            }
        };

        let Some(user_id) = existing else {
            let name =
                Self::free_display_name(&mut *conn, login.site_id, &login.display_name, 0).await?;
            let user = Self::tx_create_user(
                &mut *conn,
                NewUser {
                    site_id: login.site_id,
                    email: login.email.clone(),
                    display_name: name,
                    password_hash: None,
                    role: login.role.unwrap_or(Role::Reader),
                    now: login.now,
                },
            )
            .await?;
            sqlx::query::<DB>(
                "INSERT INTO sso_links (site_id, external_id, user_id, badges, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(login.site_id)
            .bind(login.external_id)
            .bind(user.id)
            .bind(badges)
            .bind(login.now)
            .execute(&mut *conn)
            .await?;
            return Ok(SsoSignedIn {
                user,
                changed_stories: Vec::new(),
            });
        };

        let email_clash = sqlx::query_as::<DB, (i64,)>(
            "SELECT id FROM users WHERE site_id = $1 AND email = $2 AND id <> $3",
        )
        .bind(login.site_id)
        .bind(login.email.clone())
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
        if email_clash.is_some() {
            return Err(StoreError::conflict(
                "email_taken",
                Some("email"),
                "another account on this site has the token's email",
            ));
        }
        let name = Self::free_display_name(&mut *conn, login.site_id, &login.display_name, user_id)
            .await?;
        // What the reader's comments showed before this token.
        let (old_name,) =
            sqlx::query_as::<DB, (String,)>("SELECT display_name FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(&mut *conn)
                .await?;
        let old_badges = if is_linked {
            sqlx::query_as::<DB, (String,)>("SELECT badges FROM sso_links WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&mut *conn)
                .await?
                .and_then(|(b,)| serde_json::from_str::<Vec<String>>(&b).ok())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        let sql = format!(
            "UPDATE users SET email = $2, display_name = $3, name_key = $4, \
             role = COALESCE($5, role) WHERE id = $1 RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query_as::<DB, UserRow>(&sql)
            .bind(user_id)
            .bind(login.email)
            .bind(name.clone())
            .bind(name.to_lowercase())
            .bind(login.role.map(|r| r.as_str().to_owned()))
            .fetch_one(&mut *conn)
            .await?;
        if is_linked {
            sqlx::query::<DB>("UPDATE sso_links SET badges = $2 WHERE user_id = $1")
                .bind(user_id)
                .bind(badges)
                .execute(&mut *conn)
                .await?;
        } else {
            sqlx::query::<DB>(
                "INSERT INTO sso_links (site_id, external_id, user_id, badges, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(login.site_id)
            .bind(login.external_id.clone())
            .bind(user_id)
            .bind(badges)
            .bind(login.now)
            .execute(&mut *conn)
            .await?;
        }
        // Pages showing the reader's comments change with their name or badges: a new
        // version keeps caches and ETags from serving the old ones. Rare (only when the
        // newsroom changes them), and found through the comments' author index.
        let changed_stories = if old_name != name || old_badges != login.badges {
            sqlx::query_as::<DB, (i64,)>(
                "UPDATE stories SET version = version + 1, updated_at = $2 WHERE id IN \
                 (SELECT story_id FROM comments WHERE author_id = $1 AND status = 'published') \
                 RETURNING id",
            )
            .bind(user_id)
            .bind(login.now)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect()
        } else {
            Vec::new()
        };
        Ok(SsoSignedIn {
            user: row.into_user().0,
            changed_stories,
        })
    }
}

#[async_trait]
impl<DB> SsoStore for SqlStore<DB>
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
    async fn sso_sign_in(&self, login: SsoLogin) -> StoreResult<SsoSignedIn> {
        self.write(move |conn| Box::pin(Self::tx_sso_sign_in(conn, login)))
            .await
    }

    async fn sso_external_id(&self, user_id: i64) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_as::<DB, (String,)>("SELECT external_id FROM sso_links WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.reads)
                .await?
                .map(|(id,)| id),
        )
    }

    async fn sweep_sso_tokens(&self, now: i64) -> StoreResult<i64> {
        self.write(move |conn| {
            Box::pin(async move {
                let gone = sqlx::query_as::<DB, (i64,)>(
                    "DELETE FROM sso_used_tokens WHERE expires_at < $1 RETURNING site_id",
                )
                .bind(now)
                .fetch_all(&mut *conn)
                .await?;
                Ok(i64::try_from(gone.len()).unwrap_or(i64::MAX))
            })
        })
        .await
    }
}
