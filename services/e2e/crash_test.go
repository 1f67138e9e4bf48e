package e2e

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/services/order"
)

// TestCrashBetweenEffectAndOffset kills each consuming service right after
// it committed an event's effect and before it stored the Kafka offset, then
// restarts it: the event is delivered again, recognised as a duplicate, and
// the order completes with one charge and one reservation.
func TestCrashBetweenEffectAndOffset(t *testing.T) {
	for _, tc := range []struct {
		service string
		crashOn []string
	}{
		{"token", []string{events.TypeOrderCreated}},
		{"inventory", []string{events.TypeOrderCreated}},
		{"order", []string{events.TypePaymentSucceeded, events.TypeStockReserved}},
	} {
		t.Run(tc.service, func(t *testing.T) {
			s := newSystem(t)
			admin := s.admin()
			erin := s.register("erin@example.com")
			s.topUp(erin, 100)
			book := s.createBook(admin, 40, 2)

			// Replace the service by one that dies after its first commit.
			if err := s.stop(tc.service); err != nil {
				t.Fatalf("stop %s: %v", tc.service, err)
			}
			crash := errors.New("simulated crash after commit")
			crashed := make(chan struct{})
			var once sync.Once
			s.start(tc.service, func(_ context.Context, env events.Envelope) error {
				if !slices.Contains(tc.crashOn, env.Type) {
					return nil
				}
				once.Do(func() { close(crashed) })
				return crash
			})
			s.waitReady()

			id := s.placeOrder(erin, book)
			select {
			case <-crashed:
			case <-time.After(30 * time.Second):
				t.Fatal("the service never reached the crash point")
			}
			if err := s.crashed(tc.service); !errors.Is(err, crash) {
				t.Fatalf("crashed %s died with %v, want the crash", tc.service, err)
			}
			if err := s.stop(tc.service); !errors.Is(err, crash) {
				t.Fatalf("crashed %s stopped with %v, want the crash", tc.service, err)
			}
			s.start(tc.service, nil)

			o := s.final(erin, id)
			if o.Status != order.StatusCompleted {
				t.Fatalf("order after restart = %+v, want Completed", o)
			}
			// The redelivery may come after the order completed (the outbox
			// of the crashed process was relayed by the restarted one).
			eventually(t, "the restarted "+tc.service+" to get the event again", 20*time.Second, func() bool {
				return s.metric(tc.service, "bookstore_events_consumed_total", `outcome="duplicate"`) >= 1
			})
			if b := s.balance(erin); b != 60 {
				t.Errorf("balance %d, want 60 (charged once)", b)
			}
			if n := s.scalar("token", `SELECT count(*) FROM token_ledger WHERE order_id = $1 AND kind = 'charge'`, id); n != 1 {
				t.Errorf("%d charges, want 1", n)
			}
			if n := s.stock(admin.Token, book); n != 1 {
				t.Errorf("stock %d, want 1 (reserved once)", n)
			}
			if n := s.scalar("inventory", `SELECT count(*) FROM stock_ledger WHERE order_id = $1`, id); n != 1 {
				t.Errorf("%d stock ledger rows for the order, want 1", n)
			}
			if v := s.scalar("order", `SELECT version FROM orders WHERE id = $1`, id); v != 3 {
				t.Errorf("order version %d, want 3 (created + two outcomes)", v)
			}
			eventually(t, "one OrderCompleted published", 10*time.Second, func() bool {
				return s.scalar("order", `SELECT count(*) FROM outbox WHERE event_type = $1 AND key = $2 AND sent_at IS NOT NULL`,
					events.TypeOrderCompleted, id) == 1
			})
		})
	}
}
