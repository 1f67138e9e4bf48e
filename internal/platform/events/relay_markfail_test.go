package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// TestRelayRecoversPromptlyAfterMarkFails: rows delivered to Kafka whose
// "sent" mark fails (the database restarting under the relay, here a
// trigger refusing the UPDATE) end the session; the next session must start
// at once and publish and mark them, not wait out the DeliveryTimeout for
// acknowledgements that will never come (the fault harness saw the saga
// stall for that minute after a PostgreSQL restart).
func TestRelayRecoversPromptlyAfterMarkFails(t *testing.T) {
	pool := newDB(t)
	k := kafkaConfig(t, 1)
	prod := newProducer(t, k)
	topic := testenv.Name(t, "markfail")
	ensure(t, prod, k, topic)
	ctx := context.Background()
	runInBackground(t, events.NewRelay(pool, prod, nil, nil, events.RelayOptions{PollInterval: 200 * time.Millisecond}).Run)

	first := enqueue(t, pool, topic, "k", 5, true)
	readTopic(t, k, topic, len(first), 20*time.Second)
	testenv.Eventually(t, "the first rows marked sent", 10*time.Second, func() bool { return unsent(t, pool) == 0 })

	if _, err := pool.Exec(ctx, `
		CREATE FUNCTION refuse_mark() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'marks refused by the test'; END $$;
		CREATE TRIGGER refuse_mark BEFORE UPDATE ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_mark();`); err != nil {
		t.Fatal(err)
	}
	second := enqueue(t, pool, topic, "k", 5, true)
	readTopic(t, k, topic, len(first)+len(second), 20*time.Second) // delivered, not marked
	time.Sleep(500 * time.Millisecond)
	if n := unsent(t, pool); n != len(second) {
		t.Fatalf("%d rows unsent while marks are refused, want %d", n, len(second))
	}
	if _, err := pool.Exec(ctx, `DROP TRIGGER refuse_mark ON outbox`); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	testenv.Eventually(t, "the unmarked rows published again and marked", 10*time.Second, func() bool { return unsent(t, pool) == 0 })
	t.Logf("marked %s after the marks were allowed again", time.Since(healed).Round(10*time.Millisecond))
}
