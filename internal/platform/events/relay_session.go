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
		evs := take(first, s.report, s.r.opts.BatchSize)
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
		marked := true
		if len(sent) > 0 {
			if err := s.mark(ctx, sent); err != nil {
				// Not marked: the session fails (before the rows leave
				// flight, so publish, which checks the failure after its
				// read, never produces them again); the next session
				// re-publishes them (duplicates). They are settled all
				// the same: nothing will ever acknowledge them again, and
				// the session's end must not wait for them (it did, for
				// the whole DeliveryTimeout, after a database restart).
				s.fail(err)
				marked = false
			}
		}
		s.mu.Lock()
		for _, id := range sent {
			if !marked {
				delete(s.inflight, id)
				continue
			}
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
