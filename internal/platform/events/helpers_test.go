package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/platform/events/eventstest"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// newDB returns a pool on a fresh database holding the common outbox/inbox
// migration.
func newDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return events.MigratedPool(t)
}

func kafkaConfig(t *testing.T, partitions int) config.Kafka {
	t.Helper()
	return testenv.KafkaConfig(t, partitions)
}

func newProducer(t *testing.T, k config.Kafka) *events.Producer {
	t.Helper()
	p, err := events.NewProducer(k, nil)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	t.Cleanup(func() { p.Close(5 * time.Second) })
	return p
}

func ensure(t *testing.T, p *events.Producer, k config.Kafka, topics ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.EnsureTopics(ctx, k, topics...); err != nil {
		t.Fatalf("ensure topics: %v", err)
	}
}

// readTopic reads n messages from topic with a throwaway consumer group,
// failing the test if they do not arrive within timeout.
func readTopic(t *testing.T, k config.Kafka, topic string, n int, timeout time.Duration) []*kafka.Message {
	t.Helper()
	c := eventstest.Reader(t, k, topic)
	defer c.Close()
	var out []*kafka.Message
	deadline := time.Now().Add(timeout)
	for len(out) < n && time.Now().Before(deadline) {
		m, err := c.ReadMessage(200 * time.Millisecond)
		if err != nil {
			continue
		}
		out = append(out, m)
	}
	if len(out) < n {
		t.Fatalf("read %d of %d messages from %s within %s", len(out), n, topic, timeout)
	}
	return out
}

// expectNoMore fails if topic has more than n messages after waiting wait.
func countTopic(t *testing.T, k config.Kafka, topic string, wait time.Duration) int {
	t.Helper()
	c := eventstest.Reader(t, k, topic)
	defer c.Close()
	n := 0
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if _, err := c.ReadMessage(200 * time.Millisecond); err == nil {
			n++
		}
	}
	return n
}

var header = eventstest.Header

func runInBackground(t *testing.T, run func(context.Context) error) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	stopped := false
	var result error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			result = <-done
		}
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}
