package events

import (
	"context"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/bookstore-platform/bookstore/internal/platform/database"
)

// item is a decoded message with its handler.
type item struct {
	msg *kafka.Message
	env Envelope
	h   Handler
}

// process applies messages that were waiting together (often just one):
// undecodable ones are dead-lettered, those without a handler ignored, the
// others applied in order by apply, and only then are the offsets stored,
// in batch order so that each partition's stored offset only moves forward.
func (c *Consumer) process(ctx context.Context, kc *kafka.Consumer, batch []*kafka.Message) error {
	items := make([]item, 0, len(batch))
	for _, msg := range batch {
		env, err := Parse(msg.Value)
		if err != nil {
			if err := c.deadLetter(ctx, msg, "", err); err != nil {
				return err
			}
			continue
		}
		h, ok := c.opts.Handlers[env.Type]
		if !ok {
			c.m.Consumed.WithLabelValues(c.opts.Name, typeLabel(env.Type), "ignored").Inc()
			continue
		}
		items = append(items, item{msg: msg, env: env, h: h})
	}
	if len(items) > 0 {
		if err := c.apply(ctx, items); err != nil {
			return err
		}
	}
	for _, msg := range batch {
		c.store(kc, msg)
	}
	return nil
}

// apply applies items exactly once in one transaction. If that fails, a
// batch of several is applied again as batches of one, so that one bad
// event does not hold the others; a batch of one is retried with backoff
// until it commits, or dead-lettered when its error is permanent.
func (c *Consumer) apply(ctx context.Context, items []item) error {
	b := NewBackoff(50*time.Millisecond, c.opts.MaxBackoff)
	for {
		start := time.Now()
		dups, err := c.commit(ctx, items)
		if err == nil {
			c.m.HandleSeconds.WithLabelValues(c.opts.Name).Observe(time.Since(start).Seconds())
			c.m.BatchSize.WithLabelValues(c.opts.Name).Observe(float64(len(items)))
			for i, it := range items {
				outcome := "processed"
				if dups[i] {
					outcome = "duplicate"
				}
				c.m.Consumed.WithLabelValues(c.opts.Name, it.env.Type, outcome).Inc()
			}
			return c.afterCommit(ctx, items)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(items) > 1 {
			c.log.Debug("batch failed, applying its events one by one", "events", len(items), "err", err)
			for _, it := range items {
				if err := c.apply(ctx, []item{it}); err != nil {
					return err
				}
			}
			return nil
		}
		it := items[0]
		if IsPermanent(err) {
			return c.deadLetter(ctx, it.msg, it.env.Type, err)
		}
		c.m.HandlerRetries.WithLabelValues(c.opts.Name).Inc()
		d := b.Next()
		c.log.Warn("event handling failed, retrying", "type", it.env.Type, "id", it.env.ID, "err", err, "backoff", d)
		if !Sleep(ctx, d) {
			return ctx.Err()
		}
	}
}

// afterCommit runs the AfterCommit hook for each applied event; its error
// stops the consumer before the offsets are stored.
func (c *Consumer) afterCommit(ctx context.Context, items []item) error {
	if c.opts.AfterCommit == nil {
		return nil
	}
	for _, it := range items {
		if err := c.opts.AfterCommit(ctx, it.env); err != nil {
			return stopError{err: err}
		}
	}
	return nil
}

// commit records every event of items in the inbox with one statement, runs
// the handlers of the new ones in order and writes the events they enqueued
// with one more (batchTx), all in one transaction.
// dups[i] reports that items[i] had already been applied (or appears
// earlier in the batch). Any handler error fails the whole batch.
func (c *Consumer) commit(ctx context.Context, items []item) (dups []bool, err error) {
	// Pipelined: BEGIN travels with the inbox insert, the outbox insert
	// (flush) with the COMMIT.
	raw, err := database.Begin(ctx, c.db)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = raw.Rollback(context.WithoutCancel(ctx)) }()
	tx := &batchTx{Tx: raw}
	ids := make([]string, len(items))
	types := make([]string, len(items))
	topics := make([]string, len(items))
	for i, it := range items {
		ids[i], types[i], topics[i] = it.env.ID, it.env.Type, topicOf(it.msg)
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO inbox (consumer, event_id, event_type, topic)
		SELECT $1, e.id, e.type, e.topic FROM unnest($2::text[], $3::text[], $4::text[]) AS e(id, type, topic)
		ON CONFLICT (consumer, event_id) DO NOTHING
		RETURNING event_id`, c.opts.Name, ids, types, topics)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	fresh := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("inbox: %w", err)
		}
		fresh[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	dups = make([]bool, len(items))
	for i, it := range items {
		if !fresh[it.env.ID] {
			dups[i] = true
			continue
		}
		delete(fresh, it.env.ID) // a second copy later in the batch is a duplicate
		if err := it.h(ctx, tx, it.env); err != nil {
			return nil, fmt.Errorf("handle %s %s: %w", it.env.Type, it.env.ID, err)
		}
	}
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return dups, nil
}
