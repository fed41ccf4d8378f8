-- Mail: a durable outbox of messages (account mail, notifications, digests) that a
-- background worker claims, sends over SMTP and retries with back-off.

CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    site_id         INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    -- The account the mail is for, when it is for one.
    user_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    -- What it is for: verify, reset, email_change, reply, featured, moderation, digest...
    kind            TEXT    NOT NULL,
    to_addr         TEXT    NOT NULL,
    to_name         TEXT,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT,
    -- One-click unsubscribe target (List-Unsubscribe), when the mail offers one.
    unsubscribe_url TEXT,
    -- pending, sent or failed (refused for good, or gave up after the last attempt).
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- A worker holds the mail until then; another may take it after.
    claimed_until   INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX mail_outbox_site ON mail_outbox (site_id, id);
CREATE INDEX mail_outbox_user ON mail_outbox (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX mail_outbox_done ON mail_outbox (last_attempt_at) WHERE status <> 'pending';
