package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
)

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
	// MaxPollInterval is librdkafka's max.poll.interval.ms (default 5m):
	// the poll loop never waits for the workers, so only a stuck process
	// exceeds it.
	MaxPollInterval time.Duration
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
	db   *pgxpool.Pool
	prod *Producer
	log  *slog.Logger
	m    *Metrics
	opts ConsumerOptions
}

// NewConsumer validates opts and returns a consumer; Run starts it.
func NewConsumer(k config.Kafka, db *pgxpool.Pool, prod *Producer, log *slog.Logger, m *Metrics, opts ConsumerOptions) (*Consumer, error) {
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
	if opts.MaxPollInterval <= 0 {
		opts.MaxPollInterval = 5 * time.Minute
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
		"max.poll.interval.ms":               int(c.opts.MaxPollInterval.Milliseconds()),
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
	wctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	d := &dispatcher{kc: kc, log: c.log, queues: make([]chan *kafka.Message, c.opts.Concurrency), held: map[partition][]*kafka.Message{}}
	if err := kc.SubscribeTopics(c.opts.Topics, d.rebalanced); err != nil {
		return fmt.Errorf("events: consumer %s subscribe: %w", c.opts.Name, err)
	}

	queues := d.queues
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan *kafka.Message, 2*c.opts.MaxBatch)
		wg.Add(1)
		go func(q <-chan *kafka.Message) {
			defer wg.Done()
			for msg := range q {
				batch := take(msg, q, c.opts.MaxBatch)
				if wctx.Err() != nil {
					continue // drain; not stored, so redelivered later
				}
				if err := c.process(wctx, kc, batch); err != nil {
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
		d.flush()
		ev := kc.Poll(100)
		switch e := ev.(type) {
		case nil:
		case *kafka.Message:
			d.dispatch(e)
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

// store marks msg consumed; librdkafka commits it with the next
// auto-commit. Storing fails harmlessly for a partition that was revoked
// meanwhile: its new owner gets the event again and the inbox drops it.
func (c *Consumer) store(kc *kafka.Consumer, msg *kafka.Message) {
	if _, err := kc.StoreMessage(msg); err != nil {
		c.log.Debug("store offset", "topic", topicOf(msg), "partition", msg.TopicPartition.Partition, "err", err)
	}
}
