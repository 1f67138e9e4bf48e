package token_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/services/token"
)

// FuzzAdd: any body to POST /api/tokens/add answers 200 or a JSON 4xx;
// a 200 added exactly an amount in (0, MaxAdd].
func FuzzAdd(f *testing.F) {
	apptest.Seeds(f, apptest.HostileBodies...)
	apptest.Seeds(f, map[string]any{"amount": 1}, map[string]any{"amount": token.MaxAdd}, map[string]any{"amount": token.MaxAdd + 1},
		map[string]any{"amount": -1}, map[string]any{"amount": 0}, map[string]any{"amount": 1.5}, map[string]any{"amount": "10"},
		`{"amount":9223372036854775807}`, `{"amount":-9223372036854775808}`, `{"amount":1,"userId":"someone-else"}`)
	fx := start(f)
	_, tok := fx.user(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := fx.srv.FuzzBody(t, http.MethodPost, "/api/tokens/add", tok, body)
		if r.Status != http.StatusOK {
			return
		}
		var out struct{ AddedAmount int64 }
		r.JSON(t, &out)
		if out.AddedAmount <= 0 || out.AddedAmount > token.MaxAdd {
			t.Fatalf("added %d from %q", out.AddedAmount, body)
		}
	})
}

// FuzzEvents: every message value the token service's consumer may read is
// applied, ignored or dead-lettered (apptest.FuzzConsumer).
func FuzzEvents(f *testing.F) {
	order, user := uuid.NewString(), uuid.NewString()
	apptest.EventSeed(f, events.TypeOrderCreated, events.OrderCreated{OrderID: order, UserID: user, TotalPrice: 3,
		Items: []events.OrderItem{{BookID: uuid.NewString(), Price: 3, Quantity: 1}}})
	apptest.EventSeed(f, events.TypeOrderCreated, events.OrderCreated{OrderID: order, UserID: user, TotalPrice: 0,
		Items: []events.OrderItem{{BookID: uuid.NewString(), Price: 0, Quantity: 1}}})
	apptest.EventSeed(f, events.TypeOrderFailed, events.OrderFailed{OrderID: order, UserID: user, Reasons: []string{"x"}})
	apptest.EventSeed(f, events.TypeUserLoggedOut, events.UserLoggedOut{JTI: uuid.NewString(), UserID: user})
	c := eventbus.Config{}
	apptest.FuzzConsumer(f, "token", token.EventSpec(c), c.TopicsOf())
}
