package order_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/services/order"
)

// FuzzCreateOrder: any body to POST /api/orders answers 202 or a JSON 4xx.
func FuzzCreateOrder(f *testing.F) {
	apptest.Seeds(f, apptest.HostileBodies...)
	fx := start(f)
	book := fx.book(f, 7)
	many := make([]string, order.MaxBooksPerOrder+1)
	for i := range many {
		many[i] = book
	}
	apptest.Seeds(f, map[string]any{"bookIds": []string{book}}, map[string]any{"bookIds": []string{book, book, strings.ToUpper(book)}},
		map[string]any{"bookIds": many}, map[string]any{"bookIds": many[:order.MaxBooksPerOrder]},
		map[string]any{"bookIds": []string{uuid.NewString()}}, map[string]any{"bookIds": []string{"'; DROP TABLE orders; --"}},
		map[string]any{"bookIds": []string{"\u0000"}}, map[string]any{"bookIds": []any{1, nil}}, `{"bookIds":null}`)
	_, tok := fx.user(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		fx.orders.FuzzBody(t, http.MethodPost, "/api/orders", tok, body)
	})
}

// FuzzEvents: every message value the order service's consumer may read is
// applied, ignored or dead-lettered (apptest.FuzzConsumer).
func FuzzEvents(f *testing.F) {
	o, user := uuid.NewString(), uuid.NewString()
	apptest.EventSeed(f, events.TypePaymentSucceeded, events.PaymentSucceeded{OrderID: o, UserID: user, Amount: 3, Balance: 1})
	apptest.EventSeed(f, events.TypePaymentRejected, events.PaymentRejected{OrderID: o, UserID: user, Amount: 3, Reason: events.ReasonInsufficientBalance})
	apptest.EventSeed(f, events.TypeStockReserved, events.StockReserved{OrderID: o})
	apptest.EventSeed(f, events.TypeStockRejected, events.StockRejected{OrderID: o, Reason: strings.Repeat("r", 10000)})
	apptest.EventSeed(f, events.TypeUserLoggedOut, events.UserLoggedOut{JTI: uuid.NewString(), UserID: user})
	b := uuid.NewString()
	apptest.EventSeed(f, events.TypeBookCreated, events.BookChanged{BookID: b, Version: 1, Title: "T", Author: "A", Price: 3})
	apptest.EventSeed(f, events.TypeBookUpdated, events.BookChanged{BookID: b, Version: 1 << 62, Title: "T\u0000", Price: 1 << 62})
	apptest.EventSeed(f, events.TypeBookDeleted, events.BookChanged{BookID: b, Version: 2})
	c := eventbus.Config{}
	apptest.FuzzConsumer(f, "order", order.EventSpec(c), c.TopicsOf())
}
