package inventory

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

// Events returns the app builder of the inventory service's part of the
// order saga: it reserves stock for orders (OrderCreated), releases the
// reservation of failed ones (OrderFailed), publishes the outcomes on the
// inventory topic through the outbox, and consumes logouts.
func Events(c eventbus.Config) app.Builder {
	return eventbus.Builder(EventSpec(c), c)
}

// EventSpec is the inventory service's consumer and producer declaration.
func EventSpec(c eventbus.Config) eventbus.Spec {
	topics := c.TopicsOf()
	s := &saga{topics: topics}
	return eventbus.Participant(topics, "inventory", topics.Inventory, s.reserve, s.release)
}

type saga struct{ topics events.Topics }

// reserve takes the stock of every item of the order or of none. The book
// rows are locked in id order (no deadlock between concurrent orders), the
// decision is made on the locked amounts, so stock never goes below zero
// and of two orders for the last copy exactly one wins.
func (s *saga) reserve(ctx context.Context, tx pgx.Tx, e events.OrderCreated) error {
	want := map[string]int64{} // validated: every book id parses, every quantity > 0
	for _, it := range e.Items {
		want[uuid.MustParse(it.BookID).String()] += it.Quantity
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)

	// Lock the books and learn whether this order was already reserved
	// (under another event id) in one round trip.
	rows, err := tx.Query(ctx, `
		SELECT id::text, amount, EXISTS (SELECT 1 FROM stock_ledger WHERE order_id = $2 AND kind = 'reserve')
		FROM books WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, ids, e.OrderID)
	if err != nil {
		return fmt.Errorf("lock books: %w", err)
	}
	done := false
	have := map[string]int64{}
	for rows.Next() {
		var id string
		var amount int64
		var reserved bool
		if err := rows.Scan(&id, &amount, &reserved); err != nil {
			rows.Close()
			return fmt.Errorf("lock books: %w", err)
		}
		have[id] = amount
		done = done || reserved
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("lock books: %w", err)
	}
	if done {
		return nil // already reserved under another event id
	}
	reason := ""
	for _, id := range ids {
		amount, ok := have[id]
		switch {
		case !ok:
			reason = events.ReasonUnknownBook
		case amount < want[id] && reason == "":
			reason = events.ReasonOutOfStock
		}
	}
	if reason != "" {
		return events.Emit(ctx, tx, s.topics.Inventory, e.OrderID, events.TypeStockRejected,
			events.StockRejected{OrderID: e.OrderID, Reason: reason})
	}

	qty := make([]int64, len(ids))
	for i, id := range ids {
		qty[i] = want[id]
	}
	if _, err := tx.Exec(ctx, `
		WITH reserved AS (
			UPDATE books b SET amount = b.amount - r.q, updated_at = now()
			FROM unnest($1::uuid[], $2::bigint[]) AS r(id, q) WHERE b.id = r.id
			RETURNING b.id, r.q
		)
		INSERT INTO stock_ledger (book_id, order_id, delta, kind)
		SELECT id, $3, -q, 'reserve' FROM reserved`, ids, qty, e.OrderID); err != nil {
		return events.RetryOnUniqueViolation("reserve stock", err)
	}
	items := make([]events.OrderItem, len(ids))
	for i, id := range ids {
		items[i] = events.OrderItem{BookID: id, Quantity: qty[i]}
	}
	return events.Emit(ctx, tx, s.topics.Inventory, e.OrderID, events.TypeStockReserved,
		events.StockReserved{OrderID: e.OrderID, Items: items})
}

// release gives back the reservation of a failed order, once (unique
// (order_id, book_id, 'release')). A book deleted meanwhile has nothing to
// give back to.
func (s *saga) release(ctx context.Context, tx pgx.Tx, e events.OrderFailed) error {
	rows, err := tx.Query(ctx, `
		INSERT INTO stock_ledger (book_id, order_id, delta, kind)
		SELECT book_id, order_id, -delta, 'release' FROM stock_ledger WHERE order_id = $1 AND kind = 'reserve'
		ON CONFLICT (order_id, book_id, kind) WHERE order_id IS NOT NULL DO NOTHING
		RETURNING book_id::text, delta`, e.OrderID)
	if err != nil {
		return fmt.Errorf("record release: %w", err)
	}
	var ids []string
	var qty []int64
	for rows.Next() {
		var id string
		var q int64
		if err := rows.Scan(&id, &q); err != nil {
			rows.Close()
			return fmt.Errorf("record release: %w", err)
		}
		ids, qty = append(ids, id), append(qty, q)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("record release: %w", err)
	}
	if len(ids) == 0 {
		return nil // nothing was reserved, or already released
	}
	// Same lock order as reserve.
	sort.Sort(byID{ids, qty})
	if _, err := tx.Exec(ctx, `
		UPDATE books b SET amount = b.amount + r.q, updated_at = now()
		FROM (SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS r(id, q) ORDER BY id) r WHERE b.id = r.id`, ids, qty); err != nil {
		return fmt.Errorf("release stock: %w", err)
	}
	items := make([]events.OrderItem, len(ids))
	for i := range ids {
		items[i] = events.OrderItem{BookID: ids[i], Quantity: qty[i]}
	}
	return events.Emit(ctx, tx, s.topics.Inventory, e.OrderID, events.TypeStockReleased,
		events.StockReleased{OrderID: e.OrderID, Items: items})
}

type byID struct {
	ids []string
	qty []int64
}

func (b byID) Len() int           { return len(b.ids) }
func (b byID) Less(i, j int) bool { return b.ids[i] < b.ids[j] }
func (b byID) Swap(i, j int) {
	b.ids[i], b.ids[j] = b.ids[j], b.ids[i]
	b.qty[i], b.qty[j] = b.qty[j], b.qty[i]
}
