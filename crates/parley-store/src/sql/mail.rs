//! Mail: a durable outbox of messages to readers (account mail, notifications,
//! digests). Callers only queue a message; workers on any node claim due mail for a
//! lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two nodes never take the same one;
//! SQLite: its single writer makes a plain claim safe), send it over SMTP and record
//! each attempt: sent, due again later, or failed for good with the error.

use async_trait::async_trait;
use serde::Serialize;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};

use super::{Backend, SqlStore, placeholders};
use crate::error::{StoreError, StoreResult};

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    pub site_id: i64,
    pub user_id: Option<i64>,
    /// What the mail is for: "verify", "reset", "email_change", "reply", "featured",
    /// "moderation", "digest", ...
    pub kind: String,
    /// The recipient's address.
    pub to: String,
    /// The recipient's display name for the To header.
    pub to_name: Option<String>,
    pub subject: String,
    /// The text/plain body.
    pub text: String,
    /// An optional text/html alternative.
    pub html: Option<String>,
    /// One-click unsubscribe target (absolute https/http URL): the sender adds
    /// `List-Unsubscribe: <url>` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    pub unsubscribe_url: Option<String>,
    /// Unix milliseconds; the mail is due at once.
    pub now: i64,
}

/// A message a worker has claimed, with everything needed to send it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ClaimedMail {
    pub id: i64,
    pub site_id: i64,
    pub user_id: Option<i64>,
    pub kind: String,
    pub to_addr: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub unsubscribe_url: Option<String>,
    /// Attempts made before this one.
    pub attempts: i64,
    pub created_at: i64,
}

/// What happened to a claimed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailOutcome {
    pub mail_id: i64,
    pub at: i64,
    /// The server took the message.
    pub sent: bool,
    /// Why it was not sent.
    pub error: Option<String>,
    /// When to try again; None fails the mail for good (unless it was sent).
    pub retry_at: Option<i64>,
}

/// One message as the admin's outbox view shows it (no bodies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
pub struct OutboxMail {
    pub id: i64,
    pub site_id: i64,
    pub user_id: Option<i64>,
    pub kind: String,
    #[serde(rename = "to")]
    pub to_addr: String,
    pub subject: String,
    /// pending, sent or failed.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<i64>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// Messages by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MailCounts {
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
}

const CLAIMED_COLUMNS: &str = "id, site_id, user_id, kind, to_addr, to_name, subject, \
     body_text, body_html, unsubscribe_url, attempts, created_at";
const OUTBOX_COLUMNS: &str = "id, site_id, user_id, kind, to_addr, subject, status, attempts, \
     next_attempt_at, last_error, last_attempt_at, created_at, sent_at";

/// Longest address, name and subject we queue (RFC 5321 caps a path at 256).
const MAX_ADDRESS: usize = 254;
const MAX_HEADER_TEXT: usize = 998;
const MAX_URL: usize = 2000;

/// Refuses what would make a broken or forged message: empty or over-long fields and
/// line breaks in header values (header injection).
fn check(mail: &NewMail) -> StoreResult<()> {
    let bad = |code: &'static str, message: &str| Err(StoreError::refused(code, message));
    let header_safe = |s: &str| !s.chars().any(char::is_control);
    let to = mail.to.trim();
    if to.is_empty() || to.len() > MAX_ADDRESS || !to.contains('@') || !header_safe(to) {
        return bad(
            "bad_mail_address",
            "the recipient is an email address on one line",
        );
    }
    if mail.kind.is_empty() || mail.kind.len() > 40 || !header_safe(&mail.kind) {
        return bad("bad_mail_kind", "the mail kind is a short word");
    }
    if mail
        .to_name
        .as_deref()
        .is_some_and(|n| n.len() > MAX_HEADER_TEXT || !header_safe(n))
    {
        return bad("bad_mail_name", "the recipient's name is one line of text");
    }
    if mail.subject.trim().is_empty()
        || mail.subject.len() > MAX_HEADER_TEXT
        || !header_safe(&mail.subject)
    {
        return bad("bad_mail_subject", "the subject is one line of text");
    }
    if let Some(url) = &mail.unsubscribe_url {
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        // ASCII only: a header value with other characters would be encoded, which
        // breaks the link (percent-encode them).
        if !scheme_ok
            || url.len() > MAX_URL
            || !url.is_ascii()
            || !header_safe(url)
            || url.contains(['<', '>', ' '])
        {
            return bad(
                "bad_unsubscribe_url",
                "the unsubscribe link is an absolute http or https URL in ASCII (percent-encoded)",
            );
        }
    }
    Ok(())
}

