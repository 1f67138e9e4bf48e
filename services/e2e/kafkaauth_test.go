package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/services/order"
)

// TestEventBusRefusesForgedEvents is issue 10's attack: a forged
// OrderFailed for a completed order would refund the money and restore the
// stock. With every service on its own Kafka user (newSystem), the saga
// completes; the token service's credentials cannot write the orders topic
// (authorization error), a client without credentials or with a wrong
// password cannot write at all, and the order, balance and stock stay put.
func TestEventBusRefusesForgedEvents(t *testing.T) {
	tokenUser := testenv.KafkaServiceConfig(t, "token", 1) // skips without hack/servers.sh's users
	s := newSystem(t)
	admin := s.admin()
	carol := s.register("carol@example.com")
	s.topUp(carol, 100)
	book := s.createBook(admin, 30, 2)
	done := s.final(carol, s.placeOrder(carol, book))
	if done.Status != order.StatusCompleted {
		t.Fatalf("order %s with per-service Kafka users, want Completed", done.Status)
	}
	eventually(t, "payment and stock", 10*time.Second, func() bool {
		return s.balance(carol) == 70 && s.stock(admin.Token, book) == 1
	})

	forged, err := events.New(events.TypeOrderFailed, events.OrderFailed{OrderID: done.ID, UserID: carol.ID, Reasons: []string{"forged"}})
	if err != nil {
		t.Fatal(err)
	}
	publish := func(k config.Kafka, topic string) error {
		t.Helper()
		p, err := events.NewProducer(k, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(0)
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		return p.PublishEvent(ctx, topic, done.ID, forged)
	}
	var kerr kafka.Error
	if err := publish(tokenUser, s.topics.Orders); !errors.As(err, &kerr) || kerr.Code() != kafka.ErrTopicAuthorizationFailed {
		t.Fatalf("token's user producing OrderFailed to the orders topic: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	// The same user may write its own topics (the refusal is the ACL, not
	// a broken login): the dead letters, which nobody consumes.
	if err := publish(tokenUser, s.topics.DeadLetters); err != nil {
		t.Fatalf("token's user producing to the dead-letter topic: %v", err)
	}
	anonymous := config.Kafka{Brokers: s.kafka.Brokers}
	if err := publish(anonymous, s.topics.Orders); err == nil {
		t.Fatal("a client without credentials produced to the orders topic")
	}
	wrong := tokenUser
	wrong.SASLPassword += "x"
	if err := publish(wrong, s.topics.Orders); err == nil {
		t.Fatal("a client with a wrong password produced to the orders topic")
	}

	for _, m := range s.messages(time.Second, s.topics.Orders) {
		if env, err := events.Parse(m.Value); err == nil && env.ID == forged.ID {
			t.Fatalf("the forged event reached the orders topic: %s", describe(m))
		}
	}
	time.Sleep(time.Second) // a forged event, had one arrived, would be applied by now
	if got := s.final(carol, done.ID); got.Status != order.StatusCompleted {
		t.Fatalf("order %s after the forgery attempts, want Completed", got.Status)
	}
	if b, st := s.balance(carol), s.stock(admin.Token, book); b != 70 || st != 1 {
		t.Fatalf("balance %d, stock %d after the forgery attempts; want 70 and 1", b, st)
	}
}
