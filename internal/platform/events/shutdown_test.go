package events_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

// TestShutdownWithKafkaUnreachable: with the cluster gone and rows in
// flight, relay and consumer still stop promptly when their context ends
// (the process must not outlive its shutdown timeout).
func TestShutdownWithKafkaUnreachable(t *testing.T) {
	pool := newDB(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a port nothing will answer on
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	k := config.Kafka{Brokers: []string{dead}, TopicPartitions: 1, TopicReplication: 1}
	prod, err := events.NewProducer(k, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close(time.Second)
	enqueue(t, pool, "nowhere", "k", 3, true)

	relay := events.NewRelay(pool, prod, nil, nil, events.RelayOptions{})
	consumer, err := events.NewConsumer(k, pool, prod, nil, nil, events.ConsumerOptions{Name: "svc", Topics: []string{"nowhere"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func(context.Context) error{"relay": relay.Run, "consumer": consumer.Run} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx) }()
		time.Sleep(time.Second) // the relay has produced the rows by now
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s returned %v on shutdown", name, err)
			}
			if d := time.Since(start); d > 12*time.Second {
				t.Errorf("%s took %s to stop", name, d)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("%s did not stop within 15s of cancellation", name)
		}
	}
	if n := unsent(t, pool); n != 3 {
		t.Errorf("%d rows unsent, want all 3 kept for the next relay", n)
	}
}
