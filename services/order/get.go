package order

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/database"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

// Long polls of GET /api/orders/{id}?wait=.
const (
	// MaxWait is the longest ?wait= accepted (below the server's write
	// timeout and the usual proxy read timeouts).
	MaxWait = 30 * time.Second
	// DefaultMaxWaiters is how many long polls one process holds at once.
	DefaultMaxWaiters = 4096
)

// waitParam parses ?wait= (a Go duration such as 500ms or 10s, or whole
// seconds); absent means 0 (answer at once).
func waitParam(r *http.Request) (time.Duration, error) {
	raw := r.URL.Query().Get("wait")
	if raw == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		secs, serr := strconv.ParseUint(raw, 10, 32)
		if serr != nil {
			return 0, httpx.BadRequest("wait must be a duration such as 500ms or 10s")
		}
		d = time.Duration(secs) * time.Second
	}
	if d < 0 || d > MaxWait {
		return 0, httpx.BadRequest(fmt.Sprintf("wait must be between 0 and %s", MaxWait))
	}
	return d, nil
}

// get answers GET /api/orders/{id}; with ?wait=d it answers as soon as the
// order is Completed or Failed, or after d with its current state.
func (s *Service) get(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequestPrincipal(r)
	if err != nil {
		return err
	}
	wait, err := waitParam(r)
	if err != nil {
		return err
	}
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		return httpx.NotFound("order not found")
	}
	load := func(ctx context.Context) (Order, error) { return s.loadOrder(ctx, id, p) }
	var o Order
	if wait > 0 {
		o, err = s.waiters.Wait(r.Context(), id.String(), wait, s.recheck, load)
	} else {
		o, err = load(r.Context())
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, o)
	return nil
}

// loadOrder reads one order with its items in one statement; another
// user's order is indistinguishable from a missing one (404).
func (s *Service) loadOrder(ctx context.Context, id uuid.UUID, p auth.Principal) (Order, error) {
	notFound := httpx.NotFound("order not found")
	var items []Item
	var o Order
	err := s.pool.QueryRow(ctx, `SELECT `+orderColumns+`,
		coalesce((SELECT json_agg(json_build_object('bookId', i.book_id, 'price', i.price, 'quantity', i.quantity) ORDER BY i.book_id)
			FROM order_items i WHERE i.order_id = orders.id), '[]')
		FROM orders WHERE id = $1`, database.UUID(id)).Scan(&o.ID, &o.UserID, &o.Status, &o.CreatedAt, &o.UpdatedAt,
		&o.IsPaymentProcessed, &o.IsInventoryProcessed, &o.FailReason, &o.TotalPrice, &items)
	if errors.Is(err, pgx.ErrNoRows) {
		return Order{}, notFound
	}
	if err != nil {
		return Order{}, fmt.Errorf("get order: %w", err)
	}
	if o.UserID != p.UserID && !p.IsAdmin() {
		return Order{}, notFound
	}
	o.CreatedAt, o.UpdatedAt, o.Items = o.CreatedAt.UTC(), o.UpdatedAt.UTC(), items
	return o, nil
}
