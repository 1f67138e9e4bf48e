package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// pgSample is, per service database (bookstore_*), the commits and the
// statements executed so far: pg_stat_database.xact_commit and, when the
// pg_stat_statements extension is loaded, the sum of its calls; and the
// server's next transaction id.
type pgSample struct {
	commits    map[string]int64
	statements map[string]int64 // nil without pg_stat_statements
	nextXID    int64
}

// samplePG reads the counters. Each backend adds its commits to
// pg_stat_database at most once a second while busy (PostgreSQL 15: up to
// 10 s late once idle), so commit deltas over a phase are approximate; the
// next transaction id is exact: its delta counts every transaction that
// wrote (one id each, in every database of the server).
func samplePG(ctx context.Context, dsn string) (pgSample, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return pgSample{}, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	s := pgSample{commits: map[string]int64{}}
	if err := conn.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint`).Scan(&s.nextXID); err != nil {
		return pgSample{}, fmt.Errorf("next transaction id: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT datname, xact_commit FROM pg_stat_database
		WHERE datname LIKE 'bookstore\_%' AND datname <> $1`, pgbenchDB)
	if err != nil {
		return pgSample{}, fmt.Errorf("pg_stat_database: %w", err)
	}
	for rows.Next() {
		var db string
		var n int64
		if err := rows.Scan(&db, &n); err != nil {
			return pgSample{}, fmt.Errorf("pg_stat_database: %w", err)
		}
		s.commits[strings.TrimPrefix(db, "bookstore_")] = n
	}
	if err := rows.Err(); err != nil {
		return pgSample{}, fmt.Errorf("pg_stat_database: %w", err)
	}
	// pg_stat_statements is optional (make dev preloads it); without it,
	// only commits are reported.
	var loaded bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')`).Scan(&loaded); err != nil {
		return pgSample{}, fmt.Errorf("pg_extension: %w", err)
	}
	if !loaded {
		if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
			return s, nil
		}
	}
	rows, err = conn.Query(ctx, `SELECT d.datname, sum(s.calls)::bigint FROM pg_stat_statements s
		JOIN pg_database d ON d.oid = s.dbid
		WHERE d.datname LIKE 'bookstore\_%' AND d.datname <> $1 GROUP BY d.datname`, pgbenchDB)
	if err != nil {
		return s, nil // not in shared_preload_libraries
	}
	s.statements = map[string]int64{}
	for rows.Next() {
		var db string
		var n int64
		if err := rows.Scan(&db, &n); err != nil {
			return pgSample{}, fmt.Errorf("pg_stat_statements: %w", err)
		}
		s.statements[strings.TrimPrefix(db, "bookstore_")] = n
	}
	return s, rows.Err()
}

// pgReport prints commits and statements per completed order, per service
// database and in total.
func pgReport(w io.Writer, from, to pgSample, completed int) {
	if completed == 0 {
		return
	}
	line := func(what string, a, b map[string]int64) {
		dbs := make([]string, 0, len(b))
		for db := range b {
			dbs = append(dbs, db)
		}
		sort.Strings(dbs)
		var sum int64
		var parts []string
		for _, db := range dbs {
			d := b[db] - a[db]
			sum += d
			parts = append(parts, fmt.Sprintf("%s %.2f", db, float64(d)/float64(completed)))
		}
		fmt.Fprintf(w, "%s per completed order: %.2f (%s)\n", what, float64(sum)/float64(completed), strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "PostgreSQL write transactions (transaction ids assigned) per completed order: %.2f\n",
		float64(to.nextXID-from.nextXID)/float64(completed))
	line("PostgreSQL commits (pg_stat_database, flushed up to seconds late)", from.commits, to.commits)
	if from.statements != nil && to.statements != nil {
		line("PostgreSQL statements (pg_stat_statements calls)", from.statements, to.statements)
	}
}
