package order_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/services/inventory"
	"github.com/bookstore-platform/bookstore/services/order"
)

type fixture struct {
	env       *apptest.Env
	inventory *apptest.Server
	orders    *apptest.Server
	dsn       string
	admin     string
}

func start(t testing.TB) fixture { return startWith(t, order.Options{}) }

// startWith starts inventory and an order service built with opts.
func startWith(t testing.TB, opts order.Options) fixture {
	t.Helper()
	env := apptest.NewEnv(t)
	inv := apptest.Start(t, env.Config(t, "inventory"), inventory.Build(inventory.Options{}))
	cfg := env.Config(t, "order")
	cfg.InventoryURL = inv.URL
	f := fixture{env: env, inventory: inv, orders: apptest.Start(t, cfg, order.Build(opts)), dsn: cfg.DatabaseURL}
	_, f.admin = env.User(t, auth.RoleAdmin)
	return f
}

// db connects to the order database until the test ends.
func (f fixture) db(t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func (f fixture) user(t testing.TB) (string, string) {
	return f.env.User(t, auth.RoleUser)
}

func (f fixture) book(t testing.TB, price int64) string {
	t.Helper()
	var out struct{ BookID string }
	f.inventory.Post(t, "/api/books", f.admin, map[string]any{"title": "T", "author": "A", "price": price, "amount": 10}).Expect(t, 201).JSON(t, &out)
	return out.BookID
}

func (f fixture) place(t *testing.T, tok string, bookIDs ...string) string {
	t.Helper()
	var out struct{ OrderID, Status string }
	f.orders.Post(t, "/api/orders", tok, map[string]any{"bookIds": bookIDs}).Expect(t, 202).JSON(t, &out)
	if out.Status != "Pending" {
		t.Fatalf("new order status %q", out.Status)
	}
	return out.OrderID
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	apptest.CheckOpenAPI(t, order.OpenAPI(), order.New(app.Deps{}, order.Options{}).Routes)
}

func TestPlaceAndGetOrder(t *testing.T) {
	t.Parallel()
	f := start(t)
	a, b := f.book(t, 7), f.book(t, 3)
	uid, tok := f.user(t)
	id := f.place(t, tok, a, b, a)

	// The price at ordering time is kept even if the book's price changes.
	f.inventory.Do(t, apptest.Request{Method: http.MethodPatch, Path: "/api/books/" + a, Token: f.admin, Body: map[string]any{"price": 100}}).Expect(t, 200)

	var o order.Order
	f.orders.Get(t, "/api/orders/"+id, tok).Expect(t, 200).JSON(t, &o)
	if o.ID != id || o.UserID != uid || o.Status != "Pending" || o.TotalPrice != 17 || o.IsPaymentProcessed || o.IsInventoryProcessed || o.FailReason != "" {
		t.Fatalf("order %+v", o)
	}
	if o.CreatedAt.IsZero() || time.Since(o.CreatedAt) > time.Minute || o.UpdatedAt.Before(o.CreatedAt) {
		t.Fatalf("timestamps %s %s", o.CreatedAt, o.UpdatedAt)
	}
	want := map[string]order.Item{a: {BookID: a, Price: 7, Quantity: 2}, b: {BookID: b, Price: 3, Quantity: 1}}
	if len(o.Items) != 2 || o.Items[0] != want[o.Items[0].BookID] || o.Items[1] != want[o.Items[1].BookID] {
		t.Fatalf("items %+v, want %+v", o.Items, want)
	}

	// OrderCreated is in the outbox, in the same database, keyed by order id.
	conn := f.db(t)
	var (
		topic, key string
		payload    []byte
	)
	if err := conn.QueryRow(context.Background(), `SELECT topic, key, payload FROM outbox WHERE event_type = $1`, events.TypeOrderCreated).Scan(&topic, &key, &payload); err != nil {
		t.Fatal(err)
	}
	env, err := events.Parse(payload)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.OrderCreated
	if err := env.Decode(&ev); err != nil {
		t.Fatal(err)
	}
	if topic != events.TopicOrders || key != id || ev.OrderID != id || ev.UserID != uid || ev.TotalPrice != 17 || len(ev.Items) != 2 {
		t.Fatalf("outbox topic=%s key=%s event=%+v", topic, key, ev)
	}
}

func TestOwnerOrAdmin(t *testing.T) {
	t.Parallel()
	f := start(t)
	bk := f.book(t, 1)
	_, alice := f.user(t)
	_, bob := f.user(t)
	id := f.place(t, alice, bk)
	f.orders.Get(t, "/api/orders/"+id, alice).Expect(t, 200)
	f.orders.Get(t, "/api/orders/"+id, f.admin).Expect(t, 200)
	f.orders.Get(t, "/api/orders/"+id, bob).Expect(t, 404)
	f.orders.Get(t, "/api/orders/"+uuid.NewString(), alice).Expect(t, 404)
	f.orders.Get(t, "/api/orders/nope", alice).Expect(t, 404)
	f.orders.Get(t, "/api/orders/"+id, "").Expect(t, 401)
}

func TestCreateErrors(t *testing.T) {
	t.Parallel()
	f := start(t)
	bk := f.book(t, 4)
	_, tok := f.user(t)
	missing := uuid.NewString()
	r := f.orders.Post(t, "/api/orders", tok, map[string]any{"bookIds": []string{bk, missing, "not-a-uuid"}}).Expect(t, 422)
	if msg := r.ErrorMessage(); !strings.Contains(msg, missing) || !strings.Contains(msg, "not-a-uuid") || strings.Contains(msg, bk) {
		t.Fatalf("422 message %q should name exactly the unknown ids", msg)
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = bk
	}
	for _, body := range []any{
		map[string]any{"bookIds": []string{}},
		map[string]any{},
		map[string]any{"bookIds": many},
		map[string]any{"bookIds": []string{bk}, "userId": uuid.NewString()},
		`{"bookIds":["` + bk + `"]} []`,
	} {
		f.orders.Do(t, apptest.Request{Method: "POST", Path: "/api/orders", Token: tok, Body: body}).Expect(t, 400)
	}
	var list order.OrderList
	f.orders.Get(t, "/api/orders", tok).Expect(t, 200).JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("failed requests created orders: %+v", list.Items)
	}
}

