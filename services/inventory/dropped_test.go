package inventory_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// terminateBackends ends every connection of the service's database from
// the server side (pg_terminate_backend: what an administrator, a failover
// or a restart does to open connections) and returns how many it ended.
func terminateBackends(t *testing.T, dsn string) int {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := cfg.Database
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDroppedConnections: connections PostgreSQL terminates under a running
// service are unavailability, never a 500: a read is retried once on a fresh
// connection and succeeds; a write answers 503 service_unavailable with
// Retry-After and changes nothing; the next write succeeds without a restart.
func TestDroppedConnections(t *testing.T) {
	t.Parallel()
	f := start(t)
	id := f.create(t, "Dune", 12, 5)
	for i := range 5 {
		f.srv.Get(t, "/api/books?limit=5", f.user).Expect(t, 200)
		if n := terminateBackends(t, f.dsn); n == 0 {
			t.Fatalf("round %d: no connection to terminate", i)
		}
		f.srv.Get(t, "/api/books/"+id, f.user).Expect(t, 200)
	}

	f.srv.Get(t, "/api/books/"+id, f.user).Expect(t, 200)
	terminateBackends(t, f.dsn)
	r := f.patch(t, id, f.admin, map[string]any{"amount": 9})
	if r.Status != 503 || r.ErrorCode() != "service_unavailable" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("write on a terminated connection: %d %q Retry-After %q, want 503 service_unavailable with Retry-After",
			r.Status, r.Body, r.Header.Get("Retry-After"))
	}
	var b struct{ Amount int64 }
	f.srv.Get(t, "/api/books/"+id, f.user).Expect(t, 200).JSON(t, &b)
	if b.Amount != 5 {
		t.Fatalf("amount %d after the failed write, want 5", b.Amount)
	}
	f.patch(t, id, f.admin, map[string]any{"amount": 9}).Expect(t, 200)
}
