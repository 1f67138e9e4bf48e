-- Book events (BookCreated/Updated/Deleted on the books topic) feed the order
-- service's catalogue projection. catalog_version counts the catalogue changes
-- of a book (the events carry it, so consumers keep the newest);
-- catalog_published is false for books whose current state has no event yet:
-- books that existed before book events. The service publishes those at
-- start (services/inventory/catalog.go), which backfills the projection of
-- an existing deployment once; books written since are published in the
-- transaction that writes them.
ALTER TABLE books ADD COLUMN IF NOT EXISTS catalog_version bigint NOT NULL DEFAULT 1;
ALTER TABLE books ADD COLUMN IF NOT EXISTS catalog_published boolean NOT NULL DEFAULT false;
ALTER TABLE books ALTER COLUMN catalog_published SET DEFAULT true;
CREATE INDEX IF NOT EXISTS books_unpublished_idx ON books (id) WHERE NOT catalog_published;
