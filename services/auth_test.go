// Package services_test runs the four services together in process.
package services_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/services/inventory"
	"github.com/bookstore-platform/bookstore/services/order"
	"github.com/bookstore-platform/bookstore/services/token"
	"github.com/bookstore-platform/bookstore/services/user"
)

type stack struct {
	env                          *apptest.Env
	users, tokens, books, orders *apptest.Server
}

func startAll(t *testing.T) stack {
	t.Helper()
	env := apptest.NewEnv(t)
	ucfg := env.Config(t, "user")
	ucfg.AdminEmail, ucfg.AdminPassword = "admin@bookstore.test", "admin-password"
	s := stack{env: env}
	s.users = apptest.Start(t, ucfg, user.Build(user.Options{BcryptCost: bcrypt.MinCost}))
	s.tokens = apptest.Start(t, env.Config(t, "token"), token.Build())
	s.books = apptest.Start(t, env.Config(t, "inventory"), inventory.Build(inventory.Options{}))
	ocfg := env.Config(t, "order")
	ocfg.InventoryURL = s.books.URL
	s.orders = apptest.Start(t, ocfg, order.Build(order.Options{}))
	return s
}

func login(t *testing.T, s stack, email, password string) string {
	t.Helper()
	var out struct{ Token string }
	s.users.Post(t, "/api/users/login", "", map[string]string{"email": email, "password": password}).Expect(t, 200).JSON(t, &out)
	return out.Token
}

// probe is one authenticated request per service that a plain user may make.
type probe struct {
	name string
	srv  func(stack) *apptest.Server
	req  apptest.Request
}

func probes(bookID string) []probe {
	return []probe{
		{"user", func(s stack) *apptest.Server { return s.users }, apptest.Request{Method: "GET", Path: "/api/users/me"}},
		{"token", func(s stack) *apptest.Server { return s.tokens }, apptest.Request{Method: "GET", Path: "/api/tokens/balance"}},
		{"inventory", func(s stack) *apptest.Server { return s.books }, apptest.Request{Method: "GET", Path: "/api/books/" + bookID}},
		{"order", func(s stack) *apptest.Server { return s.orders }, apptest.Request{Method: "POST", Path: "/api/orders", Body: map[string]any{"bookIds": []string{bookID}}}},
	}
}

// A token issued by the user service works in all four services until
// logout; from then on all four answer 401. Tokens the user service did not
// sign properly are refused everywhere.
func TestLogoutIsEffectiveInAllServices(t *testing.T) {
	s := startAll(t)
	s.users.Post(t, "/api/users/register", "", map[string]string{"email": "zoe@example.com", "password": "zoe-password"}).Expect(t, 201)
	tok := login(t, s, "zoe@example.com", "zoe-password")
	admin := login(t, s, "admin@bookstore.test", "admin-password")
	var bk struct{ BookID string }
	s.books.Post(t, "/api/books", admin, map[string]any{"title": "T", "author": "A", "price": 1, "amount": 1}).Expect(t, 201).JSON(t, &bk)

	okStatus := map[string]int{"user": 200, "token": 200, "inventory": 200, "order": 202}
	for _, p := range probes(bk.BookID) {
		req := p.req
		req.Token = tok
		p.srv(s).Do(t, req).Expect(t, okStatus[p.name])
	}

	s.users.Post(t, "/api/users/logout", tok, nil).Expect(t, 204)
	for _, p := range probes(bk.BookID) {
		t.Run("after logout/"+p.name, func(t *testing.T) {
			req := p.req
			req.Token = tok
			if r := p.srv(s).Do(t, req); r.Status != http.StatusUnauthorized {
				t.Fatalf("%s answered %d after logout, want 401", p.name, r.Status)
			}
		})
	}

	// The auth matrix, in every service.
	pub := s.env.Keys.Public
	other := apptest.NewKeys(t)
	sub := uuid.NewString()
	c := func(exp time.Duration) auth.Claims {
		now := time.Now()
		return auth.Claims{Role: auth.RoleUser, RegisteredClaims: jwt.RegisteredClaims{Issuer: auth.Issuer, Subject: sub, ID: uuid.NewString(),
			IssuedAt: jwt.NewNumericDate(now.Add(-2 * time.Minute)), ExpiresAt: jwt.NewNumericDate(now.Add(exp))}}
	}
	signed := func(m jwt.SigningMethod, key any, cl auth.Claims) string {
		s, err := jwt.NewWithClaims(m, cl).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	bad := map[string]string{
		"no token":              "",
		"malformed":             "a.b",
		"wrong signature":       signed(jwt.SigningMethodEdDSA, other.Private, c(time.Minute)),
		"alg none":              signed(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, c(time.Minute)),
		"HS256 with public key": signed(jwt.SigningMethodHS256, []byte(pub), c(time.Minute)),
		"HS256 with public PEM": signed(jwt.SigningMethodHS256, s.env.Keys.PublicPEM, c(time.Minute)),
		"expired":               signed(jwt.SigningMethodEdDSA, s.env.Keys.Private, c(-time.Minute)),
	}
	for name, badTok := range bad {
		for _, p := range probes(bk.BookID) {
			t.Run(name+"/"+p.name, func(t *testing.T) {
				req := p.req
				req.Token = badTok
				if r := p.srv(s).Do(t, req); r.Status != http.StatusUnauthorized || r.ErrorCode() != "unauthorized" {
					t.Fatalf("%s answered %d %s, want 401", p.name, r.Status, r.Body)
				}
			})
		}
	}
}
