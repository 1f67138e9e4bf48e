package render_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestJWTConstantsMatchServices: the operator's copies of what the services
// define (kid derivation, leeway, default TTL, who signs) are the same.
func TestJWTConstantsMatchServices(t *testing.T) {
	pub := newKey(t).Public().(ed25519.PublicKey)
	if render.KeyID(pub) != auth.KeyID(pub) {
		t.Errorf("kid %s, auth derives %s", render.KeyID(pub), auth.KeyID(pub))
	}
	if render.JWTLeeway != auth.Leeway {
		t.Errorf("leeway %s, auth.Leeway %s", render.JWTLeeway, auth.Leeway)
	}
	cfg, err := config.Load("user", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JWTTTL != render.DefaultJWTTTL {
		t.Errorf("default TTL %s, the user service's %s", render.DefaultJWTTTL, cfg.JWTTTL)
	}
}

// phaseKeys walks a rotation's key transforms from keys made of old: idle,
// AddingKey, SwitchingSigner (also RetiringOldKey: same keys), RemovingOldKey.
func phaseKeys(old, next ed25519.PrivateKey) []render.JWTKeys {
	idle := render.JWTKeys{Signing: old, Verify: []ed25519.PublicKey{old.Public().(ed25519.PublicKey)}}
	adding := idle.AddNext(next)
	switched := adding.SwitchSigner()
	return []render.JWTKeys{idle, adding, switched, switched.RetireOld()}
}

// TestRotationKeySets: through every phase, as the services load the
// Secret (config.Load) and verify (auth): a token of the old key verifies
// until the old key is removed, one of the new key from its adding on, the
// signer is always in its own set, and the Secret never holds a private key
// but the signing one (and the next one, before it signs).
func TestRotationKeySets(t *testing.T) {
	old, next := newKey(t), newKey(t)
	oldTok, _, err := auth.NewSigner(old, time.Hour).Sign("u1", auth.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	newTok, _, err := auth.NewSigner(next, time.Hour).Sign("u2", auth.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		phase             string
		signer            ed25519.PrivateKey
		oldOK, newOK      bool
		privateKeysInData int
	}{
		{"idle", old, true, false, 1},
		{"adding", old, true, true, 2}, // verifies already, nobody signs with it yet
		{"switched", next, true, true, 1},
		{"removed", next, false, true, 1},
	} {
		keys := phaseKeys(old, next)[i]
		data, err := keys.Data()
		if err != nil {
			t.Fatal(err)
		}
		back, err := render.ParseJWTKeys(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.phase, err)
		}
		if back.PodAnnotation("user") != keys.PodAnnotation("user") || (back.Next == nil) != (keys.Next == nil) {
			t.Errorf("%s: the Secret's data does not read back", tc.phase)
		}
		if n := strings.Count(string(data[render.JWTPrivateKey])+string(data[render.JWTNextKey]), "PRIVATE KEY-----\n") / 2; n != tc.privateKeysInData {
			t.Errorf("%s: %d private keys in the Secret, want %d", tc.phase, n, tc.privateKeysInData)
		}
		for _, svc := range render.Services() {
			env := map[string]string{"BOOKSTORE_JWT_PUBLIC_KEY": string(data[render.JWTPublicKeys])}
			if svc == render.SigningService {
				env["BOOKSTORE_JWT_PRIVATE_KEY"] = string(data[render.JWTPrivateKey])
			}
			cfg, err := config.Load(svc, func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("%s: %s would not start: %v", tc.phase, svc, err)
			}
			if svc == render.SigningService && !cfg.JWTPrivateKey.Equal(tc.signer) {
				t.Errorf("%s: the user service signs with another key", tc.phase)
			}
			v := auth.NewVerifier(cfg.VerifyKeys()...)
			if _, err := v.Verify(oldTok); (err == nil) != tc.oldOK {
				t.Errorf("%s: %s verifies the old key's token: %v, want %v (%v)", tc.phase, svc, err == nil, tc.oldOK, err)
			}
			if _, err := v.Verify(newTok); (err == nil) != tc.newOK {
				t.Errorf("%s: %s verifies the new key's token: %v, want %v (%v)", tc.phase, svc, err == nil, tc.newOK, err)
			}
		}
	}
}

// TestPodAnnotationRollsWhoMustRestart: adding a key rolls every service;
// switching the signer rolls only the signing service; removing the old key
// rolls every service again.
func TestPodAnnotationRollsWhoMustRestart(t *testing.T) {
	ks := phaseKeys(newKey(t), newKey(t))
	for i, name := range []string{"adding", "switched", "removed"} {
		for _, svc := range render.Services() {
			rolls := ks[i].PodAnnotation(svc) != ks[i+1].PodAnnotation(svc)
			want := name != "switched" || svc == render.SigningService
			if rolls != want {
				t.Errorf("%s: %s rolls %v, want %v (%q -> %q)", name, svc, rolls, want, ks[i].PodAnnotation(svc), ks[i+1].PodAnnotation(svc))
			}
		}
	}
	if a := ks[1].PodAnnotation("token"); !strings.HasPrefix(a, "verify=") || strings.Count(a, ",") != 1 || strings.Contains(a, "PRIVATE") {
		t.Errorf("annotation %q: want the two kids only", a)
	}
}

func TestParseJWTKeysRejects(t *testing.T) {
	good, err := phaseKeys(newKey(t), newKey(t))[1].Data()
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(map[string][]byte){
		"no private key":   func(d map[string][]byte) { delete(d, render.JWTPrivateKey) },
		"no public key":    func(d map[string][]byte) { d[render.JWTPublicKeys] = []byte("none") },
		"bad next key":     func(d map[string][]byte) { d[render.JWTNextKey] = []byte("x") },
		"public as signer": func(d map[string][]byte) { d[render.JWTPrivateKey] = d[render.JWTPublicKeys] },
	} {
		d := map[string][]byte{}
		for k, v := range good {
			d[k] = slices.Clone(v)
		}
		mutate(d)
		if _, err := render.ParseJWTKeys(d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestOnlySignerMountsPrivateKey: of the JWT Secret, the signing service's
// pods mount private.pem and public.pem, the others public.pem only, and no
// pod ever mounts the next key of a rotation in progress.
func TestOnlySignerMountsPrivateKey(t *testing.T) {
	b := &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "ns"}, Spec: v1alpha1.BookstoreSpec{Version: "0.1.0"}}
	for _, svc := range render.Services() {
		values, err := render.ServiceValues(b, svc)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := render.Chart(context.Background(), svc, b.Name, b.Namespace, values)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range objs {
			vols, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "volumes")
			for _, v := range vols {
				sec, _ := v.(map[string]any)["secret"].(map[string]any)
				if sec == nil || sec["secretName"] != b.JWTSecretName() {
					continue
				}
				var keys []string
				for _, it := range sec["items"].([]any) {
					keys = append(keys, it.(map[string]any)["key"].(string))
				}
				want := []string{render.JWTPublicKeys}
				if svc == render.SigningService {
					want = []string{render.JWTPublicKeys, render.JWTPrivateKey}
				}
				if !slices.Equal(keys, want) {
					t.Errorf("%s %s mounts %v of the JWT Secret, want %v", u.GetKind(), u.GetName(), keys, want)
				}
			}
		}
	}
}
