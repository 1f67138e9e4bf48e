//go:build e2e

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// traffic is a steady stream of orders and reads by one user against the
// entry point, recording every request that did not succeed and every order
// placed, until stop.
type traffic struct {
	a      *api
	token  string
	book   string
	mu     sync.Mutex
	failed []string
	orders []string
	reads  int
	cancel context.CancelFunc
	done   chan struct{}
}

// startTraffic places an order every interval and reads the catalogue and the
// balance in between. The user has enough tokens and the book enough stock
// for every order, so each one must complete.
func startTraffic(t *testing.T, a *api, admin string, interval time.Duration) *traffic {
	t.Helper()
	tr := &traffic{a: a, token: a.user(t, "stream"), done: make(chan struct{})}
	tr.book = a.createBook(t, admin, 1, 100000)
	a.must(t, http.MethodPost, "/api/tokens/add", tr.token, map[string]int{"amount": 100000}, http.StatusOK, nil)
	ctx, cancel := context.WithCancel(context.Background())
	tr.cancel = cancel
	go tr.loop(ctx, interval)
	return tr
}

func (tr *traffic) loop(ctx context.Context, interval time.Duration) {
	defer close(tr.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		key := fmt.Sprintf("stream-%d-%d", time.Now().UnixNano(), n)
		tr.request(ctx, http.MethodPost, "/api/orders", map[string]any{"bookIds": []string{tr.book}}, key)
		tr.request(ctx, http.MethodGet, "/api/books/"+tr.book, nil, "")
		tr.request(ctx, http.MethodGet, "/api/tokens/balance", nil, "")
	}
}

// request sends one request (an order with its own Idempotency-Key) and
// records it: a failure (transport error or status >= 300), a read, or the
// id of the order placed.
func (tr *traffic) request(ctx context.Context, method, path string, body any, key string) {
	status, data, err := tr.a.callKey(ctx, method, path, tr.token, body, key)
	if ctx.Err() != nil {
		return
	}
	ok := err == nil && status < 300
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if !ok {
		tr.failed = append(tr.failed, fmt.Sprintf("%s %s: %d %s %v", method, path, status, truncate(data), err))
		return
	}
	if method == http.MethodGet {
		tr.reads++
		return
	}
	var r struct {
		OrderID string `json:"orderId"`
	}
	if json.Unmarshal(data, &r) == nil && r.OrderID != "" {
		tr.orders = append(tr.orders, r.OrderID)
	}
}

// stop ends the stream and returns the failed requests and the orders placed.
func (tr *traffic) stop() (failed, orders []string, reads int) {
	tr.cancel()
	<-tr.done
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.failed, tr.orders, tr.reads
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// allCompleted waits for every order to be final and fails the test for each
// one that did not complete.
func allCompleted(t *testing.T, a *api, token string, orders []string) {
	t.Helper()
	for _, id := range orders {
		if o := a.final(t, token, id); o.Status != "Completed" {
			t.Errorf("order %s = %+v, want Completed", id, o)
		}
	}
}
