// Command bookstore-load is the load generator of `make bench`.
//
// Against a running stack (`make dev`: the gateway on http://127.0.0.1:8080)
// it logs in as the admin, creates books with ample stock, registers users
// and tops them up, then places orders — flat out with -concurrency closed
// loops, or open loop at a fixed -rate — and polls each order until it is
// Completed or Failed. It prints completed orders/s and the placed→final
// latency percentiles. With -auto it first runs flat out, then at half the
// measured maximum rate (the latency target is defined there). With
// -pgbench-dsn it then runs `pgbench -b simple-update` against the same
// PostgreSQL for the same duration: the commit-rate ceiling the saga is
// compared with. It also reports, for the first phase, the CPU per completed
// order of the process trees given with -cpu-pids (from /proc) and the
// PostgreSQL commits and statements per completed order. With -soak it runs
// at half the measured maximum for that long instead (make soak) and reports
// per minute orders, errors and p99, and per service (-metrics) RSS and
// goroutines at start and end.
//
//	go run ./cmd/bookstore-load -auto -duration 20s \
//	    -pgbench-dsn 'postgres://postgres@127.0.0.1:54432/postgres?sslmode=disable'
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "base URL of the gateway")
	flag.StringVar(&o.AdminEmail, "admin-email", envOr("BOOKSTORE_ADMIN_EMAIL", "admin@bookstore.local"), "admin account (creates the books)")
	flag.StringVar(&o.AdminPassword, "admin-password", envOr("BOOKSTORE_ADMIN_PASSWORD", "admin-dev-password"), "admin password")
	flag.IntVar(&o.Users, "users", 50, "users to register and top up")
	flag.IntVar(&o.Books, "books", 50, "books to create (orders pick one at random)")
	flag.IntVar(&o.BooksPerOrder, "books-per-order", 1, "books in each order")
	flag.DurationVar(&o.Duration, "duration", 20*time.Second, "how long to place orders (each phase)")
	flag.Float64Var(&o.Rate, "rate", 0, "orders per second, open loop; 0 = flat out with -concurrency closed loops")
	flag.IntVar(&o.Concurrency, "concurrency", 32, "closed loops when flat out; in-flight cap at a fixed rate is 8× this")
	flag.BoolVar(&o.Auto, "auto", false, "run flat out, then at half the measured completed orders/s")
	flag.DurationVar(&o.Poll, "poll", 5*time.Millisecond, "first poll of an order after this delay; the delay doubles up to -poll-max")
	flag.DurationVar(&o.PollMax, "poll-max", 40*time.Millisecond, "longest delay between two polls of an order")
	flag.DurationVar(&o.Wait, "wait", 0, "long-poll each order with GET /api/orders/{id}?wait=<this> instead of polling (0 = poll)")
	flag.BoolVar(&o.Prefer, "prefer", true, "with -wait: POST with Prefer: wait=<-wait seconds>, so that one request learns the decision (false: POST, then GET ?wait=)")
	cpuPids := flag.String("cpu-pids", "", "label=pid,... process trees whose CPU per completed order is reported (the tool itself is always included)")
	flag.DurationVar(&o.Warmup, "warmup", 3*time.Second, "orders placed flat out before measuring (not counted)")
	flag.StringVar(&o.PgbenchDSN, "pgbench-dsn", "", "PostgreSQL DSN (admin) for the pgbench ceiling; empty skips pgbench")
	flag.IntVar(&o.PgbenchClients, "pgbench-clients", 16, "pgbench -c")
	flag.IntVar(&o.PgbenchScale, "pgbench-scale", 10, "pgbench -i -s")
	flag.DurationVar(&o.Soak, "soak", 0, "soak: after measuring the maximum (-duration), run at half of it for this long and report per minute")
	metrics := flag.String("metrics", "", "label=URL,... services whose /metrics (RSS, goroutines) the soak samples at start and end")
	flag.Parse()
	if *metrics != "" {
		o.Metrics = strings.Split(*metrics, ",")
	}
	var err error
	if o.CPUPids, err = parseProcs(*cpuPids); err != nil {
		fmt.Fprintf(os.Stderr, "bookstore-load: %v\n", err)
		os.Exit(2)
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, log, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "bookstore-load: %v\n", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
