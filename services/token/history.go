package token

import (
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

// History page sizes.
const (
	DefaultHistoryLimit = 50
	MaxHistoryLimit     = 200
)

// Entry is one line of the caller's token ledger: a top-up ("add"), an
// order's charge, or its refund.
type Entry struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Amount    int64     `json:"amount"`
	OrderID   *string   `json:"orderId"`
	CreatedAt time.Time `json:"createdAt"`
}

// History is the response of GET /api/tokens/history.
type History = httpx.Page[Entry]

type historyCursor struct {
	ID int64 `json:"i"`
}

// history lists the caller's ledger, newest first, with cursor pagination.
func (s *Service) history(w http.ResponseWriter, r *http.Request) error {
	p, err := auth.RequestPrincipal(r)
	if err != nil {
		return err
	}
	var cur historyCursor
	limit, hasCursor, err := httpx.Paging(r, DefaultHistoryLimit, MaxHistoryLimit, &cur)
	if err != nil {
		return err
	}
	if !hasCursor {
		cur.ID = 1<<63 - 1
	}
	rows, err := s.pool.Query(r.Context(), `
		SELECT id, kind, amount, order_id::text, created_at FROM token_ledger
		WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, p.UserID, cur.ID, limit+1)
	if err != nil {
		return fmt.Errorf("read history: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Entry, error) {
		var e Entry
		err := row.Scan(&e.ID, &e.Kind, &e.Amount, &e.OrderID, &e.CreatedAt)
		e.CreatedAt = e.CreatedAt.UTC()
		return e, err
	})
	if err != nil {
		return fmt.Errorf("read history: %w", err)
	}
	httpx.WriteJSON(w, http.StatusOK, httpx.NewPage(items, limit, func(last Entry) any {
		return historyCursor{ID: last.ID}
	}))
	return nil
}
