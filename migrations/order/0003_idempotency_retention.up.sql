-- The retention purge of Idempotency-Key rows (internal/platform/retention).
CREATE INDEX IF NOT EXISTS idempotency_keys_created_at_idx ON idempotency_keys (created_at);
