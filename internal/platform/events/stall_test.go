package events_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// publishTo writes value to one partition of topic.
func publishTo(t *testing.T, k config.Kafka, topic string, partition int32, values ...[]byte) {
	t.Helper()
	base, err := events.ClientConfig(k)
	if err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(&base)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	reports := make(chan kafka.Event, len(values))
	for _, v := range values {
		if err := p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: partition}, Value: v}, reports); err != nil {
			t.Fatal(err)
		}
	}
	for range values {
		select {
		case ev := <-reports:
			if m, ok := ev.(*kafka.Message); !ok || m.TopicPartition.Error != nil {
				t.Fatalf("delivery: %v", ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("delivery timed out")
		}
	}
}

// TestStuckPartitionHoldsNeitherGroupNorOthers: a worker retrying a
// transient failure for longer than max.poll.interval.ms, with more events
// of its partition waiting than its queue holds, does not stop the poll
// loop: the consumer stays in the group and another partition's events
// (another worker) are applied meanwhile; once the failure clears, every
// held event is applied exactly once, in order.
func TestStuckPartitionHoldsNeitherGroupNorOthers(t *testing.T) {
	pool, k, prod, topic, dlq := consumerSetup(t, 2)
	if _, err := pool.Exec(context.Background(), `CREATE TABLE applied (seq serial PRIMARY KEY, k text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	m, _ := events.NewMetrics(nil)
	var stuck atomic.Bool
	stuck.Store(true)
	c, err := events.NewConsumer(k, pool, prod, nil, m, events.ConsumerOptions{
		Name: "svc", GroupID: testenv.Name(t, "group"), Topics: []string{topic}, DeadLetterTopic: dlq,
		Concurrency: 2, MaxBatch: 2, MaxBackoff: 200 * time.Millisecond, MaxPollInterval: 6 * time.Second,
		Handlers: map[string]events.Handler{"Bump": func(ctx context.Context, tx pgx.Tx, env events.Envelope) error {
			var p struct {
				K string `json:"k"`
			}
			if err := env.Decode(&p); err != nil {
				return err
			}
			if stuck.Load() && strings.HasPrefix(p.K, "p0-") {
				return errors.New("redis went away") // partition 0's events fail while stuck
			}
			if _, err := tx.Exec(ctx, `INSERT INTO applied (k) VALUES ($1)`, p.K); err != nil {
				return err
			}
			return bump(ctx, tx, env)
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, c.Run)

	var held [][]byte
	for i := range 20 { // far more than the queue of two batches
		_, v := event(t, "Bump", fmt.Sprintf("p0-%02d", i))
		held = append(held, v)
	}
	publishTo(t, k, topic, 0, held...)
	testenv.Eventually(t, "retrying", 20*time.Second, func() bool {
		return testutil.ToFloat64(m.HandlerRetries.WithLabelValues("svc")) > 0
	})
	time.Sleep(8 * time.Second) // past max.poll.interval.ms

	_, other := event(t, "Bump", "p1-a")
	publishTo(t, k, topic, 1, other)
	testenv.Eventually(t, "the other partition applied while partition 0 is stuck", 10*time.Second, func() bool {
		return effectCounts(t, pool)["p1-a"] == 1
	})
	if n := len(effectCounts(t, pool)); n != 1 {
		t.Fatalf("%d effects while partition 0 is stuck, want only p1-a", n)
	}

	stuck.Store(false)
	testenv.Eventually(t, "partition 0 drained", 30*time.Second, func() bool { return len(effectCounts(t, pool)) == 21 })
	for k, n := range effectCounts(t, pool) {
		if n != 1 {
			t.Errorf("effect %s applied %d times, want 1", k, n)
		}
	}
	rows, err := pool.Query(context.Background(), `SELECT k FROM applied WHERE k LIKE 'p0-%' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	order, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(order) || len(order) != 20 {
		t.Errorf("partition 0 applied in the order %v, want p0-00 … p0-19", order)
	}
	if got := testutil.ToFloat64(m.Consumed.WithLabelValues("svc", "Bump", "duplicate")); got != 0 {
		t.Errorf("%v duplicates: the consumer lost its partitions (left the group) and got them again", got)
	}
	if n := countTopic(t, k, dlq, time.Second); n != 0 {
		t.Errorf("%d transient failures dead-lettered", n)
	}
}
