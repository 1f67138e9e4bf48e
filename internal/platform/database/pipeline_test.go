package database_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/platform/database"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// countingPool is a one-connection pool that counts the writes its
// connection makes: each is one round trip of a transaction.
func countingPool(t *testing.T) (*pgxpool.Pool, *atomic.Int64) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	writes := &atomic.Int64{}
	dialer := &net.Dialer{}
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, writes: writes}, nil
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	return pool, writes
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

func scratchTable(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	name := fmt.Sprintf("pipeline_%d", time.Now().UnixNano())
	if _, err := pool.Exec(context.Background(), "CREATE TABLE "+name+" (id int PRIMARY KEY, note text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "DROP TABLE "+name) })
	return name
}

func ids(t *testing.T, pool *pgxpool.Pool, table string) []int {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT id FROM "+table+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A transaction of a read, a write and a write queued for the commit takes
// three round trips pipelined, against five in pgx's own transaction, and
// both commit the same rows.
func TestPipelinedTxSavesTheBeginAndCommitRoundTrips(t *testing.T) {
	pool, writes := countingPool(t)
	table := scratchTable(t, pool)
	ctx := context.Background()
	work := func(first int) func(pgx.Tx) error {
		return func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO "+table+" VALUES ($1, 'now')", first); err != nil {
				return err
			}
			return database.ExecAtCommit(ctx, tx, "queued insert", "INSERT INTO "+table+" VALUES ($1, 'at commit')", first+1)
		}
	}
	for _, tc := range []struct {
		name   string
		run    func(fn func(pgx.Tx) error) error
		first  int
		writes int64
	}{
		{"pgx", func(fn func(pgx.Tx) error) error { return pgx.BeginFunc(ctx, pool, fn) }, 1, 5},
		{"pipelined", func(fn func(pgx.Tx) error) error { return database.BeginFunc(ctx, pool, fn) }, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Warm the statement cache so that only the transaction's own
			// round trips are counted.
			if err := tc.run(func(tx pgx.Tx) error { return work(100 + tc.first)(tx) }); err != nil {
				t.Fatal(err)
			}
			before := writes.Load()
			if err := tc.run(work(tc.first)); err != nil {
				t.Fatal(err)
			}
			if got := writes.Load() - before; got != tc.writes {
				t.Errorf("round trips = %d, want %d", got, tc.writes)
			}
		})
	}
	if got, want := fmt.Sprint(ids(t, pool, table)), "[1 2 3 4 101 102 103 104]"; got != want {
		t.Errorf("rows = %s, want %s", got, want)
	}
}

// Whatever fails in a pipelined transaction, nothing of it stays, the error
// says what failed, and the connection (the pool's only one) is usable.
func TestPipelinedTxFailuresLeaveNothing(t *testing.T) {
	pool, _ := countingPool(t)
	table := scratchTable(t, pool)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "INSERT INTO "+table+" VALUES (1, 'kept')"); err != nil {
		t.Fatal(err)
	}
	insert := func(tx pgx.Tx, id int) error {
		_, err := tx.Exec(ctx, "INSERT INTO "+table+" VALUES ($1, 'x')", id)
		return err
	}
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		fn   func(pgx.Tx) error
		want func(error) bool
	}{
		{"first statement fails", func(tx pgx.Tx) error {
			return insert(tx, 1)
		}, isUniqueViolation},
		{"a later statement fails", func(tx pgx.Tx) error {
			if err := insert(tx, 10); err != nil {
				return err
			}
			return insert(tx, 1)
		}, isUniqueViolation},
		{"the caller gives up", func(tx pgx.Tx) error {
			if err := insert(tx, 10); err != nil {
				return err
			}
			return boom
		}, func(err error) bool { return errors.Is(err, boom) }},
		{"a statement queued for the commit fails", func(tx pgx.Tx) error {
			if err := insert(tx, 10); err != nil {
				return err
			}
			return database.ExecAtCommit(ctx, tx, "queued insert", "INSERT INTO "+table+" VALUES (1, 'x')")
		}, func(err error) bool { return isUniqueViolation(err) && contains(err, "queued insert") }},
		{"only a queued statement, and it fails", func(tx pgx.Tx) error {
			return database.ExecAtCommit(ctx, tx, "queued insert", "INSERT INTO "+table+" VALUES (1, 'x')")
		}, isUniqueViolation},
		{"an error was dropped", func(tx pgx.Tx) error {
			if err := insert(tx, 10); err != nil {
				return err
			}
			_ = insert(tx, 1) // aborts the transaction
			return nil
		}, func(err error) bool { return errors.Is(err, pgx.ErrTxCommitRollback) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := database.BeginFunc(ctx, pool, tc.fn)
			if err == nil || !tc.want(err) {
				t.Fatalf("BeginFunc = %v, want the failure", err)
			}
			if got := fmt.Sprint(ids(t, pool, table)); got != "[1]" {
				t.Errorf("rows = %s, want [1]", got)
			}
		})
	}
}

// The first statement's rows read like any query's, and a QueryRow that
// finds nothing is pgx.ErrNoRows; the transaction goes on after both.
func TestPipelinedTxFirstStatementReads(t *testing.T) {
	pool, _ := countingPool(t)
	table := scratchTable(t, pool)
	ctx := context.Background()
	err := database.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT g FROM generate_series(1, 3) g")
		if err != nil {
			return err
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil || fmt.Sprint(got) != "[1 2 3]" {
			return fmt.Errorf("rows %v: %w", got, err)
		}
		return insert3(ctx, tx, table)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = database.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var id int
		if err := tx.QueryRow(ctx, "SELECT id FROM "+table+" WHERE id = 99").Scan(&id); !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("QueryRow = %w, want pgx.ErrNoRows", err)
		}
		_, err := tx.Exec(ctx, "INSERT INTO "+table+" VALUES (4, 'x')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ids(t, pool, table)); got != "[3 4]" {
		t.Errorf("rows = %s, want [3 4]", got)
	}
}

func insert3(ctx context.Context, tx pgx.Tx, table string) error {
	_, err := tx.Exec(ctx, "INSERT INTO "+table+" VALUES (3, 'x')")
	return err
}

func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}

func contains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

// Large objects work in a pipelined transaction (it begins on its own
// first) and commit with it.
func TestPipelinedTxLargeObjects(t *testing.T) {
	pool, _ := countingPool(t)
	ctx := context.Background()
	var oid uint32
	err := database.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		lo := tx.LargeObjects()
		var err error
		if oid, err = lo.Create(ctx, 0); err != nil {
			return err
		}
		obj, err := lo.Open(ctx, oid, pgx.LargeObjectModeWrite)
		if err != nil {
			return err
		}
		_, err = obj.Write([]byte("dune"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = pool.Exec(ctx, "SELECT lo_unlink($1)", oid) })
	var got []byte
	if err := pool.QueryRow(ctx, "SELECT lo_get($1)", oid).Scan(&got); err != nil || string(got) != "dune" {
		t.Fatalf("lo_get = %q, %v; want \"dune\"", got, err)
	}
}
