package services_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/services/inventory"
	"github.com/bookstore-platform/bookstore/services/order"
	"github.com/bookstore-platform/bookstore/services/token"
)

// Limits at the edges, through the real services: oversized bodies are 413,
// huge bookIds lists and out-of-range integers 400, nothing at an edge is a
// 5xx, and the awkward strings that are accepted (unicode, the longest
// allowed, SQL-looking) are stored and read back verbatim.
func TestInputEdges(t *testing.T) {
	s := startAll(t)
	admin := login(t, s, "admin@bookstore.test", "admin-password")
	_, user := s.env.User(t, "user")
	big := `{"title":"` + strings.Repeat("x", 1<<20) + `"}`
	manyIDs := func(n int) map[string]any {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = "00000000-0000-7000-8000-000000000000"
		}
		return map[string]any{"bookIds": ids}
	}
	book := func(title, author string, price, amount any) map[string]any {
		return map[string]any{"title": title, "author": author, "price": price, "amount": amount}
	}
	tests := []struct {
		name   string
		srv    *apptest.Server
		req    apptest.Request
		status int
		code   string
	}{
		{"register 1 MiB body", s.users, apptest.Request{Method: "POST", Path: "/api/users/register", Body: big}, 413, "payload_too_large"},
		{"login 1 MiB body", s.users, apptest.Request{Method: "POST", Path: "/api/users/login", Body: big}, 413, "payload_too_large"},
		{"add 1 MiB body", s.tokens, apptest.Request{Method: "POST", Path: "/api/tokens/add", Token: user, Body: big}, 413, "payload_too_large"},
		{"book 1 MiB body", s.books, apptest.Request{Method: "POST", Path: "/api/books", Token: admin, Body: big}, 413, "payload_too_large"},
		{"patch 1 MiB body", s.books, apptest.Request{Method: "PATCH", Path: "/api/books/00000000-0000-7000-8000-000000000000", Token: admin, Body: big}, 413, "payload_too_large"},
		{"order 1 MiB body", s.orders, apptest.Request{Method: "POST", Path: "/api/orders", Token: user, Body: big}, 413, "payload_too_large"},
		{"order 100k bookIds", s.orders, apptest.Request{Method: "POST", Path: "/api/orders", Token: user, Body: manyIDs(100_000)}, 413, "payload_too_large"},
		{"order max+1 bookIds", s.orders, apptest.Request{Method: "POST", Path: "/api/orders", Token: user, Body: manyIDs(order.MaxBooksPerOrder + 1)}, 400, "bad_request"},
		{"order max bookIds of an unknown book", s.orders, apptest.Request{Method: "POST", Path: "/api/orders", Token: user, Body: manyIDs(order.MaxBooksPerOrder)}, 422, "unprocessable_entity"},
		{"add int64 max", s.tokens, apptest.Request{Method: "POST", Path: "/api/tokens/add", Token: user, Body: `{"amount":9223372036854775807}`}, 400, "bad_request"},
		{"add int64 max+1", s.tokens, apptest.Request{Method: "POST", Path: "/api/tokens/add", Token: user, Body: `{"amount":9223372036854775808}`}, 400, "bad_request"},
		{"add int64 min", s.tokens, apptest.Request{Method: "POST", Path: "/api/tokens/add", Token: user, Body: `{"amount":-9223372036854775808}`}, 400, "bad_request"},
		{"add 1e400", s.tokens, apptest.Request{Method: "POST", Path: "/api/tokens/add", Token: user, Body: `{"amount":1e400}`}, 400, "bad_request"},
		{"add max", s.tokens, apptest.Request{Method: "POST", Path: "/api/tokens/add", Token: user, Body: map[string]int64{"amount": token.MaxAdd}}, 200, ""},
		{"add max+1", s.tokens, apptest.Request{Method: "POST", Path: "/api/tokens/add", Token: user, Body: map[string]int64{"amount": token.MaxAdd + 1}}, 400, "bad_request"},
		{"book price int64 max", s.books, apptest.Request{Method: "POST", Path: "/api/books", Token: admin, Body: book("t", "a", int64(1<<63-1), 1)}, 400, "bad_request"},
		{"book amount int64 min", s.books, apptest.Request{Method: "POST", Path: "/api/books", Token: admin, Body: book("t", "a", 1, int64(-1<<63))}, 400, "bad_request"},
		{"book price max", s.books, apptest.Request{Method: "POST", Path: "/api/books", Token: admin, Body: book("t", "a", inventory.MaxValue, inventory.MaxValue)}, 201, ""},
		{"book title 501 bytes", s.books, apptest.Request{Method: "POST", Path: "/api/books", Token: admin, Body: book(strings.Repeat("x", 501), "a", 1, 1)}, 400, "bad_request"},
		{"book title NUL", s.books, apptest.Request{Method: "POST", Path: "/api/books", Token: admin, Body: book("a\u0000b", "a", 1, 1)}, 400, "bad_request"},
		{"search NUL", s.books, apptest.Request{Method: "GET", Path: "/api/books?q=%00", Token: user}, 400, "bad_request"},
		{"search invalid UTF-8", s.books, apptest.Request{Method: "GET", Path: "/api/books?q=%ff", Token: user}, 400, "bad_request"},
		{"register e-mail 255 bytes", s.users, apptest.Request{Method: "POST", Path: "/api/users/register", Body: map[string]string{"email": strings.Repeat("a", 243) + "@example.com", "password": "password-1"}}, 400, "bad_request"},
		{"register password 73 bytes", s.users, apptest.Request{Method: "POST", Path: "/api/users/register", Body: map[string]string{"email": "long@example.com", "password": strings.Repeat("p", 73)}}, 400, "bad_request"},
		{"login NUL e-mail", s.users, apptest.Request{Method: "POST", Path: "/api/users/login", Body: map[string]string{"email": "a\u0000@example.com", "password": "password-1"}}, 400, "bad_request"},
		{"orders limit int64 max", s.orders, apptest.Request{Method: "GET", Path: "/api/orders?limit=9223372036854775807", Token: user}, 400, "bad_request"},
		{"orders wait overflow", s.orders, apptest.Request{Method: "GET", Path: "/api/orders/00000000-0000-7000-8000-000000000000?wait=9223372036854775807", Token: user}, 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.srv.Do(t, tt.req)
			if r.Status != tt.status || r.ErrorCode() != tt.code {
				t.Fatalf("%d %q, want %d %q: %.300s", r.Status, r.ErrorCode(), tt.status, tt.code, r.Body)
			}
		})
	}

	// Accepted awkward strings come back byte for byte.
	verbatim := []string{
		"'; DROP TABLE books; --", `Robert"); DELETE FROM orders WHERE ("1"="1`, "100% _done_ \\%",
		"Ελληνικά · 日本語 · עברית \u202e RTL \U0001F4DA", "e\u0301 (combining) \ufeff BOM",
		strings.Repeat("ж", 250), // 500 bytes, the longest title
	}
	for i, title := range verbatim {
		t.Run(fmt.Sprintf("verbatim %d", i), func(t *testing.T) {
			var bk struct{ BookID string }
			s.books.Post(t, "/api/books", admin, book(title, title, 1, 1)).Expect(t, 201).JSON(t, &bk)
			var got inventory.Book
			s.books.Get(t, "/api/books/"+bk.BookID, user).Expect(t, 200).JSON(t, &got)
			if got.Title != title || got.Author != title {
				t.Fatalf("stored %q / %q, sent %q", got.Title, got.Author, title)
			}
			if len(title) > inventory.MaxQuery {
				return
			}
			var page inventory.BookList
			s.books.Get(t, "/api/books?q="+url.QueryEscape(title), user).Expect(t, 200).JSON(t, &page)
			if len(page.Items) != 1 || page.Items[0].BookID != bk.BookID {
				t.Fatalf("searching %q found %+v, want only %s", title, page.Items, bk.BookID)
			}
		})
	}
	t.Run("SQL-looking e-mail", func(t *testing.T) {
		email := "o'brien'--@example.com"
		var out struct{ Email string }
		s.users.Post(t, "/api/users/register", "", map[string]string{"email": email, "password": "' OR '1'='1"}).Expect(t, 201).JSON(t, &out)
		if out.Email != email {
			t.Fatalf("registered %q, sent %q", out.Email, email)
		}
		login(t, s, email, "' OR '1'='1")
		s.users.Post(t, "/api/users/login", "", map[string]string{"email": email, "password": "' OR 1=1 --"}).Expect(t, http.StatusUnauthorized)
	})
}
