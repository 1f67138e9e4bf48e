package render_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/platform/kafkaacl"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// checkAuthorization runs against the broker start.sh started: the admin
// creates the topics; the token service's user may write the payments topic
// (its own) but not the orders topic; no credentials, no write at all.
func checkAuthorization(t *testing.T, broker string, passwords map[string]string) {
	t.Helper()
	user := func(name string) config.Kafka {
		return config.Kafka{Brokers: []string{broker}, SecurityProtocol: "SASL_PLAINTEXT", SASLMechanism: "SCRAM-SHA-512",
			SASLUsername: name, SASLPassword: passwords[name], TopicPartitions: 1, TopicReplication: 1}
	}
	publish := func(k config.Kafka, topic string) error {
		t.Helper()
		p, err := events.NewProducer(k, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(0)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return p.Publish(ctx, topic, "k", []byte("{}"), nil)
	}
	admin, err := events.NewProducer(user("admin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(0)
	if err := admin.EnsureTopics(context.Background(), user("admin"), kafkaacl.TopicOrders, kafkaacl.TopicPayments); err != nil {
		t.Fatal(err)
	}
	if err := publish(user("token"), kafkaacl.TopicPayments); err != nil {
		t.Fatalf("token's user writing its payments topic: %v", err)
	}
	var kerr kafka.Error
	if err := publish(user("token"), kafkaacl.TopicOrders); !errors.As(err, &kerr) || kerr.Code() != kafka.ErrTopicAuthorizationFailed {
		t.Fatalf("token's user writing the orders topic: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	if err := publish(config.Kafka{Brokers: []string{broker}}, kafkaacl.TopicOrders); err == nil {
		t.Fatal("a client without credentials wrote the orders topic")
	}
}

// TestKafkaUsersAreTheServices: the managed broker's SCRAM users, the
// mounted passwords and the derived Secrets cover exactly the services of
// the ACL table.
func TestKafkaUsersAreTheServices(t *testing.T) {
	got, want := slices.Sorted(slices.Values(render.Services())), slices.Sorted(slices.Values(kafkaacl.Services()))
	if !slices.Equal(got, want) {
		t.Fatalf("render services %v, ACL table %v", got, want)
	}
}
