package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
)

// Handler applies one event inside tx, the transaction that also records
// the event in the inbox. It must do all its database work through tx and
// may enqueue follow-up events with Enqueue(ctx, tx, ...). Return
// Permanent(err) for an event that can never succeed (it is dead-lettered);
// any other error is retried with backoff.
type Handler func(ctx context.Context, tx pgx.Tx, env Envelope) error

// TxBeginner starts database transactions (a *pgxpool.Pool).
type TxBeginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// ConsumerOptions describe one inbox consumer.
type ConsumerOptions struct {
	// Name identifies the consumer in the inbox and is the Kafka consumer
	// group (one group per service, e.g. "token").
	Name string
	// GroupID overrides the consumer group (default Name).
	GroupID string
	// Topics to subscribe to.
	Topics []string
	// Handlers by event type. Events of other types on these topics are
	// acknowledged and ignored.
	Handlers map[string]Handler
	// DeadLetterTopic receives poison events (default TopicDeadLetters).
	DeadLetterTopic string
	// Concurrency is how many workers apply events in parallel (default
	// 1); partitions are spread over the workers and the events of one
	// partition are always applied in order. One worker is the default
	// because each worker applies whatever is waiting as one batch
	// transaction: batches of two workers could lock the same rows (one
	// user's balance, one book) in opposite orders and deadlock.
	Concurrency int
	// MaxBatch caps how many waiting events are applied in one database
	// transaction (default 100). Batching amortises the commit (an fsync)
	// over many events under load; at low load batches hold one event.
	MaxBatch int
	// MaxBackoff caps the retry delay of transient failures (default 5s).
	MaxBackoff time.Duration
	// AfterCommit, if set, runs after an event's transaction committed and
	// before its offset is stored. An error stops the consumer right there,
	// like a process dying between the two steps; tests use it to prove
	// that the redelivered event changes nothing.
	AfterCommit func(ctx context.Context, env Envelope) error
}

// Consumer is an idempotent Kafka consumer: for every event it runs the
// handler and records (consumer, event id) in the inbox in one database
// transaction, and only then stores the Kafka offset (committed by
// librdkafka in the background and on close). A redelivered event finds its
// inbox row and changes nothing; an event that cannot be decoded or fails
// permanently goes to the dead-letter topic and the consumer goes on; a
// transient failure is retried with backoff and never skipped.
type Consumer struct {
	k    config.Kafka
	db   TxBeginner
	prod *Producer
	log  *slog.Logger
	m    *Metrics
	opts ConsumerOptions
}

// NewConsumer validates opts and returns a consumer; Run starts it.
func NewConsumer(k config.Kafka, db TxBeginner, prod *Producer, log *slog.Logger, m *Metrics, opts ConsumerOptions) (*Consumer, error) {
	if opts.Name == "" {
		return nil, errors.New("events: consumer needs a name")
	}
	if len(opts.Topics) == 0 {
		return nil, fmt.Errorf("events: consumer %s has no topics", opts.Name)
	}
	if db == nil || prod == nil {
		return nil, fmt.Errorf("events: consumer %s needs a database and a producer", opts.Name)
	}
	if opts.GroupID == "" {
		opts.GroupID = opts.Name
	}
	if opts.DeadLetterTopic == "" {
		opts.DeadLetterTopic = TopicDeadLetters
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 100
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	if m == nil {
		m, _ = NewMetrics(nil)
	}
	return &Consumer{k: k, db: db, prod: prod, log: log.With("component", "consumer", "consumer", opts.Name), m: m, opts: opts}, nil
}

// stopError is returned by a worker whose AfterCommit hook stopped it.
type stopError struct{ err error }

func (s stopError) Error() string { return "consumer stopped: " + s.err.Error() }
func (s stopError) Unwrap() error { return s.err }

// Run consumes until ctx is cancelled (returns nil) or an AfterCommit hook
// fails (returns its error). Kafka connection problems are retried by
// librdkafka; Run does not return for them.
func (c *Consumer) Run(ctx context.Context) error {
	base, err := ClientConfig(c.k)
	if err != nil {
		return err
	}
	kc, err := kafka.NewConsumer(merge(base, kafka.ConfigMap{
		"group.id":                           c.opts.GroupID,
		"client.id":                          c.opts.Name,
		"enable.auto.commit":                 true,
		"auto.commit.interval.ms":            200,
		"enable.auto.offset.store":           false, // stored by us, after the DB commit
		"auto.offset.reset":                  "earliest",
		"session.timeout.ms":                 6000,
		"heartbeat.interval.ms":              1000,
		"fetch.wait.max.ms":                  100,
		"topic.metadata.refresh.interval.ms": 10000,
	}))
	if err != nil {
		return fmt.Errorf("events: consumer %s: %w", c.opts.Name, err)
	}
	go forwardLogs(kc.Logs(), c.log)
	defer func() {
		// Close commits the offsets stored so far and leaves the group. It
		// talks to the brokers; do not let an unreachable cluster hold the
		// shutdown (uncommitted offsets only mean redeliveries).
		closed := make(chan error, 1)
		go func() { closed <- kc.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				c.log.Warn("consumer close", "err", err)
			}
		case <-time.After(10 * time.Second):
			c.log.Warn("consumer close timed out")
		}
	}()
	if err := kc.SubscribeTopics(c.opts.Topics, nil); err != nil {
		return fmt.Errorf("events: consumer %s subscribe: %w", c.opts.Name, err)
	}

	wctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	queues := make([]chan *kafka.Message, c.opts.Concurrency)
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan *kafka.Message, 256)
		wg.Add(1)
		go func(q <-chan *kafka.Message) {
			defer wg.Done()
			for msg := range q {
				batch := []*kafka.Message{msg}
			more:
				for len(batch) < c.opts.MaxBatch {
					select {
					case m, ok := <-q:
						if !ok {
							break more
						}
						batch = append(batch, m)
					default:
						break more
					}
				}
				if wctx.Err() != nil {
					continue // drain; not stored, so redelivered later
				}
				if err := c.processBatch(wctx, kc, batch); err != nil {
					var se stopError
					if errors.As(err, &se) {
						stop(err)
					}
				}
			}
		}(queues[i])
	}

	c.log.Info("consumer started", "topics", c.opts.Topics, "group", c.opts.GroupID)
	for wctx.Err() == nil {
		ev := kc.Poll(100)
		switch e := ev.(type) {
		case nil:
		case *kafka.Message:
			q := queues[int(e.TopicPartition.Partition)%len(queues)]
			select {
			case q <- e:
			case <-wctx.Done():
			}
		case kafka.Error:
			if e.IsFatal() {
				c.log.Error("kafka consumer fatal error", "err", e)
			} else {
				c.log.Debug("kafka consumer error", "err", e)
			}
		}
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	if cause := context.Cause(wctx); cause != nil && ctx.Err() == nil {
		var se stopError
		if errors.As(cause, &se) {
			return se.err
		}
	}
	return nil
}

