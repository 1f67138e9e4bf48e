package services_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
	"github.com/bookstore-platform/bookstore/services/inventory"
	"github.com/bookstore-platform/bookstore/services/order"
	"github.com/bookstore-platform/bookstore/services/token"
	"github.com/bookstore-platform/bookstore/services/user"
)

// identity is one bearer of the matrix: a name, its token, and what it is.
type identity struct {
	name, token, userID string
	valid, admin        bool
}

// endpoint is one route of the public API; req builds the request (fresh
// resources where a request consumes one) and want is the status a valid
// identity gets (the others get 401 where auth is required).
type endpoint struct {
	name   string
	srv    func(stack) *apptest.Server
	public bool // no token required (register, login)
	req    func(t *testing.T, id identity) apptest.Request
	want   func(id identity) int
}

// The HTTP authorization matrix: every endpoint of the four services ×
// {anonymous, user A, user B, admin, expired, revoked, alg:none, HS256 with
// the public key as secret, wrong key, tampered claims}, against the real
// in-process services. Users cannot be deleted (there is no such endpoint
// or operation), so "token of a deleted user" has no row.
func TestAuthorizationMatrix(t *testing.T) {
	s := startAll(t)
	reg := func(email string) (id, tok string) {
		var out struct{ UserID string }
		s.users.Post(t, "/api/users/register", "", map[string]string{"email": email, "password": "pass-" + email}).Expect(t, 201).JSON(t, &out)
		return out.UserID, login(t, s, email, "pass-"+email)
	}
	aID, aTok := reg("ann@example.com")
	bID, bTok := reg("bob@example.com")
	adminTok := login(t, s, "admin@bookstore.test", "admin-password")
	var me struct{ UserID string }
	s.users.Get(t, "/api/users/me", adminTok).Expect(t, 200).JSON(t, &me)
	revoked := login(t, s, "ann@example.com", "pass-ann@example.com")
	s.users.Post(t, "/api/users/logout", revoked, nil).Expect(t, 204)

	newBook := func(t *testing.T) string {
		var bk struct{ BookID string }
		s.books.Post(t, "/api/books", adminTok, map[string]any{"title": "T", "author": "A", "price": 0, "amount": 1000}).Expect(t, 201).JSON(t, &bk)
		return bk.BookID
	}
	book := newBook(t)
	var placed struct{ OrderID string }
	s.orders.Post(t, "/api/orders", aTok, map[string]any{"bookIds": []string{book}}).Expect(t, 202).JSON(t, &placed)
	aOrder := placed.OrderID

	ids := []identity{
		{name: "anonymous"},
		{name: "user A", token: aTok, userID: aID, valid: true},
		{name: "user B", token: bTok, userID: bID, valid: true},
		{name: "admin", token: adminTok, userID: me.UserID, valid: true, admin: true},
		{name: "revoked", token: revoked},
	}
	for name, tok := range forgedTokens(t, s, aID, aTok) {
		ids = append(ids, identity{name: name, token: tok})
	}

	ok := func(code int) func(identity) int { return func(identity) int { return code } }
	adminOnly := func(code int) func(identity) int {
		return func(id identity) int {
			if id.admin {
				return code
			}
			return http.StatusForbidden
		}
	}
	get := func(path string) func(*testing.T, identity) apptest.Request {
		return func(*testing.T, identity) apptest.Request { return apptest.Request{Method: "GET", Path: path} }
	}
	users := func(s stack) *apptest.Server { return s.users }
	tokens := func(s stack) *apptest.Server { return s.tokens }
	books := func(s stack) *apptest.Server { return s.books }
	orders := func(s stack) *apptest.Server { return s.orders }
	endpoints := []endpoint{
		{"POST /api/users/register", users, true, func(*testing.T, identity) apptest.Request {
			return apptest.Request{Method: "POST", Path: "/api/users/register", Body: map[string]string{"email": uuid.NewString() + "@example.com", "password": "password-1"}}
		}, ok(201)},
		{"POST /api/users/login", users, true, func(*testing.T, identity) apptest.Request {
			return apptest.Request{Method: "POST", Path: "/api/users/login", Body: map[string]string{"email": "bob@example.com", "password": "pass-bob@example.com"}}
		}, ok(200)},
		{"GET /api/users/me", users, false, get("/api/users/me"), ok(200)},
		{"POST /api/tokens/add", tokens, false, func(*testing.T, identity) apptest.Request {
			return apptest.Request{Method: "POST", Path: "/api/tokens/add", Body: map[string]int{"amount": 5}}
		}, ok(200)},
		{"GET /api/tokens/balance", tokens, false, get("/api/tokens/balance"), ok(200)},
		{"GET /api/tokens/history", tokens, false, get("/api/tokens/history"), ok(200)},
		{"POST /api/books", books, false, func(*testing.T, identity) apptest.Request {
			return apptest.Request{Method: "POST", Path: "/api/books", Body: map[string]any{"title": "N", "author": "A", "price": 1, "amount": 1}}
		}, adminOnly(201)},
		{"GET /api/books", books, false, get("/api/books"), ok(200)},
		{"GET /api/books/{id}", books, false, get("/api/books/" + book), ok(200)},
		{"PATCH /api/books/{id}", books, false, func(*testing.T, identity) apptest.Request {
			return apptest.Request{Method: "PATCH", Path: "/api/books/" + book, Body: map[string]any{"amount": 1000}}
		}, adminOnly(200)},
		{"DELETE /api/books/{id}", books, false, func(t *testing.T, _ identity) apptest.Request {
			return apptest.Request{Method: "DELETE", Path: "/api/books/" + newBook(t)}
		}, adminOnly(204)},
		{"POST /api/orders", orders, false, func(*testing.T, identity) apptest.Request {
			return apptest.Request{Method: "POST", Path: "/api/orders", Body: map[string]any{"bookIds": []string{book}}}
		}, ok(202)},
		{"GET /api/orders", orders, false, get("/api/orders"), ok(200)},
		{"GET /api/orders?scope=all", orders, false, get("/api/orders?scope=all"), adminOnly(200)},
		{"GET /api/orders/{A's order}", orders, false, get("/api/orders/" + aOrder), func(id identity) int {
			if id.admin || id.userID == aID {
				return 200
			}
			return http.StatusNotFound // another user's order does not exist for them
		}},
		// Last: it revokes the token it is sent with (a fresh one per identity).
		{"POST /api/users/logout", users, false, func(t *testing.T, id identity) apptest.Request {
			return apptest.Request{Method: "POST", Path: "/api/users/logout"}
		}, ok(204)},
	}
	checkRoutesCovered(t, s, endpoints)
	for _, ep := range endpoints {
		for _, id := range ids {
			t.Run(ep.name+"/"+id.name, func(t *testing.T) {
				req := ep.req(t, id)
				req.Token = id.token
				if ep.name == "POST /api/users/logout" && id.valid {
					role := auth.RoleUser
					if id.admin {
						role = auth.RoleAdmin
					}
					req.Token = s.env.Keys.Token(t, id.userID, role, time.Minute)
				}
				r := ep.srv(s).Do(t, req)
				want := http.StatusUnauthorized
				switch {
				case ep.public:
					want = ep.want(id) // tokens neither help nor hurt
				case id.valid:
					want = ep.want(id)
				}
				if r.Status != want {
					t.Fatalf("%d, want %d: %s", r.Status, want, r.Body)
				}
				if r.Status >= 400 && r.ErrorCode() == "" {
					t.Fatalf("%d without a JSON error: %s", r.Status, r.Body)
				}
				if id.valid && r.Status == 200 {
					checkOwnData(t, ep.name, id, aOrder, r)
				}
			})
		}
	}
}

