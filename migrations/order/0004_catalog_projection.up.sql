-- The order service's projection of the catalogue, fed by the inventory's book
-- events (services/order/projection.go): the price POST /api/orders charges and
-- whether the book exists. A deleted book stays as a tombstone (deleted, with
-- the version of its deletion) so that a late BookUpdated cannot revive it.
CREATE TABLE IF NOT EXISTS catalog_books (
    book_id    uuid PRIMARY KEY,
    price      bigint      NOT NULL CHECK (price >= 0),
    deleted    boolean     NOT NULL DEFAULT false,
    version    bigint      NOT NULL CHECK (version > 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