// batchItem is a decoded message with its handler.
type batchItem struct {
	msg *kafka.Message
	env Envelope
	h   Handler
}

// processBatch applies messages that were waiting together: poison ones are
// dead-lettered, the others are applied in one transaction (in order), and
// only then are the offsets stored. If the batch transaction fails, its
// messages are applied one by one instead, each with its own retries and
// dead-lettering.
func (c *Consumer) processBatch(ctx context.Context, kc *kafka.Consumer, batch []*kafka.Message) error {
	if len(batch) == 1 {
		return c.process(ctx, kc, batch[0])
	}
	var items []batchItem
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
		items = append(items, batchItem{msg: msg, env: env, h: h})
	}
	if len(items) > 0 {
		start := time.Now()
		dups, err := c.applyBatch(ctx, items)
		switch {
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			c.log.Debug("batch failed, applying its events one by one", "events", len(items), "err", err)
			for _, it := range items {
				if err := c.processDecoded(ctx, kc, it.msg, it.env, it.h); err != nil {
					return err
				}
			}
		default:
			c.m.HandleSeconds.WithLabelValues(c.opts.Name).Observe(time.Since(start).Seconds())
			c.m.BatchSize.WithLabelValues(c.opts.Name).Observe(float64(len(items)))
			for i, it := range items {
				outcome := "processed"
				if dups[i] {
					outcome = "duplicate"
				}
				c.m.Consumed.WithLabelValues(c.opts.Name, it.env.Type, outcome).Inc()
			}
			if c.opts.AfterCommit != nil {
				for _, it := range items {
					if err := c.opts.AfterCommit(ctx, it.env); err != nil {
						return stopError{err: err}
					}
				}
			}
		}
	}
	// In batch order, so each partition's stored offset only moves forward.
	for _, msg := range batch {
		if err := c.store(kc, msg); err != nil {
			return err
		}
	}
	return nil
}

// applyBatch records every event of items in the inbox with one statement
// and runs the handlers of the new ones in order, all in one transaction.
// dups[i] reports that items[i] had already been applied (or appears
// earlier in the batch). Any handler error fails the whole batch.
func (c *Consumer) applyBatch(ctx context.Context, items []batchItem) (dups []bool, err error) {
	tx, err := c.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
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
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return dups, nil
}

// process applies one message: decode, handle exactly once, dead-letter or
// retry, then store the offset.
func (c *Consumer) process(ctx context.Context, kc *kafka.Consumer, msg *kafka.Message) error {
	env, err := Parse(msg.Value)
	if err != nil {
		if err := c.deadLetter(ctx, msg, "", err); err != nil {
			return err
		}
		return c.store(kc, msg)
	}
	h, ok := c.opts.Handlers[env.Type]
	if !ok {
		c.m.Consumed.WithLabelValues(c.opts.Name, typeLabel(env.Type), "ignored").Inc()
		return c.store(kc, msg)
	}
	return c.processDecoded(ctx, kc, msg, env, h)
}

