// Package token is the token service: users top up their token balance and
// read it. Charges and refunds of orders are applied by the order saga
// through the same balances and token_ledger tables.
package token

import (
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/database"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
	"github.com/bookstore-platform/bookstore/internal/platform/idempotency"
)

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the service's OpenAPI 3 document.
func OpenAPI() []byte { return openapiDoc }

// MaxAdd is the largest amount one top-up may add.
const MaxAdd = 1_000_000_000

// Service holds the token service's handlers.
type Service struct {
	pool *pgxpool.Pool
	auth *auth.Authenticator
}

// Build returns the app builder of the token service.
func Build() app.Builder {
	return app.API(openapiDoc, func(d app.Deps) func(*mux.Router) { return New(d).Routes })
}

// New returns the service over d.
func New(d app.Deps) *Service { return &Service{pool: d.Pool, auth: d.Auth} }

// Routes registers the API on r.
func (s *Service) Routes(r *mux.Router) {
	r.Handle("/api/tokens/add", s.auth.Require(httpx.Handle(s.add))).Methods(http.MethodPost)
	r.Handle("/api/tokens/balance", s.auth.Require(httpx.Handle(s.balance))).Methods(http.MethodGet)
	r.Handle("/api/tokens/history", s.auth.Require(httpx.Handle(s.history))).Methods(http.MethodGet)
}

type addRequest struct {
	Amount *int64 `json:"amount"`
}

type addResponse struct {
	UserID      string `json:"userId"`
	AddedAmount int64  `json:"addedAmount"`
	Balance     int64  `json:"balance"`
}

func (s *Service) add(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequestPrincipal(r)
	if err != nil {
		return err
	}
	key, err := idempotency.Key(r)
	if err != nil {
		return err
	}
	var in addRequest
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Amount == nil {
		return httpx.BadRequest("amount is required")
	}
	if *in.Amount <= 0 || *in.Amount > MaxAdd {
		return httpx.BadRequest(fmt.Sprintf("amount must be a positive integer up to %d", MaxAdd))
	}
	amount := *in.Amount
	hash := idempotency.Hash("POST /api/tokens/add", strconv.FormatInt(amount, 10))
	ctx := r.Context()

	var out addResponse
	replay, err := idempotency.InTx(ctx, database.Pipelined{Pool: s.pool}, p.UserID, key, hash, http.StatusOK, func(tx pgx.Tx) (any, error) {
		var balance int64
		if err := tx.QueryRow(ctx, `INSERT INTO balances (user_id, balance) VALUES ($1, $2)
			ON CONFLICT (user_id) DO UPDATE SET balance = balances.balance + EXCLUDED.balance, updated_at = now()
			RETURNING balance`, p.UserID, amount).Scan(&balance); err != nil {
			return nil, fmt.Errorf("add to balance: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO token_ledger (user_id, kind, amount) VALUES ($1, 'add', $2)`, p.UserID, amount); err != nil {
			return nil, fmt.Errorf("record top-up: %w", err)
		}
		out = addResponse{UserID: p.UserID, AddedAmount: amount, Balance: balance}
		return out, nil
	})
	if err != nil {
		return err
	}
	if replay != nil {
		replay.Write(w)
		return nil
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

type balanceResponse struct {
	UserID  string `json:"userId"`
	Balance int64  `json:"balance"`
}

func (s *Service) balance(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequestPrincipal(r)
	if err != nil {
		return err
	}
	var b int64
	err = s.pool.QueryRow(r.Context(), `SELECT balance FROM balances WHERE user_id = $1`, p.UserID).Scan(&b)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("read balance: %w", err)
	}
	httpx.WriteJSON(w, http.StatusOK, balanceResponse{UserID: p.UserID, Balance: b})
	return nil
}
