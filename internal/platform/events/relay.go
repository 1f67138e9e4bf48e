package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RelayOptions tune the outbox relay; zero values take the defaults.
type RelayOptions struct {
	// BatchSize is the most rows published per round (default 500).
	BatchSize int
	// PollInterval is the fallback poll when no notification arrives
	// (default 2s). Normally the relay wakes on the NOTIFY sent by Enqueue.
	PollInterval time.Duration
	// StandbyInterval is how often a standby replica tries to take over the
	// relay lock (default 2s).
	StandbyInterval time.Duration
	// Retention is how long sent rows are kept for inspection (default 1h).
	Retention time.Duration
	// LockKey is the advisory lock that elects one active relay per
	// database (default: a hash of "bookstore.outbox.relay").
	LockKey int64
	// DeliveryTimeout bounds the wait for Kafka's acknowledgements of one
	// round (default 60s).
	DeliveryTimeout time.Duration
}

func (o RelayOptions) withDefaults() RelayOptions {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.StandbyInterval <= 0 {
		o.StandbyInterval = 2 * time.Second
	}
	if o.Retention <= 0 {
		o.Retention = time.Hour
	}
	if o.LockKey == 0 {
		h := fnv.New64a()
		h.Write([]byte("bookstore.outbox.relay"))
		o.LockKey = int64(h.Sum64() >> 1)
	}
	if o.DeliveryTimeout <= 0 {
		o.DeliveryTimeout = 60 * time.Second
	}
	return o
}

// Relay publishes the outbox of one database to Kafka.
//
// Exactly one replica is active per database: it holds a session advisory
// lock on a dedicated connection (released by PostgreSQL if the process
// dies), LISTENs on OutboxChannel, and publishes unsent rows in id order
// through the idempotent producer. A row is marked sent only after Kafka
// acknowledged it (acks=all); if the relay dies in between, the row is
// published again after restart and consumers drop the duplicate by event
// id. Rows are never deleted before they are sent.
type Relay struct {
	pool *pgxpool.Pool
	prod *Producer
	log  *slog.Logger
	m    *Metrics
	opts RelayOptions
}

// NewRelay returns a relay for pool's database publishing with prod.
func NewRelay(pool *pgxpool.Pool, prod *Producer, log *slog.Logger, m *Metrics, opts RelayOptions) *Relay {
	if log == nil {
		log = slog.Default()
	}
	if m == nil {
		m, _ = NewMetrics(nil)
	}
	return &Relay{pool: pool, prod: prod, log: log.With("component", "outbox-relay"), m: m, opts: opts.withDefaults()}
}

// Run relays until ctx is cancelled; it retries database and Kafka failures
// with backoff and only returns when ctx is done.
func (r *Relay) Run(ctx context.Context) error {
	backoff := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		err := r.lead(ctx)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			r.m.RelayErrors.Inc()
			d := backoff.next()
			r.log.Warn("outbox relay failed, retrying", "err", err, "backoff", d)
			sleep(ctx, d)
			continue
		}
		backoff.reset()
	}
	return nil
}

// lead connects, waits to become the active relay, then publishes until an
// error or cancellation.
func (r *Relay) lead(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, r.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("relay connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx) // releases the advisory lock and the LISTEN
	}()

	for {
		var locked bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, r.opts.LockKey).Scan(&locked); err != nil {
			return fmt.Errorf("relay lock: %w", err)
		}
		if locked {
			break
		}
		if !sleep(ctx, r.opts.StandbyInterval) {
			return nil
		}
	}
	r.log.Debug("outbox relay active")
	// This connection only reads the outbox and marks rows sent. Losing a
	// mark in a database crash re-publishes the row (a duplicate consumers
	// drop), so its commits need not wait for the WAL flush.
	if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
		return fmt.Errorf("relay session: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{OutboxChannel}.Sanitize()); err != nil {
		return fmt.Errorf("relay listen: %w", err)
	}

	nextPurge := time.Now()
	for {
		// Notifications buffered so far belong to commits that happened
		// before this round's read, which will see their rows. Drop them
		// before reading, never after: a commit landing during the round
		// must still wake the next one.
		drainNotifications(conn)
		n, err := r.publishBatch(ctx, conn)
		if err != nil {
			return err
		}
		if time.Now().After(nextPurge) {
			if _, err := conn.Exec(ctx, `DELETE FROM outbox WHERE sent_at < now() - make_interval(secs => $1)`, r.opts.Retention.Seconds()); err != nil {
				return fmt.Errorf("relay purge: %w", err)
			}
			nextPurge = time.Now().Add(10 * time.Minute)
		}
		if n >= r.opts.BatchSize {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, r.opts.PollInterval)
		_, err = conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil, errors.Is(err, context.DeadlineExceeded) || wctx.Err() != nil:
			// woken, or fallback poll
		default:
			return fmt.Errorf("relay wait: %w", err)
		}
	}
}

