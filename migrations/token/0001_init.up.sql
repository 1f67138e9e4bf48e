-- Token balance per user; a missing row means a balance of 0.
CREATE TABLE balances (
    user_id    uuid PRIMARY KEY,
    balance    bigint      NOT NULL DEFAULT 0 CHECK (balance >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every balance change. add: top-up by the user; charge: payment of an order;
-- refund: an order's payment returned. At most one charge and one refund per
-- order (the saga's idempotency guard).
CREATE TABLE token_ledger (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    uuid        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('add', 'charge', 'refund')),
    amount     bigint      NOT NULL CHECK (amount >= 0),
    order_id   uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX token_ledger_order_kind_key ON token_ledger (order_id, kind) WHERE order_id IS NOT NULL;
CREATE INDEX token_ledger_user_idx ON token_ledger (user_id, created_at);

-- Idempotency-Key of POST /api/tokens/add, scoped by user: the first
-- response is stored and replayed for a repeated key.
CREATE TABLE idempotency_keys (
    user_id      uuid        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status_code  integer,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
