package controller

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// testJWTRotation: `kubectl annotate bookstore rot bookstore.dev/rotate-jwt-key=r1`
// walks the phases in order, each only once the Deployments rolled out (the
// test plays their controller), and at every phase a pod started then would
// accept every token still valid: the old key's until the old key is
// removed, the new key's from its signing on. A second request during the
// rotation is queued and runs after it; a value already handled never runs
// again. Ready never leaves True.
func testJWTRotation(t *testing.T, h *harness) {
	b := &v1alpha1.Bookstore{
		ObjectMeta: metav1.ObjectMeta{Name: "rot", Namespace: h.ns},
		Spec: v1alpha1.BookstoreSpec{Version: "1.0.0", Services: v1alpha1.ServicesSpec{User: v1alpha1.ServiceSpec{
			// tokens live 2 s: the old key may go 2 s + the 5 s leeway after the switch
			Env: []corev1.EnvVar{{Name: "BOOKSTORE_JWT_TTL", Value: "2s"}},
		}}},
	}
	if err := h.c.Create(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	h.bringUp(b.Name)
	r := rotationHarness{harness: h, name: b.Name, n: render.Names{Bookstore: b.Name}}
	all := render.Services()
	others := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == render.SigningService })

	cfgs := r.configs()
	oldKey := cfgs[render.SigningService].JWTPrivateKey
	oldTok := sign(t, oldKey)
	r.check("before", cfgs, oldKey, map[string]bool{oldTok: true})
	if got := h.cond(b.Name, v1alpha1.ConditionJWTKeyRotated); got != "absent" {
		t.Errorf("JWTKeyRotated before any request: %s", got)
	}
	readySince := r.settled()

	// Phase 1: the new public key joins every service's set; the old key signs.
	r.request("r1")
	s := r.waitPhase("r1", render.RotationAddingKey)
	if len(s.Data[render.JWTNextKey]) == 0 {
		t.Error("phase 1: the next key is not kept for phase 2")
	}
	h.waitCond(b.Name, v1alpha1.ConditionJWTKeyRotated, "False/AddingVerificationKey")
	waitEvent(t, h, b.Name, "JWTKeyRotationStart", `rotation "r1"`)
	cfgs = r.configs()
	r.check("phase 1", cfgs, oldKey, map[string]bool{oldTok: true})
	phase1 := map[string]string{}
	for _, svc := range all {
		if n := len(cfgs[svc].VerifyKeys()); n < 2 {
			t.Errorf("phase 1: %s verifies with %d keys", svc, n)
		}
		phase1[svc] = r.deployment(svc).Spec.Template.Annotations[render.JWTKeysAnnotation]
	}

	// Not before every Deployment rolled out; a second request waits.
	r.rollOut(all[:len(all)-1]...)
	r.request("r2")
	waitEvent(t, h, b.Name, "JWTKeyRotationQueued", `rotation "r2" waits for rotation "r1"`)
	r.stays("phase 1 with " + all[len(all)-1] + " not rolled out")
	if msg := r.conditionMessage(); !strings.Contains(msg, `request "r2" queued`) || !strings.Contains(msg, all[len(all)-1]) {
		t.Errorf("phase 1 condition: %q, want the queued request and the service waited for", msg)
	}

	// Phase 2: the new key signs; the old private key is gone.
	r.rollOut(all[len(all)-1])
	s = r.waitPhase("r1", render.RotationSwitchingSigner)
	cfgs = r.configs()
	newKey := cfgs[render.SigningService].JWTPrivateKey
	if newKey.Equal(oldKey) {
		t.Fatal("phase 2: the user service still signs with the old key")
	}
	if _, ok := s.Data[render.JWTNextKey]; ok || len(s.Data) != 2 {
		t.Errorf("phase 2: the Secret holds %d keys, want private.pem and public.pem only", len(s.Data))
	}
	newTok := sign(t, newKey)
	r.check("phase 2", cfgs, newKey, map[string]bool{oldTok: true, newTok: true})
	for _, svc := range others {
		if got := r.deployment(svc).Spec.Template.Annotations[render.JWTKeysAnnotation]; got != phase1[svc] {
			t.Errorf("phase 2: %s rolls again (%q -> %q): only the signer needs to", svc, phase1[svc], got)
		}
	}

	// Phase 3: once no user pod signs with the old key, it verifies for the
	// longest TTL + leeway, then leaves the verification set.
	r.rollOut(render.SigningService)
	switched := time.Now()
	s = r.waitPhase("r1", render.RotationRetiringOldKey)
	retire, err := time.Parse(time.RFC3339, s.Annotations[render.RotationRetireAfterAnnotation])
	if err != nil || retire.Before(switched.Add(7*time.Second-time.Second)) || retire.After(switched.Add(10*time.Second)) {
		t.Errorf("phase 3: retire after %s (%v), want 2s + 5s after %s", retire, err, switched)
	}
	h.waitCond(b.Name, v1alpha1.ConditionJWTKeyRotated, "False/RetiringOldKey")
	r.check("phase 3", r.configs(), newKey, map[string]bool{oldTok: true, newTok: true})
	r.waitPhase("r1", render.RotationRemovingOldKey)
	if now := time.Now(); now.Before(retire) {
		t.Errorf("the old key was removed at %s, before %s", now, retire)
	}
	r.check("phase 3 done", r.configs(), newKey, map[string]bool{oldTok: false, newTok: true})

	// The rollout without the old key ends r1; the queued r2 starts.
	r.rollOut(all...)
	waitEvent(t, h, b.Name, "JWTKeyRotationFinish", `rotation "r1": done`)
	r.waitPhase("r2", render.RotationAddingKey)
	r.rollOut(all...)
	r.waitPhase("r2", render.RotationSwitchingSigner)
	r.rollOut(render.SigningService)
	r.waitPhase("r2", render.RotationRemovingOldKey)
	r.rollOut(all...)
	r.waitPhase("r2", render.RotationIdle)
	h.waitCond(b.Name, v1alpha1.ConditionJWTKeyRotated, "True/Rotated")
	cfgs = r.configs()
	lastKey := cfgs[render.SigningService].JWTPrivateKey
	r.check("after r2", cfgs, lastKey, map[string]bool{oldTok: false, newTok: false, sign(t, lastKey): true})

	// A value already handled is not handled again, removed or set back.
	r.request("")
	r.stays("request removed")
	r.request("r2")
	r.stays("r2 again")
	if k := r.configs()[render.SigningService].JWTPrivateKey; !k.Equal(lastKey) {
		t.Error("r2 was handled twice")
	}
	if c := meta.FindStatusCondition(h.bookstore(b.Name).Status.Conditions, v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue || !c.LastTransitionTime.Equal(&readySince) {
		t.Errorf("Ready %s since %s, want True since %s: it flapped during the rotations (%v)", c.Status, c.LastTransitionTime, readySince, r.events("Ready=False"))
	}
}
