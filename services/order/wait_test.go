package order_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/services/inventory"
	"github.com/bookstore-platform/bookstore/services/order"
)

// Long polls without the saga: the test decides the order itself, in one
// transaction with the notification, as the saga's decision does.
func TestLongPoll(t *testing.T) {
	t.Parallel()
	env := apptest.NewEnv(t)
	inv := apptest.Start(t, env.Config(t, "inventory"), inventory.Build(inventory.Options{}))
	cfg := env.Config(t, "order")
	cfg.InventoryURL = inv.URL
	// One waiter at most, and no re-read before the deadline.
	orders := apptest.Start(t, cfg, order.Build(order.Options{MaxWaiters: 1, WaitRecheck: time.Minute}))
	f := fixture{env: env, inventory: inv, orders: orders, dsn: cfg.DatabaseURL}
	_, f.admin = env.User(t, "admin")
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
	decide(t, f.dsn, id)
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

// decide completes order id and notifies in one transaction.
func decide(t *testing.T, dsn, id string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
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
