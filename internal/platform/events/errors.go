package events

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks err as permanent: the consumer sends the event to the
// dead-letter topic instead of retrying it. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	if IsPermanent(err) {
		return err
	}
	return permanentError{err: err}
}

// IsPermanent reports whether err (or anything it wraps) was marked with
// Permanent, or is a PostgreSQL data exception (SQLSTATE class 22) or
// integrity violation (class 23): the same event would fail the same way on
// every retry. Everything else (connection refused, timeouts, deadlocks,
// serialization failures) is transient and retried with backoff.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var p permanentError
	if errors.As(err, &p) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && len(pg.Code) == 5 {
		switch pg.Code[:2] {
		case "22", "23":
			return true
		}
	}
	return false
}
