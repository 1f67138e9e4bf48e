package order

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/database"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
)

// DeadlineOptions tune the deadline of Pending orders; zero values take
// the configuration (BOOKSTORE_ORDER_DEADLINE) and the defaults.
type DeadlineOptions struct {
	Topics   *events.Topics
	Deadline time.Duration // overrides the configured deadline when positive
	Interval time.Duration // how often Pending orders are checked (default deadline/10, 1s..30s)
}

// Deadlines returns the app builder of the worker that fails every order
// still Pending after the deadline (an event dead-lettered, a service down
// for longer than anyone waits): it is marked Failed with the reason
// "not decided within <deadline>" and OrderFailed is enqueued in the same
// transaction, so token and inventory give back whatever they took through
// the ordinary idempotent refund/release path. Outcomes that arrive later
// change nothing (record only updates Pending orders).
func Deadlines(o DeadlineOptions) app.Builder {
	return func(ctx context.Context, d app.Deps) (app.Service, error) {
		x := &expirer{pool: d.Pool, log: d.Logger, topics: events.DefaultTopics(), deadline: d.Config.OrderDeadline}
		if o.Topics != nil {
			x.topics = *o.Topics
		}
		if o.Deadline > 0 {
			x.deadline = o.Deadline
		}
		if x.deadline <= 0 {
			return app.Service{}, fmt.Errorf("order deadline must be positive, got %s", x.deadline)
		}
		x.interval = o.Interval
		if x.interval <= 0 {
			x.interval = min(max(x.deadline/10, time.Second), 30*time.Second)
		}
		if x.log == nil {
			x.log = slog.New(slog.DiscardHandler)
		}
		return app.Service{Workers: map[string]app.Worker{"deadline": x.run}}, nil
	}
}

type expirer struct {
	pool               *pgxpool.Pool
	log                *slog.Logger
	topics             events.Topics
	deadline, interval time.Duration
}

func (x *expirer) run(ctx context.Context) error {
	t := time.NewTicker(x.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for {
			n, err := x.expire(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				// The database may be down: try again next tick.
				x.log.WarnContext(ctx, "failing overdue orders", "error", err)
				break
			}
			if n < expireBatch {
				break
			}
		}
	}
}

const expireBatch = 100

// expire fails one batch of overdue Pending orders and returns its size.
func (x *expirer) expire(ctx context.Context) (int, error) {
	reason := fmt.Sprintf("not decided within %s", x.deadline)
	n := 0
	err := database.BeginFunc(ctx, x.pool, func(tx pgx.Tx) error {
		// The UPDATE notifies long polls (FinalChannel) of each order it fails.
		rows, err := tx.Query(ctx, `
			WITH o AS (
			UPDATE orders o SET status = 'Failed',
				fail_reason = CASE WHEN o.fail_reason = '' THEN $2 ELSE o.fail_reason || $3 || $2 END,
				version = o.version + 1, updated_at = now()
			WHERE o.status = 'Pending' AND o.id IN (
				SELECT id FROM orders WHERE status = 'Pending' AND created_at < now() - make_interval(secs => $1)
				ORDER BY created_at LIMIT $4 FOR UPDATE SKIP LOCKED)
			RETURNING o.*)
			SELECT o.id::text, o.user_id::text, o.fail_reason, pg_notify($5, `+finalPayloadSQL+`)::text FROM o`,
			x.deadline.Seconds(), reason, reasonSep, expireBatch, FinalChannel)
		if err != nil {
			return fmt.Errorf("fail overdue orders: %w", err)
		}
		type failed struct{ id, user, reasons string }
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (failed, error) {
			var f failed
			var notified string
			return f, r.Scan(&f.id, &f.user, &f.reasons, &notified)
		})
		if err != nil {
			return fmt.Errorf("fail overdue orders: %w", err)
		}
		for _, f := range list {
			if err := events.Emit(ctx, tx, x.topics.Orders, f.id, events.TypeOrderFailed,
				events.OrderFailed{OrderID: f.id, UserID: f.user, Reasons: strings.Split(f.reasons, reasonSep)}); err != nil {
				return err
			}
		}
		n = len(list)
		return nil
	})
	if n > 0 && err == nil {
		x.log.WarnContext(ctx, "overdue orders failed", "orders", n, "deadline", x.deadline)
	}
	return n, err
}
