package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/services/order"
)

// TestSeedWalkthrough is the seed's scenario end to end through the four
// services: register, login, an admin creates a book, top up, order it, and
// the saga's three outcomes (completed, failed out of stock with a refund,
// failed for balance with the stock released).
func TestSeedWalkthrough(t *testing.T) {
	s := newSystem(t)
	admin := s.admin()
	alice := s.register("alice@example.com")

	book := s.createBook(admin, 20, 1)
	s.topUp(alice, 1500)

	first := s.final(alice, s.placeOrder(alice, book))
	if first.Status != order.StatusCompleted || !first.IsPaymentProcessed || !first.IsInventoryProcessed || first.FailReason != "" {
		t.Fatalf("first order = %+v, want Completed with both steps processed", first)
	}
	if first.TotalPrice != 20 || len(first.Items) != 1 || first.Items[0].Price != 20 || first.Items[0].Quantity != 1 {
		t.Errorf("first order items = %+v total %d, want one book at 20", first.Items, first.TotalPrice)
	}
	if b := s.balance(alice); b != 1480 {
		t.Errorf("balance after first order = %d, want 1480", b)
	}
	if n := s.stock(admin.Token, book); n != 0 {
		t.Errorf("stock after first order = %d, want 0", n)
	}

	// The book is sold out: the payment may go through first, but it is
	// refunded and the order fails with the inventory's reason.
	second := s.final(alice, s.placeOrder(alice, book))
	if second.Status != order.StatusFailed || !strings.Contains(second.FailReason, events.ReasonOutOfStock) {
		t.Fatalf("second order = %+v, want Failed %q", second, events.ReasonOutOfStock)
	}
	eventually(t, "refund of the second order", 10*time.Second, func() bool { return s.balance(alice) == 1480 })

	// A book alice cannot afford: reserved, then released.
	pricey := s.createBook(admin, 5000, 3)
	third := s.final(alice, s.placeOrder(alice, pricey))
	if third.Status != order.StatusFailed || !strings.Contains(third.FailReason, events.ReasonInsufficientBalance) {
		t.Fatalf("third order = %+v, want Failed %q", third, events.ReasonInsufficientBalance)
	}
	eventually(t, "stock of the third order restored", 10*time.Second, func() bool { return s.stock(admin.Token, pricey) == 3 })
	if b := s.balance(alice); b != 1480 {
		t.Errorf("balance after the failed orders = %d, want 1480", b)
	}

	// Every step is visible in the ledgers: one add, one charge per paid
	// order, one refund for the second order only.
	var hist struct {
		Items []struct {
			Kind    string `json:"kind"`
			Amount  int64  `json:"amount"`
			OrderID string `json:"orderId"`
		} `json:"items"`
	}
	s.svc("token").Get(t, "/api/tokens/history", alice.Token).Expect(t, http.StatusOK).JSON(t, &hist)
	kinds := map[string]int{}
	for _, h := range hist.Items {
		kinds[h.Kind+":"+h.OrderID]++
	}
	want := map[string]int{"add:": 1, "charge:" + first.ID: 1, "charge:" + second.ID: 1, "refund:" + second.ID: 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("history has %d × %s, want %d (history %+v)", kinds[k], k, n, hist.Items)
		}
	}
	if len(hist.Items) != 4 {
		t.Errorf("history has %d entries, want 4: %+v", len(hist.Items), hist.Items)
	}
	if n := s.scalar("inventory", `SELECT count(*) FROM stock_ledger WHERE order_id = $1 AND kind = 'release'`, third.ID); n != 1 {
		t.Errorf("stock ledger has %d releases for the third order, want 1", n)
	}
}

// TestLogoutReachesEveryService: the token service has a Redis of its own,
// so only the UserLoggedOut event can revoke the token there.
func TestLogoutReachesEveryService(t *testing.T) {
	s := newSystem(t, withRedis("token", separateRedis(t)))
	bob := s.register("bob@example.com")
	s.svc("token").Get(t, "/api/tokens/balance", bob.Token).Expect(t, http.StatusOK)
	s.svc("user").Do(t, apptestRequest(http.MethodPost, "/api/users/logout", bob.Token)).Expect(t, http.StatusNoContent)
	for _, name := range services {
		path := map[string]string{"user": "/api/users/me", "token": "/api/tokens/balance", "inventory": "/api/books", "order": "/api/orders"}[name]
		eventually(t, "logout reaching "+name, 20*time.Second, func() bool {
			return s.svc(name).Get(t, path, bob.Token).Status == http.StatusUnauthorized
		})
	}
}

// TestMultiItemOrdersAreAllOrNothing: a repeated book id is a quantity; one
// unavailable item rejects the whole order and reserves nothing.
func TestMultiItemOrdersAreAllOrNothing(t *testing.T) {
	s := newSystem(t)
	admin := s.admin()
	gus := s.register("gus@example.com")
	s.topUp(gus, 1000)
	a := s.createBook(admin, 10, 5)
	b := s.createBook(admin, 25, 1)

	mixed := s.final(gus, s.placeOrder(gus, a, a, b, b))
	if mixed.Status != order.StatusFailed || mixed.FailReason != events.ReasonOutOfStock {
		t.Fatalf("order for 2×a and 2×b (1 in stock) = %+v, want Failed %q only", mixed, events.ReasonOutOfStock)
	}
	eventually(t, "refund", 10*time.Second, func() bool { return s.balance(gus) == 1000 })
	if sa, sb := s.stock(admin.Token, a), s.stock(admin.Token, b); sa != 5 || sb != 1 {
		t.Errorf("stock after the rejected order a=%d b=%d, want 5 and 1 (nothing reserved)", sa, sb)
	}

	ok := s.final(gus, s.placeOrder(gus, a, b, a))
	if ok.Status != order.StatusCompleted || ok.TotalPrice != 45 {
		t.Fatalf("order for 2×a and b = %+v, want Completed for 45", ok)
	}
	if sa, sb := s.stock(admin.Token, a), s.stock(admin.Token, b); sa != 3 || sb != 0 {
		t.Errorf("stock a=%d b=%d, want 3 and 0", sa, sb)
	}
	if bal := s.balance(gus); bal != 955 {
		t.Errorf("balance %d, want 955", bal)
	}
}
