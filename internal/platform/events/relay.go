package events

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// RelayOptions tune the outbox relay; zero values take the defaults.
type RelayOptions struct {
	// BatchSize is the most rows published per round (default 500).
	BatchSize int
	// PollInterval is how often the relay also reads the table (default
	// 2s), a safety net: rows normally reach it in the NOTIFY that Enqueue
	// sends on commit.
	PollInterval time.Duration
	// MarkDelay is how long acknowledged rows wait to be marked sent
	// together in one UPDATE (default 50ms; negative: each batch of
	// acknowledgements at once). A crash in between only re-publishes them.
	MarkDelay time.Duration
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
	if o.MarkDelay == 0 {
		o.MarkDelay = 50 * time.Millisecond
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
// dies), LISTENs on OutboxChannel, publishes the unsent rows it finds in id
// order, then the rows its notifications carry in commit order (reading the
// table again only every PollInterval and for rows too large for a
// notification), through the idempotent producer. A row is marked sent
// only after Kafka acknowledged it (acks=all); if the relay dies in between, the row is
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
	backoff := NewBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		err := r.lead(ctx)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			r.m.RelayErrors.Inc()
			d := backoff.Next()
			r.log.Warn("outbox relay failed, retrying", "err", err, "backoff", d)
			Sleep(ctx, d)
			continue
		}
		backoff.Reset()
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
		if !Sleep(ctx, r.opts.StandbyInterval) {
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
	var nextScan time.Time // zero: read the table now
	for {
		if err := ss.failure(); err != nil {
			// A delivery or a mark failed: end the session; the next one
			// re-reads every unsent row in id order.
			return err
		}
		if !time.Now().Before(nextScan) {
			// Notifications buffered so far belong to commits that happened
			// before this read, which will see their rows. Drop them
			// before reading, never after: a row committed during the read
			// must still arrive by notification (send drops it if the read
			// had it).
			drainNotifications(conn)
			n, err := ss.scan(ctx, conn)
			if err != nil {
				return err
			}
			nextScan = time.Time{} // a full batch: more may wait
			if n < r.opts.BatchSize {
				nextScan = time.Now().Add(r.opts.PollInterval)
			} else if !ss.full() {
				continue
			}
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
		wctx, cancel := context.WithDeadline(ctx, nextScan)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			row, perr := parseNote(n.Payload)
			if perr != nil {
				// A row too large for a notification (or an older
				// writer's empty one): read the table before any later
				// notification, so that no row overtakes it.
				nextScan = time.Time{}
				continue
			}
			if err := ss.send(ctx, row, "notification"); err != nil {
				return err
			}
		case errors.Is(err, context.DeadlineExceeded) || wctx.Err() != nil:
			// time for the periodic read
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
