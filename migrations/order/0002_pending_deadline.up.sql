-- The deadline worker's scan: Pending orders oldest first (services/order/deadline.go).
CREATE INDEX IF NOT EXISTS orders_pending_created_idx ON orders (created_at) WHERE status = 'Pending';
