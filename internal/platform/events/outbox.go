package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// OutboxChannel is the PostgreSQL NOTIFY channel Enqueue signals on; the
// relay LISTENs on it. Notifications are delivered on commit only, in commit
// order, so the relay never sees a rolled-back row.
const OutboxChannel = "bookstore_outbox"

// Enqueue writes env to the outbox in the caller's transaction, so the event
// exists if and only if the state change that caused it commits, and wakes
// the relay on commit. key is the aggregate id (order id, user id).
func Enqueue(ctx context.Context, tx pgx.Tx, topic, key string, env Envelope) error {
	return EnqueueWithHeaders(ctx, tx, topic, key, env, nil)
}

// Emit creates an event of typ with data (New) and enqueues it (Enqueue) in
// the caller's transaction.
func Emit(ctx context.Context, tx pgx.Tx, topic, key, typ string, data any) error {
	env, err := New(typ, data)
	if err != nil {
		return err
	}
	return Enqueue(ctx, tx, topic, key, env)
}

// EnqueueWithHeaders is Enqueue with extra Kafka headers on the message.
func EnqueueWithHeaders(ctx context.Context, tx pgx.Tx, topic, key string, env Envelope, headers map[string]string) error {
	if topic == "" {
		return fmt.Errorf("events: enqueue %s: empty topic", env.Type)
	}
	payload, err := env.Marshal()
	if err != nil {
		return err
	}
	if headers == nil {
		headers = map[string]string{}
	}
	hdr, err := json.Marshal(headers)
	if err != nil {
		return fmt.Errorf("events: enqueue %s: headers: %w", env.Type, err)
	}
	note, err := notePayload(topic, key, payload, hdr)
	if err != nil {
		return fmt.Errorf("events: enqueue %s: %w", env.Type, err)
	}
	row := pendingRow{topic: topic, key: key, payload: payload, headers: hdr, eventID: env.ID, eventType: env.Type, note: note}
	if b, ok := tx.(*batchTx); ok {
		// A consumer's batch transaction: written with the batch's other
		// events in one statement just before the commit (batchtx.go).
		b.pending = append(b.pending, row)
		return nil
	}
	return insertOutbox(ctx, tx, []pendingRow{row})
}
