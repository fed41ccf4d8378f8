-- Failed sign-ins per key (an account or a client address) in fixed windows. Kept in
-- the database so every node counts the same failures.
CREATE TABLE signin_failures (
    key          TEXT    PRIMARY KEY,
    window_start INTEGER NOT NULL,
    failures     INTEGER NOT NULL
);
CREATE INDEX signin_failures_window ON signin_failures (window_start);
