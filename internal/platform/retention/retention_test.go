package retention_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/retention"
)

// TestPurgeKeepsTheWindow: inbox and Idempotency-Key rows older than the
// retention are deleted, younger ones stay (a redelivery or a repeated key
// inside the window is still recognised).
func TestPurgeKeepsTheWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, apptest.MigratedDatabase(t, "order"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	keep := 192 * time.Hour
	ages := map[string]time.Duration{"old": 200 * time.Hour, "older": 900 * time.Hour, "young": 191 * time.Hour, "new": 0}
	for name, age := range ages {
		if _, err := pool.Exec(ctx, `INSERT INTO inbox (consumer, event_id, processed_at) VALUES ('order', $1, now() - make_interval(secs => $2))`,
			name, age.Seconds()); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES ($1, $2, 'h', now() - make_interval(secs => $3))`,
			uuid.New(), name, age.Seconds()); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		table retention.Table
		col   string
	}{{retention.Inbox, "event_id"}, {retention.IdempotencyKeys, "key"}} {
		n, err := retention.Purge(ctx, pool, tc.table, keep)
		if err != nil || n != 2 {
			t.Fatalf("purge %s: %d rows, %v; want 2", tc.table.Name, n, err)
		}
		var left []string
		rows, err := pool.Query(ctx, `SELECT `+tc.col+` FROM `+tc.table.Name+` ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			left = append(left, s)
		}
		if len(left) != 2 || left[0] != "new" || left[1] != "young" {
			t.Fatalf("%s keeps %v, want [new young]", tc.table.Name, left)
		}
	}
}
