package database_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/platform/database"
	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/migrations"
)

func open(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := database.Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func versions(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	v, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func tableExists(t *testing.T, pool *pgxpool.Pool, name string) bool {
	t.Helper()
	var ok bool
	if err := pool.QueryRow(context.Background(), "SELECT to_regclass($1) IS NOT NULL", name).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// Every service's real migrations apply to an empty database, record their
// versions (common first), and a second run applies nothing.
func TestMigrateServicesFromEmptyAndIdempotent(t *testing.T) {
	tables := map[string][]string{
		"user":      {"users"},
		"token":     {"balances", "token_ledger", "idempotency_keys"},
		"inventory": {"books", "stock_ledger"},
		"order":     {"orders", "order_items", "idempotency_keys"},
	}
	for service, want := range tables {
		t.Run(service, func(t *testing.T) {
			t.Parallel()
			pool := open(t)
			ctx := context.Background()
			applied, err := database.Migrate(ctx, pool, migrations.FS, service, nil)
			if err != nil {
				t.Fatal(err)
			}
			all, err := database.Migrations(migrations.FS, service)
			if err != nil {
				t.Fatal(err)
			}
			var files []string
			for _, m := range all {
				files = append(files, m.Version)
			}
			if len(applied) < 2 || applied[0] != "common/0001_outbox_inbox" || applied[len(applied)-1] != files[len(files)-1] ||
				!slices.Equal(applied, files) || !strings.HasPrefix(files[len(files)-1], service+"/") {
				t.Fatalf("applied %v, want every file, common/ first and %s/ last: %v", applied, service, files)
			}
			for _, table := range append(want, "outbox", "inbox") {
				if !tableExists(t, pool, table) {
					t.Errorf("table %s missing after migrate", table)
				}
			}
			again, err := database.Migrate(ctx, pool, migrations.FS, service, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(again) != 0 {
				t.Fatalf("second run applied %v, want nothing", again)
			}
			if got := versions(t, pool); !slices.Equal(got, applied) {
				t.Fatalf("schema_migrations %v, want %v", got, applied)
			}
		})
	}
}

// Two runs at the same time (two replicas starting together): exactly one
// applies each migration, neither fails.
func TestMigrateConcurrentRunsAreSafe(t *testing.T) {
	pool := open(t)
	// A slow migration widens the window in which the runs overlap.
	fsys := fstest.MapFS{
		"common/0001_a.up.sql": {Data: []byte("SELECT pg_sleep(0.3); CREATE TABLE a (id int);")},
		"svc/0001_b.up.sql":    {Data: []byte("CREATE TABLE b (id int); INSERT INTO b VALUES (1);")},
		"svc/0002_c.up.sql":    {Data: []byte("ALTER TABLE b ADD COLUMN c text;")},
	}
	var wg sync.WaitGroup
	results := make([][]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			results[i], errs[i] = database.Migrate(context.Background(), pool, fsys, "svc", nil)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	total := append(slices.Clone(results[0]), results[1]...)
	slices.Sort(total)
	want := []string{"common/0001_a", "svc/0001_b", "svc/0002_c"}
	if !slices.Equal(total, want) {
		t.Fatalf("the two runs applied %v and %v; together want each of %v once", results[0], results[1], want)
	}
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM b").Scan(&n); err != nil || n != 1 {
		t.Fatalf("table b has %d rows (err %v), want 1", n, err)
	}
}

// A failing migration is rolled back whole, is not recorded, and the ones
// before it stay applied.
func TestMigrateFailureRollsBack(t *testing.T) {
	pool := open(t)
	fsys := fstest.MapFS{
		"svc/0001_ok.up.sql":  {Data: []byte("CREATE TABLE ok (id int);")},
		"svc/0002_bad.up.sql": {Data: []byte("CREATE TABLE half (id int); SELECT * FROM no_such_table;")},
	}
	applied, err := database.Migrate(context.Background(), pool, fsys, "svc", nil)
	if err == nil {
		t.Fatal("migrate with a broken file succeeded")
	}
	if !slices.Equal(applied, []string{"svc/0001_ok"}) {
		t.Fatalf("applied %v, want [svc/0001_ok]", applied)
	}
	if tableExists(t, pool, "half") {
		t.Fatal("table of the failed migration exists: not rolled back")
	}
	if got := versions(t, pool); !slices.Equal(got, []string{"svc/0001_ok"}) {
		t.Fatalf("schema_migrations %v", got)
	}
}

func TestMigrationsOrder(t *testing.T) {
	fsys := fstest.MapFS{
		"svc/0002_b.up.sql":    {Data: []byte("b")},
		"svc/0001_a.up.sql":    {Data: []byte("a")},
		"common/0001_x.up.sql": {Data: []byte("x")},
		"other/0001_y.up.sql":  {Data: []byte("y")},
		"svc/README.md":        {Data: []byte("not sql")},
	}
	migs, err := database.Migrations(fsys, "svc")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range migs {
		got = append(got, m.Version)
	}
	if want := []string{"common/0001_x", "svc/0001_a", "svc/0002_b"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if _, err := database.Migrations(fstest.MapFS{}, "svc"); err == nil {
		t.Fatal("no migrations at all should be an error")
	}
}
