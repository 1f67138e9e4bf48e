package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// FixtureOptions say what Setup creates.
type FixtureOptions struct {
	AdminEmail, AdminPassword string
	Users, Books              int
	// Stock of each book (default 1e9) and Price (default 1).
	Stock, Price int64
	// TopUp is each user's balance (default 1e9).
	TopUp int64
}

// User is a registered, topped-up account.
type User struct {
	Email, Token string
}

// Fixture is what Setup created.
type Fixture struct {
	Admin string // the admin's token
	Books []string
	Users []User
}

func (o *FixtureOptions) defaults() {
	if o.Stock == 0 {
		o.Stock = 1_000_000_000
	}
	if o.Price == 0 {
		o.Price = 1
	}
	if o.TopUp == 0 {
		o.TopUp = 1_000_000_000
	}
}

// Setup logs in as the admin, creates the books and registers, logs in and
// tops up the users (8 at a time).
func Setup(ctx context.Context, c *Client, o FixtureOptions, log *slog.Logger) (*Fixture, error) {
	o.defaults()
	var admin string
	err := retry503(ctx, func() (err error) { admin, err = c.Login(ctx, o.AdminEmail, o.AdminPassword); return err })
	if err != nil {
		return nil, fmt.Errorf("admin login (set -admin-email/-admin-password): %w", err)
	}
	f := &Fixture{Admin: admin}
	for i := range o.Books {
		var out struct {
			BookID string `json:"bookId"`
		}
		if err := retry503(ctx, func() error {
			return c.Do(ctx, http.MethodPost, "/api/books", admin, map[string]any{
				"title": fmt.Sprintf("Load test book %d", i), "author": "bookstore-load", "price": o.Price, "amount": o.Stock,
			}, &out)
		}); err != nil {
			return nil, fmt.Errorf("create book: %w", err)
		}
		f.Books = append(f.Books, out.BookID)
	}
	run := time.Now().UnixNano()
	f.Users = make([]User, o.Users)
	errs := make(chan error, o.Users)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range o.Users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			email := fmt.Sprintf("load-%d-%d@bench.local", run, i)
			const password = "load-password"
			if err := retry503(ctx, func() error {
				return c.Do(ctx, http.MethodPost, "/api/users/register", "", map[string]string{"email": email, "password": password}, nil)
			}); err != nil {
				errs <- fmt.Errorf("register: %w", err)
				return
			}
			var tok string
			if err := retry503(ctx, func() (err error) { tok, err = c.Login(ctx, email, password); return err }); err != nil {
				errs <- fmt.Errorf("login: %w", err)
				return
			}
			if err := retry503(ctx, func() error {
				return c.Do(ctx, http.MethodPost, "/api/tokens/add", tok, map[string]int64{"amount": o.TopUp}, nil)
			}); err != nil {
				errs <- fmt.Errorf("top up: %w", err)
				return
			}
			f.Users[i] = User{Email: email, Token: tok}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	log.Info("setup done", "books", len(f.Books), "users", len(f.Users))
	return f, nil
}

// retry503 runs f again after a 503 (the service asks to retry: e.g. the
// user service's bound on concurrent password checks), for up to 30 s.
// Only for idempotent setup steps or steps whose 503 applied nothing.
func retry503(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		var ae *APIError
		if err == nil || !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Paced calls fn open loop at rate per second until ctx is done, with at most
// maxInflight calls running (a tick finding them all busy is skipped and
// counted: the generator does not queue), then waits for the running calls.
// It returns the number of skipped ticks.
func Paced(ctx context.Context, rate float64, maxInflight int, fn func()) int {
	interval := time.Duration(float64(time.Second) / rate)
	inflight := make(chan struct{}, maxInflight)
	var wg sync.WaitGroup
	skipped := 0
	next := time.Now()
	for {
		next = next.Add(interval)
		select {
		case <-ctx.Done():
			wg.Wait()
			return skipped
		case <-time.After(time.Until(next)):
		}
		select {
		case inflight <- struct{}{}:
		default:
			skipped++
			continue
		}
		wg.Go(func() {
			defer func() { <-inflight }()
			fn()
		})
	}
}
