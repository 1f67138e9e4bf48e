package user_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/services/user"
)

const (
	adminEmail    = "admin@bookstore.test"
	adminPassword = "admin-password"
)

type fixture struct {
	srv *apptest.Server
	env *apptest.Env
	dsn string
}

func start(t testing.TB) fixture {
	t.Helper()
	env := apptest.NewEnv(t)
	cfg := env.Config(t, "user")
	cfg.AdminEmail, cfg.AdminPassword = adminEmail, adminPassword
	cfg.JWTTTL = 10 * time.Minute
	srv := apptest.Start(t, cfg, user.Build(user.Options{BcryptCost: bcrypt.MinCost}))
	return fixture{srv: srv, env: env, dsn: cfg.DatabaseURL}
}

func (f fixture) register(t testing.TB, email, password string) string {
	t.Helper()
	var out struct{ UserID, Email string }
	f.srv.Post(t, "/api/users/register", "", map[string]string{"email": email, "password": password}).Expect(t, 201).JSON(t, &out)
	return out.UserID
}

func (f fixture) login(t *testing.T, email, password string) string {
	t.Helper()
	var out struct {
		Email, Token string
		ExpiresAt    time.Time
	}
	f.srv.Post(t, "/api/users/login", "", map[string]string{"email": email, "password": password}).Expect(t, 200).JSON(t, &out)
	return out.Token
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	keys := apptest.NewKeys(t)
	var d app.Deps
	d.Config.JWTPrivateKey = keys.Private
	s, err := user.New(d, user.Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	apptest.CheckOpenAPI(t, user.OpenAPI(), s.Routes)
}

func TestRegister(t *testing.T) {
	t.Parallel()
	f := start(t)
	var out struct{ UserID, Email string }
	f.srv.Post(t, "/api/users/register", "", map[string]string{"email": "Alice@Example.com", "password": "correct horse"}).Expect(t, 201).JSON(t, &out)
	if out.Email != "Alice@Example.com" || len(out.UserID) != 36 {
		t.Fatalf("register answered %+v", out)
	}
	tests := []struct {
		name   string
		body   any
		ctype  string
		status int
	}{
		{"duplicate email, other case", map[string]string{"email": "alice@EXAMPLE.com", "password": "another pass"}, "", 409},
		{"invalid email", map[string]string{"email": "not-an-email", "password": "long enough"}, "", 400},
		{"email with name", map[string]string{"email": "Bob <bob@example.com>", "password": "long enough"}, "", 400},
		{"empty email", map[string]string{"email": "", "password": "long enough"}, "", 400},
		{"short password", map[string]string{"email": "bob@example.com", "password": "1234567"}, "", 400},
		{"missing password", map[string]string{"email": "bob@example.com"}, "", 400},
		{"unknown field", map[string]any{"email": "bob@example.com", "password": "long enough", "role": "admin"}, "", 400},
		{"trailing data", `{"email":"bob@example.com","password":"long enough"} {}`, "", 400},
		{"wrong content type", `{"email":"bob@example.com","password":"long enough"}`, "text/plain", 415},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.srv.Do(t, apptest.Request{Method: "POST", Path: "/api/users/register", Body: tc.body, ContentType: tc.ctype})
			r.Expect(t, tc.status)
			if r.ErrorCode() == "" {
				t.Fatalf("error without JSON code: %s", r.Body)
			}
		})
	}
}

func TestLoginAndMe(t *testing.T) {
	t.Parallel()
	f := start(t)
	id := f.register(t, "carol@example.com", "carol-password")

	var out struct {
		Email, Token string
		ExpiresAt    time.Time
	}
	f.srv.Post(t, "/api/users/login", "", map[string]string{"email": "CAROL@example.com", "password": "carol-password"}).Expect(t, 200).JSON(t, &out)
	if strings.HasPrefix(out.Token, "Bearer") || out.Email != "carol@example.com" {
		t.Fatalf("login answered %+v", out)
	}
	if d := time.Until(out.ExpiresAt); d < 9*time.Minute || d > 11*time.Minute {
		t.Fatalf("expiresAt %s is not about the configured 10m away", out.ExpiresAt)
	}
	p, err := auth.NewVerifier(f.env.Keys.Public).Verify(out.Token)
	if err != nil || p.UserID != id || p.Role != auth.RoleUser {
		t.Fatalf("issued token: %+v, %v", p, err)
	}

	var me struct{ UserID, Email, Role string }
	f.srv.Get(t, "/api/users/me", out.Token).Expect(t, 200).JSON(t, &me)
	if me.UserID != id || me.Email != "carol@example.com" || me.Role != "user" {
		t.Fatalf("me = %+v", me)
	}

	wrong := f.srv.Post(t, "/api/users/login", "", map[string]string{"email": "carol@example.com", "password": "wrong-password"}).Expect(t, 401)
	unknown := f.srv.Post(t, "/api/users/login", "", map[string]string{"email": "nobody@example.com", "password": "carol-password"}).Expect(t, 401)
	if wrong.ErrorMessage() != unknown.ErrorMessage() {
		t.Fatalf("unknown email (%q) and wrong password (%q) are distinguishable", unknown.ErrorMessage(), wrong.ErrorMessage())
	}
	f.srv.Get(t, "/api/users/me", "").Expect(t, 401)
}

