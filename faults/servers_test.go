//go:build faults

package faults

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/loadgen"
)

// waitFinalBefore waits (up to finalBound) until no order created before t
// is Pending.
func (s *stack) waitFinalBefore(ctx context.Context, t time.Time) error {
	deadline := time.Now().Add(finalBound)
	var pending int
	var err error
	for time.Now().Before(deadline) {
		err = s.dbs["order"].QueryRow(ctx, `SELECT count(*) FROM orders WHERE status = 'Pending' AND created_at <= $1`, t).Scan(&pending)
		if err == nil && pending == 0 {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("orders placed before the heal still Pending %s after it: %w", finalBound, err)
	}
	return fmt.Errorf("%d orders placed before the heal still Pending %s after it", pending, finalBound)
}

// postgresRestart: an immediate shutdown, 3 s down, started again; every
// service must be ready again on its own, without a restart.
func (h *harness) postgresRestart(t *testing.T) {
	pids := map[string]int{}
	for _, name := range serviceNames {
		pids[name] = h.s.procs[name].cmd.Process.Pid
	}
	servers(t, h.s.root, "kill", "postgres")
	time.Sleep(3 * time.Second)
	servers(t, h.s.root, "revive", "postgres")
	for _, name := range serviceNames {
		p := h.s.procs[name]
		if err := p.waitReady(h.ctx, 30*time.Second); err != nil {
			t.Errorf("after the PostgreSQL restart: %v", err)
		}
		if p.cmd.Process.Pid != pids[name] || !p.alive() {
			t.Errorf("%s was restarted or died during the PostgreSQL restart (see %s)", name, p.logPath)
		}
	}
}

// redisRestart: a token revoked (logout) before Redis is killed is refused
// while Redis is down (503, never 200) and after it is back (401) by every
// service.
func (h *harness) redisRestart(t *testing.T) {
	c := h.st.c
	fx, err := loadgen.Setup(h.ctx, c, loadgen.FixtureOptions{AdminEmail: adminEmail, AdminPassword: adminPassword, Users: 1, TopUp: 1}, discard)
	if err != nil {
		t.Fatal(err)
	}
	tok := fx.Users[0].Token
	if st, err := c.Send(h.ctx, loadgen.Request{Method: http.MethodPost, Path: "/api/users/logout", Token: tok}, nil); err != nil {
		t.Fatalf("logout: %d %v", st, err)
	}
	paths := []string{"/api/orders", "/api/books", "/api/tokens/balance", "/api/users/me"}
	probe := func(when string, want int, within time.Duration) {
		for _, p := range paths {
			deadline := time.Now().Add(within)
			for {
				st, _ := c.Send(h.ctx, loadgen.Request{Method: http.MethodGet, Path: p, Token: tok}, nil)
				if st >= 200 && st < 300 {
					t.Errorf("%s: GET %s with a revoked token answered %d", when, p, st)
					break
				}
				if st == want {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("%s: GET %s with a revoked token answered %d, want %d", when, p, st, want)
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
	probe("before the kill", http.StatusUnauthorized, 5*time.Second)
	time.Sleep(1500 * time.Millisecond) // appendfsync everysec
	servers(t, h.s.root, "kill", "redis")
	probe("Redis down", http.StatusServiceUnavailable, 5*time.Second)
	time.Sleep(3 * time.Second)
	servers(t, h.s.root, "revive", "redis")
	probe("Redis back", http.StatusUnauthorized, 20*time.Second)
}
