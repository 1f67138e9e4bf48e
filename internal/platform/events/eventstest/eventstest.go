// Package eventstest helps tests look at what was published to Kafka.
package eventstest

import (
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// Reader returns a consumer of topics in a throwaway consumer group (named
// after the test) that reads from the earliest offset and commits nothing.
// The caller closes it.
func Reader(t testing.TB, k config.Kafka, topics ...string) *kafka.Consumer {
	t.Helper()
	base, err := events.ClientConfig(k)
	if err != nil {
		t.Fatal(err)
	}
	base["group.id"] = testenv.Name(t, "reader")
	base["auto.offset.reset"] = "earliest"
	base["go.logs.channel.enable"] = false
	base["enable.auto.commit"] = false
	c, err := kafka.NewConsumer(&base)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SubscribeTopics(topics, nil); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

// Header returns the value of the header key of m, "" when it has none.
func Header(m *kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
