package order

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

// TestOverdueOrderFailsOnceAndLateOutcomesChangeNothing: an order Pending
// past the deadline (its StockReserved was dead-lettered, say) is Failed
// with a reason and one OrderFailed (which makes token refund the charge);
// the payment and stock outcomes that arrive afterwards change nothing; an
// order within its deadline and a decided one are left alone.
func TestOverdueOrderFailsOnceAndLateOutcomesChangeNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, apptest.MigratedDatabase(t, "order"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	topics := events.DefaultTopics()
	insert := func(age time.Duration, status string, paid bool) string {
		id := uuid.NewString()
		if _, err := pool.Exec(ctx, `INSERT INTO orders (id, user_id, status, total_price, is_payment_processed, created_at)
			VALUES ($1, $2, $3, 20, $4, now() - make_interval(secs => $5))`, id, uuid.NewString(), status, paid, age.Seconds()); err != nil {
			t.Fatal(err)
		}
		return id
	}
	overdue := insert(10*time.Minute, StatusPending, true) // paid, stock outcome lost
	recent := insert(time.Second, StatusPending, false)
	decided := insert(time.Hour, StatusCompleted, true)

	x := &expirer{pool: pool, log: apptest.Logger(t), topics: topics, deadline: 2 * time.Minute}
	if n, err := x.expire(ctx); err != nil || n != 1 {
		t.Fatalf("expire: %d orders, %v; want 1", n, err)
	}
	if n, err := x.expire(ctx); err != nil || n != 0 {
		t.Fatalf("second expire: %d orders, %v; want 0", n, err)
	}
	type row struct {
		Status, Reason string
		Version        int
		Stocked        bool
	}
	read := func(id string) row {
		var r row
		if err := pool.QueryRow(ctx, `SELECT status, fail_reason, version, is_inventory_processed FROM orders WHERE id = $1`, id).
			Scan(&r.Status, &r.Reason, &r.Version, &r.Stocked); err != nil {
			t.Fatal(err)
		}
		return r
	}
	want := row{Status: StatusFailed, Reason: "not decided within 2m0s", Version: 2}
	if got := read(overdue); got != want {
		t.Fatalf("overdue order %+v, want %+v", got, want)
	}
	if got := read(recent); got.Status != StatusPending {
		t.Fatalf("order within its deadline is %s", got.Status)
	}
	if got := read(decided); got.Status != StatusCompleted || got.Version != 1 {
		t.Fatalf("decided order touched: %+v", got)
	}
	failedEvents := func() []events.OrderFailed {
		rows, err := pool.Query(ctx, `SELECT payload FROM outbox WHERE key = $1 AND event_type = $2`, overdue, events.TypeOrderFailed)
		if err != nil {
			t.Fatal(err)
		}
		payloads, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			t.Fatal(err)
		}
		var out []events.OrderFailed
		for _, p := range payloads {
			env, err := events.Parse(p)
			if err != nil {
				t.Fatal(err)
			}
			var e events.OrderFailed
			if err := env.Decode(&e); err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
		return out
	}
	if got := failedEvents(); len(got) != 1 || len(got[0].Reasons) != 1 || got[0].Reasons[0] != want.Reason {
		t.Fatalf("OrderFailed events %+v, want one with reason %q", got, want.Reason)
	}

	// The late outcomes: stock reserved, then rejected, and the payment again.
	s := &saga{topics: topics}
	for _, late := range []struct {
		st     step
		reason string
	}{{stepInventory, ""}, {stepInventory, "out of stock"}, {stepPayment, ""}} {
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return s.record(ctx, tx, overdue, late.st, late.reason) }); err != nil {
			t.Fatalf("late outcome: %v", err)
		}
	}
	if got := read(overdue); got != want {
		t.Fatalf("after late outcomes %+v, want %+v unchanged", got, want)
	}
	if got := failedEvents(); len(got) != 1 {
		t.Fatalf("%d OrderFailed events after late outcomes, want 1", len(got))
	}
}