func TestInventoryUnreachable(t *testing.T) {
	t.Parallel()
	env := apptest.NewEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String()
	ln.Close()
	cfg := env.Config(t, "order")
	cfg.InventoryURL = deadURL
	srv := apptest.Start(t, cfg, order.Build(order.Options{}))
	_, tok := env.User(t, auth.RoleUser)
	r := srv.Post(t, "/api/orders", tok, map[string]any{"bookIds": []string{uuid.NewString()}}).Expect(t, 503)
	if r.ErrorCode() != "service_unavailable" {
		t.Fatalf("code %q", r.ErrorCode())
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := start(t)
	bk := f.book(t, 2)
	_, tok := f.user(t)
	post := func(key string, ids ...string) *apptest.Response {
		return f.orders.Do(t, apptest.Request{Method: "POST", Path: "/api/orders", Token: tok,
			Body: map[string]any{"bookIds": ids}, Header: map[string]string{"Idempotency-Key": key}})
	}
	var first, again struct{ OrderID, Status string }
	post("o1", bk).Expect(t, 202).JSON(t, &first)
	r := post("o1", bk).Expect(t, 202)
	r.JSON(t, &again)
	if again != first || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %+v, want %+v", again, first)
	}
	post("o1", bk, bk).Expect(t, 422)
	var list order.OrderList
	f.orders.Get(t, "/api/orders", tok).Expect(t, 200).JSON(t, &list)
	if len(list.Items) != 1 {
		t.Fatalf("%d orders after a replayed create, want 1", len(list.Items))
	}
}

func TestListPaginationAndScope(t *testing.T) {
	t.Parallel()
	f := start(t)
	bk := f.book(t, 1)
	_, alice := f.user(t)
	_, bob := f.user(t)
	var mine []string
	for range 5 {
		mine = append(mine, f.place(t, alice, bk))
	}
	bobs := f.place(t, bob, bk)

	// Alice's orders, newest first, in pages of 2.
	var seen []string
	cursor := ""
	for page := 0; page < 10; page++ {
		q := url.Values{"limit": {"2"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var list order.OrderList
		f.orders.Get(t, "/api/orders?"+q.Encode(), alice).Expect(t, 200).JSON(t, &list)
		for _, o := range list.Items {
			seen = append(seen, o.ID)
			if len(o.Items) != 1 {
				t.Fatalf("listed order without its items: %+v", o)
			}
		}
		if list.NextCursor == nil {
			break
		}
		cursor = *list.NextCursor
	}
	var want []string
	for i := len(mine) - 1; i >= 0; i-- {
		want = append(want, mine[i])
	}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Fatalf("alice's pages %v, want newest first %v", seen, want)
	}
	// scope=all: admin only, and it includes everyone.
	f.orders.Get(t, "/api/orders?scope=all", alice).Expect(t, 403)
	var all order.OrderList
	f.orders.Get(t, "/api/orders?scope=all&limit=100", f.admin).Expect(t, 200).JSON(t, &all)
	if len(all.Items) != 6 || all.Items[0].ID != bobs {
		t.Fatalf("scope=all gave %d orders, first %s", len(all.Items), all.Items[0].ID)
	}
	for _, bad := range []string{"scope=everyone", "limit=0", "cursor=zz"} {
		f.orders.Get(t, "/api/orders?"+bad, alice).Expect(t, 400)
	}
}
