package inventory

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/platform/database"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

// Book events: every catalogue change (create; update of title, author or
// price; delete) enqueues BookCreated, BookUpdated or BookDeleted on the
// books topic in the transaction that makes it, with the book's new
// catalog_version. The order service projects them into its own table of
// prices, so that placing an order needs no call to this service.

// publishBook enqueues the event typ of book b in tx.
func publishBook(ctx context.Context, tx pgx.Tx, topic, typ string, b events.BookChanged) error {
	return events.Emit(ctx, tx, topic, b.BookID, typ, b)
}

// snapshotBatch is how many unpublished books one backfill transaction publishes.
const snapshotBatch = 500

// publishUnpublished publishes BookCreated for every book whose current
// state has no event yet (catalog_published false: books that existed
// before book events), in batches, and returns how many it published. Each
// batch marks its books published in the transaction that enqueues their
// events, so concurrent replicas never publish a book twice.
func publishUnpublished(ctx context.Context, pool *pgxpool.Pool, topic string) (int, error) {
	total := 0
	for {
		n := 0
		err := database.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `
				UPDATE books SET catalog_published = true
				WHERE id IN (SELECT id FROM books WHERE NOT catalog_published ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
				RETURNING id::text, catalog_version, title, author, price`, snapshotBatch)
			if err != nil {
				return fmt.Errorf("mark books published: %w", err)
			}
			list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[events.BookChanged])
			if err != nil {
				return fmt.Errorf("mark books published: %w", err)
			}
			for _, b := range list {
				if err := publishBook(ctx, tx, topic, events.TypeBookCreated, b); err != nil {
					return err
				}
			}
			n = len(list)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < snapshotBatch {
			return total, nil
		}
	}
}

// backfill is the worker that publishes the books without events at start
// (retried with backoff while the database is unavailable), then idles.
func backfill(pool *pgxpool.Pool, log *slog.Logger, topic string) func(context.Context) error {
	return func(ctx context.Context) error {
		b := events.NewBackoff(200*time.Millisecond, 10*time.Second)
		for {
			n, err := publishUnpublished(ctx, pool, topic)
			if err == nil {
				if n > 0 {
					log.InfoContext(ctx, "published the catalogue for the order service's projection", "books", n)
				}
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			wait := b.Next()
			log.WarnContext(ctx, "publishing unpublished books failed, retrying", "err", err, "backoff", wait)
			if !events.Sleep(ctx, wait) {
				return nil
			}
		}
		<-ctx.Done()
		return nil
	}
}
