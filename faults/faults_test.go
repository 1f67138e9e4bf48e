//go:build faults

package faults

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/loadgen"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// scenario is one fault: inject does the damage and heals it (blocking);
// allowed are the non-2xx answers ("POST 503") the fault may cause.
type scenario struct {
	name, injection string
	allowed         []string
	inject          func(t *testing.T, h *harness)
}

type harness struct {
	ctx     context.Context
	s       *stack
	st      *stream
	initial map[string]int64 // book → initial stock
	rows    []string         // the fault matrix
}

// Load: ≈10 orders/s; each scenario streams for lead before the injection
// and tail after it is healed.
const (
	rate = 10.0
	lead = 3 * time.Second
	tail = 3 * time.Second
)

func TestFaults(t *testing.T) {
	root := testenv.RepoRoot(t)
	binDir := os.Getenv("BOOKSTORE_FAULTS_BIN")
	if binDir == "" {
		binDir = filepath.Join(root, ".cache", "build")
	}
	off, _ := strconv.Atoi(os.Getenv("BOOKSTORE_PORT_OFFSET"))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	t0 := time.Now()
	s := newStack(ctx, t, root, binDir, 28080+off)
	c := loadgen.NewClient(s.gateway, 256)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rich, err := loadgen.Setup(ctx, c, loadgen.FixtureOptions{AdminEmail: adminEmail, AdminPassword: adminPassword,
		Users: 16, Books: 8, Stock: 1_000_000, Price: 2, TopUp: 1_000_000}, log)
	if err != nil {
		t.Fatal(err)
	}
	// Two users who run out of money and one book that runs out of stock:
	// failed orders, refunds and releases are part of the stream.
	poor, err := loadgen.Setup(ctx, c, loadgen.FixtureOptions{AdminEmail: adminEmail, AdminPassword: adminPassword,
		Users: 2, Books: 1, Stock: 25, Price: 3, TopUp: 40}, log)
	if err != nil {
		t.Fatal(err)
	}
	f := &loadgen.Fixture{Books: append(rich.Books, poor.Books...), Users: append(rich.Users, poor.Users...)}
	h := &harness{ctx: ctx, s: s, st: newStream(c, f, rate), initial: map[string]int64{}}
	for _, b := range rich.Books {
		h.initial[b] = 1_000_000
	}
	h.initial[poor.Books[0]] = 25
	t.Logf("stack up and fixture created in %s", time.Since(t0).Round(time.Second))

	for _, sc := range scenarios(s) {
		if !t.Run(sc.name, func(t *testing.T) { h.run(t, sc) }) {
			break // the state after a broken invariant proves nothing more
		}
	}
	out := "| scenario | injection | in flight at injection | non-2xx by code | slowest non-2xx | non-2xx for (after heal) | backlog final after heal | invariants |\n|---|---|---|---|---|---|---|---|\n" + strings.Join(h.rows, "\n")
	fmt.Printf("\n== fault matrix (%.0f orders/s, %d orders accepted, %s)\n%s\n", rate, len(h.st.acceptedIDs()), time.Since(t0).Round(time.Second), out)
	_ = os.WriteFile(filepath.Join(root, ".cache", "faults", "matrix.md"), []byte(out+"\n"), 0o644)
	if h.st.gaveUp > 0 || len(h.st.rejected) > 0 {
		t.Errorf("%d orders given up after %s of retries, %d rejected (first: %v)", h.st.gaveUp, h.st.retry, len(h.st.rejected), h.st.rejected)
	}
}

