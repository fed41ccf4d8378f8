-- Account emails and notifications.

-- When the account's current email address was confirmed (a row only once it was).
CREATE TABLE email_verifications (
    user_id     BIGINT NOT NULL PRIMARY KEY REFERENCES users(id),
    verified_at BIGINT NOT NULL
);

-- Single-use links sent by mail: confirm the address, reset the password, confirm a
-- new address. Only a hash of the token is kept.
CREATE TABLE account_tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    purpose    TEXT    NOT NULL,
    new_email  TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expiry ON account_tokens (expires_at);

-- What a reader wants to be told, per kind: 'off', 'immediate' or 'digest'. No row
-- means the defaults. unsubscribe_key signs the one-click unsubscribe links.
CREATE TABLE notification_prefs (
    user_id         BIGINT NOT NULL PRIMARY KEY REFERENCES users(id),
    reply           TEXT    NOT NULL,
    featured        TEXT    NOT NULL,
    moderation      TEXT    NOT NULL,
    unsubscribe_key TEXT    NOT NULL UNIQUE,
    updated_at      BIGINT NOT NULL
);

-- Notifications waiting for the reader's daily digest.
CREATE TABLE digest_items (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    kind       TEXT    NOT NULL,
    comment_id BIGINT NOT NULL,
    detail     TEXT    NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX digest_items_user ON digest_items (user_id, created_at);
