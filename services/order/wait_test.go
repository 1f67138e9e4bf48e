package order_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/services/order"
)

// Long polls without the saga: the test decides the order itself, in one
// transaction with the notification, as the saga's decision does.
func TestLongPoll(t *testing.T) {
	t.Parallel()
	f := startWaiting(t)
	orders := f.orders
	_, tok := f.user(t)
	bk := f.book(t, 2)

	get := func(id, wait string) (order.Order, time.Duration) {
		start := time.Now()
		var o order.Order
		orders.Get(t, "/api/orders/"+id+"?wait="+wait, tok).Expect(t, http.StatusOK).JSON(t, &o)
		return o, time.Since(start)
	}

	// Deadline: the current state, after the wait.
	id := f.place(t, tok, bk)
	if o, took := get(id, "300ms"); o.Status != order.StatusPending || took < 300*time.Millisecond {
		t.Fatalf("deadline: %s after %s, want Pending after ≥ 300ms", o.Status, took)
	}

	// The decision's notification answers the waiting request; meanwhile
	// the single waiter slot is taken, so another long poll answers at once.
	type answer struct {
		o    order.Order
		took time.Duration
	}
	done := make(chan answer, 1)
	go func() { o, took := get(id, "20s"); done <- answer{o, took} }()
	time.Sleep(300 * time.Millisecond) // the first poll is waiting
	if o, took := get(id, "20s"); o.Status != order.StatusPending || took > 5*time.Second {
		t.Fatalf("over the waiter limit: %s after %s, want Pending at once", o.Status, took)
	}
	decide(t, f, id)
	select {
	case a := <-done:
		if a.o.Status != order.StatusCompleted || a.took > 10*time.Second {
			t.Fatalf("woken long poll: %s after %s, want Completed", a.o.Status, a.took)
		}
		if len(a.o.Items) != 1 || a.o.Items[0].BookID != bk || a.o.Items[0].Price != 2 {
			t.Fatalf("items %+v", a.o.Items)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("long poll not woken by the decision")
	}
	// Final already: answered at once, also with whole seconds.
	if o, took := get(id, "20"); o.Status != order.StatusCompleted || took > 5*time.Second {
		t.Fatalf("final order: %s after %s", o.Status, took)
	}
	for _, bad := range []string{"-1s", "31s", "soon"} {
		orders.Get(t, "/api/orders/"+id+"?wait="+bad, tok).Expect(t, http.StatusBadRequest)
	}
}

// startWaiting is start with one waiter slot at most and no re-read of a
// waiting order before its deadline.
func startWaiting(t *testing.T) fixture {
	return startWith(t, order.Options{MaxWaiters: 1, WaitRecheck: time.Minute})
}

// decide completes order id and notifies in one transaction.
func decide(t *testing.T, f fixture, id string) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, f.db(t), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE orders SET status = 'Completed', is_payment_processed = true, is_inventory_processed = true, updated_at = now() WHERE id = $1`, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, order.FinalChannel, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
