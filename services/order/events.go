package order

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

// Events returns the app builder of the order service's part of the saga:
// it records the outcomes of payment and stock on the order, decides
// Completed or Failed once both are in, publishes OrderCompleted or
// OrderFailed (which makes token and inventory compensate) through the
// outbox, and consumes logouts.
func Events(c eventbus.Config) app.Builder {
	topics := c.TopicsOf()
	h := &saga{topics: topics}
	return eventbus.Builder(eventbus.Spec{
		Service:  "order",
		Produces: []string{topics.Orders},
		Consumes: []string{topics.Payments, topics.Inventory, topics.Users},
		Handlers: map[string]events.Handler{
			events.TypePaymentSucceeded: h.payment,
			events.TypePaymentRejected:  h.payment,
			events.TypeStockReserved:    h.stock,
			events.TypeStockRejected:    h.stock,
		},
	}, c)
}

type saga struct{ topics events.Topics }

// reasonSep joins the reasons of a failed order in fail_reason.
const reasonSep = "; "

func (s *saga) payment(ctx context.Context, tx pgx.Tx, env events.Envelope) error {
	var orderID, reason string
	switch env.Type {
	case events.TypePaymentSucceeded:
		var e events.PaymentSucceeded
		if err := env.Decode(&e); err != nil {
			return err
		}
		orderID = e.OrderID
	default:
		var e events.PaymentRejected
		if err := env.Decode(&e); err != nil {
			return err
		}
		orderID, reason = e.OrderID, e.Reason
		if reason == "" {
			reason = "payment rejected"
		}
	}
	return s.record(ctx, tx, orderID, stepPayment, reason)
}

func (s *saga) stock(ctx context.Context, tx pgx.Tx, env events.Envelope) error {
	var orderID, reason string
	switch env.Type {
	case events.TypeStockReserved:
		var e events.StockReserved
		if err := env.Decode(&e); err != nil {
			return err
		}
		orderID = e.OrderID
	default:
		var e events.StockRejected
		if err := env.Decode(&e); err != nil {
			return err
		}
		orderID, reason = e.OrderID, e.Reason
		if reason == "" {
			reason = "stock rejected"
		}
	}
	return s.record(ctx, tx, orderID, stepInventory, reason)
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
	id, err := uuid.Parse(orderID)
	if err != nil {
		return events.Permanent(fmt.Errorf("invalid order id %q", orderID))
	}
	var (
		userID, status, failReason string
		paid, stocked              bool
		total                      int64
	)
	err = tx.QueryRow(ctx, `
		SELECT user_id::text, status, is_payment_processed, is_inventory_processed, fail_reason, total_price
		FROM orders WHERE id = $1 FOR UPDATE`, id).Scan(&userID, &status, &paid, &stocked, &failReason, &total)
	if errors.Is(err, pgx.ErrNoRows) {
		// The order row commits before OrderCreated is published, so an
		// outcome for an unknown order can never apply.
		return events.Permanent(fmt.Errorf("outcome for unknown order %s", orderID))
	}
	if err != nil {
		return fmt.Errorf("lock order: %w", err)
	}
	switch {
	case st == stepPayment && paid, st == stepInventory && stocked:
		return nil // this step's outcome is already recorded
	case st == stepPayment:
		paid = true
	default:
		stocked = true
	}
	var reasons []string
	if failReason != "" {
		reasons = strings.Split(failReason, reasonSep)
	}
	if reason != "" {
		reasons = append(reasons, reason)
	}
	if status == StatusPending && paid && stocked {
		if len(reasons) == 0 {
			status = StatusCompleted
		} else {
			status = StatusFailed
		}
	}
	if _, err := tx.Exec(ctx, `
		UPDATE orders SET is_payment_processed = $2, is_inventory_processed = $3, fail_reason = $4,
			status = $5, version = version + 1, updated_at = now()
		WHERE id = $1`, id, paid, stocked, strings.Join(reasons, reasonSep), status); err != nil {
		return fmt.Errorf("update order: %w", err)
	}
	if !(paid && stocked) {
		return nil
	}
	var out events.Envelope
	switch status {
	case StatusCompleted:
		out, err = events.New(events.TypeOrderCompleted, events.OrderCompleted{OrderID: orderID, UserID: userID, TotalPrice: total})
	case StatusFailed:
		out, err = events.New(events.TypeOrderFailed, events.OrderFailed{OrderID: orderID, UserID: userID, Reasons: reasons})
	default:
		return nil
	}
	if err != nil {
		return err
	}
	return events.Enqueue(ctx, tx, s.topics.Orders, orderID, out)
}
