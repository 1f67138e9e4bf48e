package controller

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// rotationHarness drives one Bookstore through JWT key rotations, playing
// the Deployment controller, and loads the keys as a pod started now would
// (loadContainerConfig: the live Deployment's template and the live Secrets).
type rotationHarness struct {
	*harness
	name string
	n    render.Names
}

func (h rotationHarness) secret() *corev1.Secret {
	h.t.Helper()
	s := &corev1.Secret{}
	if err := h.exists(s, h.n.JWT()); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// waitPhase waits until the JWT Secret records phase for request.
func (h rotationHarness) waitPhase(request string, phase render.RotationPhase) *corev1.Secret {
	h.t.Helper()
	var s *corev1.Secret
	eventually(h.t, fmt.Sprintf("rotation %q in phase %q", request, phase), func() error {
		s = h.secret()
		if got := s.Annotations[render.RotationPhaseAnnotation]; got != string(phase) || s.Annotations[render.RotationHandledAnnotation] != request {
			return fmt.Errorf("phase %q of %q", got, s.Annotations[render.RotationHandledAnnotation])
		}
		return nil
	})
	return s
}

// request sets (or, with "", removes) the rotation annotation.
func (h rotationHarness) request(value string) {
	h.t.Helper()
	eventually(h.t, "annotate "+value, func() error {
		b := h.bookstore(h.name)
		if value == "" {
			delete(b.Annotations, render.RotateJWTKeyAnnotation)
		} else {
			metav1.SetMetaDataAnnotation(&b.ObjectMeta, render.RotateJWTKeyAnnotation, value)
		}
		return h.c.Update(h.ctx, b)
	})
}

func (h rotationHarness) deployment(svc string) *appsv1.Deployment {
	h.t.Helper()
	d := &appsv1.Deployment{}
	if err := h.exists(d, h.n.Service(svc)); err != nil {
		h.t.Fatal(err)
	}
	return d
}

// rollOut completes the rollout of svcs once the operator applied the key
// set of the JWT Secret to their templates.
func (h rotationHarness) rollOut(svcs ...string) {
	h.t.Helper()
	for _, svc := range svcs {
		eventually(h.t, svc+" carries the Secret's keys", func() error {
			keys, err := render.ParseJWTKeys(h.secret().Data)
			if err != nil {
				return err
			}
			if got, want := h.deployment(svc).Spec.Template.Annotations[render.JWTKeysAnnotation], keys.PodAnnotation(svc); got != want {
				return fmt.Errorf("pods annotated %q, want %q", got, want)
			}
			return nil
		})
		h.markDeploymentReady(h.n.Service(svc))
	}
}

// configs loads every service's configuration once its Deployment's template
// carries the key set of the JWT Secret.
func (h rotationHarness) configs() map[string]config.Config {
	h.t.Helper()
	var out map[string]config.Config
	eventually(h.t, "every Deployment carries the Secret's keys", func() error {
		var l corev1.SecretList
		if err := h.c.List(h.ctx, &l, client.InNamespace(h.ns)); err != nil {
			return err
		}
		secrets := map[string]map[string][]byte{}
		for _, s := range l.Items {
			secrets[s.Name] = s.Data
		}
		keys, err := render.ParseJWTKeys(secrets[h.n.JWT()])
		if err != nil {
			return err
		}
		out = map[string]config.Config{}
		for _, svc := range render.Services() {
			d := &appsv1.Deployment{}
			if err := h.exists(d, h.n.Service(svc)); err != nil {
				return err
			}
			if got, want := d.Spec.Template.Annotations[render.JWTKeysAnnotation], keys.PodAnnotation(svc); got != want {
				return fmt.Errorf("%s: pods annotated %q, want %q", svc, got, want)
			}
			out[svc] = loadContainerConfig(h.t, svc, d.Spec.Template.Spec, secrets)
		}
		return nil
	})
	return out
}

// check: every service accepts exactly the tokens it should, the user
// service signs with signer, Ready stays True.
func (h rotationHarness) check(phase string, cfgs map[string]config.Config, signer ed25519.PrivateKey, tokens map[string]bool) {
	h.t.Helper()
	if got := cfgs[render.SigningService].JWTPrivateKey; !got.Equal(signer) {
		h.t.Errorf("%s: the user service signs with %s", phase, render.KeyID(got.Public().(ed25519.PublicKey)))
	}
	for svc, cfg := range cfgs {
		v := auth.NewVerifier(cfg.VerifyKeys()...)
		for tok, ok := range tokens {
			if _, err := v.Verify(tok); (err == nil) != ok {
				h.t.Errorf("%s: %s accepts a token of kid %s: %v, want %v (%v)", phase, svc, kidOf(tok), err == nil, ok, err)
			}
		}
	}
	if got := h.cond(h.name, v1alpha1.ConditionReady); got != "True/Ready" {
		h.t.Errorf("%s: Ready is %s", phase, got)
	}
}

// kidOf is the kid in a token's header.
func kidOf(tok string) string {
	raw, err := base64.RawURLEncoding.DecodeString(strings.SplitN(tok, ".", 2)[0])
	var h struct{ Kid string }
	if err != nil || json.Unmarshal(raw, &h) != nil {
		return "?"
	}
	return h.Kid
}

func sign(t *testing.T, key ed25519.PrivateKey) string {
	t.Helper()
	tok, _, err := auth.NewSigner(key, time.Hour).Sign("0b6f6f2e-3a77-4f7e-9d36-0e5c3a0e6a11", auth.RoleUser)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// stays checks for a while that the JWT Secret does not change.
func (h rotationHarness) stays(what string) {
	h.t.Helper()
	rv := h.secret().ResourceVersion
	time.Sleep(3 * time.Second)
	if s := h.secret(); s.ResourceVersion != rv {
		h.t.Errorf("%s: the JWT Secret changed (phase %q)", what, s.Annotations[render.RotationPhaseAnnotation])
	}
}

func (h rotationHarness) conditionMessage() string {
	c := meta.FindStatusCondition(h.bookstore(h.name).Status.Conditions, v1alpha1.ConditionJWTKeyRotated)
	if c == nil {
		return ""
	}
	return c.Message
}

// events lists the notes of the Bookstore's Events that mention what, with their time.
func (h rotationHarness) events(what string) []string {
	var l eventsv1.EventList
	if err := h.c.List(h.ctx, &l, client.InNamespace(h.ns)); err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range l.Items {
		if e.Regarding.Name == h.name && strings.Contains(e.Note, what) {
			out = append(out, e.EventTime.Format(time.RFC3339Nano)+" "+e.Reason+": "+e.Note)
		}
	}
	return out
}

// settled returns the lastTransitionTime of Ready once it has held for 2 s
// with every Deployment rolled out (after bringUp: bring-up may still roll
// one when it returns): from then on, Ready must not change.
func (h rotationHarness) settled() metav1.Time {
	h.t.Helper()
	for range 5 {
		for _, svc := range render.Services() {
			if d := h.deployment(svc); d.Status.ObservedGeneration != d.Generation {
				h.markDeploymentReady(d.Name)
			}
		}
		h.waitCond(h.name, v1alpha1.ConditionReady, "True")
		since := meta.FindStatusCondition(h.bookstore(h.name).Status.Conditions, v1alpha1.ConditionReady).LastTransitionTime
		time.Sleep(2 * time.Second)
		if c := meta.FindStatusCondition(h.bookstore(h.name).Status.Conditions, v1alpha1.ConditionReady); c.Status == metav1.ConditionTrue && c.LastTransitionTime.Equal(&since) {
			return since
		}
		h.t.Logf("Ready changed while settling: %v", h.events("Ready="))
	}
	h.t.Fatal("Ready does not settle before the rotation")
	return metav1.Time{}
}
