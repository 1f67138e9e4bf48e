package events

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
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

// RetryOnUniqueViolation wraps err of the step what. A unique violation (a
// concurrent duplicate of the same effect that committed first) becomes a
// transient error, not a permanent one (class 23): the retry then sees the
// committed row and does nothing.
func RetryOnUniqueViolation(what string, err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return fmt.Errorf("%s: concurrent duplicate, retrying: %s", what, pg.Message)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// CheckIDs returns a permanent error unless every id is a UUID: an event
// naming a malformed id can never apply.
func CheckIDs(ids ...string) error {
	for _, id := range ids {
		if _, err := uuid.Parse(id); err != nil {
			return Permanent(fmt.Errorf("invalid id %q: %w", id, err))
		}
	}
	return nil
}
