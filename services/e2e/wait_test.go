package e2e

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/services/order"
)

// A client learns an order's outcome with one long poll, answered by the
// decision's notification — also by a second order replica that only
// serves the API (its waiters are woken through PostgreSQL, not in
// process).
func TestLongPollAnswersWhenDecided(t *testing.T) {
	s := newSystem(t)
	admin := s.admin()
	alice := s.register("waiter@example.com")
	s.topUp(alice, 100)
	// The replica never re-reads on its own before the deadline: only the
	// notification can answer its long polls early.
	replica := apptest.Start(t, s.cfg["order"], order.Build(order.Options{Topics: &s.topics, WaitRecheck: time.Minute}))

	tests := []struct {
		name   string
		server *apptest.Server
		stock  int64
		want   string
	}{
		{"this replica, completed", s.svc("order"), 5, order.StatusCompleted},
		{"other replica, completed", replica, 5, order.StatusCompleted},
		{"other replica, failed (no stock)", replica, 0, order.StatusFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := s.placeOrder(alice, s.createBook(admin, 1, tc.stock))
			start := time.Now()
			var o order.Order
			tc.server.Get(t, "/api/orders/"+id+"?wait=20s", alice.Token).Expect(t, http.StatusOK).JSON(t, &o)
			took := time.Since(start)
			if o.Status != tc.want {
				t.Fatalf("long poll answered %q after %s, want %s", o.Status, took, tc.want)
			}
			if took > 10*time.Second {
				t.Errorf("long poll took %s: not woken by the decision", took)
			}
			// The woken answer (built from the notification) is the order
			// as a fresh read shows it.
			var fresh order.Order
			tc.server.Get(t, "/api/orders/"+id, alice.Token).Expect(t, http.StatusOK).JSON(t, &fresh)
			if !reflect.DeepEqual(o, fresh) {
				t.Errorf("long poll answered %+v, a fresh read shows %+v", o, fresh)
			}
		})
	}

	// Already final: answered at once. A Pending order at the deadline:
	// answered with its current state.
	id := s.placeOrder(alice, s.createBook(admin, 1, 1))
	final := s.final(alice, id)
	var o order.Order
	s.svc("order").Get(t, "/api/orders/"+id+"?wait=10", alice.Token).Expect(t, http.StatusOK).JSON(t, &o)
	if o.Status != final.Status || !o.UpdatedAt.Equal(final.UpdatedAt) {
		t.Fatalf("final order re-read as %+v, want %+v", o, final)
	}
	for _, bad := range []string{"-1s", "31s", "soon", "1e3"} {
		r := s.svc("order").Do(t, apptestRequest(http.MethodGet, "/api/orders/"+id+"?wait="+bad, alice.Token)).Expect(t, http.StatusBadRequest)
		if r.ErrorCode() == "" {
			t.Errorf("wait=%s: 400 without an error code", bad)
		}
	}
}

// With Prefer: wait=N the POST itself answers with the decided order — one
// request per order — for a completed and a failed order alike, and its
// answer is the order as a fresh read shows it.
func TestPlaceWithPreferWaitAnswersWhenDecided(t *testing.T) {
	s := newSystem(t)
	admin := s.admin()
	alice := s.register("prefer@example.com")
	s.topUp(alice, 100)
	for _, tc := range []struct {
		name  string
		stock int64
		want  string
	}{
		{"completed", 5, order.StatusCompleted},
		{"failed (no stock)", 0, order.StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := apptestRequest(http.MethodPost, "/api/orders", alice.Token)
			req.Body = map[string]any{"bookIds": []string{s.createBook(admin, 1, tc.stock)}}
			req.Header = map[string]string{"Prefer": "wait=20"}
			start := time.Now()
			r := s.svc("order").Do(t, req).Expect(t, http.StatusCreated)
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("POST took %s: not answered by the decision", took)
			}
			var o order.Order
			r.JSON(t, &o)
			if o.Status != tc.want || r.Header.Get("Location") != "/api/orders/"+o.ID {
				t.Fatalf("POST answered %q (Location %q), want %s", o.Status, r.Header.Get("Location"), tc.want)
			}
			var fresh order.Order
			s.svc("order").Get(t, "/api/orders/"+o.ID, alice.Token).Expect(t, http.StatusOK).JSON(t, &fresh)
			if !reflect.DeepEqual(o, fresh) {
				t.Errorf("POST answered %+v, a fresh read shows %+v", o, fresh)
			}
		})
	}
}
