package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// testEnvOverride: spec.services.<svc>.env may set a variable the chart
// already sets (a per-service BOOKSTORE_LOG_LEVEL, BOOKSTORE_JWT_TTL, the
// topic partitions...). Server-side apply refuses a container whose env
// names a variable twice ("duplicate entries for key"), which would fail
// every reconcile; the user's value replaces the chart's instead, in the
// migration Job and the Deployment alike.
func testEnvOverride(t *testing.T, h *harness) {
	b := &v1alpha1.Bookstore{
		ObjectMeta: metav1.ObjectMeta{Name: "envs", Namespace: h.ns},
		Spec: v1alpha1.BookstoreSpec{
			Version: "1.0.0",
			Services: v1alpha1.ServicesSpec{User: v1alpha1.ServiceSpec{Env: []corev1.EnvVar{
				{Name: "BOOKSTORE_LOG_LEVEL", Value: "debug"},
				{Name: "BOOKSTORE_KAFKA_TOPIC_PARTITIONS", Value: "6"},
				{Name: "EXTRA", Value: "x"},
			}}},
		},
	}
	if err := h.c.Create(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	n := render.Names{Bookstore: b.Name}
	want := map[string]string{"BOOKSTORE_LOG_LEVEL": "debug", "BOOKSTORE_KAFKA_TOPIC_PARTITIONS": "6", "EXTRA": "x"}
	check := func(what string, env []corev1.EnvVar) {
		t.Helper()
		seen := map[string]int{}
		for _, e := range env {
			seen[e.Name]++
			if w, ok := want[e.Name]; ok && e.Value != w {
				t.Errorf("%s: %s=%q, want the spec's %q", what, e.Name, e.Value, w)
			}
		}
		for name, count := range seen {
			if count != 1 {
				t.Errorf("%s: %s set %d times", what, name, count)
			}
		}
		for name := range want {
			if seen[name] == 0 {
				t.Errorf("%s: no %s", what, name)
			}
		}
	}
	h.bringUp(b.Name)
	j := &batchv1.Job{}
	h.waitExists(j, n.MigrationJob("user", &b.Spec))
	check("migration Job", j.Spec.Template.Spec.Containers[0].Env)
	d := &appsv1.Deployment{}
	h.waitExists(d, n.Service("user"))
	check("Deployment", d.Spec.Template.Spec.Containers[0].Env)
}
