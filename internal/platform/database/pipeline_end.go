package database

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Commit sends the statements queued by ExecAtCommit and COMMIT in one
// write (with BEGIN too if nothing was sent yet) and releases the
// connection. Any failure rolls the transaction back and is returned.
func (t *Tx) Commit(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	defer t.release()
	if t.failed != nil {
		return t.failed
	}
	if t.tx == nil && len(t.queued) == 0 {
		return nil // nothing was sent, so nothing is to commit
	}
	b := &pgx.Batch{}
	if t.tx == nil {
		b.Queue("begin")
	}
	for _, q := range t.queued {
		b.Queue(q.sql, q.args...)
	}
	b.Queue("commit")
	err := t.sendEnd(ctx, b)
	if err != nil && t.c.Conn().PgConn().TxStatus() != 'I' {
		// A statement failed before COMMIT ran: the transaction is
		// aborted, not ended.
		if _, rerr := t.c.Conn().Exec(context.WithoutCancel(ctx), "rollback"); rerr != nil {
			err = errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
	}
	return err
}

// sendEnd sends the commit batch and reads its results in order.
func (t *Tx) sendEnd(ctx context.Context, b *pgx.Batch) error {
	br := t.c.Conn().SendBatch(ctx, b)
	err := func() error {
		if t.tx == nil {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("begin: %w", err)
			}
		}
		for _, q := range t.queued {
			if _, err := br.Exec(); err != nil {
				return fmt.Errorf("%s: %w", q.what, err)
			}
		}
		tag, err := br.Exec()
		if err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		if tag.String() == "ROLLBACK" {
			return pgx.ErrTxCommitRollback // a statement failed earlier and its error was dropped
		}
		return nil
	}()
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("commit: %w", cerr)
	}
	return err
}

// Rollback ends the transaction without its changes and releases the
// connection; after Commit it returns pgx.ErrTxClosed.
func (t *Tx) Rollback(ctx context.Context) error {
	if t.closed {
		return pgx.ErrTxClosed
	}
	defer t.release()
	if t.tx == nil || t.failed != nil {
		return nil // nothing was sent, or nothing is open
	}
	if err := t.tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return err
	}
	return nil
}

// release hands the connection back; the pool discards it when it is not
// idle (a failed rollback, a cancelled read).
func (t *Tx) release() {
	t.closed = true
	t.queued = nil
	t.c.Release()
}

// batchRows are the rows of a transaction's first statement: closing them
// also reads the end of the batch that carried BEGIN.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.err = r.br.Close()
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// firstRow is QueryRow's result for a transaction's first statement.
type firstRow struct {
	rows pgx.Rows
	err  error
}

func (r *firstRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}
