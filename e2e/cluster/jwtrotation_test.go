//go:build e2e

package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rotationTTL is the user service's token lifetime during the rotation step:
// the old key then retires 60 s + 5 s after the switch.
const rotationTTL = 60 * time.Second

// testJWTKeyRotation: `kubectl annotate bookstore demo
// bookstore.dev/rotate-jwt-key=…` rotates the signing key while a user logs
// in every 3 s through the entry point. Every token still within its expiry
// is accepted by all four services at every moment (the latest token of the
// old key in particular after the switch), logins keep working and switch to
// the new kid, and the rotation ends with JWTKeyRotated=True and one key.
func testJWTKeyRotation(t *testing.T) {
	a := newAPI(t)
	setUserEnv(t, fmt.Sprintf(`[{"name":"BOOKSTORE_JWT_TTL","value":"%s"}]`, rotationTTL))
	defer setUserEnv(t, "")
	email := fmt.Sprintf("rotation-%d@example.com", time.Now().UnixNano())
	a.must(t, http.MethodPost, "/api/users/register", "", map[string]string{"email": email, "password": "correct horse battery"}, http.StatusCreated, nil)
	login := func() string { return a.login(t, email, "correct horse battery") }

	oldKid := claimsOf(t, login()).kid
	request := fmt.Sprintf("e2e-%d", time.Now().Unix())
	kubectl(t, "-n", namespace, "annotate", "bookstore", bookstore, "bookstore.dev/rotate-jwt-key="+request, "--overwrite")

	type held struct {
		token string
		exp   time.Time
	}
	var oldTok, newTok held
	newKid, afterSwitch, phases := "", 0, []string{}
	deadline := time.Now().Add(15 * time.Minute)
	for {
		phase := kubectl(t, "-n", namespace, "get", "secret", bookstore+"-jwt", "-o", `jsonpath={.metadata.annotations.bookstore\.dev/jwt-rotation-phase}`)
		if len(phases) == 0 || phases[len(phases)-1] != phase {
			phases = append(phases, phase)
		}
		tok := login()
		c := claimsOf(t, tok)
		if c.kid == oldKid {
			oldTok = held{tok, c.exp}
		} else {
			newKid, newTok = c.kid, held{tok, c.exp}
		}
		for _, h := range []held{oldTok, newTok} {
			if h.token == "" || time.Until(h.exp) < 3*time.Second {
				continue
			}
			kid := claimsOf(t, h.token).kid
			for _, path := range []string{"/api/users/me", "/api/tokens/balance", "/api/books?limit=1", "/api/orders"} {
				status, body, err := a.call(context.Background(), http.MethodGet, path, h.token, nil)
				if err != nil || status != http.StatusOK {
					t.Errorf("phase %q: GET %s with a valid token of kid %s (old %s) = %d %s %v", phase, path, kid, oldKid, status, truncate(body), err)
				}
			}
			if kid == oldKid && (phase == "SwitchingSigningKey" || phase == "RetiringOldKey") {
				afterSwitch++
			}
		}
		cond := kubectl(t, "-n", namespace, "get", "bookstore", bookstore, "-o",
			`jsonpath={.status.conditions[?(@.type=="JWTKeyRotated")].status}/{.status.conditions[?(@.type=="JWTKeyRotated")].message}`)
		if phase == "" && strings.HasPrefix(cond, "True/") && strings.Contains(cond, `"`+request+`"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rotation %q not done after 15 min: phases %v, condition %s", request, phases, cond)
		}
		time.Sleep(3 * time.Second) // 20 logins a minute: under the per-client limit (60/1m)
	}
	t.Logf("rotation %q: phases %v, %d checks of the old key's token after the switch", request, phases, afterSwitch)
	if newKid == "" || newKid == oldKid {
		t.Errorf("logins kept kid %s: the signing key did not change", oldKid)
	}
	if afterSwitch == 0 {
		t.Error("no token of the old key was checked after the switch: the step proved nothing")
	}
	if c := claimsOf(t, login()); c.kid != newKid {
		t.Errorf("a login after the rotation has kid %s, want %s", c.kid, newKid)
	}
	if n := strings.Count(secretKey(t, bookstore+"-jwt", "public\\.pem"), "BEGIN PUBLIC KEY"); n != 1 {
		t.Errorf("%d public keys after the rotation, want 1", n)
	}
}

// setUserEnv sets spec.services.user.env to the JSON list env ("" removes
// it) and waits for the user service to roll out and the Bookstore to be Ready.
func setUserEnv(t *testing.T, env string) {
	t.Helper()
	patch := `[{"op":"add","path":"/spec/services/user/env","value":` + env + `}]`
	if env == "" {
		patch = `[{"op":"remove","path":"/spec/services/user/env"}]`
	}
	kubectl(t, "-n", namespace, "patch", "bookstore", bookstore, "--type=json", "-p", patch)
	eventually(t, "the user Deployment applied", time.Minute, func() bool {
		out := kubectl(t, "-n", namespace, "get", "deployment", bookstore+"-user", "-o", "jsonpath={.spec.template.spec.containers[0].env[*].name}")
		return strings.Contains(out, "BOOKSTORE_JWT_TTL") == (env != "")
	})
	kubectl(t, "-n", namespace, "rollout", "status", "deployment/"+bookstore+"-user", "--timeout=5m")
	// rollout status returns while old pods still drain and answer logins:
	// wait until every user pod left runs the new env, so no later step logs
	// in on an old pod (with env "", a token of the old 60 s lifetime expired
	// in the middle of the pod-deletion step).
	eventually(t, "every user pod on the new env", 2*time.Minute, func() bool {
		out := kubectl(t, "-n", namespace, "get", "pods", "-l", "app.kubernetes.io/instance="+bookstore+",app.kubernetes.io/name=user,app.kubernetes.io/component=api",
			"-o", `jsonpath={range .items[*]}{.spec.containers[0].env[*].name};{end}`)
		pods := strings.Split(strings.TrimSuffix(out, ";"), ";")
		for _, p := range pods {
			if strings.Contains(p, "BOOKSTORE_JWT_TTL") != (env != "") {
				return false
			}
		}
		return len(pods) > 0
	})
	kubectl(t, "wait", "--for=condition=Ready", "bookstore/"+bookstore, "-n", namespace, "--timeout=5m")
}

type tokenClaims struct {
	kid string
	exp time.Time
}

// claimsOf reads the kid and exp of a token (no verification: the services do that).
func claimsOf(t *testing.T, tok string) tokenClaims {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	var h struct {
		Kid string `json:"kid"`
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	for i, v := range []any{&h, &c} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("token part %d: %v", i, err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("token part %d: %v", i, err)
		}
	}
	return tokenClaims{kid: h.Kid, exp: time.Unix(c.Exp, 0)}
}
