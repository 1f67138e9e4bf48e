package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/services/order"
)

// TestPoisonMessagesAreDeadLettered puts an undecodable message on every
// consumed topic, and an outcome for an order that does not exist on the
// payments topic: each consumer of the topic dead-letters it with the error
// in the headers, counts it, and keeps going (an order placed afterwards
// completes).
func TestPoisonMessagesAreDeadLettered(t *testing.T) {
	s := newSystem(t)
	p := s.producer()
	publish := func(topic string, value []byte) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Publish(ctx, topic, "poison", value, map[string]string{"origin": "test"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, topic := range []string{s.topics.Users, s.topics.Orders, s.topics.Payments, s.topics.Inventory, s.topics.Books} {
		publish(topic, []byte("\x00 this is not an event"))
	}
	ghost, err := events.New(events.TypePaymentSucceeded, events.PaymentSucceeded{OrderID: uuid.NewString(), UserID: uuid.NewString(), Amount: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ghost.Marshal()
	publish(s.topics.Payments, b)
	// A well-formed OrderCreated with a malformed payload.
	bad, _ := (events.Envelope{ID: uuid.NewString(), Type: events.TypeOrderCreated, Data: []byte(`{"orderId": 42}`)}).Marshal()
	publish(s.topics.Orders, bad)

	// users: 4 consumers (each service's revocations consumer); orders: token + inventory,
	// twice; payments: order, twice; inventory: order; books: order.
	want := map[string]float64{"user": 1, "token": 3, "inventory": 3, "order": 5}
	total := 0
	for svc, n := range want {
		total += int(n)
		eventually(t, svc+" dead-lettering", 20*time.Second, func() bool {
			return s.metric(svc, "bookstore_events_dead_lettered_total") == n
		})
	}
	dead := s.messages(time.Second, s.topics.DeadLetters)
	if len(dead) != total {
		t.Fatalf("%d dead letters, want %d", len(dead), total)
	}
	per := map[string]int{}
	for _, m := range dead {
		// The users topic has a consumer of its own in every service: "<service>.revocations".
		consumer := header(m, events.HeaderDLQConsumer)
		if fromUsers := header(m, events.HeaderDLQTopic) == s.topics.Users; fromUsers != strings.HasSuffix(consumer, eventbus.RevocationsSuffix) {
			t.Errorf("dead letter of %s from consumer %q", header(m, events.HeaderDLQTopic), consumer)
		}
		per[strings.TrimSuffix(consumer, eventbus.RevocationsSuffix)]++
		if header(m, events.HeaderDLQError) == "" || header(m, events.HeaderDLQTopic) == "" || header(m, "origin") != "test" {
			t.Errorf("dead letter without error, source topic or original headers: %s %v", describe(m), m.Headers)
		}
	}
	for svc, n := range want {
		if per[svc] != int(n) {
			t.Errorf("%s dead-lettered %d messages, want %d", svc, per[svc], int(n))
		}
	}

	// Every consumer is still alive.
	admin := s.admin()
	fay := s.register("fay@example.com")
	s.topUp(fay, 10)
	book := s.createBook(admin, 10, 1)
	if o := s.final(fay, s.placeOrder(fay, book)); o.Status != order.StatusCompleted {
		t.Errorf("order after the poison = %+v, want Completed", o)
	}
}