func TestAdminIsEnsuredAtStart(t *testing.T) {
	t.Parallel()
	f := start(t)
	tok := f.login(t, adminEmail, adminPassword)
	var me struct{ Role string }
	f.srv.Get(t, "/api/users/me", tok).Expect(t, 200).JSON(t, &me)
	if me.Role != auth.RoleAdmin {
		t.Fatalf("admin has role %q", me.Role)
	}
	// Registering the admin's email again is a conflict, not a takeover.
	f.srv.Post(t, "/api/users/register", "", map[string]string{"email": strings.ToUpper(adminEmail), "password": "takeover!!"}).Expect(t, 409)
}

func TestLogoutRevokesAndPublishes(t *testing.T) {
	t.Parallel()
	f := start(t)
	id := f.register(t, "dave@example.com", "dave-password")
	tok := f.login(t, "dave@example.com", "dave-password")
	other := f.login(t, "dave@example.com", "dave-password")

	f.srv.Post(t, "/api/users/logout", tok, nil).Expect(t, 204)
	f.srv.Get(t, "/api/users/me", tok).Expect(t, 401)
	f.srv.Post(t, "/api/users/logout", tok, nil).Expect(t, 401)
	// Only that token: the user's other session still works.
	f.srv.Get(t, "/api/users/me", other).Expect(t, 200)

	// The UserLoggedOut event is in the outbox, keyed by user id.
	conn, err := pgx.Connect(context.Background(), f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var (
		topic, key, typ string
		payload         []byte
	)
	if err := conn.QueryRow(context.Background(), `SELECT topic, key, event_type, payload FROM outbox`).Scan(&topic, &key, &typ, &payload); err != nil {
		t.Fatalf("outbox: %v", err)
	}
	p, _ := auth.NewVerifier(f.env.Keys.Public).Verify(tok)
	env, err := events.Parse(payload)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.UserLoggedOut
	if err := env.Decode(&ev); err != nil {
		t.Fatal(err)
	}
	if topic != events.TopicUsers || key != id || typ != events.TypeUserLoggedOut || ev.JTI != p.JTI || ev.UserID != id || !ev.ExpiresAt.Equal(p.ExpiresAt) {
		t.Fatalf("outbox row topic=%s key=%s type=%s event=%+v", topic, key, typ, ev)
	}
}

func TestPlatformEndpoints(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.srv.Get(t, "/healthz", "").Expect(t, 200)
	var ready struct {
		Status string
		Checks map[string]string
	}
	f.srv.Get(t, "/readyz", "").Expect(t, 200).JSON(t, &ready)
	if ready.Checks["database"] != "ok" || ready.Checks["redis"] != "ok" {
		t.Fatalf("readyz = %+v", ready)
	}
	f.register(t, "erin@example.com", "erin-password")
	metrics := f.srv.Get(t, "/metrics", "").Expect(t, 200)
	for _, want := range []string{
		`bookstore_http_requests_total{method="POST",route="/api/users/register",service="user",status="201"} 1`,
		`bookstore_http_request_duration_seconds_bucket{method="POST",route="/api/users/register",service="user",status="201"`,
		`bookstore_db_pool_total_conns`,
	} {
		if !strings.Contains(string(metrics.Body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	var doc map[string]any
	f.srv.Get(t, "/docs/user/openapi.json", "").Expect(t, 200).JSON(t, &doc)
	if doc["openapi"] == nil {
		t.Fatal("openapi.json is not an OpenAPI document")
	}
	ui := f.srv.Get(t, "/docs/user/swagger/", "").Expect(t, 200)
	if !strings.Contains(string(ui.Body), "swagger-ui-bundle.js") {
		t.Fatal("swagger UI page missing")
	}
	f.srv.Get(t, "/docs/user/swagger/swagger-ui-bundle.js", "").Expect(t, 200)
	if r := f.srv.Get(t, "/api/users/nope", ""); r.Status != 404 || r.ErrorCode() != "not_found" {
		t.Fatalf("unknown path: %d %s", r.Status, r.Body)
	}
	if r := f.srv.Do(t, apptest.Request{Method: http.MethodDelete, Path: "/api/users/me"}); r.Status != 405 {
		t.Fatalf("wrong method: %d", r.Status)
	}
}

// With Redis down, readiness fails and authenticated requests fail closed.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	env := apptest.NewEnv(t)
	cfg := env.Config(t, "user")
	cfg.RedisURL = "redis://127.0.0.1:1/0"
	srv := apptest.Start(t, cfg, user.Build(user.Options{BcryptCost: bcrypt.MinCost}))
	var ready struct{ Checks map[string]string }
	srv.Get(t, "/readyz", "").Expect(t, 503).JSON(t, &ready)
	if ready.Checks["redis"] == "ok" || ready.Checks["database"] != "ok" {
		t.Fatalf("readyz checks %v", ready.Checks)
	}
	tok := env.Keys.Token(t, "0193a0a0-0000-7000-8000-000000000001", auth.RoleUser, time.Minute)
	r := srv.Get(t, "/api/users/me", tok).Expect(t, 503)
	if r.ErrorCode() != "service_unavailable" {
		t.Fatalf("code %q", r.ErrorCode())
	}
}
