package order

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// FinalChannel is the PostgreSQL NOTIFY channel on which the transaction
// that decides an order (Completed or Failed) announces it, with the order
// id as payload. PostgreSQL delivers it on commit to every listening
// session, so the long polls of every replica wake up.
const FinalChannel = "bookstore_order_final"

// finalPayloadSQL is the SQL expression of the notification payload of a
// decided order row named o: its id and the state a waiter lacks (status,
// flags, reason, updatedAt) as JSON, so that the woken long poll answers
// without reading the order again. A reason too long for NOTIFY's 8000
// bytes leaves just the id: the waiter then re-reads the order.
const finalPayloadSQL = `CASE WHEN octet_length(o.fail_reason) <= 4000 THEN json_build_object(
	'id', o.id, 'status', o.status, 'updatedAt', o.updated_at, 'failReason', o.fail_reason,
	'isPaymentProcessed', o.is_payment_processed, 'isInventoryProcessed', o.is_inventory_processed)::text
	ELSE o.id::text END`

// finalState is a decoded notification: the decided order's id and, when
// the payload carried it, its new state.
type finalState struct {
	ID                   string    `json:"id"`
	Status               string    `json:"status"`
	UpdatedAt            time.Time `json:"updatedAt"`
	FailReason           string    `json:"failReason"`
	IsPaymentProcessed   bool      `json:"isPaymentProcessed"`
	IsInventoryProcessed bool      `json:"isInventoryProcessed"`
}

// parseFinal decodes a payload of FinalChannel: JSON with the state, or
// only the order id (then the waiter re-reads; nil state).
func parseFinal(payload string) (id string, st *finalState) {
	var f finalState
	if strings.HasPrefix(payload, "{") && json.Unmarshal([]byte(payload), &f) == nil && f.ID != "" &&
		(f.Status == StatusCompleted || f.Status == StatusFailed) {
		return f.ID, &f
	}
	return payload, nil
}

// apply sets o's changing fields from the notified state.
func (f *finalState) apply(o Order) Order {
	o.Status, o.UpdatedAt, o.FailReason = f.Status, f.UpdatedAt.UTC(), f.FailReason
	o.IsPaymentProcessed, o.IsInventoryProcessed = f.IsPaymentProcessed, f.IsInventoryProcessed
	return o
}

// Waiters are the requests waiting for orders to become final
// (GET /api/orders/{id}?wait=). One session per process LISTENs on
// FinalChannel and wakes the waiters of each notified order; at most max
// requests wait at once.
type Waiters struct {
	pool    *pgxpool.Pool
	log     *slog.Logger
	slots   chan struct{}
	mu      sync.Mutex
	byOrder map[string]map[chan *finalState]struct{}
	closed  bool
	refused atomic.Int64 // waits answered at once: every slot taken
}

// Collectors are the waiters' metrics: requests waiting now, the limit, and
// the waits refused because every slot was taken.
func (w *Waiters) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bookstore_order_waiters",
			Help: "Requests waiting for an order's decision (GET /api/orders/{id}?wait=, POST /api/orders with Prefer: wait).",
		}, func() float64 { return float64(len(w.slots)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bookstore_order_waiters_limit",
			Help: "Requests one process lets wait at once; beyond it they are answered at once.",
		}, func() float64 { return float64(cap(w.slots)) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "bookstore_order_waits_refused_total",
			Help: "Waits answered at once because every waiter slot was taken.",
		}, func() float64 { return float64(w.refused.Load()) }),
	}
}

// NewWaiters returns the waiters of pool's database, at most max at once.
func NewWaiters(pool *pgxpool.Pool, log *slog.Logger, max int) *Waiters {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Waiters{pool: pool, log: log, slots: make(chan struct{}, max), byOrder: map[string]map[chan *finalState]struct{}{}}
}

// register registers a waiter for orderID: its wake channel receives once
// when the order may have become final (its notified state, or nil: read
// it again); ok is false when max requests already wait (or the server is
// draining).
func (w *Waiters) register(orderID string) registration {
	select {
	case w.slots <- struct{}{}:
	default:
		w.refused.Add(1)
		return registration{}
	}
	ch := make(chan *finalState, 1)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.slots
		return registration{}
	}
	set := w.byOrder[orderID]
	if set == nil {
		set = map[chan *finalState]struct{}{}
		w.byOrder[orderID] = set
	}
	set[ch] = struct{}{}
	w.mu.Unlock()
	return registration{wake: ch, ok: true, release: func() {
		w.mu.Lock()
		if set, ok := w.byOrder[orderID]; ok {
			delete(set, ch)
			if len(set) == 0 {
				delete(w.byOrder, orderID)
			}
		}
		w.mu.Unlock()
		<-w.slots
	}}
}

// wake wakes orderID's waiters ("" = every waiter) with the order's state
// st (nil: unknown, read it again).
func (w *Waiters) wake(orderID string, st *finalState) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, set := range w.byOrder {
		if orderID != "" && id != orderID {
			continue
		}
		for ch := range set {
			ch <- st // buffered, and each waiter is woken once: never blocks
		}
		delete(w.byOrder, id)
	}
}

// Drain wakes every waiter and refuses new ones: the server is shutting
// down, so long polls answer at once with the current state.
func (w *Waiters) Drain() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.wake("", nil)
}

// Run listens for decided orders until ctx is done. A lost session is
// reconnected with backoff; since notifications may have been missed
// meanwhile, every waiter is then woken to re-read its order.
func (w *Waiters) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := w.listen(ctx)
		w.wake("", nil)
		if ctx.Err() != nil {
			return nil
		}
		w.log.Warn("order waiters: listen session lost, reconnecting", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	return nil
}

func (w *Waiters) listen(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, w.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{FinalChannel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Orders decided before LISTEN took effect were not announced to us.
	w.wake("", nil)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		w.wake(parseFinal(n.Payload))
	}
}

// registration is one waiter's slot: wake receives once when the order
// may have become final; ok is false when no slot was free.
type registration struct {
	wake    <-chan *finalState
	release func()
	ok      bool
}

// done gives the slot back.
func (r registration) done() {
	if r.ok {
		r.release()
	}
}

// Wait waits up to d for orderID to become final, reading it with load: it
// returns as soon as load reports a final status, or with the last state
// read at the deadline, when ctx ends or when no waiter slot is free.
// recheck bounds the wait between two reads even without a notification
// (a notification lost to a reconnect delays the answer by at most that).
func (w *Waiters) Wait(ctx context.Context, orderID string, d, recheck time.Duration, load func(context.Context) (Order, error)) (Order, error) {
	reg := w.register(orderID)
	o, err := load(ctx)
	return w.await(ctx, orderID, reg, o, err, d, recheck, load)
}

// await is Wait after the first read: reg was taken before o was read (or
// before the transaction that stored o committed), so no decision after o
// goes unnoticed.
func (w *Waiters) await(ctx context.Context, orderID string, reg registration, o Order, err error,
	d, recheck time.Duration, load func(context.Context) (Order, error)) (Order, error) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if err != nil || o.Status != StatusPending || !reg.ok {
			reg.done()
			return o, err
		}
		tick := time.NewTimer(recheck)
		select {
		case st := <-reg.wake:
			if st != nil {
				reg.done()
				tick.Stop()
				return st.apply(o), nil // the decision's own state: no second read
			}
		case <-tick.C:
		case <-deadline.C:
			reg.done()
			tick.Stop()
			return load(ctx)
		case <-ctx.Done():
			reg.done()
			tick.Stop()
			return o, nil
		}
		reg.done()
		tick.Stop()
		reg = w.register(orderID)
		o, err = load(ctx)
	}
}
