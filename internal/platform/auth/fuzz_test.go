package auth_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
)

// FuzzVerify: Verify never panics on any string, and whatever it accepts is
// a compact JWS whose header says EdDSA and whose signature verifies with
// the real key over its first two parts: no parser confusion lets a token
// through that the key did not sign.
func FuzzVerify(f *testing.F) {
	priv, pub, pubPEM := keys(f)
	good, _, err := auth.NewSigner(priv, time.Hour).Sign(uuid.NewString(), auth.RoleUser)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	for _, s := range []string{good, "", ".", "..", "a.b.c", parts[0] + "." + parts[1] + ".", parts[0] + "." + parts[1],
		good + ".x", good + "=", strings.ToUpper(good), parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(pubPEM),
		`eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.`, strings.Repeat("a", 10000)} {
		f.Add(s)
	}
	v := auth.NewVerifier(pub)
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := v.Verify(raw)
		if err != nil {
			return
		}
		seg := strings.Split(raw, ".")
		if len(seg) != 3 {
			t.Fatalf("accepted %q with %d segments", raw, len(seg))
		}
		sig, err := base64.RawURLEncoding.DecodeString(seg[2])
		if err != nil || !ed25519.Verify(pub, []byte(seg[0]+"."+seg[1]), sig) {
			t.Fatalf("accepted %q whose signature the key did not make", raw)
		}
		if p.UserID == "" || p.JTI == "" || (p.Role != auth.RoleUser && p.Role != auth.RoleAdmin) {
			t.Fatalf("accepted principal %+v", p)
		}
	})
}

// FuzzVerifyClaims signs any header and claims JSON with the real key (as
// only the user service can; a bug in the claim checks would still let bad
// tokens through) and checks that Verify accepts exactly what the documented
// rules allow: alg EdDSA, the kid of the key or none, iss bookstore, exp in
// the future, iat present and not in the future, sub, jti and a known role.
// $IAT and $EXP in the claims become now plus the fuzzed offsets.
func FuzzVerifyClaims(f *testing.F) {
	priv, pub, _ := keys(f)
	kid := auth.KeyID(pub)
	for _, c := range []string{
		`{"iss":"bookstore","sub":"u","jti":"j","role":"user","iat":$IAT,"exp":$EXP}`,
		`{"iss":"bookstore","sub":"u","jti":"j","role":"root","iat":$IAT,"exp":$EXP}`,
		`{"iss":"Bookstore","sub":"u","jti":"j","role":"admin","iat":$IAT,"exp":$EXP}`,
		`{"iss":"bookstore","sub":"","jti":"j","role":"admin","iat":$IAT,"exp":$EXP}`,
		`{"iss":"bookstore","sub":"u","jti":"j","role":"user","iat":"$IAT","exp":$EXP}`,
		`{"iss":"bookstore","sub":"u","jti":"j","role":"user","exp":$EXP}`,
		`{"iss":"bookstore","sub":"u","jti":"j","role":"user","iat":$IAT,"exp":1e300}`,
		`{"iss":"bookstore","sub":"u","jti":"j","role":"user","iat":$IAT,"exp":$EXP,"nbf":$EXP}`,
		`{"iss":["bookstore"],"sub":"u","jti":"j","role":"user","iat":$IAT,"exp":$EXP}`,
		`{"iss":"bookstore","sub":"u","jti":"j","role":"user","role":"admin","iat":$IAT,"exp":$EXP,"aud":7}`,
	} {
		for _, h := range []string{`{"alg":"EdDSA","typ":"JWT","kid":"` + kid + `"}`, `{"alg":"EdDSA"}`,
			`{"alg":"EdDSA","kid":"other"}`, `{"alg":"EdDSA","kid":7}`, `{"alg":"none"}`, `{"alg":"HS256"}`} {
			f.Add(h, c, int32(-60), int32(600))
			f.Add(h, c, int32(60), int32(-600))
		}
	}
	v := auth.NewVerifier(pub)
	f.Fuzz(func(t *testing.T, header, claimsTmpl string, iatOff, expOff int32) {
		now := time.Now().Unix()
		claims := strings.NewReplacer("$IAT", itoa(now+int64(iatOff)), "$EXP", itoa(now+int64(expOff))).Replace(claimsTmpl)
		enc := base64.RawURLEncoding
		signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
		raw := signing + "." + enc.EncodeToString(ed25519.Sign(priv, []byte(signing)))
		_, err := v.Verify(raw)
		want, sure := allowed(header, claims, kid, now)
		if sure && (err == nil) != want {
			t.Fatalf("Verify(header %s, claims %s) = %v; the documented rules say accepted=%v", header, claims, err, want)
		}
	})
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// allowed is the documented acceptance rule, written apart from
// auth.Verify. sure is false near a time boundary (within 2 s) or for
// times no clock reaches, where either answer is fine.
func allowed(header, claims, kid string, now int64) (want, sure bool) {
	var h map[string]any
	if json.Unmarshal([]byte(header), &h) != nil || h["alg"] != "EdDSA" {
		return false, true
	}
	if k, ok := h["kid"]; ok && k != kid {
		return false, true
	}
	var c struct {
		Iss, Sub, JTI, Role, Aud any
		Iat, Exp, Nbf            any
	}
	if json.Unmarshal([]byte(claims), &c) != nil {
		return false, true
	}
	if iss, _ := c.Iss.(string); iss != auth.Issuer {
		return false, true
	}
	sub, _ := c.Sub.(string)
	jti, _ := c.JTI.(string)
	role, _ := c.Role.(string)
	if sub == "" || jti == "" || (role != auth.RoleUser && role != auth.RoleAdmin) {
		return false, true
	}
	if c.Aud != nil && !isAudience(c.Aud) {
		return false, true
	}
	leeway, t := auth.Leeway.Seconds(), float64(now)
	near := func(a, b float64) bool { return a-b < 2 && b-a < 2 }
	wild := func(v float64) bool { return v > 1e11 || v < -1e11 }
	exp, ok, sure := numeric(c.Exp)
	if !ok {
		return false, sure
	}
	if wild(exp) || near(exp+leeway, t) {
		return false, false
	}
	iat, ok, sure := numeric(c.Iat)
	if !ok {
		return false, sure
	}
	if wild(iat) || near(iat-leeway, t) {
		return false, false
	}
	nbfOK, nbfSure := true, true
	if c.Nbf != nil {
		nbf, ok, sure := numeric(c.Nbf)
		switch {
		case !ok:
			return false, sure
		case wild(nbf) || near(nbf-leeway, t):
			nbfSure = false
		default:
			nbfOK = nbf-leeway <= t
		}
	}
	return exp+leeway > t && iat-leeway <= t && nbfOK, nbfSure
}

// numeric reads a NumericDate: a JSON number. golang-jwt also takes a
// string holding one (lenient, harmless: only the user service's key
// signs), so a string is neither accepted nor refused for sure.
func numeric(v any) (n float64, ok, sure bool) {
	switch x := v.(type) {
	case float64:
		return x, true, true
	case string:
		return 0, false, false
	}
	return 0, false, true
}

// isAudience reports whether v decodes as jwt's ClaimStrings.
func isAudience(v any) bool {
	b, _ := json.Marshal(v)
	var a jwt.ClaimStrings
	return json.Unmarshal(b, &a) == nil
}
