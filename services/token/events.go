package token

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

// Events returns the app builder of the token service's part of the order
// saga: it charges orders (OrderCreated), refunds failed ones (OrderFailed),
// publishes the outcomes on the payments topic through the outbox, and
// consumes logouts.
func Events(c eventbus.Config) app.Builder {
	return eventbus.Builder(EventSpec(c), c)
}

// EventSpec is the token service's consumer and producer declaration.
func EventSpec(c eventbus.Config) eventbus.Spec {
	topics := c.TopicsOf()
	s := &saga{topics: topics}
	return eventbus.Participant(topics, "token", topics.Payments, s.charge, s.refund)
}

type saga struct{ topics events.Topics }

// charge takes the order's total from the user's balance, all or nothing,
// and never below zero: UPDATE ... WHERE balance >= total. The charge is
// recorded in the ledger under unique (order_id, 'charge'), so an order is
// charged at most once whatever is redelivered.
func (s *saga) charge(ctx context.Context, tx pgx.Tx, e events.OrderCreated) error {
	// Charge and ledger row in one statement; the NOT EXISTS makes a second
	// charge of one order impossible even under another event id.
	var balance int64
	err := tx.QueryRow(ctx, `
		WITH charged AS (
			UPDATE balances SET balance = balance - $2, updated_at = now()
			WHERE user_id = $1 AND balance >= $2
			  AND NOT EXISTS (SELECT 1 FROM token_ledger WHERE order_id = $3 AND kind = 'charge')
			RETURNING balance
		), recorded AS (
			INSERT INTO token_ledger (user_id, kind, amount, order_id)
			SELECT $1, 'charge', $2, $3 FROM charged
		)
		SELECT balance FROM charged`, e.UserID, e.TotalPrice, e.OrderID).Scan(&balance)
	if errors.Is(err, pgx.ErrNoRows) {
		// Rare paths: already charged, a free order, or not enough tokens.
		var charged bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM token_ledger WHERE order_id = $1 AND kind = 'charge')`,
			e.OrderID).Scan(&charged); err != nil {
			return fmt.Errorf("look up charge: %w", err)
		}
		if charged {
			return nil // already charged under another event id: nothing to do
		}
		if e.TotalPrice == 0 { // a free order for a user who never topped up
			if _, err := tx.Exec(ctx, `INSERT INTO token_ledger (user_id, kind, amount, order_id) VALUES ($1, 'charge', 0, $2)`,
				e.UserID, e.OrderID); err != nil {
				return events.RetryOnUniqueViolation("record charge", err)
			}
			err = nil
		} else {
			return events.Emit(ctx, tx, s.topics.Payments, e.OrderID, events.TypePaymentRejected, events.PaymentRejected{
				OrderID: e.OrderID, UserID: e.UserID, Amount: e.TotalPrice, Reason: events.ReasonInsufficientBalance,
			})
		}
	}
	if err != nil {
		return events.RetryOnUniqueViolation("charge balance", err)
	}
	return events.Emit(ctx, tx, s.topics.Payments, e.OrderID, events.TypePaymentSucceeded, events.PaymentSucceeded{
		OrderID: e.OrderID, UserID: e.UserID, Amount: e.TotalPrice, Balance: balance,
	})
}

// refund gives back the charge of a failed order, if there was one and it
// was not refunded yet (unique (order_id, 'refund')). OrderFailed follows
// OrderCreated on the same partition, so the charge (if any) is already
// recorded when it arrives.
func (s *saga) refund(ctx context.Context, tx pgx.Tx, e events.OrderFailed) error {
	var (
		userID string
		amount int64
	)
	err := tx.QueryRow(ctx, `
		INSERT INTO token_ledger (user_id, kind, amount, order_id)
		SELECT user_id, 'refund', amount, order_id FROM token_ledger WHERE order_id = $1 AND kind = 'charge'
		ON CONFLICT (order_id, kind) WHERE order_id IS NOT NULL DO NOTHING
		RETURNING user_id::text, amount`, e.OrderID).Scan(&userID, &amount)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // never charged, or already refunded
	}
	if err != nil {
		return fmt.Errorf("record refund: %w", err)
	}
	var balance int64
	if err := tx.QueryRow(ctx, `
		INSERT INTO balances (user_id, balance) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET balance = balances.balance + EXCLUDED.balance, updated_at = now()
		RETURNING balance`, userID, amount).Scan(&balance); err != nil {
		return fmt.Errorf("refund balance: %w", err)
	}
	return events.Emit(ctx, tx, s.topics.Payments, e.OrderID, events.TypePaymentRefunded, events.PaymentRefunded{
		OrderID: e.OrderID, UserID: userID, Amount: amount, Balance: balance,
	})
}
