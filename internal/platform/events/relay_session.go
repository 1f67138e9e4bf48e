package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5"
)

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
	settled  *settledRing
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
		settled:  newSettledRing(8 * r.opts.BatchSize),
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

// scan reads up to BatchSize unsent rows that are not in flight, in id
// order, and produces them. It returns how many rows it read.
func (s *session) scan(ctx context.Context, conn *pgx.Conn) (int, error) {
	s.r.m.RelayScans.Inc()
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
	for _, row := range batch {
		if err := s.send(ctx, row, "scan"); err != nil {
			return 0, err
		}
	}
	return len(batch), nil
}

// send produces row unless it is in flight or was settled by this session
// already (a notification that arrives after a scan produced its row).
func (s *session) send(ctx context.Context, row outboxRow, via string) error {
	if err := s.failure(); err != nil {
		return err // a failed row may come before this one: never let later rows overtake it
	}
	s.mu.Lock()
	_, busy := s.inflight[row.id]
	if busy || s.settled.has(row.id) {
		s.mu.Unlock()
		return nil
	}
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
		// Stop here: later rows of the same key must not overtake this
		// one. The session ends; the next re-reads from here.
		s.mu.Lock()
		delete(s.inflight, row.id)
		s.mu.Unlock()
		return err
	}
	s.r.m.RelayRows.WithLabelValues(via).Inc()
	return nil
}

// acker receives delivery reports, marks acknowledged rows sent and
// releases them from flight. Marks are gathered for up to MarkDelay (or
// until BatchSize rows wait), so that under load one UPDATE marks many rows
// and an idle relay still marks within MarkDelay; a row stays in flight
// until its mark committed, so no scan produces it again.
func (s *session) acker(ctx context.Context) {
	var (
		acked []ack
		flush <-chan time.Time
	)
	settle := func() {
		s.settle(ctx, acked)
		acked, flush = nil, nil
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush:
			settle()
		case first := <-s.report:
			now := time.Now()
			for _, ev := range take(first, s.report, s.r.opts.BatchSize) {
				m, ok := ev.(*kafka.Message)
				if !ok {
					continue
				}
				id, _ := m.Opaque.(int64)
				if m.TopicPartition.Error != nil {
					s.fail(fmt.Errorf("relay: deliver outbox row %d to %s: %w", id, topicOf(m), m.TopicPartition.Error))
					s.release(id)
					continue
				}
				acked = append(acked, ack{id: id, at: now})
			}
			switch {
			case len(acked) >= s.r.opts.BatchSize || s.r.opts.MarkDelay < 0 || s.failure() != nil:
				settle()
			case len(acked) > 0 && flush == nil:
				flush = time.After(s.r.opts.MarkDelay)
			}
		}
	}
}

// ack is a row Kafka acknowledged at a time.
type ack struct {
	id int64
	at time.Time
}

// release takes a row out of flight without marking it.
func (s *session) release(id int64) {
	s.mu.Lock()
	delete(s.inflight, id)
	s.mu.Unlock()
	s.signalSpace()
}

// signalSpace wakes a relay waiting for room in flight.
func (s *session) signalSpace() {
	select {
	case s.space <- struct{}{}:
	default:
	}
}

// settle marks acked rows sent and releases them from flight.
func (s *session) settle(ctx context.Context, acked []ack) {
	if len(acked) == 0 {
		return
	}
	ids := make([]int64, len(acked))
	for i, a := range acked {
		ids[i] = a.id
	}
	marked := true
	if err := s.mark(ctx, ids); err != nil {
		// Not marked: the session fails (before the rows leave flight,
		// so no later send produces them again); the next session
		// re-publishes them (duplicates). They are settled all the same:
		// nothing will ever acknowledge them again, and the session's end
		// must not wait for them (it did, for the whole DeliveryTimeout,
		// after a database restart).
		s.fail(err)
		marked = false
	}
	s.mu.Lock()
	for _, a := range acked {
		if row, ok := s.inflight[a.id]; ok && marked {
			s.r.m.Published.WithLabelValues(row.topic).Inc()
			s.r.m.RelayLag.Observe(a.at.Sub(row.createdAt).Seconds())
			s.settled.add(a.id)
		}
		delete(s.inflight, a.id)
	}
	s.mu.Unlock()
	s.signalSpace()
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
