//go:build e2e

package cluster

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// testSeedWalkthrough is the seed's scenario through the sample's Ingress.
func testSeedWalkthrough(t *testing.T) { walkthrough(t, newAPI(t)) }

// walkthrough is the seed's scenario against the pods the operator runs,
// through the entry point a names: register, login, the generated admin adds
// a book, top up, an order completes (placed with Prefer: wait, so its POST
// answers with the decision), the balance is charged, a second order (placed,
// then read until final) fails out of stock and is refunded, and after
// logout the token is refused by every service.
func walkthrough(t *testing.T, a *api) {
	admin := a.admin(t)
	alice := a.user(t, "alice")

	book := a.createBook(t, admin, 20, 1)
	a.must(t, http.MethodPost, "/api/tokens/add", alice, map[string]int{"amount": 100}, http.StatusOK, nil)

	first := a.orderWaiting(t, alice, book)
	if first.Status != "Completed" || first.TotalPrice != 20 {
		t.Fatalf("first order = %+v, want Completed for 20", first)
	}
	if b := a.balance(t, alice); b != 80 {
		t.Errorf("balance after the first order = %d, want 80", b)
	}
	if n := a.stock(t, alice, book); n != 0 {
		t.Errorf("stock after the first order = %d, want 0", n)
	}

	second := a.final(t, alice, a.order(t, alice, book))
	if second.Status != "Failed" || !strings.Contains(strings.ToLower(second.FailReason), "stock") {
		t.Fatalf("second order = %+v, want Failed out of stock", second)
	}
	eventually(t, "the refund of the second order", 30*time.Second, func() bool { return a.balance(t, alice) == 80 })

	a.must(t, http.MethodPost, "/api/users/logout", alice, nil, http.StatusNoContent, nil)
	for _, path := range []string{"/api/users/me", "/api/tokens/balance", "/api/books", "/api/orders"} {
		eventually(t, "logout reaching "+path, 30*time.Second, func() bool {
			status, _, err := a.call(t.Context(), http.MethodGet, path, alice, nil)
			return err == nil && status == http.StatusUnauthorized
		})
	}
}
