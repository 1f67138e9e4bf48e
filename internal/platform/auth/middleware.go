package auth

import (
	"context"
	"net/http"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

// RevocationChecker tells whether a token id was revoked; an error means
// "unknown" and fails the request closed.
type RevocationChecker interface {
	IsRevoked(ctx context.Context, jti string) (bool, error)
}

// Authenticator authenticates requests: bearer token, signature and claims,
// then revocation.
type Authenticator struct {
	tokens      *TokenCache // verifies each token once per process
	revocations RevocationChecker
}

// NewAuthenticator returns an Authenticator.
func NewAuthenticator(v *Verifier, r RevocationChecker) *Authenticator {
	return &Authenticator{tokens: NewTokenCache(v.Verify, DefaultTokenCacheSize), revocations: r}
}

// Authenticate returns the principal of r or an *httpx.Error: 401 for a
// missing, malformed, invalid, expired or revoked token, 503 when the
// revocation store cannot be reached.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	raw, ok := BearerToken(r)
	if !ok {
		return Principal{}, httpx.Unauthorized("missing bearer token")
	}
	p, err := a.tokens.Verify(raw)
	if err != nil {
		return Principal{}, httpx.Unauthorized("invalid or expired token")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	revoked, err := a.revocations.IsRevoked(ctx, p.JTI)
	if err != nil {
		return Principal{}, httpx.Unavailable("cannot check token revocation", err)
	}
	if revoked {
		return Principal{}, httpx.Unauthorized("token has been revoked")
	}
	return p, nil
}

// Require wraps h so that it runs only for an authenticated request, with
// the Principal in its context (PrincipalFrom). With roles given, the
// principal must have one of them, else 403.
func (a *Authenticator) Require(h http.Handler, roles ...string) http.Handler {
	return httpx.Handle(func(w http.ResponseWriter, r *http.Request) error {
		p, err := a.Authenticate(r)
		if err != nil {
			return err
		}
		if len(roles) > 0 && !hasRole(p, roles) {
			return httpx.Forbidden("requires role " + roles[0])
		}
		h.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		return nil
	})
}

func hasRole(p Principal, roles []string) bool {
	for _, role := range roles {
		if p.Role == role {
			return true
		}
	}
	return false
}

// RequestPrincipal returns the request's principal; handlers behind Require use
// it. Without one it returns a 401 error.
func RequestPrincipal(r *http.Request) (Principal, error) {
	p, ok := PrincipalFrom(r.Context())
	if !ok {
		return Principal{}, httpx.Unauthorized("not authenticated")
	}
	return p, nil
}
