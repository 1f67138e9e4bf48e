-- Transactional outbox and idempotent inbox, applied to every service
-- database before the service's own migrations (see docs/events.md).

-- outbox: events written in the same transaction as the state change that
-- caused them. The relay publishes unsent rows in id order and sets sent_at
-- after Kafka acknowledged them (acks=all).
CREATE TABLE IF NOT EXISTS outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic       text        NOT NULL,
    key         text        NOT NULL,
    payload     bytea       NOT NULL,
    headers     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    event_id    text        NOT NULL,
    event_type  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz
);

-- The relay's scan: unsent rows in id order.
CREATE INDEX IF NOT EXISTS outbox_unsent_idx ON outbox (id) WHERE sent_at IS NULL;
-- Retention purge of sent rows.
CREATE INDEX IF NOT EXISTS outbox_sent_at_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;

-- inbox: one row per event a consumer has applied, written in the same
-- transaction as the effect. A redelivered event hits the primary key and
-- changes nothing.
CREATE TABLE IF NOT EXISTS inbox (
    consumer      text        NOT NULL,
    event_id      text        NOT NULL,
    event_type    text        NOT NULL DEFAULT '',
    topic         text        NOT NULL DEFAULT '',
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
