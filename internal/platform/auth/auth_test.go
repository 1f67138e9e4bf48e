package auth_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

func keys(t testing.TB) (ed25519.PrivateKey, ed25519.PublicKey, []byte) {
	t.Helper()
	privPEM, pubPEM, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := auth.ParsePrivateKeyPEM(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := auth.ParsePublicKeyPEM(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("parsed public key does not match the private key")
	}
	return priv, pub, pubPEM
}

func claims(mod func(*auth.Claims)) auth.Claims {
	now := time.Now()
	c := auth.Claims{Role: auth.RoleUser, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: auth.Issuer, Subject: uuid.NewString(), ID: uuid.NewString(),
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
	}}
	if mod != nil {
		mod(&c)
	}
	return c
}

func sign(t *testing.T, method jwt.SigningMethod, key any, c auth.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// The whole authentication matrix against the middleware with a real Redis.
func TestAuthenticatorMatrix(t *testing.T) {
	priv, pub, pubPEM := keys(t)
	otherPriv, _, _ := keys(t)
	rdb := redisClient(t, testenv.Redis(t))
	revs := auth.NewRedisRevocations(rdb)
	a := auth.NewAuthenticator(auth.NewVerifier(pub), revs)

	var seen auth.Principal
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = auth.PrincipalFrom(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
	anyone := a.Require(ok)
	adminOnly := a.Require(ok, auth.RoleAdmin)

	valid, c, err := auth.NewSigner(priv, time.Minute).Sign(uuid.NewString(), auth.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := auth.NewSigner(priv, time.Minute).Sign(uuid.NewString(), auth.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	revoked, rc, err := auth.NewSigner(priv, time.Minute).Sign(uuid.NewString(), auth.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	if err := revs.Revoke(context.Background(), rc.ID, rc.ExpiresAt.Time); err != nil {
		t.Fatal(err)
	}
	rsaLike := sign(t, jwt.SigningMethodHS512, []byte("secret"), claims(nil))

	tests := []struct {
		name    string
		header  string
		handler http.Handler
		status  int
	}{
		{"valid user token", "Bearer " + valid, anyone, 204},
		{"lower-case scheme", "bearer " + valid, anyone, 204},
		{"no token", "", anyone, 401},
		{"basic scheme", "Basic dXNlcjpwYXNz", anyone, 401},
		{"bearer without token", "Bearer ", anyone, 401},
		{"malformed", "Bearer not.a.jwt", anyone, 401},
		{"garbage", "Bearer abc", anyone, 401},
		{"wrong signature", "Bearer " + sign(t, jwt.SigningMethodEdDSA, otherPriv, claims(nil)), anyone, 401},
		{"alg none", "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil)), anyone, 401},
		{"HS256 signed with the raw public key", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(pub), claims(nil)), anyone, 401},
		{"HS256 signed with the public key PEM", "Bearer " + sign(t, jwt.SigningMethodHS256, pubPEM, claims(nil)), anyone, 401},
		{"HS512", "Bearer " + rsaLike, anyone, 401},
		{"expired", "Bearer " + sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c *auth.Claims) {
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
		})), anyone, 401},
		{"no exp", "Bearer " + sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c *auth.Claims) { c.ExpiresAt = nil })), anyone, 401},
		{"issued in the future", "Bearer " + sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c *auth.Claims) {
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
		})), anyone, 401},
		{"wrong issuer", "Bearer " + sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c *auth.Claims) { c.Issuer = "evil" })), anyone, 401},
		{"no jti", "Bearer " + sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c *auth.Claims) { c.ID = "" })), anyone, 401},
		{"no sub", "Bearer " + sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c *auth.Claims) { c.Subject = "" })), anyone, 401},
		{"unknown role", "Bearer " + sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c *auth.Claims) { c.Role = "root" })), anyone, 401},
		{"revoked", "Bearer " + revoked, anyone, 401},
		{"user on admin route", "Bearer " + valid, adminOnly, 403},
		{"admin on admin route", "Bearer " + admin, adminOnly, 204},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			tc.handler.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// The handler saw the verified claims.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+valid)
	anyone.ServeHTTP(rec, req)
	if seen.UserID != c.Subject || seen.JTI != c.ID || seen.Role != auth.RoleUser || seen.Token != valid {
		t.Fatalf("principal %+v does not match claims %+v", seen, c)
	}
}

// Redis unreachable: authenticated requests fail closed with 503.
func TestRevocationFailsClosed(t *testing.T) {
	priv, pub, _ := keys(t)
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = dead.Close() })
	a := auth.NewAuthenticator(auth.NewVerifier(pub), auth.NewRedisRevocations(dead))
	tok, _, err := auth.NewSigner(priv, time.Minute).Sign(uuid.NewString(), auth.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("handler ran although revocation could not be checked")
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	var e httpx.ErrorBody
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	if e.Error.Code != httpx.CodeUnavailable {
		t.Fatalf("code %q", e.Error.Code)
	}
}

func TestRevokeSetsTTLUntilExpiry(t *testing.T) {
	rdb := redisClient(t, testenv.Redis(t))
	revs := auth.NewRedisRevocations(rdb)
	ctx := context.Background()
	jti := uuid.NewString()
	if err := revs.Revoke(ctx, jti, time.Now().Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.TTL(ctx, auth.RevokedKeyPrefix+jti).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl < 80*time.Second || ttl > 100*time.Second {
		t.Fatalf("TTL %s, want about 90s (the token's remaining life)", ttl)
	}
	if r, err := revs.IsRevoked(ctx, jti); err != nil || !r {
		t.Fatalf("IsRevoked = %v, %v", r, err)
	}
	if r, err := revs.IsRevoked(ctx, uuid.NewString()); err != nil || r {
		t.Fatalf("unknown jti: IsRevoked = %v, %v", r, err)
	}
	// Expired a second ago, still accepted within the leeway: revoked for the rest of it.
	late := uuid.NewString()
	if err := revs.Revoke(ctx, late, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := rdb.PTTL(ctx, auth.RevokedKeyPrefix+late).Result(); ttl <= 0 || ttl > auth.Leeway {
		t.Fatalf("TTL %s for a token inside the leeway, want (0, %s]", ttl, auth.Leeway)
	}
	// Past exp + leeway no verifier accepts it: no entry.
	old := uuid.NewString()
	if err := revs.Revoke(ctx, old, time.Now().Add(-auth.Leeway-time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, auth.RevokedKeyPrefix+old).Result(); n != 0 {
		t.Fatal("entry written for a token past exp + leeway")
	}
}

func TestParseKeysRejectsOtherKinds(t *testing.T) {
	_, pubPEM, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.ParsePrivateKeyPEM(pubPEM); err == nil {
		t.Error("public key PEM accepted as private key")
	}
	if _, err := auth.ParsePublicKeyPEM([]byte("not pem")); err == nil {
		t.Error("garbage accepted as public key")
	}
}
