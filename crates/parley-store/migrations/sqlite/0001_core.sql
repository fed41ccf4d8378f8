-- Parley core schema, SQLite dialect. Times are unix milliseconds.
CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    settings    TEXT    NOT NULL DEFAULT '{}',
    created_at  INTEGER NOT NULL
);

CREATE TABLE site_origins (
    site_id INTEGER NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    origin  TEXT    NOT NULL,
    PRIMARY KEY (site_id, origin)
);

CREATE TABLE stories (
    id              INTEGER PRIMARY KEY,
    site_id         INTEGER NOT NULL REFERENCES sites(id),
    url             TEXT    NOT NULL,
    slug            TEXT    NOT NULL,
    headline        TEXT    NOT NULL,
    standfirst      TEXT    NOT NULL DEFAULT '',
    body_md         TEXT    NOT NULL DEFAULT '',
    body_html       TEXT    NOT NULL DEFAULT '',
    published_at    INTEGER NOT NULL,
    picture_url     TEXT,
    picture_caption TEXT,
    picture_credit  TEXT,
    is_closed       BOOLEAN NOT NULL DEFAULT FALSE,
    closed_message  TEXT,
    version         INTEGER NOT NULL DEFAULT 1,
    comment_count   INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (site_id, url),
    UNIQUE (site_id, slug)
);
CREATE INDEX stories_site_published ON stories (site_id, published_at);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    site_id         INTEGER NOT NULL REFERENCES sites(id),
    email           TEXT    NOT NULL,
    display_name    TEXT    NOT NULL,
    name_key        TEXT    NOT NULL,
    password_hash   TEXT,
    role            TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'active',
    suspended_until INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (site_id, email),
    UNIQUE (site_id, name_key)
);

CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE comments (
    id              INTEGER PRIMARY KEY,
    story_id        INTEGER NOT NULL REFERENCES stories(id),
    author_id       INTEGER REFERENCES users(id),
    parent_id       INTEGER REFERENCES comments(id),
    root_id         INTEGER NOT NULL DEFAULT 0,
    depth           INTEGER NOT NULL,
    path            TEXT    NOT NULL DEFAULT '',
    reply_count     INTEGER NOT NULL DEFAULT 0,
    reaction_count  INTEGER NOT NULL DEFAULT 0,
    status          TEXT    NOT NULL,
    featured        BOOLEAN NOT NULL DEFAULT FALSE,
    body_src        TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    edited_at       INTEGER,
    deleted_at      INTEGER
);
CREATE INDEX comments_top_newest    ON comments (story_id, id) WHERE depth = 0;
CREATE INDEX comments_top_reactions ON comments (story_id, reaction_count, id) WHERE depth = 0;
CREATE INDEX comments_top_replies   ON comments (story_id, reply_count, id) WHERE depth = 0;
CREATE INDEX comments_thread        ON comments (root_id, path);
CREATE INDEX comments_featured      ON comments (story_id, id) WHERE featured;
CREATE INDEX comments_author        ON comments (author_id, id);

CREATE TABLE comment_revisions (
    id          INTEGER PRIMARY KEY,
    comment_id  INTEGER NOT NULL REFERENCES comments(id),
    body_src    TEXT    NOT NULL,
    body_html   TEXT    NOT NULL,
    decision    TEXT    NOT NULL,
    reasons     TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE INDEX comment_revisions_comment ON comment_revisions (comment_id, id);

CREATE TABLE reactions (
    comment_id  INTEGER NOT NULL REFERENCES comments(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    kind        TEXT    NOT NULL DEFAULT 'like',
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (comment_id, user_id)
);
CREATE INDEX reactions_user ON reactions (user_id);

CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    comment_id  INTEGER NOT NULL REFERENCES comments(id),
    user_id     INTEGER NOT NULL REFERENCES users(id),
    reason      TEXT    NOT NULL,
    note        TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    UNIQUE (comment_id, user_id)
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    site_id     INTEGER,
    actor_id    INTEGER,
    actor_rule  TEXT,
    action      TEXT    NOT NULL,
    target_kind TEXT    NOT NULL,
    target_id   INTEGER NOT NULL,
    revision_id INTEGER,
    reason      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_target ON audit_log (target_kind, target_id);
