package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"strings"
	"sync"
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
	// DeliveryTimeout bounds how long a stopping relay waits for the
	// acknowledgements of rows in flight (default 60s; unacknowledged rows
	// are published again by the next active relay).
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
	// This connection only reads the outbox and purges sent rows; nothing
	// it commits needs to wait for the WAL flush.
	if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
		return fmt.Errorf("relay session: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{OutboxChannel}.Sanitize()); err != nil {
		return fmt.Errorf("relay listen: %w", err)
	}

	ss := newSession(r)
	ackCtx, stopAcker := context.WithCancel(context.WithoutCancel(ctx))
	ackerDone := make(chan struct{})
	go func() { defer close(ackerDone); ss.acker(ackCtx) }()
	defer func() {
		// Let outstanding deliveries be acknowledged and marked, so that a
		// clean shutdown or a session restart re-publishes as little as
		// possible; whatever is left is re-published later (duplicates).
		grace := r.opts.DeliveryTimeout
		if ctx.Err() != nil {
			grace = min(grace, 2*time.Second) // shutting down: do not hold the process
		}
		ss.waitIdle(grace)
		stopAcker()
		<-ackerDone
	}()

	nextPurge := time.Now()
	for {
		// Notifications buffered so far belong to commits that happened
		// before this round's read, which will see their rows. Drop them
		// before reading, never after: a commit landing during the round
		// must still wake the next one.
		drainNotifications(conn)
		if err := ss.failure(); err != nil {
			// A delivery or a mark failed: end the session; the next one
			// re-reads every unsent row in id order.
			return err
		}
		n, err := ss.publish(ctx, conn)
		if err != nil {
			return err
		}
		if time.Now().After(nextPurge) {
			if _, err := conn.Exec(ctx, `DELETE FROM outbox WHERE sent_at < now() - make_interval(secs => $1)`, r.opts.Retention.Seconds()); err != nil {
				return fmt.Errorf("relay purge: %w", err)
			}
			nextPurge = time.Now().Add(10 * time.Minute)
		}
		if ss.full() {
			// Back-pressure: wait for acknowledgements before reading more.
			select {
			case <-ctx.Done():
				return nil
			case <-ss.space:
			case <-time.After(r.opts.PollInterval):
			}
			continue
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

// session is the state of one active relay: the rows produced and not yet
// acknowledged and marked sent ("in flight"). Reading, producing and
// marking are pipelined: the relay reads and produces new rows while
// earlier ones are still waiting for Kafka's acknowledgement, and a
// separate goroutine marks acknowledged rows sent. A row stays in flight
// until its mark committed, so it is never produced twice by one session.
type session struct {
	r        *Relay
	report   chan kafka.Event
	space    chan struct{}
	mu       sync.Mutex
	inflight map[int64]outboxRow
	err      error
}

func newSession(r *Relay) *session {
	return &session{
		r: r,
		// Room for every report of a full session (at most maxInFlight
		// plus one batch), so librdkafka never blocks on this channel.
		report:   make(chan kafka.Event, 5*r.opts.BatchSize),
		space:    make(chan struct{}, 1),
		inflight: map[int64]outboxRow{},
	}
}

func (s *session) maxInFlight() int { return 4 * s.r.opts.BatchSize }

func (s *session) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inflight) >= s.maxInFlight()
}

func (s *session) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *session) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// waitIdle waits up to d for every in-flight row to be settled.
func (s *session) waitIdle(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		n := len(s.inflight)
		s.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// publish reads up to BatchSize unsent rows that are not in flight, in id
// order, and produces them. It returns how many rows it read.
func (s *session) publish(ctx context.Context, conn *pgx.Conn) (int, error) {
	s.mu.Lock()
	skip := make([]int64, 0, len(s.inflight))
	for id := range s.inflight {
		skip = append(skip, id)
	}
	s.mu.Unlock()
	rows, err := conn.Query(ctx, `
		SELECT id, topic, key, payload, headers, created_at
		FROM outbox WHERE sent_at IS NULL AND id <> ALL($2::bigint[]) ORDER BY id LIMIT $1`, s.r.opts.BatchSize, skip)
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
				s.r.log.Warn("outbox row with bad headers, sending without", "id", row.id, "err", err)
			}
		}
		batch = append(batch, row)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("relay read outbox: %w", err)
	}
	if err := s.failure(); err != nil {
		return 0, err // a failed row may be among these: never let later rows overtake it
	}
	for i := range batch {
		row := batch[i]
		s.mu.Lock()
		s.inflight[row.id] = row
		s.mu.Unlock()
		msg := &kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &row.topic, Partition: kafka.PartitionAny},
			Key:            []byte(row.key),
			Value:          row.payload,
			Headers:        toHeaders(row.headers),
			Opaque:         row.id,
		}
		if err := s.r.prod.produce(ctx, msg, s.report); err != nil {
			// Stop here: later rows of the same key must not overtake
			// this one. The session ends; the next re-reads from here.
			s.mu.Lock()
			delete(s.inflight, row.id)
			s.mu.Unlock()
			return 0, err
		}
	}
	return len(batch), nil
}

// acker receives delivery reports, marks acknowledged rows sent (in bulk)
// and releases them from flight.
func (s *session) acker(ctx context.Context) {
	for {
		var first kafka.Event
		select {
		case <-ctx.Done():
			return
		case first = <-s.report:
		}
		evs := []kafka.Event{first}
	more:
		for len(evs) < s.r.opts.BatchSize {
			select {
			case ev := <-s.report:
				evs = append(evs, ev)
			default:
				break more
			}
		}
		var sent []int64
		var failed []int64
		now := time.Now()
		for _, ev := range evs {
			m, ok := ev.(*kafka.Message)
			if !ok {
				continue
			}
			id, _ := m.Opaque.(int64)
			if m.TopicPartition.Error != nil {
				failed = append(failed, id)
				s.fail(fmt.Errorf("relay: deliver outbox row %d to %s: %w", id, topicOf(m), m.TopicPartition.Error))
				continue
			}
			sent = append(sent, id)
		}
		if len(sent) > 0 {
			if err := s.mark(ctx, sent); err != nil {
				// Not marked: keep them in flight so this session does not
				// produce them again; the next session will (duplicates).
				s.fail(err)
				sent = nil
			}
		}
		s.mu.Lock()
		for _, id := range sent {
			if row, ok := s.inflight[id]; ok {
				s.r.m.Published.WithLabelValues(row.topic).Inc()
				s.r.m.RelayLag.Observe(now.Sub(row.createdAt).Seconds())
			}
			delete(s.inflight, id)
		}
		for _, id := range failed {
			delete(s.inflight, id)
		}
		s.mu.Unlock()
		select {
		case s.space <- struct{}{}:
		default:
		}
	}
}

// mark sets sent_at of ids. Losing a mark in a database crash only
// re-publishes the row (consumers drop the duplicate), so the commit does
// not wait for the WAL flush. The ids are integers formatted by us, which
// lets both statements run in one simple-protocol round trip.
func (s *session) mark(ctx context.Context, ids []int64) error {
	var b strings.Builder
	b.WriteString("SET LOCAL synchronous_commit = off; UPDATE outbox SET sent_at = now() WHERE id = ANY('{")
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	b.WriteString("}'::bigint[])")
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.r.pool.Exec(mctx, b.String()); err != nil {
		return fmt.Errorf("relay mark sent: %w", err)
	}
	return nil
}
