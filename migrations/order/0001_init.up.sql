-- Orders and their saga state. status moves Pending -> Completed | Failed;
-- version is bumped on every update (optimistic concurrency).
CREATE TABLE orders (
    id                     uuid PRIMARY KEY,
    user_id                uuid        NOT NULL,
    status                 text        NOT NULL DEFAULT 'Pending' CHECK (status IN ('Pending', 'Completed', 'Failed')),
    is_payment_processed   boolean     NOT NULL DEFAULT false,
    is_inventory_processed boolean     NOT NULL DEFAULT false,
    fail_reason            text        NOT NULL DEFAULT '',
    total_price            bigint      NOT NULL CHECK (total_price >= 0),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    version                integer     NOT NULL DEFAULT 1
);

CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);

-- The books of an order with the price each had when the order was placed.
CREATE TABLE order_items (
    order_id uuid    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    book_id  uuid    NOT NULL,
    price    bigint  NOT NULL CHECK (price >= 0),
    quantity integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, book_id)
);

-- Idempotency-Key of POST /api/orders, scoped by user: the first response is
-- stored and replayed for a repeated key.
CREATE TABLE idempotency_keys (
    user_id      uuid        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status_code  integer,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
