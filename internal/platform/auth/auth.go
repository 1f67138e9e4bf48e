// Package auth issues and verifies the Bookstore access tokens and checks
// their revocation.
//
// Tokens are JWTs signed with Ed25519 (alg EdDSA) by the user service only;
// the other services hold the public key and can verify but never mint.
// The algorithm is pinned: a token with any other alg (none, HS256 signed with
// the public key, RS256, ...) is rejected. Claims: iss "bookstore", sub (user
// id), role ("user" or "admin"), jti, iat, exp (all required), aud when the
// deployment sets one. The header's kid (KeyID of the signing key) selects
// the key among the verifier's key set, so the signing key can be rotated:
// the new key signs while the old ones still verify.
//
// Revocation: logout stores the jti in Redis under "bookstore:revoked:<jti>"
// until the token's expiry plus the clock leeway; Middleware checks it on
// every request and fails closed (503) when Redis cannot answer.
package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Roles.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// Issuer is the iss claim of every token.
const Issuer = "bookstore"

// Leeway is the clock skew tolerated on exp, iat and nbf.
const Leeway = 5 * time.Second

// Claims are the claims of a Bookstore token.
type Claims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// Principal is the verified identity behind a request.
type Principal struct {
	UserID    string
	Role      string
	JTI       string
	ExpiresAt time.Time
	// Token is the raw bearer token, for calls to other services on the
	// caller's behalf.
	Token string
}

// IsAdmin reports whether the principal has the admin role.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

// Signer mints tokens. Only the user service has one.
type Signer struct {
	key      ed25519.PrivateKey
	kid      string
	audience string
	ttl      time.Duration
	now      func() time.Time
}

// NewSigner returns a Signer issuing tokens valid for ttl, with the kid of
// key in their header.
func NewSigner(key ed25519.PrivateKey, ttl time.Duration) *Signer {
	return &Signer{key: key, kid: KeyID(key.Public().(ed25519.PublicKey)), ttl: ttl, now: time.Now}
}

// WithAudience makes the signer set aud (empty: no aud).
func (s *Signer) WithAudience(aud string) *Signer {
	c := *s
	c.audience = aud
	return &c
}

// Sign issues a token for userID with role and returns it with its claims.
func (s *Signer) Sign(userID, role string) (string, Claims, error) {
	now := s.now().Truncate(time.Second)
	c := Claims{
		Role: role,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   userID,
			ID:        uuid.NewString(),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.ttl)),
		},
	}
	if s.audience != "" {
		c.Audience = jwt.ClaimStrings{s.audience}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = s.kid
	tok, err := t.SignedString(s.key)
	if err != nil {
		return "", Claims{}, fmt.Errorf("sign token: %w", err)
	}
	return tok, c, nil
}

// Verifier checks token signatures and claims against a key set.
type Verifier struct {
	keys   map[string]ed25519.PublicKey // by KeyID
	parser *jwt.Parser
}

// NewVerifier returns a Verifier accepting only EdDSA tokens signed by one of
// keys: the one their kid names (a token without kid is tried against each).
func NewVerifier(keys ...ed25519.PublicKey) *Verifier {
	v := &Verifier{keys: map[string]ed25519.PublicKey{}}
	for _, k := range keys {
		if k != nil {
			v.keys[KeyID(k)] = k
		}
	}
	return v.WithAudience("")
}

// WithAudience returns a verifier that also requires aud to hold audience
// (empty: aud is not checked).
func (v *Verifier) WithAudience(audience string) *Verifier {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(Issuer),
		jwt.WithLeeway(Leeway),
	}
	if audience != "" {
		opts = append(opts, jwt.WithAudience(audience))
	}
	return &Verifier{keys: v.keys, parser: jwt.NewParser(opts...)}
}

// ErrInvalidToken wraps every reason a token is not accepted.
var ErrInvalidToken = errors.New("invalid token")

// Verify parses and validates a raw token.
func (v *Verifier) Verify(raw string) (Principal, error) {
	var c Claims
	_, err := v.parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if _, ok := t.Method.(*jwt.SigningMethodEd25519); !ok {
			return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
		}
		kid, present := t.Header["kid"]
		if !present {
			set := jwt.VerificationKeySet{}
			for _, k := range v.keys {
				set.Keys = append(set.Keys, k)
			}
			return set, nil
		}
		id, _ := kid.(string)
		k, ok := v.keys[id]
		if !ok {
			return nil, errors.New("unknown kid")
		}
		return k, nil
	})
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	// jwt checks iat only when it is present; it is required here.
	if c.IssuedAt == nil {
		return Principal{}, fmt.Errorf("%w: missing iat", ErrInvalidToken)
	}
	if c.Subject == "" || c.ID == "" || (c.Role != RoleUser && c.Role != RoleAdmin) {
		return Principal{}, fmt.Errorf("%w: missing sub, jti or role", ErrInvalidToken)
	}
	return Principal{UserID: c.Subject, Role: c.Role, JTI: c.ID, ExpiresAt: c.ExpiresAt.Time, Token: raw}, nil
}

// GenerateKey returns a new Ed25519 key pair as PKCS#8 / PKIX PEM.
func GenerateKey() (privatePEM, publicPEM []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}),
		pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), nil
}

// ParsePublicKeyPEM parses a PKIX "PUBLIC KEY" PEM holding an Ed25519 key.
func ParsePublicKeyPEM(b []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, want Ed25519", k)
	}
	return pub, nil
}

// ParsePrivateKeyPEM parses a PKCS#8 "PRIVATE KEY" PEM holding an Ed25519 key.
func ParsePrivateKeyPEM(b []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is %T, want Ed25519", k)
	}
	return priv, nil
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal Middleware stored in ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// BearerToken extracts the token of an "Authorization: Bearer <token>" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