func (h *harness) run(t *testing.T, sc scenario) {
	ctx, stop := context.WithCancel(h.ctx)
	var wg sync.WaitGroup
	wg.Go(func() { h.st.run(ctx) })
	defer func() { stop(); wg.Wait() }()
	time.Sleep(lead)
	h.st.window()
	var pending int
	_ = h.s.dbs["order"].QueryRow(h.ctx, `SELECT count(*) FROM orders WHERE status = 'Pending'`).Scan(&pending)
	open := h.st.inflight.Load()
	injected := time.Now()
	sc.inject(t, h)
	healed := time.Now()
	// The backlog: orders placed before the fault was healed, all final.
	backlog := make(chan error, 1)
	var finalAt time.Time // written before the send on backlog
	go func() { err := h.s.waitFinalBefore(h.ctx, healed); finalAt = time.Now(); backlog <- err }()
	time.Sleep(tail)
	stop()
	wg.Wait()
	codes, lastErr, slowest := h.st.window()
	// Non-2xx answers came for errFor from the injection, and stopped
	// afterHeal after the fault was healed (0s: before it).
	errFor, afterHeal := "0s", "0s"
	if !lastErr.IsZero() {
		errFor = lastErr.Sub(injected).Round(100 * time.Millisecond).String()
		afterHeal = max(0, lastErr.Sub(healed)).Round(100 * time.Millisecond).String()
	}
	var bad []string
	if err := <-backlog; err != nil {
		bad = append(bad, err.Error())
	}
	finalAfter := finalAt.Sub(healed).Round(100 * time.Millisecond)
	if _, err := h.s.waitFinal(h.ctx); err != nil {
		bad = append(bad, err.Error())
	}
	// A Failed order's compensation (refund, release) follows its status:
	// the invariants must hold within settleBound.
	var broken []string
	for deadline := time.Now().Add(settleBound); ; time.Sleep(500 * time.Millisecond) {
		if broken = h.s.checkInvariants(h.ctx, h.st.acceptedIDs(), h.initial); len(broken) == 0 || time.Now().After(deadline) {
			break
		}
	}
	bad = append(bad, broken...)
	for code, n := range codes {
		if !contains(sc.allowed, code) {
			bad = append(bad, fmt.Sprintf("unexpected %s ×%d", code, n))
		}
	}
	verdict := "hold"
	if len(bad) > 0 {
		verdict = "BROKEN: " + strings.Join(bad, "; ")
	}
	slow := slowest.Round(time.Millisecond).String()
	h.rows = append(h.rows, fmt.Sprintf("| %s | %s | %d Pending, %d requests | %s | %s | %s (%s) | %s | %s |",
		sc.name, sc.injection, pending, open, formatCodes(codes), slow, errFor, afterHeal, finalAfter, verdict))
	t.Logf("%s: non-2xx %s (slowest %s); for %s (%s after heal); backlog final %s after heal; invariants: %s",
		sc.name, formatCodes(codes), slow, errFor, afterHeal, finalAfter, verdict)
	for _, b := range bad {
		t.Error(b)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func scenarios(s *stack) []scenario {
	var out []scenario
	for _, svc := range []string{"token", "inventory", "order", "user"} {
		out = append(out, scenario{name: "kill-9-" + svc, injection: "`kill -9` " + svc + ", restarted 3 s later",
			allowed: []string{"POST 502", "POST 503", "GET 502", "GET 503"},
			inject: func(t *testing.T, h *harness) {
				p := h.s.procs[svc]
				if err := p.signal(syscall.SIGKILL, 10*time.Second); err != nil {
					t.Fatal(err)
				}
				time.Sleep(3 * time.Second)
				p.start(t)
				if err := p.waitReady(h.ctx, 60*time.Second); err != nil {
					t.Fatal(err)
				}
			}})
	}
	out = append(out,
		scenario{name: "kafka-kill-9", injection: "`kill -9` of the broker, restarted 5 s later on the same log dirs",
			allowed: []string{"POST 503", "GET 503"},
			inject: func(t *testing.T, h *harness) {
				servers(t, h.s.root, "kill", "kafka")
				time.Sleep(5 * time.Second)
				servers(t, h.s.root, "revive", "kafka")
			}},
		scenario{name: "postgres-immediate", injection: "`pg_ctl stop -m immediate`, started again 3 s later",
			allowed: []string{"POST 503", "GET 503"},
			inject:  func(t *testing.T, h *harness) { h.postgresRestart(t) }},
		scenario{name: "redis-kill-9", injection: "`kill -9` of Redis, restarted 3 s later (AOF)",
			allowed: []string{"POST 503", "GET 503"},
			inject:  func(t *testing.T, h *harness) { h.redisRestart(t) }},
	)
	for _, svc := range []string{"token", "inventory", "order", "user"} {
		out = append(out, scenario{name: "sigterm-" + svc, injection: "SIGTERM to " + svc + " under load, started again once it exited",
			// A POST sent on a keep-alive connection the draining server
			// closes at that instant is replayed by the gateway (it carries an
			// Idempotency-Key): no 502.
			allowed: []string{"POST 503", "GET 503"},
			inject: func(t *testing.T, h *harness) {
				p := h.s.procs[svc]
				if err := p.signal(syscall.SIGTERM, 30*time.Second); err != nil {
					t.Error(err) // a drain that fails or hangs is a defect
				}
				p.start(t)
				if err := p.waitReady(h.ctx, 60*time.Second); err != nil {
					t.Fatal(err)
				}
			}})
	}
	return out
}
