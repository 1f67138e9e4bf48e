package events

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/database"
)

// pendingRow is an outbox row to insert; note is its NOTIFY payload
// (notify.go), "" when the row is too large for one.
type pendingRow struct {
	topic, key         string
	payload, headers   []byte
	eventID, eventType string
	note               string
}

// batchTx is the transaction a consumer hands its handlers: the events they
// enqueue are kept and written by flush, all in one statement, right before
// the batch commits. A batch of n events then costs one outbox round trip
// instead of n, and the rows keep the order in which they were enqueued.
type batchTx struct {
	pgx.Tx
	pending []pendingRow
}

// flush inserts the kept rows; the transaction must not commit without it.
func (b *batchTx) flush(ctx context.Context) error {
	if len(b.pending) == 0 {
		return nil
	}
	err := insertOutbox(ctx, b.Tx, b.pending)
	b.pending = nil
	return err
}

// insertOutbox writes rows in order with one statement and sends each one's
// notification, which PostgreSQL delivers on commit in the same order.
// Identity values are assigned in the sorted order of the SELECT, and the
// volatile pg_notify is evaluated after the final ORDER BY.
func insertOutbox(ctx context.Context, tx pgx.Tx, rows []pendingRow) error {
	n := len(rows)
	topics, keys, payloads, headers := make([]string, n), make([]string, n), make([][]byte, n), make([]string, n)
	ids, types, notes := make([]string, n), make([]string, n), make([]string, n)
	for i, r := range rows {
		topics[i], keys[i], payloads[i], headers[i] = r.topic, r.key, r.payload, string(r.headers)
		ids[i], types[i], notes[i] = r.eventID, r.eventType, r.note
	}
	// At commit: in a pipelined transaction (database.Tx) the rows travel
	// with the COMMIT; their ids are still assigned in this order.
	return database.ExecAtCommit(ctx, tx, "events: enqueue outbox rows", `
		WITH r AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[], $5::text[], $6::text[], $7::text[])
				WITH ORDINALITY AS r(topic, key, payload, headers, event_id, event_type, note, ord)
		), ins AS (
			INSERT INTO outbox (topic, key, payload, headers, event_id, event_type)
			SELECT topic, key, payload, headers, event_id, event_type FROM r ORDER BY ord
			RETURNING id, created_at
		)
		SELECT pg_notify($8, CASE WHEN r.note = '' THEN ''
			ELSE ins.id || ' ' || (extract(epoch FROM ins.created_at) * 1000000)::bigint || ' ' || r.note END)
		FROM (SELECT id, created_at, row_number() OVER (ORDER BY id) AS ord FROM ins) ins JOIN r USING (ord)
		ORDER BY ins.id`,
		topics, keys, payloads, headers, ids, types, notes, OutboxChannel)
}
