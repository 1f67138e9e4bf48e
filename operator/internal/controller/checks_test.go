package controller

import (
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// ownsField reports whether the operator's field manager owns a field path.
func ownsField(obj client.Object, path ...string) bool {
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager != FieldOwner || mf.FieldsV1 == nil {
			continue
		}
		var m map[string]any
		if err := jsonUnmarshal(mf.FieldsV1.GetRawBytes(), &m); err != nil {
			continue
		}
		cur := any(m)
		found := true
		for _, p := range path {
			mm, ok := cur.(map[string]any)
			if !ok {
				found = false
				break
			}
			if cur, ok = mm[p]; !ok {
				found = false
				break
			}
		}
		if found {
			return true
		}
	}
	return false
}

func checkServiceDeployment(t *testing.T, d *appsv1.Deployment, svc, bookstore, image string) {
	t.Helper()
	n := render.Names{Bookstore: bookstore}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers", d.Name, len(pod.Containers))
	}
	ctr := pod.Containers[0]
	if ctr.Image != image || !reflect.DeepEqual(ctr.Command, []string{"/usr/local/bin/" + svc}) {
		t.Errorf("%s: image %s command %v", d.Name, ctr.Image, ctr.Command)
	}
	if ctr.ReadinessProbe == nil || ctr.ReadinessProbe.HTTPGet == nil || ctr.ReadinessProbe.HTTPGet.Path != "/readyz" ||
		ctr.LivenessProbe == nil || ctr.LivenessProbe.HTTPGet == nil || ctr.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("%s: probes %+v / %+v", d.Name, ctr.ReadinessProbe, ctr.LivenessProbe)
	}
	if pod.SecurityContext == nil || !ptr.Deref(pod.SecurityContext.RunAsNonRoot, false) || pod.TerminationGracePeriodSeconds == nil {
		t.Errorf("%s: pod security context %+v, grace %v", d.Name, pod.SecurityContext, pod.TerminationGracePeriodSeconds)
	}
	if ctr.Resources.Requests.Cpu().IsZero() {
		t.Errorf("%s: no cpu request", d.Name)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range ctr.Env {
		env[e.Name] = e
	}
	db := env["BOOKSTORE_DATABASE_URL"]
	if db.ValueFrom == nil || db.ValueFrom.SecretKeyRef == nil || db.ValueFrom.SecretKeyRef.Name != n.DatabaseSecret(svc) {
		t.Errorf("%s: BOOKSTORE_DATABASE_URL = %+v, want from Secret %s", d.Name, db, n.DatabaseSecret(svc))
	}
	if r := env["BOOKSTORE_REDIS_URL"]; r.ValueFrom == nil || r.ValueFrom.SecretKeyRef.Name != n.RedisURLSecret() {
		t.Errorf("%s: BOOKSTORE_REDIS_URL = %+v", d.Name, r)
	}
	if k := env["BOOKSTORE_KAFKA_BROKERS"]; !strings.Contains(k.Value, n.Kafka()+"-0."+n.KafkaHeadless()) {
		t.Errorf("%s: BOOKSTORE_KAFKA_BROKERS = %+v", d.Name, k)
	}
	if _, ok := env["BOOKSTORE_JWT_PUBLIC_KEY_FILE"]; !ok {
		t.Errorf("%s: no BOOKSTORE_JWT_PUBLIC_KEY_FILE", d.Name)
	}
	if _, ok := env["BOOKSTORE_JWT_PRIVATE_KEY_FILE"]; ok != (svc == "user") {
		t.Errorf("%s: private key mounted = %v, want only for user", d.Name, ok)
	}
	if svc == "order" {
		if u := env["BOOKSTORE_INVENTORY_URL"]; u.Value != "http://"+n.Service("inventory")+":8080" {
			t.Errorf("order: BOOKSTORE_INVENTORY_URL = %q", u.Value)
		}
	}
	if d.Labels[render.InstanceLabel] != bookstore || d.Labels["app.kubernetes.io/managed-by"] != render.ManagedBy {
		t.Errorf("%s: labels %v", d.Name, d.Labels)
	}
}
