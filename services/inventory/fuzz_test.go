package inventory_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/services/inventory"
)

func bookSeeds(f *testing.F) {
	apptest.Seeds(f, apptest.HostileBodies...)
	apptest.Seeds(f,
		map[string]any{"title": "Dune", "author": "Herbert", "price": 12, "amount": 5},
		map[string]any{"title": "'; DROP TABLE books; --", "author": "\u202e\U0001F4DA", "price": 0, "amount": inventory.MaxValue},
		map[string]any{"title": strings.Repeat("ж", 500), "author": "a", "price": 1, "amount": 1},
		map[string]any{"title": "t\u0000", "author": "a", "price": 1, "amount": 1},
		map[string]any{"title": " ", "author": "a", "price": -1, "amount": 1},
		`{"title":"t","author":"a","price":9223372036854775807,"amount":-9223372036854775808}`,
		`{"price":1e3}`, `{"amount":null}`, `{"title":null}`)
}

// FuzzCreateBook: any body to POST /api/books answers 201 or a JSON 4xx,
// and a created book reads back exactly as sent (trimmed).
func FuzzCreateBook(f *testing.F) {
	bookSeeds(f)
	fx := start(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := fx.srv.FuzzBody(t, http.MethodPost, "/api/books", fx.admin, body)
		if r.Status != http.StatusCreated {
			return
		}
		var made struct{ BookID string }
		r.JSON(t, &made)
		var in inventory.Book
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatalf("created a book from %q: %v", body, err)
		}
		in.BookID, in.Title, in.Author = made.BookID, strings.TrimSpace(in.Title), strings.TrimSpace(in.Author)
		var got inventory.Book
		fx.srv.Get(t, "/api/books/"+made.BookID, fx.user).Expect(t, 200).JSON(t, &got)
		if got != in {
			t.Fatalf("stored %+v, sent %q", got, body)
		}
	})
}

// FuzzUpdateBook: any body to PATCH /api/books/{id} answers 200 or a JSON 4xx.
func FuzzUpdateBook(f *testing.F) {
	bookSeeds(f)
	fx := start(f)
	id := fx.create(f, "Dune", 12, 5)
	f.Fuzz(func(t *testing.T, body []byte) {
		fx.srv.FuzzBody(t, http.MethodPatch, "/api/books/"+id, fx.admin, body)
	})
}

// FuzzListQuery: any query string of GET /api/books (q, ids, limit,
// cursor) answers 200 or a JSON 4xx.
func FuzzListQuery(f *testing.F) {
	for _, q := range []string{"", "q=dune", "q=%00", "q=%ff%fe", "q=%25_%5C", "ids=" + uuid.NewString(), "ids=,,,", "ids=x",
		"limit=0", "limit=-1", "limit=9223372036854775808", "limit=1&cursor=x", "cursor=eyJ0IjoiOTk5OTktMDEtMDEifQ",
		"cursor=" + url.QueryEscape(`{"t":"x"}`), "q=" + strings.Repeat("a", 300)} {
		f.Add(q)
	}
	fx := start(f)
	fx.create(f, "Dune", 12, 5)
	f.Fuzz(func(t *testing.T, query string) {
		if strings.ContainsAny(query, " #\r\n\t") || strings.ContainsFunc(query, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return // not a valid request target
		}
		r := fx.srv.Get(t, "/api/books?"+query, fx.user)
		apptest.ExpectClientOutcome(t, "GET /api/books?"+query, r)
	})
}

// FuzzEvents: every message value the inventory service's consumer may read
// is applied, ignored or dead-lettered (apptest.FuzzConsumer).
func FuzzEvents(f *testing.F) {
	order, user := uuid.NewString(), uuid.NewString()
	apptest.EventSeed(f, events.TypeOrderCreated, events.OrderCreated{OrderID: order, UserID: user, TotalPrice: 6,
		Items: []events.OrderItem{{BookID: uuid.NewString(), Price: 3, Quantity: 2}}})
	apptest.EventSeed(f, events.TypeOrderFailed, events.OrderFailed{OrderID: order, UserID: user, Reasons: []string{"x"}})
	apptest.EventSeed(f, events.TypeUserLoggedOut, events.UserLoggedOut{JTI: uuid.NewString(), UserID: user})
	c := eventbus.Config{}
	apptest.FuzzConsumer(f, "inventory", inventory.EventSpec(c), c.TopicsOf())
}
