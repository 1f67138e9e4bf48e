package token_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/services/token"
)

type fixture struct {
	srv *apptest.Server
	env *apptest.Env
	dsn string
}

func start(t testing.TB) fixture {
	t.Helper()
	env := apptest.NewEnv(t)
	cfg := env.Config(t, "token")
	return fixture{srv: apptest.Start(t, cfg, token.Build()), env: env, dsn: cfg.DatabaseURL}
}

func (f fixture) user(t testing.TB) (string, string) {
	return f.env.User(t, auth.RoleUser)
}

// balance is the balance GET /api/tokens/balance answers for tok.
func (f fixture) balance(t *testing.T, tok string) int64 {
	t.Helper()
	var bal struct{ Balance int64 }
	f.srv.Get(t, "/api/tokens/balance", tok).Expect(t, 200).JSON(t, &bal)
	return bal.Balance
}

type added struct {
	UserID      string
	AddedAmount int64
	Balance     int64
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	apptest.CheckOpenAPI(t, token.OpenAPI(), token.New(app.Deps{}).Routes)
}

func TestAddAndBalance(t *testing.T) {
	t.Parallel()
	f := start(t)
	id, tok := f.user(t)

	var bal struct {
		UserID  string
		Balance int64
	}
	f.srv.Get(t, "/api/tokens/balance", tok).Expect(t, 200).JSON(t, &bal)
	if bal.UserID != id || bal.Balance != 0 {
		t.Fatalf("new user's balance %+v, want 0", bal)
	}
	var a added
	f.srv.Post(t, "/api/tokens/add", tok, map[string]int64{"amount": 150}).Expect(t, 200).JSON(t, &a)
	if a != (added{id, 150, 150}) {
		t.Fatalf("first add %+v", a)
	}
	f.srv.Post(t, "/api/tokens/add", tok, map[string]int64{"amount": 50}).Expect(t, 200).JSON(t, &a)
	if a != (added{id, 50, 200}) {
		t.Fatalf("second add %+v", a)
	}
	f.srv.Get(t, "/api/tokens/balance", tok).Expect(t, 200).JSON(t, &bal)
	if bal.Balance != 200 {
		t.Fatalf("balance %d, want 200", bal.Balance)
	}
	// Balances are per user.
	_, otherTok := f.user(t)
	f.srv.Get(t, "/api/tokens/balance", otherTok).Expect(t, 200).JSON(t, &bal)
	if bal.Balance != 0 {
		t.Fatalf("other user's balance %d", bal.Balance)
	}
	// Every top-up is in the ledger.
	conn, err := pgx.Connect(context.Background(), f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n, sum int64
	if err := conn.QueryRow(context.Background(), `SELECT count(*), coalesce(sum(amount),0) FROM token_ledger WHERE user_id = $1 AND kind = 'add'`, id).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 2 || sum != 200 {
		t.Fatalf("ledger has %d add rows summing %d", n, sum)
	}
}

func TestAddRejectsInvalidAmounts(t *testing.T) {
	t.Parallel()
	f := start(t)
	_, tok := f.user(t)
	for _, body := range []string{
		`{"amount":0}`, `{"amount":-5}`, `{"amount":1.5}`, `{"amount":"10"}`, `{}`, `{"amount":null}`,
		`{"amount":10,"extra":1}`, `{"amount":10}{"amount":10}`, `{"amount":1000000001}`, `{"amount":99999999999999999999}`,
	} {
		t.Run(body, func(t *testing.T) {
			r := f.srv.Do(t, apptest.Request{Method: "POST", Path: "/api/tokens/add", Token: tok, Body: body})
			r.Expect(t, 400)
		})
	}
	f.srv.Do(t, apptest.Request{Method: "POST", Path: "/api/tokens/add", Token: tok, Body: `{"amount":1}`, ContentType: "text/plain"}).Expect(t, 415)
	if b := f.balance(t, tok); b != 0 {
		t.Fatalf("rejected requests changed the balance to %d", b)
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := start(t)
	_, tok := f.user(t)
	add := func(key string, amount int64) *apptest.Response {
		return f.srv.Do(t, apptest.Request{Method: "POST", Path: "/api/tokens/add", Token: tok,
			Body: map[string]int64{"amount": amount}, Header: map[string]string{"Idempotency-Key": key}})
	}
	var first, replay added
	add("k1", 100).Expect(t, 200).JSON(t, &first)
	r := add("k1", 100).Expect(t, 200)
	r.JSON(t, &replay)
	if replay != first || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %+v (header %q), want the first response %+v", replay, r.Header.Get("Idempotent-Replayed"), first)
	}
	// The same key with another amount is a misuse.
	add("k1", 999).Expect(t, 422)
	// A new key adds again; the key is scoped per user.
	var second added
	add("k2", 10).Expect(t, 200).JSON(t, &second)
	if second.Balance != 110 {
		t.Fatalf("balance after k2 %d, want 110", second.Balance)
	}
	_, otherTok := f.user(t)
	var other added
	f.srv.Do(t, apptest.Request{Method: "POST", Path: "/api/tokens/add", Token: otherTok,
		Body: map[string]int64{"amount": 7}, Header: map[string]string{"Idempotency-Key": "k1"}}).Expect(t, 200).JSON(t, &other)
	if other.Balance != 7 {
		t.Fatalf("other user's k1 got %+v", other)
	}
	add(strings.Repeat("k", 300), 1).Expect(t, 400)

	// Concurrent repeats of one key add once.
	var wg sync.WaitGroup
	results := make([]added, 8)
	for i := range results {
		wg.Go(func() {
			resp := add("race", 5)
			if resp.Status != 200 {
				t.Errorf("concurrent repeat %d: status %d %s", i, resp.Status, resp.Body)
				return
			}
			resp.JSON(t, &results[i])
		})
	}
	wg.Wait()
	for i, res := range results {
		if res != results[0] {
			t.Fatalf("concurrent repeats answered differently: %d: %+v vs %+v", i, res, results[0])
		}
	}
	if b := f.balance(t, tok); b != 115 {
		t.Fatalf("balance %d, want 115 (100 + 10 + 5 once)", b)
	}
}

func TestRequiresAuthentication(t *testing.T) {
	t.Parallel()
	f := start(t)
	other := apptest.NewKeys(t)
	for _, tok := range []string{"", "garbage", other.Token(t, uuid.NewString(), auth.RoleUser, time.Minute),
		f.env.Keys.Token(t, uuid.NewString(), auth.RoleUser, -time.Minute)} {
		f.srv.Get(t, "/api/tokens/balance", tok).Expect(t, 401)
		f.srv.Post(t, "/api/tokens/add", tok, map[string]int64{"amount": 1}).Expect(t, 401)
	}
}

// TestDatabaseDownIs503: with the service's database gone (connections
// refused, open ones terminated) a request answers 503
// service_unavailable, as docs/api.md says, not 500.
func TestDatabaseDownIs503(t *testing.T) {
	t.Parallel()
	f := start(t)
	_, tok := f.user(t)
	f.srv.Get(t, "/api/tokens/balance", tok).Expect(t, 200)

	ctx := context.Background()
	cfg, err := pgx.ParseConfig(f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := cfg.Database
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	db := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+db+` ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), `ALTER DATABASE `+db+` ALLOW_CONNECTIONS true`) })
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`, name); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		r := f.srv.Get(t, "/api/tokens/balance", tok)
		if r.Status != 503 || r.ErrorCode() != "service_unavailable" {
			t.Fatalf("request %d with the database down: %d %s, want 503 service_unavailable", i, r.Status, r.Body)
		}
	}
	r := f.srv.Post(t, "/api/tokens/add", tok, map[string]int{"amount": 5})
	if r.Status != 503 || r.ErrorCode() != "service_unavailable" {
		t.Fatalf("add with the database down: %d %s, want 503 service_unavailable", r.Status, r.Body)
	}
}
