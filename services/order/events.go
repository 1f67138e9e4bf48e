package order

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/database"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

// Events returns the app builder of the order service's part of the saga:
// it keeps the catalogue projection (book events, projection.go), records
// the outcomes of payment and stock on the order, decides
// Completed or Failed once both are in, publishes OrderCompleted or
// OrderFailed (which makes token and inventory compensate) through the
// outbox, and consumes logouts.
func Events(c eventbus.Config) app.Builder {
	return eventbus.Builder(EventSpec(c), c)
}

// EventSpec is the order service's consumer and producer declaration.
func EventSpec(c eventbus.Config) eventbus.Spec {
	topics := c.TopicsOf()
	h := &saga{topics: topics}
	handlers := map[string]events.Handler{
		events.TypePaymentSucceeded: outcome(h, stepPayment, func(e events.PaymentSucceeded) (string, string) {
			return e.OrderID, ""
		}),
		events.TypePaymentRejected: outcome(h, stepPayment, func(e events.PaymentRejected) (string, string) {
			return e.OrderID, rejected(e.Reason, "payment rejected")
		}),
		events.TypeStockReserved: outcome(h, stepInventory, func(e events.StockReserved) (string, string) {
			return e.OrderID, ""
		}),
		events.TypeStockRejected: outcome(h, stepInventory, func(e events.StockRejected) (string, string) {
			return e.OrderID, rejected(e.Reason, "stock rejected")
		}),
	}
	for t, ph := range projectionHandlers() {
		handlers[t] = ph
	}
	return eventbus.Spec{
		Service:  "order",
		Produces: []string{topics.Orders, topics.Completed},
		Consumes: []string{topics.Payments, topics.Inventory, topics.Books, topics.Users},
		Handlers: handlers,
		// Both outcomes of an order carry its id as key, so they land on the
		// same partition number of their topics and thus the same worker;
		// batches of different workers touch disjoint orders. The events
		// of one book share a partition too, hence disjoint books.
		Concurrency: 4,
	}
}

type saga struct{ topics events.Topics }

// reasonSep joins the reasons of a failed order in fail_reason.
const reasonSep = "; "

// outcome returns the handler of one outcome event type T of step st: of
// reads the order id and the rejection reason ("" = success) from the event.
func outcome[T any](s *saga, st step, of func(T) (orderID, reason string)) events.Handler {
	return events.On(func(ctx context.Context, tx pgx.Tx, e T) error {
		orderID, reason := of(e)
		return s.record(ctx, tx, orderID, st, reason)
	})
}

// rejected is the reason of a rejection, fallback when the event gave none.
func rejected(reason, fallback string) string {
	if reason == "" {
		return fallback
	}
	return reason
}

type step int

const (
	stepPayment step = iota
	stepInventory
)

// record applies one step's outcome (reason "" = success) to the order
// under a row lock, and when both steps are in decides the order's final
// status and enqueues OrderCompleted or OrderFailed. The row lock
// serializes the two outcomes, which arrive concurrently from two topics:
// no update is lost and the decision is taken exactly once.
func (s *saga) record(ctx context.Context, tx pgx.Tx, orderID string, st step, reason string) error {
	id := database.UUID(uuid.MustParse(orderID)) // validated by events.On
	// One statement: UPDATE takes the row lock, and under READ COMMITTED a
	// concurrent update of the same order makes this one wait and then
	// re-evaluate WHERE and SET on the committed row — so the two outcomes
	// serialise, neither is lost, and only the one that sets the second
	// flag sees both flags (and decides). RETURNING gives the new values.
	var (
		userID, status, failReason string
		paid, stocked              bool
		total                      int64
	)
	isPayment := st == stepPayment
	// The decision's notification for long polls (FinalChannel) is sent by
	// the same statement, only by the update that sets the second flag.
	var notified bool
	err := tx.QueryRow(ctx, `
		WITH o AS (
		UPDATE orders o SET
			is_payment_processed   = o.is_payment_processed OR $2,
			is_inventory_processed = o.is_inventory_processed OR NOT $2,
			fail_reason = CASE WHEN $3 = '' THEN o.fail_reason
			                   WHEN o.fail_reason = '' THEN $3
			                   ELSE o.fail_reason || $4 || $3 END,
			status = CASE WHEN o.status = 'Pending'
			                   AND (o.is_payment_processed OR $2) AND (o.is_inventory_processed OR NOT $2)
			              THEN CASE WHEN o.fail_reason = '' AND $3 = '' THEN 'Completed' ELSE 'Failed' END
			              ELSE o.status END,
			version = o.version + 1,
			updated_at = now()
		WHERE o.id = $1 AND o.status = 'Pending'
		  AND NOT CASE WHEN $2 THEN o.is_payment_processed ELSE o.is_inventory_processed END
		RETURNING o.*)
		SELECT o.user_id::text, o.status, o.is_payment_processed, o.is_inventory_processed, o.fail_reason, o.total_price,
			CASE WHEN o.is_payment_processed AND o.is_inventory_processed
			     THEN pg_notify($5, `+finalPayloadSQL+`)::text END IS NOT NULL
		FROM o`,
		id, isPayment, reason, reasonSep, FinalChannel).Scan(&userID, &status, &paid, &stocked, &failReason, &total, &notified)
	if errors.Is(err, pgx.ErrNoRows) {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM orders WHERE id = $1)`, id).Scan(&exists); err != nil {
			return fmt.Errorf("look up order: %w", err)
		}
		if !exists {
			// The order row commits before OrderCreated is published, so
			// an outcome for an unknown order can never apply.
			return events.Permanent(fmt.Errorf("outcome for unknown order %s", orderID))
		}
		return nil // this step's outcome is already recorded, or the order is final (deadline)
	}
	if err != nil {
		return fmt.Errorf("record outcome: %w", err)
	}
	if !(paid && stocked) {
		return nil // waiting for the other step
	}
	switch status {
	case StatusCompleted:
		return events.Emit(ctx, tx, s.topics.Completed, orderID, events.TypeOrderCompleted,
			events.OrderCompleted{OrderID: orderID, UserID: userID, TotalPrice: total})
	case StatusFailed:
		return events.Emit(ctx, tx, s.topics.Orders, orderID, events.TypeOrderFailed,
			events.OrderFailed{OrderID: orderID, UserID: userID, Reasons: strings.Split(failReason, reasonSep)})
	}
	return nil
}
