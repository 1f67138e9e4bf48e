package user_test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/ratelimit"
	"github.com/bookstore-platform/bookstore/services/user"
)

// from returns a copy of srv whose requests come from a random loopback
// address (127.x.y.z), so that each test is its own client.
func from(srv *apptest.Server) (*apptest.Server, string) {
	ip := netip.AddrFrom4([4]byte{127, byte(1 + rand.IntN(250)), byte(rand.IntN(256)), byte(1 + rand.IntN(250))})
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip.AsSlice()}, Timeout: 5 * time.Second}
	c := *srv
	c.Client = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	return &c, ip.String()
}

func startLimited(t *testing.T, redisURL string, mod func(*config.Limits)) *apptest.Server {
	t.Helper()
	env := apptest.NewEnv(t)
	cfg := env.Config(t, "user")
	if redisURL != "" {
		cfg.RedisURL = redisURL
	}
	mod(&cfg.Limits)
	return apptest.Start(t, cfg, user.Build(user.Options{BcryptCost: bcrypt.MinCost}))
}

func login(t *testing.T, srv *apptest.Server, email, password, forwardedFor string) *apptest.Response {
	t.Helper()
	req := apptest.Request{Method: http.MethodPost, Path: "/api/users/login",
		Body: map[string]string{"email": email, "password": password}}
	if forwardedFor != "" {
		req.Header = map[string]string{"X-Forwarded-For": forwardedFor}
	}
	return srv.Do(t, req)
}

func expect429(t *testing.T, r *apptest.Response, window time.Duration) {
	t.Helper()
	r.Expect(t, http.StatusTooManyRequests)
	if r.ErrorCode() != "too_many_requests" {
		t.Fatalf("429 code %q", r.ErrorCode())
	}
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > int(window/time.Second) {
		t.Fatalf("Retry-After %q, want 1..%d seconds", r.Header.Get("Retry-After"), int(window/time.Second))
	}
}

// Wrong passwords for one account are limited across replicas (two servers,
// one Redis) and from changing clients; other accounts are not affected; a
// successful login does not count.
func TestLoginLimitPerAccount(t *testing.T) {
	t.Parallel()
	env := apptest.NewEnv(t)
	cfg := env.Config(t, "user")
	cfg.Limits.LoginAccount = ratelimit.Rate{N: 3, Per: time.Minute}
	replicas := []*apptest.Server{
		apptest.Start(t, cfg, user.Build(user.Options{BcryptCost: bcrypt.MinCost})),
		apptest.Start(t, cfg, user.Build(user.Options{BcryptCost: bcrypt.MinCost})),
	}
	victim := "victim-" + uuid.NewString() + "@example.com"
	other := "other-" + uuid.NewString() + "@example.com"
	for _, e := range []string{victim, other} {
		replicas[0].Post(t, "/api/users/register", "", map[string]string{"email": e, "password": "right-password"}).Expect(t, 201)
	}
	login(t, replicas[0], victim, "right-password", "").Expect(t, 200) // not counted
	for i := range 3 {
		srv, _ := from(replicas[i%2])
		login(t, srv, victim, fmt.Sprintf("guess-%d-xx", i), "").Expect(t, 401)
	}
	srv, _ := from(replicas[1])
	expect429(t, login(t, srv, victim, "guess-4-xx", ""), time.Minute)
	// The e-mail is one account whatever its case.
	expect429(t, login(t, replicas[0], "  "+upper(victim), "right-password", ""), time.Minute)
	login(t, replicas[0], other, "right-password", "").Expect(t, 200)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// Attempts from one client are limited whatever accounts they name; a
// client-sent X-Forwarded-For changes nothing unless the peer is a trusted
// proxy, and then its rightmost untrusted entry is the client.
func TestLoginLimitPerClient(t *testing.T) {
	t.Parallel()
	window := time.Minute
	direct := startLimited(t, "", func(l *config.Limits) { l.LoginClient = ratelimit.Rate{N: 3, Per: window} })
	client, _ := from(direct)
	for i := range 3 {
		login(t, client, uuid.NewString()+"@example.com", "whatever-pw", fmt.Sprintf("198.51.100.%d", i)).Expect(t, 401)
	}
	expect429(t, login(t, client, uuid.NewString()+"@example.com", "whatever-pw", "198.51.100.99"), window)
	other, _ := from(direct)
	login(t, other, uuid.NewString()+"@example.com", "whatever-pw", "").Expect(t, 401)

	proxied := startLimited(t, "", func(l *config.Limits) {
		l.LoginClient = ratelimit.Rate{N: 2, Per: window}
		l.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	proxy, _ := from(proxied)
	real := fmt.Sprintf("203.0.113.%d", 1+rand.IntN(250))
	for i := range 2 {
		// The client prepended a forged address; the proxy appended the real one.
		login(t, proxy, uuid.NewString()+"@example.com", "whatever-pw", fmt.Sprintf("10.9.9.%d, %s", i, real)).Expect(t, 401)
	}
	expect429(t, login(t, proxy, uuid.NewString()+"@example.com", "whatever-pw", "10.9.9.200, "+real), window)
	login(t, proxy, uuid.NewString()+"@example.com", "whatever-pw", "192.0.2.7").Expect(t, 401) // another client behind the proxy
}

func TestRegisterLimits(t *testing.T) {
	t.Parallel()
	srv := startLimited(t, "", func(l *config.Limits) {
		l.RegisterClient = ratelimit.Rate{N: 2, Per: time.Minute}
		l.RegisterAccount = ratelimit.Rate{N: 1, Per: time.Minute}
	})
	client, _ := from(srv)
	taken := uuid.NewString() + "@example.com"
	client.Post(t, "/api/users/register", "", map[string]string{"email": taken, "password": "long-enough"}).Expect(t, 201)
	again, _ := from(srv)
	expect429(t, again.Post(t, "/api/users/register", "", map[string]string{"email": taken, "password": "long-enough"}), time.Minute)
	client.Post(t, "/api/users/register", "", map[string]string{"email": uuid.NewString() + "@example.com", "password": "long-enough"}).Expect(t, 201)
	expect429(t, client.Post(t, "/api/users/register", "", map[string]string{"email": uuid.NewString() + "@example.com", "password": "long-enough"}), time.Minute)
}

// Without Redis the limits cannot be checked: login fails closed with 503.
func TestLoginLimitFailsClosed(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	srv := startLimited(t, "redis://"+addr+"/0", func(l *config.Limits) { l.LoginClient = ratelimit.Rate{N: 5, Per: time.Minute} })
	login(t, srv, "x@example.com", "whatever-pw", "").Expect(t, http.StatusServiceUnavailable)
}
