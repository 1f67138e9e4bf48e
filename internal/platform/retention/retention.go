// Package retention keeps the deduplication tables bounded: every service
// purges, by itself, the inbox rows (applied event ids) and the
// Idempotency-Key rows older than BOOKSTORE_DEDUP_RETENTION (default 8 days).
//
// Why that is safe: Kafka keeps messages 7 days (the broker default the
// deployments use), so no redelivery can bring back an event whose inbox
// row is older; an Idempotency-Key is documented to be replayed for 24
// hours (docs/api.md). Past both windows, the business keys (unique ledger
// rows per order) still refuse a second effect.
package retention

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
)

// Table is a table purged by age.
type Table struct {
	Name   string // table name
	Column string // timestamptz column of the row's age
}

var (
	// Inbox is the consumers' inbox (every service).
	Inbox = Table{Name: "inbox", Column: "processed_at"}
	// IdempotencyKeys are the stored responses of Idempotency-Key requests
	// (token, order).
	IdempotencyKeys = Table{Name: "idempotency_keys", Column: "created_at"}
)

// Interval is how often the tables are purged.
const Interval = 10 * time.Minute

// batch bounds one DELETE, so that a purge never holds long locks.
const batch = 5000

// Builder returns the app builder of the purging worker for tables.
func Builder(tables ...Table) app.Builder {
	return func(ctx context.Context, d app.Deps) (app.Service, error) {
		log := d.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		keep := d.Config.DedupRetention
		return app.Service{Workers: map[string]app.Worker{"retention": func(ctx context.Context) error {
			for {
				for _, t := range tables {
					n, err := Purge(ctx, d.Pool, t, keep)
					if err != nil && ctx.Err() == nil {
						log.WarnContext(ctx, "retention purge failed; retrying later", "table", t.Name, "error", err)
					} else if n > 0 {
						log.InfoContext(ctx, "retention purge", "table", t.Name, "rows", n, "older_than", keep)
					}
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(Interval):
				}
			}
		}}}, nil
	}
}

// Purge deletes the rows of t older than keep, in batches, and returns how
// many it deleted.
func Purge(ctx context.Context, pool *pgxpool.Pool, t Table, keep time.Duration) (int64, error) {
	q := fmt.Sprintf(`DELETE FROM %[1]s WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM %[1]s WHERE %[2]s < now() - make_interval(secs => $1) LIMIT %[3]d))`, t.Name, t.Column, batch)
	var total int64
	for {
		tag, err := pool.Exec(ctx, q, keep.Seconds())
		if err != nil {
			return total, fmt.Errorf("purge %s: %w", t.Name, err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < batch {
			return total, nil
		}
	}
}
