-- The retention purge of applied event ids (internal/platform/retention).
CREATE INDEX IF NOT EXISTS inbox_processed_at_idx ON inbox (processed_at);
