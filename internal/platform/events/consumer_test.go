package events_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// effects is the test's "business" table: one row per applied event, with
// a counter that would show a double application.
func effects(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `CREATE TABLE effects (k text PRIMARY KEY, n int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
}

func bump(ctx context.Context, tx pgx.Tx, env events.Envelope) error {
	var p struct {
		K string `json:"k"`
	}
	if err := env.Decode(&p); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO effects (k, n) VALUES ($1, 1) ON CONFLICT (k) DO UPDATE SET n = effects.n + 1`, p.K)
	return err
}

func effectCounts(t *testing.T, pool *pgxpool.Pool) map[string]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT k, n FROM effects`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	return out
}

func publish(t *testing.T, p *events.Producer, topic, key string, value []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Publish(ctx, topic, key, value, nil); err != nil {
		t.Fatal(err)
	}
}

func event(t *testing.T, typ, k string) (events.Envelope, []byte) {
	t.Helper()
	env, err := events.New(typ, map[string]string{"k": k})
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return env, b
}

// consumerSetup is what every consumer test starts with: a database with the
// effects table, Kafka with an input and a dead-letter topic of partitions
// partitions, and a producer.
func consumerSetup(t *testing.T, partitions int) (*pgxpool.Pool, config.Kafka, *events.Producer, string, string) {
	t.Helper()
	pool := newDB(t)
	effects(t, pool)
	k := kafkaConfig(t, partitions)
	prod := newProducer(t, k)
	topic, dlq := testenv.Name(t, "in"), testenv.Name(t, "dlq")
	ensure(t, prod, k, topic, dlq)
	return pool, k, prod, topic, dlq
}

func TestConsumerExactlyOnceAndDeadLetters(t *testing.T) {
	pool, k, prod, topic, dlq := consumerSetup(t, 2)
	reg := prometheus.NewRegistry()
	m, err := events.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}

	_, a := event(t, "Bump", "a")
	_, b := event(t, "Bump", "b")
	_, boom := event(t, "Boom", "x")
	_, other := event(t, "SomethingElse", "y")
	publish(t, prod, topic, "a", a)
	publish(t, prod, topic, "a", a) // redelivery
	publish(t, prod, topic, "p", []byte("{not json"))
	publish(t, prod, topic, "p", boom)
	publish(t, prod, topic, "y", other)
	publish(t, prod, topic, "b", b)
	publish(t, prod, topic, "a", a) // and again, later

	c, err := events.NewConsumer(k, pool, prod, nil, m, events.ConsumerOptions{
		Name:            "svc",
		GroupID:         testenv.Name(t, "group"),
		Topics:          []string{topic},
		DeadLetterTopic: dlq,
		Handlers: map[string]events.Handler{
			"Bump": bump,
			"Boom": func(context.Context, pgx.Tx, events.Envelope) error {
				return events.Permanent(errors.New("cannot apply boom"))
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, c.Run)

	dead := readTopic(t, k, dlq, 2, 20*time.Second)
	testenv.Eventually(t, "both effects", 10*time.Second, func() bool { return len(effectCounts(t, pool)) == 2 })
	// The consumer kept going after the poison messages: b came after them.
	if got := effectCounts(t, pool); got["a"] != 1 || got["b"] != 1 || len(got) != 2 {
		t.Errorf("effects = %v, want a and b applied once each", got)
	}
	for _, d := range dead {
		if header(d, events.HeaderDLQError) == "" || header(d, events.HeaderDLQTopic) != topic || header(d, events.HeaderDLQConsumer) != "svc" {
			t.Errorf("dead letter %q lacks error/topic/consumer headers: %v", d.Value, d.Headers)
		}
	}
	if got := testutil.ToFloat64(m.DeadLettered.WithLabelValues("svc", topic)); got != 2 {
		t.Errorf("dead-lettered metric = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.Consumed.WithLabelValues("svc", "Bump", "duplicate")); got != 2 {
		t.Errorf("duplicates metric = %v, want 2", got)
	}
	var inbox int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM inbox WHERE consumer = 'svc'`).Scan(&inbox); err != nil {
		t.Fatal(err)
	}
	if inbox != 2 {
		t.Errorf("inbox holds %d events, want 2", inbox)
	}
}

func TestConsumerRetriesTransientErrors(t *testing.T) {
	pool, k, prod, topic, dlq := consumerSetup(t, 1)
	m, _ := events.NewMetrics(nil)

	var failures atomic.Int32
	c, err := events.NewConsumer(k, pool, prod, nil, m, events.ConsumerOptions{
		Name: "svc", GroupID: testenv.Name(t, "group"), Topics: []string{topic}, DeadLetterTopic: dlq,
		MaxBackoff: 200 * time.Millisecond,
		Handlers: map[string]events.Handler{"Bump": func(ctx context.Context, tx pgx.Tx, env events.Envelope) error {
			if err := bump(ctx, tx, env); err != nil {
				return err
			}
			if failures.Add(1) <= 3 {
				return fmt.Errorf("database went away") // after the write: it must be rolled back
			}
			return nil
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, c.Run)
	_, a := event(t, "Bump", "a")
	publish(t, prod, topic, "a", a)

	testenv.Eventually(t, "effect", 20*time.Second, func() bool { return effectCounts(t, pool)["a"] > 0 })
	if got := effectCounts(t, pool)["a"]; got != 1 {
		t.Errorf("effect applied %d times, want 1 (failed attempts must roll back)", got)
	}
	if got := testutil.ToFloat64(m.HandlerRetries.WithLabelValues("svc")); got != 3 {
		t.Errorf("retries = %v, want 3", got)
	}
	if n := countTopic(t, k, dlq, time.Second); n != 0 {
		t.Errorf("%d transient failures dead-lettered", n)
	}
}

func TestConsumerCrashBetweenCommitAndOffset(t *testing.T) {
	pool, k, prod, topic, dlq := consumerSetup(t, 1)
	group := testenv.Name(t, "group")
	m, _ := events.NewMetrics(nil)
	opts := events.ConsumerOptions{Name: "svc", GroupID: group, Topics: []string{topic}, DeadLetterTopic: dlq,
		Handlers: map[string]events.Handler{"Bump": bump}}

	crash := errors.New("killed after commit")
	crashing := opts
	crashing.AfterCommit = func(context.Context, events.Envelope) error { return crash }
	c1, err := events.NewConsumer(k, pool, prod, nil, m, crashing)
	if err != nil {
		t.Fatal(err)
	}
	_, a := event(t, "Bump", "a")
	publish(t, prod, topic, "a", a)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c1.Run(ctx); !errors.Is(err, crash) {
		t.Fatalf("crashing consumer returned %v, want the crash", err)
	}
	if got := effectCounts(t, pool)["a"]; got != 1 {
		t.Fatalf("effect before restart = %d, want 1", got)
	}

	// Restart: the event is delivered again (its offset was never stored)
	// and the inbox turns it into a no-op; the next event still applies.
	c2, err := events.NewConsumer(k, pool, prod, nil, m, opts)
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, c2.Run)
	_, b := event(t, "Bump", "b")
	publish(t, prod, topic, "b", b)
	testenv.Eventually(t, "b applied", 20*time.Second, func() bool { return effectCounts(t, pool)["b"] == 1 })
	if got := effectCounts(t, pool)["a"]; got != 1 {
		t.Errorf("effect after restart = %d, want 1", got)
	}
	if got := testutil.ToFloat64(m.Consumed.WithLabelValues("svc", "Bump", "duplicate")); got != 1 {
		t.Errorf("redelivered duplicates = %v, want 1", got)
	}
}
