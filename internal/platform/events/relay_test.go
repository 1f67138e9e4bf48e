package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// enqueue commits one event per call in its own transaction; rollback
// instead of committing when commit is false.
func enqueue(t *testing.T, pool *pgxpool.Pool, topic, key string, n int, commit bool) []string {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for i := 0; i < n; i++ {
		env, err := events.New("Test", map[string]int{"seq": i})
		if err != nil {
			t.Fatal(err)
		}
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if err := events.Enqueue(ctx, tx, topic, key, env); err != nil {
				return err
			}
			if !commit {
				return fmt.Errorf("rolled back on purpose")
			}
			return nil
		})
		if commit && err != nil {
			t.Fatal(err)
		}
		ids = append(ids, env.ID)
	}
	return ids
}

func unsent(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE sent_at IS NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRelayPublishesCommittedEventsInOrder(t *testing.T) {
	pool := newDB(t)
	k := kafkaConfig(t, 3)
	prod := newProducer(t, k)
	topic := testenv.Name(t, "relay")
	ensure(t, prod, k, topic)

	// Rows written before the relay starts are published too (restart case).
	before := enqueue(t, pool, topic, "order-1", 5, true)
	enqueue(t, pool, topic, "order-1", 3, false) // never committed: never published
	runInBackground(t, events.NewRelay(pool, prod, nil, nil, events.RelayOptions{PollInterval: time.Minute}).Run)
	after := enqueue(t, pool, topic, "order-1", 20, true) // woken by NOTIFY, not the 1-minute poll

	want := append(before, after...)
	msgs := readTopic(t, k, topic, len(want), 20*time.Second)
	for i, m := range msgs {
		env, err := events.Parse(m.Value)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if env.ID != want[i] {
			t.Fatalf("message %d is %s, want %s: per-key order broken", i, env.ID, want[i])
		}
		if string(m.Key) != "order-1" {
			t.Errorf("message %d key %q, want order-1", i, m.Key)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for unsent(t, pool) != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := unsent(t, pool); n != 0 {
		t.Errorf("%d outbox rows not marked sent", n)
	}
	if n := countTopic(t, k, topic, 2*time.Second); n != len(want) {
		t.Errorf("topic holds %d messages, want %d (no duplicates, no rolled-back events)", n, len(want))
	}
}

func TestRelayOneActiveReplicaAndFailover(t *testing.T) {
	pool := newDB(t)
	k := kafkaConfig(t, 1)
	prod := newProducer(t, k)
	topic := testenv.Name(t, "failover")
	ensure(t, prod, k, topic)

	opts := events.RelayOptions{PollInterval: 200 * time.Millisecond, StandbyInterval: 100 * time.Millisecond}
	stopA := runInBackground(t, events.NewRelay(pool, prod, nil, nil, opts).Run)
	time.Sleep(300 * time.Millisecond) // let A take the lock first
	runInBackground(t, events.NewRelay(pool, prod, nil, nil, opts).Run)

	first := enqueue(t, pool, topic, "k", 30, true)
	readTopic(t, k, topic, len(first), 20*time.Second)
	if err := stopA(); err != nil {
		t.Fatalf("relay A: %v", err)
	}
	second := enqueue(t, pool, topic, "k", 30, true) // only B is left
	msgs := readTopic(t, k, topic, len(first)+len(second), 20*time.Second)

	seen := map[string]int{}
	for _, m := range msgs {
		env, err := events.Parse(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		seen[env.ID]++
	}
	for _, id := range append(first, second...) {
		if seen[id] != 1 {
			t.Errorf("event %s published %d times, want 1", id, seen[id])
		}
	}
	if n := countTopic(t, k, topic, 2*time.Second); n != len(first)+len(second) {
		t.Errorf("topic holds %d messages, want %d", n, len(first)+len(second))
	}
}
