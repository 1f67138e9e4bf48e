package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	URL            string
	AdminEmail     string
	AdminPassword  string
	Users          int
	Books          int
	BooksPerOrder  int
	Duration       time.Duration
	Rate           float64
	Concurrency    int
	Auto           bool
	Poll           time.Duration
	PollMax        time.Duration
	Wait           time.Duration
	CPUPids        []procGroup
	Warmup         time.Duration
	PgbenchDSN     string
	PgbenchClients int
	PgbenchScale   int
}

// api is a small JSON client of the public API.
type api struct {
	base string
	http *http.Client
}

type apiError struct {
	Status int
	Body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

func (a *api) do(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %w", method, path, &apiError{Status: resp.StatusCode, Body: string(b)})
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

func (a *api) login(ctx context.Context, email, password string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	err := a.do(ctx, http.MethodPost, "/api/users/login", "", map[string]string{"email": email, "password": password}, &out)
	return out.Token, err
}

type user struct{ token string }

// fixture is what the setup created.
type fixture struct {
	books []string
	users []user
}

func setup(ctx context.Context, a *api, o options, log *slog.Logger) (*fixture, error) {
	admin, err := a.login(ctx, o.AdminEmail, o.AdminPassword)
	if err != nil {
		return nil, fmt.Errorf("admin login (set -admin-email/-admin-password): %w", err)
	}
	f := &fixture{}
	for i := range o.Books {
		var out struct {
			BookID string `json:"bookId"`
		}
		if err := a.do(ctx, http.MethodPost, "/api/books", admin, map[string]any{
			"title": fmt.Sprintf("Load test book %d", i), "author": "bookstore-load", "price": 1, "amount": 1_000_000_000,
		}, &out); err != nil {
			return nil, fmt.Errorf("create book: %w", err)
		}
		f.books = append(f.books, out.BookID)
	}
	run := time.Now().UnixNano()
	f.users = make([]user, o.Users)
	errs := make(chan error, o.Users)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range o.Users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			email := fmt.Sprintf("load-%d-%d@bench.local", run, i)
			const password = "load-password"
			if err := a.do(ctx, http.MethodPost, "/api/users/register", "", map[string]string{"email": email, "password": password}, nil); err != nil {
				errs <- fmt.Errorf("register: %w", err)
				return
			}
			tok, err := a.login(ctx, email, password)
			if err != nil {
				errs <- fmt.Errorf("login: %w", err)
				return
			}
			if err := a.do(ctx, http.MethodPost, "/api/tokens/add", tok, map[string]int64{"amount": 1_000_000_000}, nil); err != nil {
				errs <- fmt.Errorf("top up: %w", err)
				return
			}
			f.users[i] = user{token: tok}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	log.Info("setup done", "books", len(f.books), "users", len(f.users))
	return f, nil
}

// result of one order.
type result struct {
	status  string
	latency time.Duration // placed (before POST) → final status observed
	server  time.Duration // order's updatedAt − createdAt (server clock)
	reqs    int           // HTTP requests the client made for this order
	err     error
}

type orderView struct {
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// placeAndWait places one order and reads it until it is final: with
// o.Wait > 0 by long polls (GET /api/orders/{id}?wait=, answered when the
// order is decided), else by polling with a doubling delay.
func placeAndWait(ctx context.Context, a *api, f *fixture, o options) result {
	u := f.users[rand.IntN(len(f.users))]
	ids := make([]string, o.BooksPerOrder)
	for i := range ids {
		ids[i] = f.books[rand.IntN(len(f.books))]
	}
	start := time.Now()
	var placed struct {
		OrderID string `json:"orderId"`
	}
	if err := a.do(ctx, http.MethodPost, "/api/orders", u.token, map[string]any{"bookIds": ids}, &placed); err != nil {
		return result{err: err, reqs: 1}
	}
	path := "/api/orders/" + placed.OrderID
	if o.Wait > 0 {
		path += "?wait=" + o.Wait.String()
	}
	reqs := 1
	delay := o.Poll
	deadline := time.Now().Add(30 * time.Second)
	for {
		if o.Wait <= 0 || reqs > 1 { // a long poll that answered Pending: the server's limit or deadline
			select {
			case <-ctx.Done():
				return result{err: ctx.Err(), reqs: reqs}
			case <-time.After(delay):
			}
		}
		var v orderView
		reqs++
		if err := a.do(ctx, http.MethodGet, path, u.token, nil, &v); err != nil {
			return result{err: err, reqs: reqs}
		}
		if v.Status != "Pending" {
			return result{status: v.Status, latency: time.Since(start), server: v.UpdatedAt.Sub(v.CreatedAt), reqs: reqs}
		}
		if time.Now().After(deadline) {
			return result{status: "Pending", err: errors.New("still Pending after 30s"), reqs: reqs}
		}
		delay = min(2*delay, o.PollMax)
	}
}

// phase is one measured run.
type phase struct {
	name      string
	rate      float64 // 0 = flat out
	elapsed   time.Duration
	results   []result
	completed int
	failed    int
	errors    int
	firstErr  error
}

func (p *phase) completedPerSec() float64 { return float64(p.completed) / p.elapsed.Seconds() }

// runPhase places orders for d, flat out (rate 0) with conc closed loops or
// open loop at rate, and waits for every placed order to be final.
func runPhase(ctx context.Context, a *api, f *fixture, o options, name string, rate float64, d time.Duration) *phase {
	p := &phase{name: name, rate: rate}
	var mu sync.Mutex
	record := func(r result) {
		mu.Lock()
		defer mu.Unlock()
		p.results = append(p.results, r)
	}
	pctx, stopPlacing := context.WithTimeout(ctx, d)
	defer stopPlacing()
	start := time.Now()
	var wg sync.WaitGroup
	if rate <= 0 {
		for range o.Concurrency {
			wg.Go(func() {
				for pctx.Err() == nil {
					record(placeAndWait(ctx, a, f, o))
				}
			})
		}
	} else {
		interval := time.Duration(float64(time.Second) / rate)
		inflight := make(chan struct{}, 8*o.Concurrency)
		var dropped atomic.Int64
		next := time.Now()
	loop:
		for {
			next = next.Add(interval)
			select {
			case <-pctx.Done():
				break loop
			case <-time.After(time.Until(next)):
			}
			select {
			case inflight <- struct{}{}:
			default:
				dropped.Add(1) // the system is saturated: do not queue in the generator
				continue
			}
			wg.Go(func() {
				defer func() { <-inflight }()
				record(placeAndWait(ctx, a, f, o))
			})
		}
		if n := dropped.Load(); n > 0 {
			record(result{err: fmt.Errorf("%d orders not placed: %d in flight", n, cap(inflight))})
		}
	}
	wg.Wait()
	p.elapsed = time.Since(start)
	for _, r := range p.results {
		switch {
		case r.err != nil:
			p.errors++
			if p.firstErr == nil {
				p.firstErr = r.err
			}
		case r.status == "Completed":
			p.completed++
		default:
			p.failed++
		}
	}
	return p
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func (p *phase) report(w io.Writer) {
	var client, server []time.Duration
	for _, r := range p.results {
		if r.err == nil {
			client = append(client, r.latency)
			server = append(server, r.server)
		}
	}
	slices.Sort(client)
	slices.Sort(server)
	mode := "flat out"
	if p.rate > 0 {
		mode = fmt.Sprintf("%.0f orders/s offered", p.rate)
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
	fmt.Fprintf(w, "\n== %s (%s, %s)\n", p.name, mode, p.elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "orders: %d completed, %d failed, %d errors\n", p.completed, p.failed, p.errors)
	reqs, most := 0, 0
	for _, r := range p.results {
		reqs, most = reqs+r.reqs, max(most, r.reqs)
	}
	if len(p.results) > 0 {
		fmt.Fprintf(w, "HTTP requests per order (client): mean %.2f, max %d\n", float64(reqs)/float64(len(p.results)), most)
	}
	fmt.Fprintf(w, "completed orders/s: %.1f\n", p.completedPerSec())
	fmt.Fprintf(w, "placed→final (client, incl. polling): p50 %s  p95 %s  p99 %s  max %s\n",
		ms(percentile(client, .50)), ms(percentile(client, .95)), ms(percentile(client, .99)), ms(percentile(client, 1)))
	fmt.Fprintf(w, "created→decided (server clock):       p50 %s  p95 %s  p99 %s  max %s\n",
		ms(percentile(server, .50)), ms(percentile(server, .95)), ms(percentile(server, .99)), ms(percentile(server, 1)))
	if p.firstErr != nil {
		fmt.Fprintf(w, "first error: %v\n", p.firstErr)
	}
}

func run(ctx context.Context, o options, log *slog.Logger, out io.Writer) error {
	if o.Users <= 0 || o.Books <= 0 || o.BooksPerOrder <= 0 || o.Concurrency <= 0 || o.Duration <= 0 {
		return errors.New("-users, -books, -books-per-order, -concurrency and -duration must be positive")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 16 * o.Concurrency
	tr.MaxIdleConnsPerHost = 16 * o.Concurrency
	a := &api{base: o.URL, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	f, err := setup(ctx, a, o, log)
	if err != nil {
		return err
	}
	if o.Warmup > 0 {
		log.Info("warming up", "for", o.Warmup)
		runPhase(ctx, a, f, o, "warm-up", 0, o.Warmup)
	}
	groups := append([]procGroup{{Label: "load", PID: os.Getpid()}}, o.CPUPids...)
	// The first phase is measured for CPU and PostgreSQL work per order:
	// from its start until its last order is final (the backlog drained).
	var cpu0, cpu1 cpuSample
	var pg0, pg1 pgSample
	var pgErr error
	first := func(name string, rate float64) *phase {
		if o.PgbenchDSN != "" {
			pg0, pgErr = samplePG(ctx, o.PgbenchDSN)
		}
		cpu0 = sampleCPU(groups)
		p := runPhase(ctx, a, f, o, name, rate, o.Duration)
		cpu1 = sampleCPU(groups)
		if o.PgbenchDSN != "" && pgErr == nil {
			time.Sleep(time.Second) // let the backends flush their statistics
			pg1, pgErr = samplePG(ctx, o.PgbenchDSN)
		}
		return p
	}
	var phases []*phase
	switch {
	case o.Auto:
		log.Info("phase 1: flat out", "for", o.Duration, "concurrency", o.Concurrency)
		max := first("maximum", 0)
		phases = append(phases, max)
		half := max.completedPerSec() / 2
		if half < 1 {
			half = 1
		}
		log.Info("phase 2: half the maximum rate", "rate", fmt.Sprintf("%.1f/s", half), "for", o.Duration)
		// Below saturation, poll every -poll so the client-side latency is
		// accurate to that step (the extra GETs are affordable here); long
		// polls (-wait) need no such care.
		fine := o
		fine.PollMax = o.Poll
		phases = append(phases, runPhase(ctx, a, f, fine, "half of maximum", half, o.Duration))
	default:
		log.Info("placing orders", "for", o.Duration, "rate", o.Rate, "concurrency", o.Concurrency)
		phases = append(phases, first("run", o.Rate))
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, p := range phases {
		p.report(out)
	}
	tps := 0.0
	if o.PgbenchDSN != "" {
		log.Info("pgbench simple-update", "for", o.Duration, "clients", o.PgbenchClients)
		if tps, err = pgbench(ctx, o); err != nil {
			return fmt.Errorf("pgbench: %w", err)
		}
		fmt.Fprintf(out, "\n== pgbench -b simple-update -c %d, %s\ntps: %.0f\n", o.PgbenchClients, o.Duration, tps)
	}
	// The figures of the goal come last.
	fmt.Fprintf(out, "\n== per completed order (%s phase)\n", phases[0].name)
	if pgErr != nil {
		fmt.Fprintf(out, "PostgreSQL statistics unavailable: %v\n", pgErr)
	} else if o.PgbenchDSN != "" {
		pgReport(out, pg0, pg1, phases[0].completed)
	}
	cpuReport(out, cpu0, cpu1, phases[0].completed)
	if tps > 0 {
		best := phases[0].completedPerSec()
		fmt.Fprintf(out, "completed orders/s ÷ pgbench tps = %.1f / %.0f = %.3f (goal ≥ 0.25)\n", best, tps, best/tps)
	}
	return nil
}
