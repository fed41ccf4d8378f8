-- Deleted accounts: the row stays (tombstones and the audit log point at it), stripped
-- of everything that names the reader, and marked so nobody can sign in as it again.
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
