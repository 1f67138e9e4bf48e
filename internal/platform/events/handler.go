package events

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Handler applies one event inside tx, the transaction that also records
// the event in the inbox. It must do all its database work through tx and
// may enqueue follow-up events with Enqueue(ctx, tx, ...). Return
// Permanent(err) for an event that can never succeed (it is dead-lettered);
// any other error is retried with backoff.
type Handler func(ctx context.Context, tx pgx.Tx, env Envelope) error

// Validator is a payload that can check itself: an event whose Validate
// fails breaks the contract and can never apply.
type Validator interface {
	Validate() error
}

// On adapts a handler of one payload type to a Handler, as controller-
// runtime's reconcile.TypedFunc adapts a typed reconcile function: it
// decodes the envelope's data into a T, checks it with T's Validate method
// if it has one, and calls fn with it. Malformed data and a failed
// validation are permanent errors (the event is dead-lettered).
func On[T any](fn func(ctx context.Context, tx pgx.Tx, ev T) error) Handler {
	return func(ctx context.Context, tx pgx.Tx, env Envelope) error {
		var ev T
		if err := env.Decode(&ev); err != nil {
			return err
		}
		if v, ok := any(ev).(Validator); ok {
			if err := v.Validate(); err != nil {
				return Permanent(fmt.Errorf("events: invalid %s %s: %w", env.Type, env.ID, err))
			}
		}
		return fn(ctx, tx, ev)
	}
}
