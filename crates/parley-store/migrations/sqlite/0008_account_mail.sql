-- Account emails and notifications.

-- When the account's current email address was confirmed (a row only once it was).
CREATE TABLE email_verifications (
    user_id     INTEGER NOT NULL PRIMARY KEY REFERENCES users(id),
    verified_at INTEGER NOT NULL
);

-- Single-use links sent by mail: confirm the address, reset the password, confirm a
-- new address. Only a hash of the token is kept.
CREATE TABLE account_tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    purpose    TEXT    NOT NULL,
    new_email  TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expiry ON account_tokens (expires_at);

-- What a reader wants to be told, per kind: 'off', 'immediate' or 'digest'. No row
-- means the defaults. unsubscribe_key signs the one-click unsubscribe links.
CREATE TABLE notification_prefs (
    user_id         INTEGER NOT NULL PRIMARY KEY REFERENCES users(id),
    reply           TEXT    NOT NULL,
    featured        TEXT    NOT NULL,
    moderation      TEXT    NOT NULL,
    unsubscribe_key TEXT    NOT NULL UNIQUE,
    updated_at      INTEGER NOT NULL
);

-- Notifications waiting for the reader's daily digest.
CREATE TABLE digest_items (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    kind       TEXT    NOT NULL,
    comment_id INTEGER NOT NULL,
    detail     TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX digest_items_user ON digest_items (user_id, created_at);
