-- The catalogue and its stock. Prices are whole tokens.
CREATE TABLE books (
    id         uuid PRIMARY KEY,
    title      text        NOT NULL CHECK (title <> ''),
    author     text        NOT NULL CHECK (author <> ''),
    price      bigint      NOT NULL CHECK (price >= 0),
    amount     bigint      NOT NULL CHECK (amount >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Every stock change. create/adjust: by an admin through the API;
-- reserve/release/restock: by the order saga, at most once per
-- (order, book, kind).
CREATE TABLE stock_ledger (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    book_id    uuid        NOT NULL,
    order_id   uuid,
    delta      bigint      NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('reserve', 'release', 'restock', 'create', 'adjust')),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX stock_ledger_order_book_kind_key ON stock_ledger (order_id, book_id, kind) WHERE order_id IS NOT NULL;
CREATE INDEX stock_ledger_book_idx ON stock_ledger (book_id, created_at);
