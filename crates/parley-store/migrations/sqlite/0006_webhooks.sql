-- Webhooks: endpoints a site registers for events, and a durable outbox of deliveries
-- that a background worker claims, sends (signed) and retries with back-off.

CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    site_id    INTEGER  NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    url        TEXT    NOT NULL,
    -- The subscribed event names, comma-separated with a leading and trailing comma
    -- (",comment.published,story.closed,") so one LIKE finds a subscriber.
    events     TEXT    NOT NULL,
    secret     TEXT    NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER  NOT NULL
);
CREATE INDEX webhooks_site ON webhooks (site_id);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER  NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event           TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    -- pending, delivered or failed (gave up after the last attempt).
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER  NOT NULL DEFAULT 0,
    next_attempt_at INTEGER  NOT NULL,
    -- A worker holds the delivery until then; another may take it after.
    claimed_until   INTEGER  NOT NULL DEFAULT 0,
    last_status     INTEGER,
    last_error      TEXT,
    last_body       TEXT,
    created_at      INTEGER  NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);

-- Every attempt with the receiver's answer, for the admin's log.
CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER  NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt     INTEGER  NOT NULL,
    at          INTEGER  NOT NULL,
    status      INTEGER,
    error       TEXT,
    body        TEXT,
    duration_ms INTEGER  NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);
