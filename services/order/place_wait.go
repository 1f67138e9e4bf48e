package order

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

// POST /api/orders with `Prefer: wait=N` (RFC 7240) answers 201 Created
// with the order once it is Completed or Failed, or after N seconds (at
// most MaxWait) 202 Accepted as without the preference: a client learns
// the outcome in one request. The waiter is registered before the order
// commits, and the decision's notification carries its state, so the
// answer needs no read of the order.

// placedOrder is the representation of the order just stored Pending.
func placedOrder(id uuid.UUID, userID string, created time.Time, total int64, items []events.OrderItem) Order {
	o := Order{ID: id.String(), UserID: userID, Status: StatusPending, CreatedAt: created.UTC(), UpdatedAt: created.UTC(),
		TotalPrice: total, Items: make([]Item, len(items))}
	for i, it := range items {
		o.Items[i] = Item{BookID: it.BookID, Price: it.Price, Quantity: it.Quantity}
	}
	// As GET /api/orders/{id} lists them.
	slices.SortFunc(o.Items, func(a, b Item) int { return strings.Compare(a.BookID, b.BookID) })
	return o
}

// awaitPlaced waits up to d for the placed order's decision (reg was taken
// before it committed). The order is stored whatever happens here, so a
// failed re-read answers with its Pending state rather than an error.
func (s *Service) awaitPlaced(ctx context.Context, reg registration, placed Order, p auth.Principal, d time.Duration) Order {
	id := uuid.MustParse(placed.ID)
	load := func(ctx context.Context) (Order, error) { return s.loadOrder(ctx, id, p) }
	o, err := s.waiters.await(ctx, placed.ID, reg, placed, nil, d, s.recheck, load)
	if err != nil {
		return placed
	}
	return o
}
