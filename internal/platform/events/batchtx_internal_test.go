package events

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// migratedPool is a pool on a fresh database with the outbox and inbox.
func migratedPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), testenv.Postgres(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	sql, err := os.ReadFile(filepath.Join(testenv.RepoRoot(tb), "migrations", "common", "0001_outbox_inbox.up.sql"))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := pool.Exec(context.Background(), string(sql)); err != nil {
		tb.Fatal(err)
	}
	return pool
}

// TestBatchTxWritesEventsInEnqueueOrder: the events a consumer batch
// enqueues are written on commit only, in the order they were enqueued
// (ids and notifications), each notification carrying its row; a rolled
// back batch writes and announces nothing.
func TestBatchTxWritesEventsInEnqueueOrder(t *testing.T) {
	pool := migratedPool(t)
	ctx := context.Background()
	listener, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(ctx)
	if _, err := listener.Exec(ctx, "LISTEN "+OutboxChannel); err != nil {
		t.Fatal(err)
	}
	enqueueBatch := func(n int, commit bool) []string {
		raw, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = raw.Rollback(ctx) }()
		tx := &batchTx{Tx: raw}
		var ids []string
		for i := range n {
			env, err := New("Test", map[string]int{"seq": i})
			if err != nil {
				t.Fatal(err)
			}
			if err := Enqueue(ctx, tx, "t", fmt.Sprintf("key-%d", i%2), env); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, env.ID)
		}
		var rows int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows != 0 {
			t.Fatalf("%d outbox rows before the flush, want them kept until the commit", rows)
		}
		if !commit {
			return nil
		}
		if err := tx.flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	enqueueBatch(3, false)
	want := enqueueBatch(7, true)

	rows, err := pool.Query(ctx, `SELECT event_id FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outbox in id order %v, want the enqueue order %v", got, want)
	}
	for i, id := range want {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := listener.WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatalf("notification %d: %v", i, err)
		}
		row, err := parseNote(n.Payload)
		if err != nil {
			t.Fatalf("notification %d: %v", i, err)
		}
		env, err := Parse(row.payload)
		if err != nil || env.ID != id {
			t.Fatalf("notification %d carries %s (%v), want %s", i, env.ID, err, id)
		}
	}
}
