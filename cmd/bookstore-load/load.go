package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/bookstore-platform/bookstore/internal/loadgen"
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
	Prefer         bool // with Wait: POST with Prefer: wait=, so the decision comes with its answer
	CPUPids        []procGroup
	Warmup         time.Duration
	PgbenchDSN     string
	PgbenchClients int
	PgbenchScale   int
	Soak           time.Duration // > 0: the soak run (see soak)
	Metrics        []string      // label=base URL of a service (its /metrics), for the soak
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
// o.Wait > 0 and o.Prefer by the POST itself (Prefer: wait=, answered 201
// with the order once it is decided), else with o.Wait > 0 by long polls
// (GET /api/orders/{id}?wait=), else by polling with a doubling delay.
func placeAndWait(ctx context.Context, a *loadgen.Client, f *loadgen.Fixture, o options) result {
	u := f.Users[rand.IntN(len(f.Users))]
	ids := make([]string, o.BooksPerOrder)
	for i := range ids {
		ids[i] = f.Books[rand.IntN(len(f.Books))]
	}
	start := time.Now()
	var placed struct {
		orderView
		OrderID string `json:"orderId"` // 202; a 201 is the order itself
	}
	req := loadgen.Request{Method: http.MethodPost, Path: "/api/orders", Token: u.Token, Body: map[string]any{"bookIds": ids}}
	if o.Wait > 0 && o.Prefer {
		req.Header = map[string]string{"Prefer": fmt.Sprintf("wait=%d", int(o.Wait.Seconds()))}
	}
	status, err := a.Send(ctx, req, &placed)
	if err != nil {
		return result{err: err, reqs: 1}
	}
	if status == http.StatusCreated && placed.Status != "Pending" {
		return result{status: placed.Status, latency: time.Since(start), server: placed.UpdatedAt.Sub(placed.CreatedAt), reqs: 1}
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
		if err := a.Do(ctx, http.MethodGet, path, u.Token, nil, &v); err != nil {
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
func runPhase(ctx context.Context, a *loadgen.Client, f *loadgen.Fixture, o options, name string, rate float64, d time.Duration) *phase {
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
		if n := loadgen.Paced(pctx, rate, 8*o.Concurrency, func() { record(placeAndWait(ctx, a, f, o)) }); n > 0 {
			// the system is saturated: the generator does not queue
			record(result{err: fmt.Errorf("%d orders not placed: %d in flight", n, 8*o.Concurrency)})
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
	a := loadgen.NewClient(o.URL, 16*o.Concurrency)
	f, err := loadgen.Setup(ctx, a, loadgen.FixtureOptions{
		AdminEmail: o.AdminEmail, AdminPassword: o.AdminPassword, Users: o.Users, Books: o.Books,
	}, log)
	if err != nil {
		return err
	}
	if o.PgbenchDSN != "" {
		if err := checkpoint(ctx, o.PgbenchDSN); err != nil {
			return err
		}
	}
	if o.Warmup > 0 {
		log.Info("warming up", "for", o.Warmup)
		runPhase(ctx, a, f, o, "warm-up", 0, o.Warmup)
	}
	if o.Soak > 0 {
		return soak(ctx, a, f, o, log, out)
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
