package database

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Tx is a transaction that spends no round trip of its own on BEGIN or
// COMMIT: BEGIN is sent in the same write as the transaction's first
// statement, and COMMIT in the same write as the statements queued with
// ExecAtCommit (pgx batches, one Sync each). A saga step — claim the
// inbox, apply, write the outbox, commit — then costs two round trips
// fewer, and so does an HTTP write. It is otherwise a pgx.Tx: statements
// run in order and see each other, and Rollback discards everything.
type Tx struct {
	c      *pgxpool.Conn
	tx     pgx.Tx // begun on the server; nil until the first statement
	failed error  // the first statement's BEGIN failed: nothing is open
	queued []queued
	closed bool
}

type queued struct {
	what, sql string
	args      []any
}

var _ pgx.Tx = (*Tx)(nil)

// Begin acquires a connection of pool for a pipelined transaction; nothing
// is sent until its first statement.
func Begin(ctx context.Context, pool *pgxpool.Pool) (*Tx, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire connection: %w", err)
	}
	return &Tx{c: c}, nil
}

// Pipelined is pool as a pgx beginner (pgx.BeginFunc, idempotency.InTx)
// whose transactions are pipelined Txs.
type Pipelined struct{ Pool *pgxpool.Pool }

// Begin begins a pipelined Tx.
func (p Pipelined) Begin(ctx context.Context) (pgx.Tx, error) { return Begin(ctx, p.Pool) }

// BeginFunc runs fn in a pipelined transaction of pool and commits it
// unless fn fails (pgx.BeginFunc).
func BeginFunc(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, Pipelined{Pool: pool}, fn)
}

// ExecAtCommit runs sql as the last statement before tx commits, in the
// same write as the COMMIT, when tx is a pipelined Tx, and at once
// otherwise. It is for statements whose result nothing in the transaction
// reads (an outbox row, a stored response); their error is the commit's,
// prefixed by what.
func ExecAtCommit(ctx context.Context, tx pgx.Tx, what, sql string, args ...any) error {
	if t, ok := tx.(*Tx); ok && !t.closed {
		t.queued = append(t.queued, queued{what: what, sql: sql, args: args})
		return nil
	}
	if _, err := tx.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// first sends BEGIN and sql in one write; the results' next one is sql's.
func (t *Tx) first(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	b.Queue(sql, args...)
	br := t.c.Conn().SendBatch(ctx, b)
	t.tx = br.Tx()
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		t.failed = fmt.Errorf("begin: %w", err)
		return nil, t.failed
	}
	return br, nil
}

// begin begins the transaction on its own, for the methods that cannot
// carry it (nested transactions, batches, COPY).
func (t *Tx) begin(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	if t.failed != nil {
		return t.failed
	}
	if t.tx != nil {
		return nil
	}
	tx, err := t.c.Conn().Begin(ctx)
	if err != nil {
		return err
	}
	t.tx = tx
	return nil
}

// Exec runs sql in the transaction.
func (t *Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.closed {
		return pgconn.CommandTag{}, pgx.ErrTxClosed
	}
	if t.failed != nil {
		return pgconn.CommandTag{}, t.failed
	}
	if t.tx != nil {
		return t.tx.Exec(ctx, sql, args...)
	}
	br, err := t.first(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query runs sql in the transaction.
func (t *Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.closed {
		return nil, pgx.ErrTxClosed
	}
	if t.failed != nil {
		return nil, t.failed
	}
	if t.tx != nil {
		return t.tx.Query(ctx, sql, args...)
	}
	br, err := t.first(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow runs sql in the transaction; Scan reads its first row.
func (t *Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.tx != nil && !t.closed && t.failed == nil {
		return t.tx.QueryRow(ctx, sql, args...)
	}
	rows, err := t.Query(ctx, sql, args...)
	return &firstRow{rows: rows, err: err}
}

// Begin starts a nested transaction (a savepoint).
func (t *Tx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := t.begin(ctx); err != nil {
		return nil, err
	}
	return t.tx.Begin(ctx)
}

// SendBatch sends b in the transaction.
func (t *Tx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := t.begin(ctx); err != nil {
		return pgx.FailedBatchResults(b, err)
	}
	return t.tx.SendBatch(ctx, b)
}

// CopyFrom copies rows into tableName in the transaction.
func (t *Tx) CopyFrom(ctx context.Context, tableName pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := t.begin(ctx); err != nil {
		return 0, err
	}
	return t.tx.CopyFrom(ctx, tableName, columns, src)
}

// Prepare prepares a statement on the transaction's connection.
func (t *Tx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	if t.closed {
		return nil, pgx.ErrTxClosed
	}
	return t.c.Conn().Prepare(ctx, name, sql)
}

// LargeObjects begins the transaction on its own first, like Conn. pgx
// offers no failed LargeObjects value, so a transaction that cannot begin
// panics here with its error (its Commit would return the same error).
func (t *Tx) LargeObjects() pgx.LargeObjects {
	if err := t.begin(context.Background()); err != nil {
		panic(fmt.Sprintf("database: large objects: %v", err))
	}
	return t.tx.LargeObjects()
}

// Conn returns the transaction's connection; the transaction is begun
// first, so that what runs on it is inside.
func (t *Tx) Conn() *pgx.Conn {
	_ = t.begin(context.Background())
	return t.c.Conn()
}
