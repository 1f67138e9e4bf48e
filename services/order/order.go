// Package order is the order service: users place orders for books (priced
// from its own projection of the inventory's catalogue, projection.go) and
// read them. Placing an order stores it Pending with its items and the
// OrderCreated event in one transaction; the order saga then completes or
// fails it.
package order

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/database"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
	"github.com/bookstore-platform/bookstore/internal/platform/idempotency"
)

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the service's OpenAPI 3 document.
func OpenAPI() []byte { return openapiDoc }

// Order statuses.
const (
	StatusPending   = "Pending"
	StatusCompleted = "Completed"
	StatusFailed    = "Failed"
)

// Limits.
const (
	MaxBooksPerOrder = 100
	DefaultLimit     = 20
	MaxLimit         = 100
)

// Options tune the service; the zero value is production.
type Options struct {
	// Topics names the Kafka topics (default events.DefaultTopics()).
	Topics *events.Topics
	// Catalog overrides the inventory client that prices the books the
	// catalogue projection has not seen yet (default: HTTP to
	// BOOKSTORE_INVENTORY_URL).
	Catalog Catalog
	// MaxWaiters bounds the concurrent long polls (GET ?wait=) of one
	// process (default DefaultMaxWaiters); beyond it they answer at once.
	MaxWaiters int
	// WaitRecheck is how often a long poll re-reads its order without a
	// notification (default 1s), bounding the delay a notification lost
	// to a reconnect can cause.
	WaitRecheck time.Duration
}

// Service holds the order service's handlers.
type Service struct {
	pool    *pgxpool.Pool
	auth    *auth.Authenticator
	catalog Catalog
	topics  events.Topics
	waiters *Waiters
	recheck time.Duration
}

// Build returns the app builder of the order service: its API and the
// session that wakes long polls when orders are decided.
func Build(opts Options) app.Builder {
	return func(ctx context.Context, d app.Deps) (app.Service, error) {
		s := New(d, opts)
		if d.Metrics != nil {
			for _, c := range s.waiters.Collectors() {
				if err := d.Metrics.Registry.Register(c); err != nil {
					return app.Service{}, fmt.Errorf("register waiter metrics: %w", err)
				}
			}
		}
		return app.Service{
			Routes:  s.Routes,
			OpenAPI: openapiDoc,
			Workers: map[string]app.Worker{"order-waiters": s.waiters.Run},
			Drain:   s.waiters.Drain,
		}, nil
	}
}

// New returns the service over d.
func New(d app.Deps, opts Options) *Service {
	if opts.MaxWaiters <= 0 {
		opts.MaxWaiters = DefaultMaxWaiters
	}
	if opts.WaitRecheck <= 0 {
		opts.WaitRecheck = time.Second
	}
	s := &Service{pool: d.Pool, auth: d.Auth, catalog: opts.Catalog, topics: events.DefaultTopics(),
		waiters: NewWaiters(d.Pool, d.Logger, opts.MaxWaiters), recheck: opts.WaitRecheck}
	if s.catalog == nil {
		s.catalog = NewHTTPCatalog(d.Config.InventoryURL)
	}
	if opts.Topics != nil {
		s.topics = *opts.Topics
	}
	return s
}

// Routes registers the API on r.
func (s *Service) Routes(r *mux.Router) {
	r.Handle("/api/orders", s.auth.Require(httpx.Handle(s.create))).Methods(http.MethodPost)
	r.Handle("/api/orders", s.auth.Require(httpx.Handle(s.list))).Methods(http.MethodGet)
	r.Handle("/api/orders/{id}", s.auth.Require(httpx.Handle(s.get))).Methods(http.MethodGet)
}

// Item is one line of an order.
type Item struct {
	BookID   string `json:"bookId"`
	Price    int64  `json:"price"`
	Quantity int64  `json:"quantity"`
}

// Order is the API representation of an order.
type Order struct {
	ID                   string    `json:"id"`
	UserID               string    `json:"userId"`
	Status               string    `json:"status"`
	CreatedAt            time.Time `json:"createdAt"`
	UpdatedAt            time.Time `json:"updatedAt"`
	IsPaymentProcessed   bool      `json:"isPaymentProcessed"`
	IsInventoryProcessed bool      `json:"isInventoryProcessed"`
	FailReason           string    `json:"failReason"`
	TotalPrice           int64     `json:"totalPrice"`
	Items                []Item    `json:"items"`
}

