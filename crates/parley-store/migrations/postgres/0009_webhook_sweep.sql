-- The retention sweep finds finished deliveries by the time of their last attempt
-- (next_attempt_at once finished); without this it read the whole table every run.
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (next_attempt_at) WHERE status <> 'pending';
