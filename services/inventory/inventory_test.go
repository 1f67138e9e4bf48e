package inventory_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/services/inventory"
)

type fixture struct {
	srv         *apptest.Server
	dsn         string
	admin, user string
}

func start(t testing.TB) fixture {
	t.Helper()
	env := apptest.NewEnv(t)
	cfg := env.Config(t, "inventory")
	f := fixture{srv: apptest.Start(t, cfg, inventory.Build(inventory.Options{})), dsn: cfg.DatabaseURL}
	_, f.admin = env.User(t, auth.RoleAdmin)
	_, f.user = env.User(t, auth.RoleUser)
	return f
}

func (f fixture) create(t testing.TB, title string, price, amount int64) string {
	t.Helper()
	var out struct{ BookID string }
	f.srv.Post(t, "/api/books", f.admin, map[string]any{"title": title, "author": "Author of " + title, "price": price, "amount": amount}).
		Expect(t, 201).JSON(t, &out)
	return out.BookID
}

func (f fixture) patch(t *testing.T, id, token string, body any) *apptest.Response {
	t.Helper()
	return f.srv.Do(t, apptest.Request{Method: http.MethodPatch, Path: "/api/books/" + id, Token: token, Body: body})
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	apptest.CheckOpenAPI(t, inventory.OpenAPI(), inventory.New(app.Deps{}, inventory.Options{}).Routes)
}