type createRequest struct {
	BookIDs []string `json:"bookIds"`
}

type createResponse struct {
	OrderID string `json:"orderId"`
	Status  string `json:"status"`
}

func (s *Service) create(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequestPrincipal(r)
	if err != nil {
		return err
	}
	key, err := idempotency.Key(r)
	if err != nil {
		return err
	}
	var in createRequest
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	if len(in.BookIDs) == 0 {
		return httpx.BadRequest("bookIds must list at least one book id")
	}
	if len(in.BookIDs) > MaxBooksPerOrder {
		return httpx.BadRequest(fmt.Sprintf("an order may hold at most %d books", MaxBooksPerOrder))
	}
	// Count quantities; remember first-seen order for stable items.
	qty := map[string]int64{}
	var ids, malformed []string
	for _, raw := range in.BookIDs {
		id, err := uuid.Parse(strings.TrimSpace(raw))
		if err != nil {
			malformed = append(malformed, raw)
			continue
		}
		k := id.String()
		if qty[k] == 0 {
			ids = append(ids, k)
		}
		qty[k]++
	}
	hash := idempotency.Hash(append([]string{"POST /api/orders"}, in.BookIDs...)...)
	ctx := r.Context()
	orderID := uuid.Must(uuid.NewV7())
	out := createResponse{OrderID: orderID.String(), Status: StatusPending}
	// Prefer: wait=N — registered before the commit, so that the decision's
	// notification cannot come before the waiter (place_wait.go).
	wait, prefer := httpx.PreferWait(r, MaxWait)
	var reg registration
	if prefer && wait > 0 {
		reg = s.waiters.register(orderID.String())
	}
	waiting := false // reg is handed to awaitPlaced, which gives it back
	defer func() {
		if !waiting {
			reg.done()
		}
	}()
	var placed Order
	// One local transaction: the idempotency claim, the prices from the
	// catalogue projection, the order, its items and OrderCreated. Books
	// the projection has not seen yet are priced by the inventory API
	// (outside the transaction) and the transaction runs again.
	var fallback map[string]CatalogBook
	place := func(tx pgx.Tx) (any, error) {
		price, err := prices(ctx, tx, ids, fallback, malformed)
		if err != nil {
			return nil, err
		}
		items := make([]events.OrderItem, 0, len(ids))
		var total int64
		for _, id := range ids {
			it := events.OrderItem{BookID: id, Price: price[id], Quantity: qty[id]}
			total += it.Price * it.Quantity
			items = append(items, it)
		}
		env, err := events.New(events.TypeOrderCreated, events.OrderCreated{
			OrderID: orderID.String(), UserID: p.UserID, Items: items, TotalPrice: total,
		})
		if err != nil {
			return nil, err
		}
		created, err := insertOrder(ctx, tx, orderID, p.UserID, total, items)
		if err != nil {
			return nil, err
		}
		placed = placedOrder(orderID, p.UserID, created, total, items)
		return out, events.Enqueue(ctx, tx, s.topics.Orders, orderID.String(), env)
	}
	replay, err := idempotency.InTx(ctx, database.Pipelined{Pool: s.pool}, p.UserID, key, hash, http.StatusAccepted, place)
	if missing, ok := notProjected(err); ok {
		if fallback, err = s.catalog.Books(ctx, p.Token, missing); err != nil {
			return err
		}
		replay, err = idempotency.InTx(ctx, database.Pipelined{Pool: s.pool}, p.UserID, key, hash, http.StatusAccepted, place)
	}
	if err != nil {
		return err
	}
	if replay != nil {
		replay.Write(w) // the stored answer, which did not wait
		return nil
	}
	w.Header().Set("Location", "/api/orders/"+orderID.String())
	if reg.ok {
		httpx.PreferenceApplied(w, wait)
		waiting = true
		if o := s.awaitPlaced(ctx, reg, placed, p, wait); o.Status != StatusPending {
			httpx.WriteJSON(w, http.StatusCreated, o)
			return nil
		}
	}
	httpx.WriteJSON(w, http.StatusAccepted, out)
	return nil
}

