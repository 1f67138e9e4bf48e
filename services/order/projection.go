package order

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

// The catalogue projection: the order service keeps the price and the
// existence of every book in its own table catalog_books, fed by the
// inventory's book events (BookCreated, BookUpdated, BookDeleted on the
// books topic), so that POST /api/orders is one local transaction. Each
// event carries the book's catalogue version and the projection keeps the
// newest, whatever the order of delivery; a deleted book stays as a
// tombstone.
//
// Semantics: the price charged is the one the projection had when the
// order was placed; it is written in the order's items and in
// OrderCreated, and nobody re-prices the order afterwards (a price changed
// meanwhile applies to later orders). Stock is not projected: the
// inventory's reservation stays the authority on stock (and on existence:
// a book deleted after the order was placed is rejected there, "unknown
// book"). A book the projection has never heard of (created a moment ago,
// or the projection lags) is priced by one call to the inventory API, as
// before the projection; unknown there too, the order is a 422.

// projectionHandlers are the consumer's handlers of the book events.
func projectionHandlers() map[string]events.Handler {
	upsert := events.On(func(ctx context.Context, tx pgx.Tx, e events.BookChanged) error {
		return project(ctx, tx, e, false)
	})
	return map[string]events.Handler{
		events.TypeBookCreated: upsert,
		events.TypeBookUpdated: upsert,
		events.TypeBookDeleted: events.On(func(ctx context.Context, tx pgx.Tx, e events.BookChanged) error {
			return project(ctx, tx, e, true)
		}),
	}
}

// project records e in catalog_books unless a newer version is there.
func project(ctx context.Context, tx pgx.Tx, e events.BookChanged, deleted bool) error {
	if _, err := tx.Exec(ctx, `
		INSERT INTO catalog_books (book_id, price, deleted, version) VALUES ($1, $2, $3, $4)
		ON CONFLICT (book_id) DO UPDATE SET price = EXCLUDED.price, deleted = EXCLUDED.deleted,
			version = EXCLUDED.version, updated_at = now()
		WHERE catalog_books.version < EXCLUDED.version`, e.BookID, e.Price, deleted, e.Version); err != nil {
		return fmt.Errorf("project book %s: %w", e.BookID, err)
	}
	return nil
}

// errNotProjected is returned inside the order's transaction when some
// books are not in the projection at all: the caller rolls back, prices
// them through the catalogue and tries again.
type errNotProjected struct{ ids []string }

func (e errNotProjected) Error() string {
	return "books not projected yet: " + strings.Join(e.ids, ", ")
}

// prices returns the price of every id from the projection, completed by
// fallback (prices from the inventory API). A deleted or unknown book is a
// 422; a book in neither is errNotProjected while fallback is nil.
func prices(ctx context.Context, tx pgx.Tx, ids []string, fallback map[string]CatalogBook, malformed []string) (map[string]int64, error) {
	rows, err := tx.Query(ctx, `SELECT book_id::text, price, deleted FROM catalog_books WHERE book_id = ANY($1::uuid[])`, ids)
	if err != nil {
		return nil, fmt.Errorf("read catalogue projection: %w", err)
	}
	out := make(map[string]int64, len(ids))
	gone := map[string]bool{}
	for rows.Next() {
		var id string
		var price int64
		var deleted bool
		if err := rows.Scan(&id, &price, &deleted); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read catalogue projection: %w", err)
		}
		if deleted {
			gone[id] = true
			continue
		}
		out[id] = price
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read catalogue projection: %w", err)
	}
	unknown := malformed
	var missing []string
	for _, id := range ids {
		_, ok := out[id]
		switch {
		case ok:
		case gone[id]:
			unknown = append(unknown, id)
		case fallback == nil:
			missing = append(missing, id)
		default:
			if b, ok := fallback[id]; ok {
				out[id] = b.Price
			} else {
				unknown = append(unknown, id)
			}
		}
	}
	if len(missing) > 0 {
		return nil, errNotProjected{ids: missing}
	}
	if len(unknown) > 0 {
		return nil, httpx.Unprocessable("unknown book ids: " + strings.Join(unknown, ", "))
	}
	return out, nil
}

// notProjected reports the ids of an errNotProjected.
func notProjected(err error) ([]string, bool) {
	var np errNotProjected
	if errors.As(err, &np) {
		return np.ids, true
	}
	return nil, false
}
