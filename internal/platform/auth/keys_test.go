package auth_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
)

// Rotation: the new key signs, tokens of the old key still verify while its
// public key is in the set, and no longer once it is dropped.
func TestKeyRotation(t *testing.T) {
	oldPriv, oldPub, oldPEM := keys(t)
	newPriv, newPub, newPEM := keys(t)
	set, err := auth.ParsePublicKeysPEM(bytes.Join([][]byte{newPEM, oldPEM}, nil))
	if err != nil || len(set) != 2 {
		t.Fatalf("bundle: %d keys, %v", len(set), err)
	}
	oldTok, _, err := auth.NewSigner(oldPriv, time.Minute).Sign(uuid.NewString(), auth.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	newTok, _, err := auth.NewSigner(newPriv, time.Minute).Sign(uuid.NewString(), auth.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _ := jwt.NewParser().ParseUnverified(newTok, &auth.Claims{})
	if tok.Header["kid"] != auth.KeyID(newPub) {
		t.Fatalf("kid %v, want %s", tok.Header["kid"], auth.KeyID(newPub))
	}
	during := auth.NewVerifier(set...)
	for name, raw := range map[string]string{"old": oldTok, "new": newTok} {
		if _, err := during.Verify(raw); err != nil {
			t.Errorf("during rotation the %s key's token is refused: %v", name, err)
		}
	}
	after := auth.NewVerifier(newPub)
	if _, err := after.Verify(oldTok); err == nil {
		t.Error("old key's token accepted after the old key was dropped")
	}
	// A key outside the set does not verify.
	if _, err := auth.NewVerifier(oldPub).Verify(newTok); err == nil {
		t.Error("token of a key outside the set accepted")
	}
}

// iat is required (jwt/v5 checks it only when present); aud when configured.
func TestRequiredClaims(t *testing.T) {
	priv, pub, _ := keys(t)
	v := auth.NewVerifier(pub)
	noIat := sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c *auth.Claims) { c.IssuedAt = nil }))
	if _, err := v.Verify(noIat); err == nil {
		t.Error("token without iat accepted")
	}
	future := sign(t, jwt.SigningMethodEdDSA, priv, claims(func(c *auth.Claims) { c.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Hour)) }))
	if _, err := v.Verify(future); err == nil {
		t.Error("token issued in the future accepted")
	}
	shop, _, err := auth.NewSigner(priv, time.Minute).WithAudience("shop-a").Sign(uuid.NewString(), auth.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.WithAudience("shop-a").Verify(shop); err != nil {
		t.Errorf("own audience refused: %v", err)
	}
	if _, err := v.WithAudience("shop-b").Verify(shop); err == nil {
		t.Error("token of another deployment (aud shop-a) accepted by shop-b")
	}
	plain := sign(t, jwt.SigningMethodEdDSA, priv, claims(nil))
	if _, err := v.WithAudience("shop-b").Verify(plain); err == nil {
		t.Error("token without aud accepted where aud is required")
	}
}