// insertOrder stores the order Pending with its items in one statement and
// returns its creation time.
func insertOrder(ctx context.Context, tx pgx.Tx, id uuid.UUID, userID string, total int64, items []events.OrderItem) (time.Time, error) {
	books := make([]string, len(items))
	price := make([]int64, len(items))
	qty := make([]int64, len(items))
	for i, it := range items {
		books[i], price[i], qty[i] = it.BookID, it.Price, it.Quantity
	}
	var created time.Time
	if err := tx.QueryRow(ctx, `
		WITH o AS (INSERT INTO orders (id, user_id, status, total_price) VALUES ($1, $2, 'Pending', $3) RETURNING id, created_at),
		i AS (INSERT INTO order_items (order_id, book_id, price, quantity)
			SELECT o.id, i.book_id, i.price, i.quantity FROM o, unnest($4::uuid[], $5::bigint[], $6::int[]) AS i(book_id, price, quantity))
		SELECT created_at FROM o`,
		database.UUID(id), userID, total, books, price, qty).Scan(&created); err != nil {
		return time.Time{}, fmt.Errorf("insert order: %w", err)
	}
	return created, nil
}

const orderColumns = `id::text, user_id::text, status, created_at, updated_at, is_payment_processed,
	is_inventory_processed, fail_reason, total_price`

func scanOrder(row pgx.CollectableRow) (Order, error) {
	var o Order
	err := row.Scan(&o.ID, &o.UserID, &o.Status, &o.CreatedAt, &o.UpdatedAt, &o.IsPaymentProcessed,
		&o.IsInventoryProcessed, &o.FailReason, &o.TotalPrice)
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	o.Items = []Item{}
	return o, err
}

// withItems loads the items of orders.
func (s *Service) withItems(ctx context.Context, orders []Order) error {
	if len(orders) == 0 {
		return nil
	}
	idx := make(map[string]int, len(orders))
	ids := make([]string, len(orders))
	for i, o := range orders {
		idx[o.ID], ids[i] = i, o.ID
	}
	rows, err := s.pool.Query(ctx, `SELECT order_id::text, book_id::text, price, quantity FROM order_items
		WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, book_id`, ids)
	if err != nil {
		return fmt.Errorf("load order items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			orderID string
			it      Item
		)
		if err := rows.Scan(&orderID, &it.BookID, &it.Price, &it.Quantity); err != nil {
			return fmt.Errorf("load order items: %w", err)
		}
		o := &orders[idx[orderID]]
		o.Items = append(o.Items, it)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load order items: %w", err)
	}
	return nil
}

// OrderList is the response of GET /api/orders.
type OrderList = httpx.Page[Order]

type listCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        uuid.UUID `json:"i"`
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequestPrincipal(r)
	if err != nil {
		return err
	}
	all := false
	switch r.URL.Query().Get("scope") {
	case "", "mine":
	case "all":
		if !p.IsAdmin() {
			return httpx.Forbidden("scope=all requires role admin")
		}
		all = true
	default:
		return httpx.BadRequest("scope must be mine or all")
	}
	var cur listCursor
	limit, hasCursor, err := httpx.Paging(r, DefaultLimit, MaxLimit, &cur)
	if err != nil {
		return err
	}
	q := `SELECT ` + orderColumns + ` FROM orders WHERE true`
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if !all {
		q += ` AND user_id = ` + arg(p.UserID)
	}
	if hasCursor {
		q += fmt.Sprintf(` AND (created_at, id) < (%s, %s)`, arg(cur.CreatedAt), arg(cur.ID))
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ` + arg(limit+1)
	rows, err := s.pool.Query(r.Context(), q, args...)
	if err != nil {
		return fmt.Errorf("list orders: %w", err)
	}
	orders, err := pgx.CollectRows(rows, scanOrder)
	if err != nil {
		return fmt.Errorf("list orders: %w", err)
	}
	out := httpx.NewPage(orders, limit, func(last Order) any {
		return listCursor{CreatedAt: last.CreatedAt, ID: uuid.MustParse(last.ID)}
	})
	if err := s.withItems(r.Context(), out.Items); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
