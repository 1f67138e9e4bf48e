package user

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
	"github.com/bookstore-platform/bookstore/internal/platform/ratelimit"
)

// guard protects login and register, which are unauthenticated and run
// bcrypt: per-client and per-account attempt limits in Redis (shared by the
// replicas) and a bound on the bcrypt computations running at once.
type guard struct {
	limits          config.Limits
	loginAccount    *ratelimit.Limiter
	loginClient     *ratelimit.Limiter
	registerAccount *ratelimit.Limiter
	registerClient  *ratelimit.Limiter
	slots           chan struct{}
}

func newGuard(rdb redis.Cmdable, l config.Limits) *guard {
	n := l.BcryptConcurrency
	if n <= 0 {
		n = 1
	}
	g := &guard{limits: l, slots: make(chan struct{}, n)}
	if rdb != nil {
		g.loginAccount = ratelimit.New(rdb, "login-account", l.LoginAccount)
		g.loginClient = ratelimit.New(rdb, "login-client", l.LoginClient)
		g.registerAccount = ratelimit.New(rdb, "register-account", l.RegisterAccount)
		g.registerClient = ratelimit.New(rdb, "register-client", l.RegisterClient)
	}
	return g
}

// accountKey is the account an e-mail names (e-mails are unique
// case-insensitively).
func accountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// admit counts the attempt against the client's and the account's limits
// and returns a 429 (with Retry-After) when one is exceeded, a 503 when Redis
// cannot answer (fail closed: a token could not be used then anyway).
func (g *guard) admit(w http.ResponseWriter, r *http.Request, client, account *ratelimit.Limiter, email string) error {
	ip := httpx.ClientIP(r, g.limits.TrustedProxies)
	wait, err := client.Take(r.Context(), ip.String())
	if err != nil {
		return httpx.Unavailable("cannot check the rate limit", err)
	}
	if wait > 0 {
		return httpx.TooManyRequests(w, wait, "too many attempts from this client; retry later")
	}
	if wait, err = account.Take(r.Context(), accountKey(email)); err != nil {
		return httpx.Unavailable("cannot check the rate limit", err)
	}
	if wait > 0 {
		return httpx.TooManyRequests(w, wait, "too many attempts for this account; retry later")
	}
	return nil
}

// busyWait is how long a request waits for a bcrypt slot before it is
// answered 503.
const busyWait = 5 * time.Second

// bcrypt runs f (a bcrypt hash or compare) when a slot is free, so that a
// burst of logins queues instead of starving every other request of CPU.
func (g *guard) bcrypt(ctx context.Context, w http.ResponseWriter, f func()) error {
	ctx, cancel := context.WithTimeout(ctx, busyWait)
	defer cancel()
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		w.Header().Set("Retry-After", "1")
		return httpx.E(http.StatusServiceUnavailable, httpx.CodeUnavailable, "too busy checking passwords; retry shortly")
	}
	defer func() { <-g.slots }()
	f()
	return nil
}
