package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"
)

func testKeys(t testing.TB) (ed25519.PrivateKey, *Verifier) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv, NewVerifier(pub)
}

func TestTokenCache(t *testing.T) {
	priv, v := testKeys(t)
	calls := 0
	c := NewTokenCache(func(raw string) (Principal, error) { calls++; return v.Verify(raw) }, 3)
	now := time.Now()
	c.now = func() time.Time { return now }
	tok, claims, err := NewSigner(priv, time.Minute).Sign("u1", RoleUser)
	if err != nil {
		t.Fatal(err)
	}

	for range 3 {
		p, err := c.Verify(tok)
		if err != nil || p.UserID != "u1" || p.JTI != claims.ID || p.Token != tok {
			t.Fatalf("Verify = %+v, %v", p, err)
		}
	}
	if calls != 1 {
		t.Fatalf("token verified %d times, want once", calls)
	}

	// Another payload under the cached signature is verified, and fails.
	header, rest, _ := strings.Cut(tok, ".")
	_, sig, _ := strings.Cut(rest, ".")
	forged := header + "." + strings.Repeat("A", 20) + "." + sig
	if _, err := c.Verify(forged); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("forged token with a cached signature: err %v", err)
	}
	// Invalid tokens are never cached: verified (and rejected) each time.
	calls = 0
	for range 2 {
		if _, err := c.Verify("not.a.token"); err == nil {
			t.Fatal("garbage accepted")
		}
	}
	if calls != 2 {
		t.Fatalf("invalid token verified %d times, want 2 (not cached)", calls)
	}

	// From exp on, the cached entry is not used: the token goes to the
	// verifier again (which, on the real clock, rejects it once expired).
	calls = 0
	now = claims.ExpiresAt.Time
	if _, _ = c.Verify(tok); calls != 1 {
		t.Fatalf("token at its exp verified %d times, want 1 (cache entry not used)", calls)
	}

	// The size stays bounded.
	now = time.Now()
	for i := range 10 {
		tk, _, err := NewSigner(priv, time.Minute).Sign(string(rune('a'+i)), RoleUser)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Verify(tk); err != nil {
			t.Fatal(err)
		}
		if c.Len() > 3 {
			t.Fatalf("%d cached tokens, limit 3", c.Len())
		}
	}
}

// The per-request cost of token verification without and with the cache.
func BenchmarkVerify(b *testing.B) {
	priv, v := testKeys(b)
	tok, _, err := NewSigner(priv, time.Hour).Sign("u1", RoleUser)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ed25519", func(b *testing.B) {
		for b.Loop() {
			if _, err := v.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		c := NewTokenCache(v.Verify, 0)
		for b.Loop() {
			if _, err := c.Verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}
