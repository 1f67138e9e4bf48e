// Package apptest runs services in process for tests, on the real servers of
// internal/testenv: a fresh migrated PostgreSQL database, Redis, an Ed25519
// key pair, the complete app handler behind httptest, and a small HTTP client.
package apptest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/database"
	"github.com/bookstore-platform/bookstore/internal/platform/ratelimit"
	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/migrations"
)

// Keys is an Ed25519 key pair.
type Keys struct {
	Private    ed25519.PrivateKey
	Public     ed25519.PublicKey
	PrivatePEM []byte
	PublicPEM  []byte
}

// NewKeys generates a key pair.
func NewKeys(t testing.TB) Keys {
	t.Helper()
	privPEM, pubPEM, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := auth.ParsePrivateKeyPEM(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	return Keys{Private: priv, Public: priv.Public().(ed25519.PublicKey), PrivatePEM: privPEM, PublicPEM: pubPEM}
}

// Token mints a token for userID with role, valid for ttl.
func (k Keys) Token(t testing.TB, userID, role string, ttl time.Duration) string {
	t.Helper()
	tok, _, err := auth.NewSigner(k.Private, ttl).Sign(userID, role)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Env is the servers a test's services share: Redis and the key pair.
// Databases are per service.
type Env struct {
	Keys     Keys
	RedisURL string
}

// NewEnv returns a fresh Env.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	return &Env{Keys: NewKeys(t), RedisURL: testenv.Redis(t)}
}

// User returns the id of a new user and a token for it with role, valid
// for a minute.
func (e *Env) User(t testing.TB, role string) (id, token string) {
	t.Helper()
	id = uuid.NewString()
	return id, e.Keys.Token(t, id, role, time.Minute)
}

// Config returns the configuration of service on a fresh database with its
// migrations applied.
func (e *Env) Config(t testing.TB, service string) config.Config {
	t.Helper()
	cfg, err := config.Load(service, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = MigratedDatabase(t, service)
	cfg.RedisURL = e.RedisURL
	cfg.JWTPublicKey = e.Keys.Public
	if service == "user" {
		cfg.JWTPrivateKey = e.Keys.Private
	}
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.ShutdownDelay = 0 // no load balancer to leave in tests
	// Every test process shares one Redis and comes from 127.0.0.1: the
	// attempt limits are off unless a test sets them (services/user tests them).
	cfg.Limits.LoginAccount, cfg.Limits.LoginClient = ratelimit.Rate{}, ratelimit.Rate{}
	cfg.Limits.RegisterAccount, cfg.Limits.RegisterClient = ratelimit.Rate{}, ratelimit.Rate{}
	return cfg
}

// MigratedDatabase returns the DSN of a fresh database with the migrations of
// service applied.
func MigratedDatabase(t testing.TB, service string) string {
	t.Helper()
	dsn := testenv.Postgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := database.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := database.Migrate(ctx, pool, migrations.FS, service, nil); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// Server is a service running in process.
type Server struct {
	URL    string
	App    *app.App
	Client *http.Client
}

// Logger returns a logger writing to the test log when -v, else discarding.
func Logger(t testing.TB) *slog.Logger {
	if testing.Verbose() && os.Getenv("APPTEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Start builds the app of cfg with builders, serves it with httptest and
// runs its workers until the test ends.
func Start(t testing.TB, cfg config.Config, builders ...app.Builder) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, Logger(t), builders...)
	if err != nil {
		cancel()
		t.Fatalf("start %s: %v", cfg.Service, err)
	}
	srv := httptest.NewServer(a.Handler())
	done := make(chan error, 1)
	go func() { done <- a.RunWorkers(ctx) }()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s workers: %v", cfg.Service, err)
		}
		a.Close()
	})
	return &Server{URL: srv.URL, App: a, Client: srv.Client()}
}

// Response is a received response with its body read.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Request is one request for Server.Do.
type Request struct {
	Method string
	Path   string
	Token  string
	// Body is sent as JSON unless it is a string or []byte (sent as is).
	Body        any
	ContentType string // default application/json when Body is set
	Header      map[string]string
}

// Do sends req and reads the response.
func (s *Server) Do(t testing.TB, req Request) *Response {
	t.Helper()
	var body io.Reader
	if req.Body != nil {
		switch b := req.Body.(type) {
		case string:
			body = strings.NewReader(b)
		case []byte:
			body = bytes.NewReader(b)
		default:
			j, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			body = bytes.NewReader(j)
		}
	}
	hr, err := http.NewRequest(req.Method, s.URL+req.Path, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.Body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if req.Token != "" {
		hr.Header.Set("Authorization", "Bearer "+req.Token)
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	resp, err := s.Client.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Get is Do with GET.
func (s *Server) Get(t testing.TB, path, token string) *Response {
	t.Helper()
	return s.Do(t, Request{Method: http.MethodGet, Path: path, Token: token})
}

// Post is Do with POST and a JSON body.
func (s *Server) Post(t testing.TB, path, token string, body any) *Response {
	t.Helper()
	return s.Do(t, Request{Method: http.MethodPost, Path: path, Token: token, Body: body})
}

// Expect fails the test unless the status is want; it returns r.
func (r *Response) Expect(t testing.TB, want int) *Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %s", r.Status, want, r.Body)
	}
	return r
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode returns error.code of a JSON error body, "" if none.
func (r *Response) ErrorCode() string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// ErrorMessage returns error.message of a JSON error body.
func (r *Response) ErrorMessage() string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Message
}