// processDecoded applies one decoded event exactly once, retrying transient
// failures and dead-lettering permanent ones, then stores its offset.
func (c *Consumer) processDecoded(ctx context.Context, kc *kafka.Consumer, msg *kafka.Message, env Envelope, h Handler) error {
	b := newBackoff(50*time.Millisecond, c.opts.MaxBackoff)
	for {
		start := time.Now()
		dup, err := c.apply(ctx, h, env, topicOf(msg))
		if err == nil {
			c.m.HandleSeconds.WithLabelValues(c.opts.Name).Observe(time.Since(start).Seconds())
			c.m.BatchSize.WithLabelValues(c.opts.Name).Observe(1)
			outcome := "processed"
			if dup {
				outcome = "duplicate"
			}
			c.m.Consumed.WithLabelValues(c.opts.Name, env.Type, outcome).Inc()
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if IsPermanent(err) {
			if err := c.deadLetter(ctx, msg, env.Type, err); err != nil {
				return err
			}
			return c.store(kc, msg)
		}
		c.m.HandlerRetries.WithLabelValues(c.opts.Name).Inc()
		d := b.next()
		c.log.Warn("event handling failed, retrying", "type", env.Type, "id", env.ID, "err", err, "backoff", d)
		if !sleep(ctx, d) {
			return ctx.Err()
		}
	}
	if c.opts.AfterCommit != nil {
		if err := c.opts.AfterCommit(ctx, env); err != nil {
			return stopError{err: err}
		}
	}
	return c.store(kc, msg)
}

// apply runs the handler and the inbox insert in one transaction. It
// reports dup=true when the event had already been applied.
func (c *Consumer) apply(ctx context.Context, h Handler, env Envelope, topic string) (dup bool, err error) {
	tx, err := c.db.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	tag, err := tx.Exec(ctx, `
		INSERT INTO inbox (consumer, event_id, event_type, topic) VALUES ($1, $2, $3, $4)
		ON CONFLICT (consumer, event_id) DO NOTHING`, c.opts.Name, env.ID, env.Type, topic)
	if err != nil {
		return false, fmt.Errorf("inbox: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return true, nil
	}
	if err := h(ctx, tx, env); err != nil {
		return false, fmt.Errorf("handle %s %s: %w", env.Type, env.ID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	return false, nil
}

// Dead-letter headers added to the original message's headers.
const (
	HeaderDLQError     = "x-dlq-error"
	HeaderDLQConsumer  = "x-dlq-consumer"
	HeaderDLQTopic     = "x-dlq-topic"
	HeaderDLQPartition = "x-dlq-partition"
	HeaderDLQOffset    = "x-dlq-offset"
	HeaderDLQTime      = "x-dlq-time"
)

// deadLetter publishes msg unchanged to the dead-letter topic with the
// error in the headers, retrying until Kafka acknowledges it.
func (c *Consumer) deadLetter(ctx context.Context, msg *kafka.Message, typ string, cause error) error {
	headers := map[string]string{}
	for _, h := range msg.Headers {
		headers[h.Key] = string(h.Value)
	}
	headers[HeaderDLQError] = cause.Error()
	headers[HeaderDLQConsumer] = c.opts.Name
	headers[HeaderDLQTopic] = topicOf(msg)
	headers[HeaderDLQPartition] = strconv.Itoa(int(msg.TopicPartition.Partition))
	headers[HeaderDLQOffset] = msg.TopicPartition.Offset.String()
	headers[HeaderDLQTime] = time.Now().UTC().Format(time.RFC3339Nano)
	b := newBackoff(100*time.Millisecond, c.opts.MaxBackoff)
	for {
		err := c.prod.Publish(ctx, c.opts.DeadLetterTopic, string(msg.Key), msg.Value, headers)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d := b.next()
		c.log.Warn("dead-letter publish failed, retrying", "err", err, "backoff", d)
		if !sleep(ctx, d) {
			return ctx.Err()
		}
	}
	if typ == "" {
		typ = "undecodable"
	}
	c.m.DeadLettered.WithLabelValues(c.opts.Name, topicOf(msg)).Inc()
	c.m.Consumed.WithLabelValues(c.opts.Name, typeLabel(typ), "dead_lettered").Inc()
	c.log.Error("event dead-lettered", "type", typ, "topic", topicOf(msg),
		"partition", msg.TopicPartition.Partition, "offset", msg.TopicPartition.Offset, "err", cause)
	return nil
}

// store marks msg consumed; librdkafka commits it with the next
// auto-commit. Storing fails harmlessly for a partition that was revoked
// meanwhile: its new owner gets the event again and the inbox drops it.
func (c *Consumer) store(kc *kafka.Consumer, msg *kafka.Message) error {
	if _, err := kc.StoreMessage(msg); err != nil {
		c.log.Debug("store offset", "topic", topicOf(msg), "partition", msg.TopicPartition.Partition, "err", err)
	}
	return nil
}
