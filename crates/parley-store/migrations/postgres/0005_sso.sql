-- Single sign-on: which account a newsroom's reader id stands for on a site, and the
-- token ids already used (kept until the token expires, so a token signs in once).
CREATE TABLE sso_links (
    site_id     BIGINT  NOT NULL REFERENCES sites(id),
    external_id TEXT    NOT NULL,
    user_id     BIGINT  NOT NULL UNIQUE REFERENCES users(id),
    badges      TEXT    NOT NULL DEFAULT '[]',
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (site_id, external_id)
);

CREATE TABLE sso_used_tokens (
    site_id    BIGINT  NOT NULL,
    jti        TEXT    NOT NULL,
    expires_at BIGINT  NOT NULL,
    PRIMARY KEY (site_id, jti)
);
CREATE INDEX sso_used_tokens_expiry ON sso_used_tokens (expires_at);
