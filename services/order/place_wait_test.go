package order_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
	"github.com/bookstore-platform/bookstore/services/order"
)

// POST /api/orders with Prefer: wait=N, the saga played by the test: the
// decision answers the waiting POST with the order exactly as GET shows it;
// without a decision it answers 202 Pending after N seconds; over the
// waiter limit it answers at once.
func TestPlaceWithPreferWait(t *testing.T) {
	t.Parallel()
	f := startWaiting(t)
	orders := f.orders
	uid, tok := f.user(t)
	a, b := f.book(t, 2), f.book(t, 5)
	post := func(prefer string) (*apptest.Response, time.Duration) {
		start := time.Now()
		r := orders.Do(t, apptest.Request{Method: http.MethodPost, Path: "/api/orders", Token: tok,
			Body: map[string]any{"bookIds": []string{b, a, b}}, Header: map[string]string{"Prefer": prefer}})
		return r, time.Since(start)
	}

	// No decision: 202 Pending once the wait is over.
	r, took := post("wait=1")
	r.Expect(t, http.StatusAccepted)
	if got := r.Header.Get("Preference-Applied"); got != "wait=1" || took < time.Second {
		t.Fatalf("undecided: Preference-Applied %q after %s, want wait=1 after ≥ 1s", got, took)
	}
	var pending struct{ OrderID, Status string }
	r.JSON(t, &pending)
	if pending.Status != order.StatusPending || r.Header.Get("Location") != "/api/orders/"+pending.OrderID {
		t.Fatalf("undecided: %+v, Location %q", pending, r.Header.Get("Location"))
	}

	// Decided while the POST waits: 201 with the order as GET shows it.
	done := make(chan *apptest.Response, 1)
	go func() { r, _ := post("respond-async, wait=20"); done <- r }()
	id := newOrderOf(t, f, uid, pending.OrderID)
	// Meanwhile the only waiter slot is taken: this POST answers at once.
	if r, took := post("wait=20"); r.Status != http.StatusAccepted || r.Header.Get("Preference-Applied") != "" || took > 5*time.Second {
		t.Fatalf("over the waiter limit: %d, Preference-Applied %q after %s", r.Status, r.Header.Get("Preference-Applied"), took)
	}
	if m := string(orders.Get(t, "/metrics", "").Expect(t, http.StatusOK).Body); !strings.Contains(m, "bookstore_order_waiters 1\n") ||
		!strings.Contains(m, "bookstore_order_waiters_limit 1\n") || !strings.Contains(m, "bookstore_order_waits_refused_total 1\n") {
		t.Errorf("metrics while one POST waits and one was refused:\n%s", grepLines(m, "bookstore_order_wait"))
	}
	decideWithState(t, f, id)
	var got *apptest.Response
	select {
	case got = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("waiting POST not answered by the decision")
	}
	got.Expect(t, http.StatusCreated)
	if got.Header.Get("Location") != "/api/orders/"+id || got.Header.Get("Preference-Applied") != "wait=20" {
		t.Fatalf("decided: Location %q, Preference-Applied %q", got.Header.Get("Location"), got.Header.Get("Preference-Applied"))
	}
	want := orders.Get(t, "/api/orders/"+id, tok).Expect(t, http.StatusOK)
	if !bytes.Equal(bytes.TrimSpace(got.Body), bytes.TrimSpace(want.Body)) {
		t.Fatalf("POST answered\n%s\nGET answers\n%s", got.Body, want.Body)
	}
	var o order.Order
	got.JSON(t, &o)
	if o.Status != order.StatusCompleted || o.TotalPrice != 12 || len(o.Items) != 2 {
		t.Fatalf("decided order %+v", o)
	}
}

// newOrderOf returns the id of userID's order other than known, once stored.
func newOrderOf(t *testing.T, f fixture, userID, known string) string {
	t.Helper()
	ctx := context.Background()
	conn := f.db(t)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var id string
		err := conn.QueryRow(ctx, `SELECT id::text FROM orders WHERE user_id = $1 AND id <> $2`, userID, known).Scan(&id)
		if err == nil {
			return id
		}
	}
	t.Fatal("the waiting POST stored no order")
	return ""
}

// decideWithState completes order id and notifies with its new state, in
// one transaction, as the saga's decision does.
func decideWithState(t *testing.T, f fixture, id string) {
	t.Helper()
	_, err := f.db(t).Exec(context.Background(), `WITH o AS (
		UPDATE orders SET status = 'Completed', is_payment_processed = true, is_inventory_processed = true,
			version = version + 1, updated_at = now() WHERE id = $1 RETURNING *)
		SELECT pg_notify($2, json_build_object('id', o.id, 'status', o.status, 'updatedAt', o.updated_at,
			'failReason', o.fail_reason, 'isPaymentProcessed', o.is_payment_processed,
			'isInventoryProcessed', o.is_inventory_processed)::text) FROM o`, id, order.FinalChannel)
	if err != nil {
		t.Fatal(err)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A POST that fails after taking a waiter slot (here: the inventory cannot
// price a book the projection has not seen) gives the slot back.
func TestPlaceWithPreferWaitFailingGivesTheSlotBack(t *testing.T) {
	t.Parallel()
	f := startWith(t, order.Options{MaxWaiters: 1, Catalog: downCatalog{}})
	_, tok := f.user(t)
	for range 2 {
		r := f.orders.Do(t, apptest.Request{Method: http.MethodPost, Path: "/api/orders", Token: tok,
			Body: map[string]any{"bookIds": []string{f.book(t, 1)}}, Header: map[string]string{"Prefer": "wait=5"}})
		r.Expect(t, http.StatusServiceUnavailable)
	}
	m := string(f.orders.Get(t, "/metrics", "").Expect(t, http.StatusOK).Body)
	if !strings.Contains(m, "bookstore_order_waiters 0\n") || !strings.Contains(m, "bookstore_order_waits_refused_total 0\n") {
		t.Errorf("after failed POSTs:\n%s", grepLines(m, "bookstore_order_wait"))
	}
}

type downCatalog struct{}

func (downCatalog) Books(context.Context, string, []string) (map[string]order.CatalogBook, error) {
	return nil, httpx.Unavailable("inventory unreachable", errors.New("test: down"))
}