func drainNotifications(conn *pgx.Conn) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		n, _ := conn.WaitForNotification(done)
		if n == nil {
			return
		}
	}
}

type outboxRow struct {
	id        int64
	topic     string
	key       string
	payload   []byte
	headers   map[string]string
	createdAt time.Time
}

// publishBatch publishes up to BatchSize unsent rows in id order and marks
// the acknowledged ones sent. It returns how many rows it read.
func (r *Relay) publishBatch(ctx context.Context, conn *pgx.Conn) (int, error) {
	rows, err := conn.Query(ctx, `
		SELECT id, topic, key, payload, headers, created_at
		FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1`, r.opts.BatchSize)
	if err != nil {
		return 0, fmt.Errorf("relay read outbox: %w", err)
	}
	var batch []outboxRow
	for rows.Next() {
		var row outboxRow
		var hdr []byte
		if err := rows.Scan(&row.id, &row.topic, &row.key, &row.payload, &hdr, &row.createdAt); err != nil {
			rows.Close()
			return 0, fmt.Errorf("relay scan outbox: %w", err)
		}
		if len(hdr) > 0 {
			if err := json.Unmarshal(hdr, &row.headers); err != nil {
				r.log.Warn("outbox row with bad headers, sending without", "id", row.id, "err", err)
			}
		}
		batch = append(batch, row)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("relay read outbox: %w", err)
	}
	if len(batch) == 0 {
		return 0, nil
	}

	report := make(chan kafka.Event, len(batch))
	produced := 0
	var produceErr error
	for i := range batch {
		row := &batch[i]
		msg := &kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &row.topic, Partition: kafka.PartitionAny},
			Key:            []byte(row.key),
			Value:          row.payload,
			Headers:        toHeaders(row.headers),
			Opaque:         i,
		}
		if err := r.prod.produce(ctx, msg, report); err != nil {
			// Stop here: later rows of the same key must not overtake this one.
			produceErr = err
			break
		}
		produced++
	}

	sent := make([]int64, 0, produced)
	var deliveryErr error
	timeout := time.NewTimer(r.opts.DeliveryTimeout)
	defer timeout.Stop()
	now := time.Now()
	for got := 0; got < produced; got++ {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-timeout.C:
			deliveryErr = errors.New("relay: timed out waiting for delivery reports")
			got = produced
		case ev := <-report:
			m, ok := ev.(*kafka.Message)
			if !ok {
				continue
			}
			row := batch[m.Opaque.(int)]
			if m.TopicPartition.Error != nil {
				if deliveryErr == nil {
					deliveryErr = fmt.Errorf("relay: deliver outbox row %d to %s: %w", row.id, row.topic, m.TopicPartition.Error)
				}
				continue
			}
			sent = append(sent, row.id)
			r.m.Published.WithLabelValues(row.topic).Inc()
			r.m.RelayLag.Observe(now.Sub(row.createdAt).Seconds())
		}
	}
	if len(sent) > 0 {
		// Marking uses a fresh context: the rows are in Kafka, do not leave
		// them unmarked just because shutdown began.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(mctx, `UPDATE outbox SET sent_at = now() WHERE id = ANY($1)`, sent); err != nil {
			return 0, fmt.Errorf("relay mark sent: %w", err)
		}
	}
	if err := errors.Join(produceErr, deliveryErr); err != nil {
		return 0, err
	}
	return len(batch), nil
}
