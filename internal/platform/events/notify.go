package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The NOTIFY that Enqueue sends on commit carries the outbox row, so that the
// active relay, which LISTENs, produces it without reading the table:
//
//	<id> <created_at, µs since the epoch> <JSON of topic, key, payload, headers>
//
// PostgreSQL refuses payloads of 8000 bytes or more; a larger row is
// announced with an empty payload, which makes the relay read the table.
// Notifications come in commit order, and the events of one key are
// enqueued by transactions that each commit before the next one begins
// (every saga step follows from the previous one), so producing in
// notification order keeps each key's order.

// maxNote bounds the JSON part; the id and the timestamp need at most 40
// more bytes.
const maxNote = 7900

type note struct {
	Topic   string          `json:"t"`
	Key     string          `json:"k"`
	Payload []byte          `json:"p"`
	Headers json.RawMessage `json:"h"`
}

// notePayload is the JSON part of the notification of a row, "" when the row
// is too large to travel in one.
func notePayload(topic, key string, payload, headers []byte) (string, error) {
	if len(payload)*4/3+len(topic)+len(key)+len(headers) > maxNote {
		return "", nil
	}
	b, err := json.Marshal(note{Topic: topic, Key: key, Payload: payload, Headers: headers})
	if err != nil {
		return "", fmt.Errorf("notification: %w", err)
	}
	if len(b) > maxNote {
		return "", nil
	}
	return string(b), nil
}

// errNoRow is parseNote's answer for a notification without a row.
var errNoRow = errors.New("notification carries no row")

// parseNote reads the row a notification carries.
func parseNote(s string) (outboxRow, error) {
	id, rest, ok := strings.Cut(s, " ")
	if !ok {
		return outboxRow{}, errNoRow
	}
	at, body, ok := strings.Cut(rest, " ")
	if !ok {
		return outboxRow{}, errNoRow
	}
	var row outboxRow
	var err error
	if row.id, err = strconv.ParseInt(id, 10, 64); err != nil {
		return outboxRow{}, fmt.Errorf("notification id: %w", err)
	}
	us, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return outboxRow{}, fmt.Errorf("notification time: %w", err)
	}
	row.createdAt = time.UnixMicro(us)
	var n note
	if err := json.Unmarshal([]byte(body), &n); err != nil {
		return outboxRow{}, fmt.Errorf("notification body: %w", err)
	}
	row.topic, row.key, row.payload = n.Topic, n.Key, n.Payload
	if len(n.Headers) > 0 {
		if err := json.Unmarshal(n.Headers, &row.headers); err != nil {
			return outboxRow{}, fmt.Errorf("notification headers: %w", err)
		}
	}
	return row, nil
}

// settledRing remembers the ids of the last rows a session marked sent. A
// notification can arrive after a table scan already produced its row (the
// commit landed between the scan's start and the notification's delivery);
// the ring keeps such a row from being produced twice.
type settledRing struct {
	ids  []int64
	next int
	set  map[int64]struct{}
}

func newSettledRing(n int) *settledRing {
	return &settledRing{ids: make([]int64, 0, n), set: make(map[int64]struct{}, n)}
}

func (r *settledRing) add(id int64) {
	if _, ok := r.set[id]; ok {
		return
	}
	if len(r.ids) < cap(r.ids) {
		r.ids = append(r.ids, id)
	} else {
		delete(r.set, r.ids[r.next])
		r.ids[r.next] = id
		r.next = (r.next + 1) % len(r.ids)
	}
	r.set[id] = struct{}{}
}

func (r *settledRing) has(id int64) bool {
	_, ok := r.set[id]
	return ok
}
