package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/services/order"
)

// handled lists, per consuming service, the event types it applies.
var handled = map[string][]string{
	"user":      {events.TypeUserLoggedOut},
	"token":     {events.TypeOrderCreated, events.TypeOrderFailed, events.TypeUserLoggedOut},
	"inventory": {events.TypeOrderCreated, events.TypeOrderFailed, events.TypeUserLoggedOut},
	"order": {events.TypePaymentSucceeded, events.TypePaymentRejected, events.TypeStockReserved,
		events.TypeStockRejected, events.TypeUserLoggedOut, events.TypeBookCreated},
}

// snapshot is everything a redelivered event could wrongly change.
func (s *system) snapshot() string {
	s.t.Helper()
	q := func(service, sql string) string {
		rows, err := s.pools[service].Query(context.Background(), sql)
		if err != nil {
			s.t.Fatalf("%s: %v", service, err)
		}
		defer rows.Close()
		out := ""
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				s.t.Fatal(err)
			}
			out += fmt.Sprint(v) + "\n"
		}
		return out
	}
	return q("token", `SELECT user_id, balance FROM balances ORDER BY user_id`) +
		q("token", `SELECT user_id, kind, amount, order_id FROM token_ledger ORDER BY id`) +
		q("inventory", `SELECT id, amount FROM books ORDER BY id`) +
		q("inventory", `SELECT book_id, order_id, delta, kind FROM stock_ledger ORDER BY id`) +
		q("order", `SELECT id, status, is_payment_processed, is_inventory_processed, fail_reason, version FROM orders ORDER BY id`) +
		q("order", `SELECT book_id, price, deleted, version, updated_at FROM catalog_books ORDER BY book_id`) +
		q("token", `SELECT count(*) FROM outbox`) + q("inventory", `SELECT count(*) FROM outbox`) +
		q("order", `SELECT count(*) FROM outbox`) + q("user", `SELECT count(*) FROM outbox`)
}

// TestRedeliveryChangesNothing publishes every event of a completed and of
// two failed orders (and a logout and the book events) again, twice, in reverse and in shuffled
// order: every consumer recognises each one as a duplicate and balances,
// stock, ledgers, orders and outboxes stay exactly as they were.
func TestRedeliveryChangesNothing(t *testing.T) {
	s := newSystem(t)
	admin := s.admin()
	carol := s.register("carol@example.com")
	s.topUp(carol, 100)
	cheap := s.createBook(admin, 30, 1)
	dear := s.createBook(admin, 500, 5)

	done := s.final(carol, s.placeOrder(carol, cheap))
	soldOut := s.final(carol, s.placeOrder(carol, cheap))
	broke := s.final(carol, s.placeOrder(carol, dear))
	if done.Status != order.StatusCompleted || soldOut.Status != order.StatusFailed || broke.Status != order.StatusFailed {
		t.Fatalf("statuses %s/%s/%s, want Completed/Failed/Failed", done.Status, soldOut.Status, broke.Status)
	}
	// Let compensation finish, then take the reference picture.
	eventually(t, "compensation", 10*time.Second, func() bool {
		return s.balance(carol) == 70 && s.stock(admin.Token, dear) == 5
	})
	loggedOut := s.register("dave@example.com")
	s.svc("user").Do(t, apptestRequest("POST", "/api/users/logout", loggedOut.Token)).Expect(t, 204)
	msgs := s.messages(2*time.Second, s.topics.Users, s.topics.Orders, s.topics.Completed, s.topics.Payments,
		s.topics.Inventory, s.topics.Books)
	// 1 logout; per order OrderCreated, 2 outcomes, the decision; 2
	// compensations; 2 BookCreated.
	if want := 1 + 3*4 + 2 + 2; len(msgs) != want {
		for _, m := range msgs {
			t.Log(describe(m))
		}
		t.Fatalf("%d events on the topics, want %d", len(msgs), want)
	}
	time.Sleep(500 * time.Millisecond) // the last events' consumers settle
	before := s.snapshot()

	expected := map[string]float64{}
	for _, m := range msgs {
		env, err := events.Parse(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		for svc, types := range handled {
			for _, typ := range types {
				if typ == env.Type {
					expected[svc] += 2
				}
			}
		}
	}
	redo := make([]*kafka.Message, 0, 2*len(msgs))
	for i := len(msgs) - 1; i >= 0; i-- {
		redo = append(redo, msgs[i]) // reverse: decisions before outcomes before OrderCreated
	}
	shuffled := append([]*kafka.Message(nil), msgs...)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	redo = append(redo, shuffled...)
	p := s.producer()
	for _, m := range redo {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := p.Publish(ctx, *m.TopicPartition.Topic, string(m.Key), m.Value, nil); err != nil {
			t.Fatal(err)
		}
		cancel()
	}

	for svc, want := range expected {
		eventually(t, fmt.Sprintf("%s seeing %v duplicates", svc, want), 30*time.Second, func() bool {
			return s.metric(svc, "bookstore_events_consumed_total", `outcome="duplicate"`) >= want
		})
		if got := s.metric(svc, "bookstore_events_consumed_total", `outcome="processed"`); got == 0 {
			t.Errorf("%s processed nothing at all", svc)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if after := s.snapshot(); after != before {
		t.Errorf("redelivery changed the state\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if b := s.balance(carol); b != 70 {
		t.Errorf("balance %d, want 70", b)
	}
}
