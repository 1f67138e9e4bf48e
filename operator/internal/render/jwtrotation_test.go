package render_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

func TestNextRotationStep(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		request   string
		st        render.JWTRotation
		rolledOut bool
		step      render.RotationStep
		requeue   time.Duration
	}{
		{"never requested", "", render.JWTRotation{}, true, render.RotationNone, 0},
		{"new request", "r1", render.JWTRotation{}, false, render.RotationStart, 0},
		{"same request again", "r1", render.JWTRotation{Handled: "r1"}, true, render.RotationNone, 0},
		{"request removed", "", render.JWTRotation{Handled: "r1"}, true, render.RotationNone, 0},
		{"another request", "r2", render.JWTRotation{Handled: "r1"}, true, render.RotationStart, 0},
		{"adding, rolling", "r1", render.JWTRotation{Handled: "r1", Phase: render.RotationAddingKey}, false, render.RotationWait, 0},
		{"adding, rolled out", "r1", render.JWTRotation{Handled: "r1", Phase: render.RotationAddingKey}, true, render.RotationSwitch, 0},
		{"adding, request queued", "r2", render.JWTRotation{Handled: "r1", Phase: render.RotationAddingKey}, false, render.RotationWait, 0},
		{"switching, rolling", "r1", render.JWTRotation{Handled: "r1", Phase: render.RotationSwitchingSigner}, false, render.RotationWait, 0},
		{"switching, rolled out", "r1", render.JWTRotation{Handled: "r1", Phase: render.RotationSwitchingSigner}, true, render.RotationScheduleRetire, 0},
		{"retiring, too early", "r1", render.JWTRotation{Handled: "r1", Phase: render.RotationRetiringOldKey, RetireAfter: now.Add(90 * time.Second)}, true, render.RotationWait, 90 * time.Second},
		{"retiring, due", "r1", render.JWTRotation{Handled: "r1", Phase: render.RotationRetiringOldKey, RetireAfter: now}, true, render.RotationRetire, 0},
		{"retiring, time lost", "r1", render.JWTRotation{Handled: "r1", Phase: render.RotationRetiringOldKey}, true, render.RotationScheduleRetire, 0},
		{"removing, rolling", "r1", render.JWTRotation{Handled: "r1", Phase: render.RotationRemovingOldKey}, false, render.RotationWait, 0},
		{"removing, rolled out", "r2", render.JWTRotation{Handled: "r1", Phase: render.RotationRemovingOldKey}, true, render.RotationFinish, 0},
	} {
		step, requeue := render.NextRotationStep(tc.request, tc.st, tc.rolledOut, now)
		if step != tc.step || requeue != tc.requeue {
			t.Errorf("%s: %s after %s, want %s after %s", tc.name, step, requeue, tc.step, tc.requeue)
		}
		if queued := tc.st.Queued(tc.request); queued != (tc.name == "adding, request queued" || tc.name == "removing, rolled out") {
			t.Errorf("%s: queued %v", tc.name, queued)
		}
	}
}

func TestRotationAnnotations(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 15, 5, 0, time.UTC)
	for _, st := range []render.JWTRotation{
		{},
		{Handled: "r1"},
		{Handled: "r1", Phase: render.RotationAddingKey},
		{Handled: "2026-12-01", Phase: render.RotationRetiringOldKey, RetireAfter: at, Lifetime: 15*time.Minute + 5*time.Second},
	} {
		ann := map[string]string{"other": "kept", render.RotationRetireAfterAnnotation: "stale"}
		st.SetAnnotations(ann)
		back, err := render.RotationFromAnnotations(ann)
		if err != nil || back != st || ann["other"] != "kept" {
			t.Errorf("%+v: read back %+v (%v), annotations %v", st, back, err, ann)
		}
	}
	if _, err := render.RotationFromAnnotations(map[string]string{render.RotationPhaseAnnotation: "Bogus"}); err == nil {
		t.Error("an unknown phase was accepted")
	}
}

func TestTokenLifetime(t *testing.T) {
	ttl := func(env ...corev1.EnvVar) *v1alpha1.Bookstore {
		b := &v1alpha1.Bookstore{}
		b.Spec.Services.User.Env = env
		return b
	}
	fromSecret := corev1.EnvVar{Name: "BOOKSTORE_JWT_TTL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "ttl"}}}
	for _, tc := range []struct {
		name string
		b    *v1alpha1.Bookstore
		want time.Duration
	}{
		{"default", ttl(), 15*time.Minute + 5*time.Second},
		{"set", ttl(corev1.EnvVar{Name: "BOOKSTORE_JWT_TTL", Value: "1h"}), time.Hour + 5*time.Second},
		{"other variable", ttl(corev1.EnvVar{Name: "BOOKSTORE_LOG_LEVEL", Value: "1h"}), 15*time.Minute + 5*time.Second},
		{"unparsable: the service default", ttl(corev1.EnvVar{Name: "BOOKSTORE_JWT_TTL", Value: "soon"}), 15*time.Minute + 5*time.Second},
		{"from a Secret: a day", ttl(fromSecret), 24 * time.Hour},
	} {
		if got := render.TokenLifetime(tc.b); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
		// a TTL lowered during a rotation does not shorten the wait
		if got := (render.JWTRotation{Lifetime: time.Hour}).RetireWait(tc.b); got != max(time.Hour, tc.want) {
			t.Errorf("%s: retire wait %s after a rotation started with 1h", tc.name, got)
		}
	}
}