#[async_trait]
pub trait MailStore: Send + Sync {
    /// Queues a message, due at `mail.now`; returns its outbox id. Refused (and nothing
    /// stored) when the address, kind, name, subject or unsubscribe link is unusable.
    async fn enqueue_mail(&self, mail: NewMail) -> StoreResult<i64>;
    /// Takes up to `limit` pending messages due at `now` that no one holds, holding them
    /// until `now + lease_ms`. Concurrent claimers get disjoint messages.
    async fn claim_mail(
        &self,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedMail>>;
    /// Records an attempt on a claimed message and releases it: sent, due again at
    /// `retry_at`, or failed. NotFound when it is no longer pending (recorded already).
    async fn record_mail_attempt(&self, outcome: MailOutcome) -> StoreResult<()>;
    /// The site's messages, newest first, at most `limit` (up to 500).
    async fn mail_outbox(&self, site_id: i64, limit: i64) -> StoreResult<Vec<OutboxMail>>;
    /// Messages by status, for one site or (None) all of them.
    async fn mail_counts(&self, site_id: Option<i64>) -> StoreResult<MailCounts>;
    /// Forgets sent and failed messages whose last attempt was before `before`;
    /// returns how many.
    async fn sweep_mail(&self, before: i64) -> StoreResult<i64>;
    /// Forgets every message to this account (pending ones are not sent): for account
    /// deletion. Returns how many.
    async fn forget_user_mail(&self, user_id: i64) -> StoreResult<i64>;
}

#[async_trait]
impl<DB> MailStore for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Type<DB> + for<'q> Encode<'q, DB>,
    String: Type<DB> + for<'q> Encode<'q, DB>,
    bool: Type<DB> + for<'q> Encode<'q, DB>,
    Option<i64>: Type<DB> + for<'q> Encode<'q, DB>,
    Option<String>: Type<DB> + for<'q> Encode<'q, DB>,
    for<'r> super::rows::SiteRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::OriginRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::StoryRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::UserRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::SessionRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::CommentRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::CommentFactsRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::StoryGateRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::StandingRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::RevisionRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::AuditRow: FromRow<'r, DB::Row>,
    for<'r> super::rows::CountRow: FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (i64, i64): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> (String, i64): FromRow<'r, DB::Row>,
    for<'r> ClaimedMail: FromRow<'r, DB::Row>,
    for<'r> OutboxMail: FromRow<'r, DB::Row>,
{
    async fn enqueue_mail(&self, mail: NewMail) -> StoreResult<i64> {
        check(&mail)?;
        self.write(move |conn| {
            Box::pin(async move {
                let (id,) = sqlx::query_as::<DB, (i64,)>(
                    "INSERT INTO mail_outbox (site_id, user_id, kind, to_addr, to_name, subject, \
                     body_text, body_html, unsubscribe_url, status, attempts, next_attempt_at, \
                     claimed_until, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, 0, $10) \
                     RETURNING id",
                )
                .bind(mail.site_id)
                .bind(mail.user_id)
                .bind(mail.kind)
                .bind(mail.to.trim().to_owned())
                .bind(mail.to_name)
                .bind(mail.subject)
                .bind(mail.text)
                .bind(mail.html)
                .bind(mail.unsubscribe_url)
                .bind(mail.now)
                .fetch_one(&mut *conn)
                .await?;
                Ok(id)
            })
        })
        .await
    }

    async fn claim_mail(
        &self,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<ClaimedMail>> {
        // SQLite has no row locks (and needs none: one writer at a time); PostgreSQL
        // skips rows another claimer has locked, so concurrent claims are disjoint.
        let lock = if DB::KIND == "postgres" {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let claim = format!(
            "UPDATE mail_outbox SET claimed_until = $1 WHERE id IN \
             (SELECT id FROM mail_outbox WHERE status = 'pending' \
              AND next_attempt_at <= $2 AND claimed_until <= $2 \
              ORDER BY next_attempt_at, id LIMIT $3{lock}) RETURNING id"
        );
        // Every node polls every second and the outbox is mostly empty: a read answers
        // "nothing due" without taking the writer.
        let due = sqlx::query_as::<DB, (i64,)>(
            "SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
             AND claimed_until <= $1 LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&self.reads)
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let until = now.saturating_add(lease_ms.max(1));
        let limit = limit.clamp(0, 1000);
        self.write(move |conn| {
            Box::pin(async move {
                let ids: Vec<i64> = sqlx::query_as::<DB, (i64,)>(&claim)
                    .bind(until)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&mut *conn)
                    .await?
                    .into_iter()
                    .map(|(id,)| id)
                    .collect();
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT {CLAIMED_COLUMNS} FROM mail_outbox WHERE id IN ({}) \
                     ORDER BY next_attempt_at, id",
                    placeholders(1, ids.len())
                );
                let mut query = sqlx::query_as::<DB, ClaimedMail>(&sql);
                for id in ids {
                    query = query.bind(id);
                }
                Ok(query.fetch_all(&mut *conn).await?)
            })
        })
        .await
    }

    async fn record_mail_attempt(&self, o: MailOutcome) -> StoreResult<()> {
        self.write(move |conn| {
            Box::pin(async move {
                let status = if o.sent {
                    "sent"
                } else if o.retry_at.is_some() {
                    "pending"
                } else {
                    "failed"
                };
                let next = if o.sent {
                    o.at
                } else {
                    o.retry_at.unwrap_or(o.at)
                };
                let error = if o.sent { None } else { o.error };
                sqlx::query_as::<DB, (i64,)>(
                    "UPDATE mail_outbox SET attempts = attempts + 1, status = $2, \
                     next_attempt_at = $3, claimed_until = 0, last_error = $4, \
                     last_attempt_at = $5, sent_at = $6 \
                     WHERE id = $1 AND status = 'pending' RETURNING id",
                )
                .bind(o.mail_id)
                .bind(status.to_owned())
                .bind(next)
                .bind(error)
                .bind(o.at)
                .bind(o.sent.then_some(o.at))
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound("queued mail"))?;
                Ok(())
            })
        })
        .await
    }

