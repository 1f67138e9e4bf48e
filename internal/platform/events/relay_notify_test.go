package events_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// TestRelayPublishesFromNotifications: an active relay gets committed rows
// from their NOTIFY payload and does not read the outbox table for each of
// them; a row too large for a notification is read from the table and still
// keeps its place in the key's order; nothing is published twice.
func TestRelayPublishesFromNotifications(t *testing.T) {
	pool := newDB(t)
	k := kafkaConfig(t, 1)
	prod := newProducer(t, k)
	topic := testenv.Name(t, "notify")
	ensure(t, prod, k, topic)
	m, err := events.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	// The fallback read every minute never comes during the test.
	runInBackground(t, events.NewRelay(pool, prod, nil, m, events.RelayOptions{PollInterval: time.Minute}).Run)
	testenv.Eventually(t, "the relay's first read of the table", 10*time.Second, func() bool {
		return testutil.ToFloat64(m.RelayScans) >= 1
	})

	want := enqueue(t, pool, topic, "k", 10, true)
	big, err := events.New("Big", map[string]string{"blob": strings.Repeat("x", 10000)})
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		return events.Enqueue(context.Background(), tx, topic, "k", big)
	}); err != nil {
		t.Fatal(err)
	}
	want = append(want, big.ID)
	want = append(want, enqueue(t, pool, topic, "k", 10, true)...)

	msgs := readTopic(t, k, topic, len(want), 20*time.Second)
	for i, msg := range msgs {
		env, err := events.Parse(msg.Value)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if env.ID != want[i] {
			t.Fatalf("message %d is %s, want %s: per-key order broken", i, env.ID, want[i])
		}
		if env.ID == big.ID && len(msg.Value) < 10000 {
			t.Errorf("the large event arrived with %d bytes", len(msg.Value))
		}
	}
	if n := countTopic(t, k, topic, 2*time.Second); n != len(want) {
		t.Errorf("topic holds %d messages, want %d (no duplicates)", n, len(want))
	}
	testenv.Eventually(t, "every row marked sent", 10*time.Second, func() bool { return unsent(t, pool) == 0 })
	viaNote := testutil.ToFloat64(m.RelayRows.WithLabelValues("notification"))
	scans := testutil.ToFloat64(m.RelayScans)
	t.Logf("rows from notifications %.0f, table reads %.0f", viaNote, scans)
	if viaNote < 10 {
		t.Errorf("%.0f of %d rows came from their notification, want at least the 10 before the large one", viaNote, len(want))
	}
	if scans > 2 {
		t.Errorf("%.0f reads of the outbox table, want 2 (at start, for the large row)", scans)
	}
}
