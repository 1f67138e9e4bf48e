package httpx_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

// TestConnectionErrorsAre503: every way a dependency's connection can drop
// is 503 service_unavailable with Retry-After, never 500; bugs stay 500.
func TestConnectionErrorsAre503(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"unexpected EOF", fmt.Errorf("look up idempotency key: %w", io.ErrUnexpectedEOF), 503},
		{"EOF", fmt.Errorf("list books: %w", io.EOF), 503},
		{"connection reset", fmt.Errorf("q: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), 503},
		{"admin shutdown 57P01", fmt.Errorf("q: %w", &pgconn.PgError{Code: "57P01"}), 503},
		{"crash shutdown 57P02", &pgconn.PgError{Code: "57P02"}, 503},
		{"class 08", &pgconn.PgError{Code: "08006"}, 503},
		{"too many connections", &pgconn.PgError{Code: "53300"}, 503},
		{"conn closed", fmt.Errorf("q: %w", pgconn.ErrConnClosed), 503},
		{"unique violation", &pgconn.PgError{Code: "23505"}, 500},
		{"plain bug", errors.New("nil map"), 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			httpx.WriteError(rec, httptest.NewRequest(http.MethodPost, "/x", nil), tc.err)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.want, rec.Body)
			}
			ra := rec.Header().Get("Retry-After")
			if (tc.want == 503) != (ra == "1") {
				t.Fatalf("Retry-After %q with status %d", ra, rec.Code)
			}
		})
	}
}

// TestReadRetriedOnceAfterLostConnection: a GET that lost its connection
// runs once more; a POST, a second loss and a started response do not.
func TestReadRetriedOnceAfterLostConnection(t *testing.T) {
	t.Parallel()
	lost := fmt.Errorf("get: %w", io.ErrUnexpectedEOF)
	for _, tc := range []struct {
		name       string
		method     string
		failures   int  // calls that fail before one succeeds
		writeFirst bool // the failing call starts the response first
		calls      int
		status     int
	}{
		{"GET retried", http.MethodGet, 1, false, 2, 200},
		{"GET twice lost", http.MethodGet, 2, false, 2, 503},
		{"POST not retried", http.MethodPost, 1, false, 1, 503},
		{"response started", http.MethodGet, 1, true, 1, 202},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			h := httpx.Handle(func(w http.ResponseWriter, r *http.Request) error {
				calls++
				if calls <= tc.failures {
					if tc.writeFirst {
						w.WriteHeader(http.StatusAccepted)
					}
					return lost
				}
				httpx.WriteJSON(w, http.StatusOK, map[string]string{"ok": "yes"})
				return nil
			})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/x", nil))
			if calls != tc.calls || rec.Code != tc.status {
				t.Fatalf("%d calls, status %d; want %d calls, status %d", calls, rec.Code, tc.calls, tc.status)
			}
		})
	}
}