    async fn mail_outbox(&self, site_id: i64, limit: i64) -> StoreResult<Vec<OutboxMail>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM mail_outbox WHERE site_id = $1 \
             ORDER BY id DESC LIMIT $2"
        );
        Ok(sqlx::query_as::<DB, OutboxMail>(&sql)
            .bind(site_id)
            .bind(limit.clamp(0, 500))
            .fetch_all(self.read_pool())
            .await?)
    }

    async fn mail_counts(&self, site_id: Option<i64>) -> StoreResult<MailCounts> {
        let rows = sqlx::query_as::<DB, (String, i64)>(
            "SELECT status, COUNT(*) FROM mail_outbox WHERE ($1 IS NULL OR site_id = $1) \
             GROUP BY status",
        )
        .bind(site_id)
        .fetch_all(self.read_pool())
        .await?;
        let mut counts = MailCounts::default();
        for (status, n) in rows {
            match status.as_str() {
                "pending" => counts.pending = n,
                "sent" => counts.sent = n,
                "failed" => counts.failed = n,
                _ => {}
            }
        }
        Ok(counts)
    }

    async fn sweep_mail(&self, before: i64) -> StoreResult<i64> {
        self.write(move |conn| {
            Box::pin(async move {
                let rows = sqlx::query_as::<DB, (i64,)>(
                    "DELETE FROM mail_outbox WHERE status <> 'pending' \
                     AND last_attempt_at < $1 RETURNING id",
                )
                .bind(before)
                .fetch_all(&mut *conn)
                .await?;
                Ok(rows.len() as i64)
            })
        })
        .await
    }

    async fn forget_user_mail(&self, user_id: i64) -> StoreResult<i64> {
        self.write(move |conn| {
            Box::pin(async move {
                let rows = sqlx::query_as::<DB, (i64,)>(
                    "DELETE FROM mail_outbox WHERE user_id = $1 RETURNING id",
                )
                .bind(user_id)
                .fetch_all(&mut *conn)
                .await?;
                Ok(rows.len() as i64)
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> NewMail {
        NewMail {
            site_id: 1,
            user_id: None,
            kind: "verify".into(),
            to: "sam@example.org".into(),
            to_name: Some("Sam Reader".into()),
            subject: "Confirm your address".into(),
            text: "Hello".into(),
            html: None,
            unsubscribe_url: None,
            now: 1,
        }
    }

    #[test]
    fn header_values_on_one_line_pass_and_line_breaks_are_refused() {
        assert!(check(&mail()).is_ok());
        for broken in [
            NewMail {
                to: "sam@example.org\r\nBcc: x@y".into(),
                ..mail()
            },
            NewMail {
                to: "not an address".into(),
                ..mail()
            },
            NewMail {
                subject: "Hi\nBcc: x@y".into(),
                ..mail()
            },
            NewMail {
                subject: "  ".into(),
                ..mail()
            },
            NewMail {
                to_name: Some("Sam\rReader".into()),
                ..mail()
            },
            NewMail {
                kind: String::new(),
                ..mail()
            },
            NewMail {
                unsubscribe_url: Some("mailto:x@y".into()),
                ..mail()
            },
            NewMail {
                unsubscribe_url: Some("https://a.example/u>".into()),
                ..mail()
            },
            NewMail {
                unsubscribe_url: Some("https://a.example/désabonner".into()),
                ..mail()
            },
        ] {
            assert!(check(&broken).is_err(), "{broken:?}");
        }
        let with_link = NewMail {
            unsubscribe_url: Some("https://courier.example/unsubscribe/abc".into()),
            ..mail()
        };
        assert!(check(&with_link).is_ok());
    }
}
