//go:build faults

package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/bookstore-platform/bookstore/internal/loadgen"
)

// stream places orders open loop at a steady rate through the gateway, as a
// client would: each order carries an Idempotency-Key and is retried with it
// (same key, same body) after a 502, a 503 or a lost connection, for up to
// retryFor; each tick also reads the catalog (GET /api/books). Every answer
// is counted by method and status ("POST conn" for no answer).
type stream struct {
	c     *loadgen.Client
	f     *loadgen.Fixture
	rate  float64
	retry time.Duration

	inflight atomic.Int64
	mu       sync.Mutex
	codes    map[string]int // this window's non-2xx answers
	lastErr  time.Time      // when the last non-2xx answer of this window came
	slowest  time.Duration  // the longest wait for a non-2xx answer in this window
	accepted map[string]bool
	gaveUp   int // orders given up after retryFor (never accepted)
	rejected []string
}

func newStream(c *loadgen.Client, f *loadgen.Fixture, rate float64) *stream {
	return &stream{c: c, f: f, rate: rate, retry: 40 * time.Second, codes: map[string]int{}, accepted: map[string]bool{}}
}

// run places orders until ctx is done and the last one has returned.
func (s *stream) run(ctx context.Context) {
	loadgen.Paced(ctx, s.rate, 400, func() {
		s.inflight.Add(1)
		defer s.inflight.Add(-1)
		s.order(context.WithoutCancel(ctx))
	})
}

func (s *stream) count(method string, status int, err error, took time.Duration) {
	if status >= 200 && status < 300 {
		return
	}
	code := fmt.Sprint(status)
	if status == 0 {
		code = "conn"
		if errors.Is(err, context.DeadlineExceeded) {
			code = "timeout"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[method+" "+code]++
	s.lastErr = time.Now()
	s.slowest = max(s.slowest, took)
}

func (s *stream) order(ctx context.Context) {
	u := s.f.Users[rand.IntN(len(s.f.Users))]
	ids := []string{s.f.Books[rand.IntN(len(s.f.Books))]}
	if rand.IntN(3) == 0 {
		ids = append(ids, s.f.Books[rand.IntN(len(s.f.Books))])
	}
	began := time.Now()
	st, err := s.c.Send(ctx, loadgen.Request{Method: http.MethodGet, Path: "/api/books?limit=5", Token: u.Token}, nil)
	s.count("GET", st, err, time.Since(began))

	key := uuid.NewString()
	until := time.Now().Add(s.retry)
	for {
		var out struct {
			OrderID string `json:"orderId"`
		}
		began := time.Now()
		st, err := s.c.Send(ctx, loadgen.Request{Method: http.MethodPost, Path: "/api/orders", Token: u.Token,
			Header: map[string]string{"Idempotency-Key": key}, Body: map[string]any{"bookIds": ids}}, &out)
		s.count("POST", st, err, time.Since(began))
		switch {
		case st == http.StatusAccepted && out.OrderID != "":
			s.mu.Lock()
			s.accepted[out.OrderID] = true
			s.mu.Unlock()
			return
		case st >= 400 && st < 500:
			s.mu.Lock()
			s.rejected = append(s.rejected, err.Error())
			s.mu.Unlock()
			return
		case time.Now().After(until):
			s.mu.Lock()
			s.gaveUp++
			s.mu.Unlock()
			return
		}
		time.Sleep(300 * time.Millisecond) // 5xx or no answer: retry the same key
	}
}

// window returns the non-2xx counts since the last call, when the last of
// them came and the longest wait for one, and starts a new window.
func (s *stream) window() (map[string]int, time.Time, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	codes, last, slowest := s.codes, s.lastErr, s.slowest
	s.codes, s.lastErr, s.slowest = map[string]int{}, time.Time{}, 0
	return codes, last, slowest
}

func (s *stream) acceptedIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.accepted))
	for id := range s.accepted {
		ids = append(ids, id)
	}
	return ids
}

func formatCodes(codes map[string]int) string {
	if len(codes) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, codes[k])
	}
	return strings.Join(parts, ", ")
}
