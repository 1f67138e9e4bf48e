// Package idempotency implements the Idempotency-Key header of the POST
// endpoints that must not run twice (POST /api/tokens/add, POST
// /api/orders): the first response for a (user, key) pair is stored in the
// service's idempotency_keys table, in the same transaction as the effect,
// and replayed for every repeat of the key.
//
// Table (in each service migration that uses it):
//
//	idempotency_keys(user_id uuid, key text, request_hash text,
//	                 status_code integer, response jsonb, created_at,
//	                 PRIMARY KEY (user_id, key))
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/database"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

// Header is the request header carrying the key.
const Header = "Idempotency-Key"

// ReplayedHeader is set to "true" on a replayed response.
const ReplayedHeader = "Idempotent-Replayed"

// Key returns the request's Idempotency-Key ("" when absent) or a 400 error
// when it is not 1-255 printable ASCII characters.
func Key(r *http.Request) (string, error) {
	k := r.Header.Get(Header)
	if k == "" {
		return "", nil
	}
	if len(k) > 255 {
		return "", httpx.BadRequest("Idempotency-Key must be at most 255 characters")
	}
	for _, c := range k {
		if c < 0x20 || c > 0x7e {
			return "", httpx.BadRequest("Idempotency-Key must be printable ASCII")
		}
	}
	return k, nil
}

// Hash fingerprints a request so that a key reused for a different request
// is detected.
func Hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Response is a stored response.
type Response struct {
	Status int
	Body   json.RawMessage
}

// Write replays the stored response.
func (s *Response) Write(w http.ResponseWriter) {
	w.Header().Set(ReplayedHeader, "true")
	httpx.WriteJSON(w, s.Status, s.Body)
}

// ErrKeyReused is the 422 returned when a key was first used for a
// different request.
func ErrKeyReused() error {
	return httpx.Unprocessable("Idempotency-Key was already used for a different request")
}

// Lookup returns the response stored for (userID, key), or nil. It is a cheap
// pre-check outside a transaction; Claim is the authoritative one.
func Lookup(ctx context.Context, q Querier, userID, key, requestHash string) (*Response, error) {
	var (
		hash   string
		status *int
		body   []byte
	)
	err := q.QueryRow(ctx, `SELECT request_hash, status_code, response FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
		userID, key).Scan(&hash, &status, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up idempotency key: %w", err)
	}
	if hash != requestHash {
		return nil, ErrKeyReused()
	}
	if status == nil {
		return nil, nil
	}
	return &Response{Status: *status, Body: body}, nil
}

// Querier is what Lookup needs (a pool, a connection or a transaction).
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Claim reserves (userID, key) inside tx. It returns nil when the caller now
// owns the key and must perform the effect and call Save in the same tx; or
// the stored response of an earlier request to replay (the caller then rolls
// back). A concurrent first request holding the key makes Claim wait for it
// to commit or roll back.
func Claim(ctx context.Context, tx pgx.Tx, userID, key, requestHash string) (*Response, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, key) DO NOTHING`, userID, key, requestHash)
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil, nil
	}
	stored, err := Lookup(ctx, tx, userID, key, requestHash)
	if err != nil {
		return nil, err
	}
	if stored == nil {
		return nil, fmt.Errorf("idempotency key %q has no stored response", key)
	}
	return stored, nil
}

// Save stores the response for (userID, key) inside tx.
func Save(ctx context.Context, tx pgx.Tx, userID, key string, status int, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode idempotent response: %w", err)
	}
	// Nothing reads it before the commit: it travels with the COMMIT in a
	// pipelined transaction.
	return database.ExecAtCommit(ctx, tx, "save idempotent response",
		`UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE user_id = $1 AND key = $2`,
		userID, key, status, b)
}

// Beginner starts transactions (a pool or a connection).
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// InTx runs effect in one transaction of db. With a key it first claims
// (userID, key) (Claim) and stores the response effect returns with status
// (Save) in the same transaction. When the key was used before, effect does
// not run, nothing changes and the stored response is returned to replay
// (Response.Write); otherwise InTx returns nil after the commit.
func InTx(ctx context.Context, db Beginner, userID, key, requestHash string, status int, effect func(tx pgx.Tx) (any, error)) (*Response, error) {
	var replay *Response
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if key != "" {
			stored, err := Claim(ctx, tx, userID, key, requestHash)
			if err != nil || stored != nil {
				replay = stored
				return err
			}
		}
		body, err := effect(tx)
		if err != nil || key == "" {
			return err
		}
		return Save(ctx, tx, userID, key, status, body)
	})
	if err != nil {
		return nil, err
	}
	return replay, nil
}