// checkOwnData: what a user reads is theirs only.
func checkOwnData(t *testing.T, endpoint string, id identity, aOrder string, r *apptest.Response) {
	t.Helper()
	switch endpoint {
	case "GET /api/users/me", "GET /api/tokens/balance", "POST /api/tokens/add":
		var out struct{ UserID string }
		r.JSON(t, &out)
		if out.UserID != id.userID {
			t.Fatalf("%s as %s answered user %s", endpoint, id.userID, out.UserID)
		}
	case "GET /api/orders":
		var page struct{ Items []struct{ ID, UserID string } }
		r.JSON(t, &page)
		for _, o := range page.Items {
			if o.UserID != id.userID {
				t.Fatalf("%s listed order %s of user %s", id.name, o.ID, o.UserID)
			}
		}
	}
}

// checkRoutesCovered fails when a service has a route the matrix lacks.
func checkRoutesCovered(t *testing.T, s stack, eps []endpoint) {
	t.Helper()
	have := map[string]bool{}
	for _, ep := range eps {
		have[strings.SplitN(ep.name, "?", 2)[0]] = true
	}
	have["GET /api/orders/{id}"] = have["GET /api/orders/{A's order}"]
	u, err := user.New(s.users.App.Deps(), user.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, routes := range []func(*mux.Router){u.Routes, token.New(app.Deps{}).Routes, inventory.New(app.Deps{}, inventory.Options{}).Routes,
		order.New(app.Deps{}, order.Options{}).Routes} {
		r := httpx.NewRouter()
		routes(r)
		list, err := httpx.Routes(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range list {
			if !have[rt.Method+" "+rt.Path] {
				t.Errorf("route %s %s is not in the authorization matrix", rt.Method, rt.Path)
			}
		}
	}
}

// forgedTokens are the tokens an attacker can make for user A without the
// signing key: all must be 401 everywhere.
func forgedTokens(t *testing.T, s stack, aID, aTok string) map[string]string {
	t.Helper()
	now := time.Now()
	claims := auth.Claims{Role: auth.RoleAdmin, RegisteredClaims: jwt.RegisteredClaims{Issuer: auth.Issuer, Subject: aID, ID: uuid.NewString(),
		IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute))}}
	sign := func(m jwt.SigningMethod, key any, c auth.Claims) string {
		tok, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// Tampered: A's real token with role admin and B's... any change to the
	// claims, the signature kept.
	parts := strings.Split(aTok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	m["role"] = auth.RoleAdmin
	tampered, _ := json.Marshal(m)
	expired := s.env.Keys.Token(t, aID, auth.RoleUser, -time.Minute)
	return map[string]string{
		"expired":               expired,
		"alg none":              sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims),
		"HS256 with public key": sign(jwt.SigningMethodHS256, s.env.Keys.PublicPEM, claims),
		"wrong key":             sign(jwt.SigningMethodEdDSA, apptest.NewKeys(t).Private, claims),
		"tampered claims":       fmt.Sprintf("%s.%s.%s", parts[0], base64.RawURLEncoding.EncodeToString(tampered), parts[2]),
	}
}
