package main

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

const pgbenchDB = "bookstore_pgbench"

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// pgbench runs the built-in simple-update script (one UPDATE of
// pgbench_accounts, a SELECT, one INSERT into pgbench_history per
// transaction) against its own database on the same server for
// o.Duration, and returns the transactions per second.
func pgbench(ctx context.Context, o options) (float64, error) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		return 0, fmt.Errorf("pgbench not in PATH (apt-get install postgresql-client): %w", err)
	}
	conn, err := pgx.Connect(ctx, o.PgbenchDSN)
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	var exists bool
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, pgbenchDB).Scan(&exists)
	if err == nil && !exists {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{pgbenchDB}.Sanitize())
	}
	_ = conn.Close(ctx)
	if err != nil {
		return 0, fmt.Errorf("create database %s: %w", pgbenchDB, err)
	}
	u, err := url.Parse(o.PgbenchDSN)
	if err != nil {
		return 0, fmt.Errorf("parse dsn: %w", err)
	}
	u.Path = "/" + pgbenchDB
	dsn := u.String()

	if b, err := exec.CommandContext(ctx, bin, "-i", "-q", "-s", strconv.Itoa(o.PgbenchScale), dsn).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("pgbench -i: %w: %s", err, b)
	}
	if err := checkpoint(ctx, o.PgbenchDSN); err != nil {
		return 0, err
	}
	secs := max(1, int(o.Duration/time.Second))
	b, err := exec.CommandContext(ctx, bin, "-n", "-b", "simple-update",
		"-c", strconv.Itoa(o.PgbenchClients), "-j", "2", "-T", strconv.Itoa(secs), dsn).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %w: %s", err, b)
	}
	m := tpsLine.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("no tps in pgbench output: %s", b)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// checkpoint writes every dirty buffer of the server out now, so that the
// writes of what ran before (the previous run's pgbench -i, the setup)
// do not land in the middle of the next measurement: both the saga's
// phases and pgbench start from a clean server.
func checkpoint(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("checkpoint: connect: %w", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