func TestCreateGetUpdateDelete(t *testing.T) {
	t.Parallel()
	f := start(t)
	id := f.create(t, "Dune", 12, 5)

	var b inventory.Book
	f.srv.Get(t, "/api/books/"+id, f.user).Expect(t, 200).JSON(t, &b)
	if b != (inventory.Book{BookID: id, Title: "Dune", Author: "Author of Dune", Price: 12, Amount: 5}) {
		t.Fatalf("got %+v", b)
	}
	f.patch(t, id, f.admin, map[string]any{"price": 15, "amount": 9}).Expect(t, 200).JSON(t, &b)
	if b.Price != 15 || b.Amount != 9 || b.Title != "Dune" {
		t.Fatalf("after patch %+v", b)
	}
	f.patch(t, id, f.admin, map[string]any{"title": "Dune Messiah"}).Expect(t, 200).JSON(t, &b)
	if b.Title != "Dune Messiah" || b.Price != 15 {
		t.Fatalf("after title patch %+v", b)
	}
	f.srv.Do(t, apptest.Request{Method: http.MethodDelete, Path: "/api/books/" + id, Token: f.admin}).Expect(t, 204)
	f.srv.Get(t, "/api/books/"+id, f.user).Expect(t, 404)
	f.srv.Do(t, apptest.Request{Method: http.MethodDelete, Path: "/api/books/" + id, Token: f.admin}).Expect(t, 404)
	f.patch(t, id, f.admin, map[string]any{"price": 1}).Expect(t, 404)
	f.srv.Get(t, "/api/books/not-a-uuid", f.user).Expect(t, 404)

	// Stock changes are in the ledger: create 5, adjust +4.
	conn, err := pgx.Connect(context.Background(), f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(context.Background(), `SELECT kind || ':' || delta FROM stock_ledger WHERE book_id = $1 ORDER BY id`, id)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || strings.Join(got, ",") != "create:5,adjust:4" {
		t.Fatalf("stock ledger %v (%v)", got, err)
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	f := start(t)
	id := f.create(t, "Emma", 3, 1)
	creates := []struct {
		name string
		body any
	}{
		{"negative price", map[string]any{"title": "x", "author": "y", "price": -1, "amount": 1}},
		{"negative amount", map[string]any{"title": "x", "author": "y", "price": 1, "amount": -1}},
		{"fractional price", map[string]any{"title": "x", "author": "y", "price": 1.5, "amount": 1}},
		{"missing amount", map[string]any{"title": "x", "author": "y", "price": 1}},
		{"blank title", map[string]any{"title": "  ", "author": "y", "price": 1, "amount": 1}},
		{"unknown field", map[string]any{"title": "x", "author": "y", "price": 1, "amount": 1, "isbn": "1"}},
	}
	for _, tc := range creates {
		t.Run("create "+tc.name, func(t *testing.T) {
			f.srv.Post(t, "/api/books", f.admin, tc.body).Expect(t, 400)
		})
	}
	// No negative stock through PATCH; the book is unchanged.
	patches := []struct {
		name string
		body any
	}{
		{"negative amount", map[string]any{"amount": -1}},
		{"negative price", map[string]any{"price": -3}},
		{"empty patch", map[string]any{}},
		{"empty author", map[string]any{"author": ""}},
		{"unknown field", map[string]any{"stock": 3}},
	}
	for _, tc := range patches {
		t.Run("patch "+tc.name, func(t *testing.T) {
			f.patch(t, id, f.admin, tc.body).Expect(t, 400)
		})
	}
	var b inventory.Book
	f.srv.Get(t, "/api/books/"+id, f.user).Expect(t, 200).JSON(t, &b)
	if b.Amount != 1 || b.Price != 3 || b.Author != "Author of Emma" {
		t.Fatalf("rejected patches changed the book: %+v", b)
	}
	f.patch(t, id, f.admin, map[string]any{"amount": 0}).Expect(t, 200)
}

func TestRoles(t *testing.T) {
	t.Parallel()
	f := start(t)
	id := f.create(t, "Ulysses", 20, 2)
	body := map[string]any{"title": "x", "author": "y", "price": 1, "amount": 1}
	f.srv.Post(t, "/api/books", f.user, body).Expect(t, 403)
	f.patch(t, id, f.user, map[string]any{"amount": 100}).Expect(t, 403)
	f.srv.Do(t, apptest.Request{Method: http.MethodDelete, Path: "/api/books/" + id, Token: f.user}).Expect(t, 403)
	f.srv.Get(t, "/api/books", f.user).Expect(t, 200)
	f.srv.Get(t, "/api/books/"+id, f.user).Expect(t, 200)
	for _, tok := range []string{"", "x.y.z"} {
		f.srv.Get(t, "/api/books", tok).Expect(t, 401)
		f.srv.Get(t, "/api/books/"+id, tok).Expect(t, 401)
		f.srv.Post(t, "/api/books", tok, body).Expect(t, 401)
	}
}

func TestListPaginationAndIDs(t *testing.T) {
	t.Parallel()
	f := start(t)
	var ids []string
	for i := range 7 {
		ids = append(ids, f.create(t, fmt.Sprintf("Book %d", i), int64(i), 1))
	}
	// Walk the pages: every book once, in creation order.
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		q := url.Values{"limit": {"3"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var list inventory.BookList
		f.srv.Get(t, "/api/books?"+q.Encode(), f.user).Expect(t, 200).JSON(t, &list)
		if len(list.Items) > 3 {
			t.Fatalf("page of %d items with limit 3", len(list.Items))
		}
		for _, b := range list.Items {
			seen = append(seen, b.BookID)
		}
		if list.NextCursor == nil {
			break
		}
		cursor = *list.NextCursor
		if page > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if strings.Join(seen, ",") != strings.Join(ids, ",") {
		t.Fatalf("pages gave %v, want %v", seen, ids)
	}
	// The ids filter returns just those books; unknown ids are simply absent.
	var list inventory.BookList
	q := url.Values{"ids": {ids[5] + "," + ids[1] + "," + uuid.NewString()}}
	f.srv.Get(t, "/api/books?"+q.Encode(), f.user).Expect(t, 200).JSON(t, &list)
	if len(list.Items) != 2 || list.Items[0].BookID != ids[1] || list.Items[1].BookID != ids[5] || list.Items[1].Price != 5 {
		t.Fatalf("ids filter gave %+v", list.Items)
	}
	// q searches title and author, case-insensitive; % is a literal character.
	dune := f.create(t, "Dune 100% edition", 7, 1)
	for q, want := range map[string][]string{"book 3": {ids[3]}, "DUNE": {dune}, "100%": {dune}, "%": {dune}, "0%": {dune}, "nothing like it": nil} {
		var found inventory.BookList
		f.srv.Get(t, "/api/books?"+url.Values{"q": {q}}.Encode(), f.user).Expect(t, 200).JSON(t, &found)
		var got []string
		for _, b := range found.Items {
			got = append(got, b.BookID)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("q=%q found %v, want %v", q, got, want)
		}
	}
	for _, bad := range []string{"limit=0", "limit=101", "limit=x", "cursor=%25%25", "ids=nope", "ids=", "q=" + strings.Repeat("x", 201)} {
		f.srv.Get(t, "/api/books?"+bad, f.user).Expect(t, 400)
	}
	// An empty catalogue page has an empty array, not null.
	g := start(t)
	r := g.srv.Get(t, "/api/books", g.user).Expect(t, 200)
	if !strings.Contains(string(r.Body), `"items":[]`) || !strings.Contains(string(r.Body), `"nextCursor":null`) {
		t.Fatalf("empty list body %s", r.Body)
	}
}
