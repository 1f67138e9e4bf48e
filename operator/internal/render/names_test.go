package render_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// everything renders every object the operator makes for b: the managed
// infrastructure with its derived Secrets, the four service charts (with
// their migration Jobs) and the Ingress, Gateway and HTTPRoutes.
func everything(t *testing.T, b *v1alpha1.Bookstore) []*unstructured.Unstructured {
	t.Helper()
	creds := &corev1.Secret{Data: map[string][]byte{}}
	for _, k := range render.CredentialKeys() {
		creds.Data[k] = []byte("x")
	}
	var out []*unstructured.Unstructured
	for _, o := range render.Infrastructure(b, creds) {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			t.Fatal(err)
		}
		gvk, err := apiutil.GVKForObject(o, scheme.Scheme)
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetGroupVersionKind(gvk)
		out = append(out, u)
	}
	values := []struct {
		chart string
		v     map[string]any
	}{{"bookstore", render.IngressValues(b)}, {"bookstore", render.GatewayAPIValues(b)}}
	for _, svc := range render.Services() {
		v, err := render.ServiceValues(b, svc)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, struct {
			chart string
			v     map[string]any
		}{svc, v})
	}
	for _, c := range values {
		objs, err := render.Chart(context.Background(), c.chart, b.Name, b.Namespace, c.v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, objs...)
	}
	return out
}

// longest is a Bookstore named with n characters that has every object: managed
// PostgreSQL, Redis and a three-node Kafka, an autoscaled service, Ingress and HTTPRoutes.
func longest(n int) *v1alpha1.Bookstore {
	b := minimal()
	b.Name = "n" + strings.Repeat("a", n-1)
	b.Spec.Kafka.Managed = &v1alpha1.ManagedKafka{Replicas: 3}
	b.Spec.Services.Order.Autoscaling = &v1alpha1.AutoscalingSpec{MinReplicas: 1, MaxReplicas: 3}
	b.Spec.Ingress = v1alpha1.IngressSpec{Enabled: true, Host: "shop.example.com"}
	b.Spec.GatewayAPI = v1alpha1.GatewayAPISpec{Enabled: true, GatewayClassName: "haproxy", Port: 80}
	return b
}

// TestNamesFitAtMaxNameLength: with a Bookstore name of MaxNameLength (the CEL
// limit of the CRD) every object name is a DNS label, every label value is
// valid, each StatefulSet's revision label (<name>-<10-char hash>) and pod
// names fit, and every migration Job keeps its whole version hash. One
// character more and the inventory's Job loses it, so the limit is exact.
func TestNamesFitAtMaxNameLength(t *testing.T) {
	b := longest(v1alpha1.MaxNameLength)
	objs := everything(t, b)
	jobs := 0
	for _, u := range objs {
		id := u.GetKind() + "/" + u.GetName()
		if errs := validation.IsDNS1123Label(u.GetName()); len(errs) > 0 {
			t.Errorf("%s: name not a DNS label: %v", id, errs)
		}
		labels := u.GetLabels()
		tmpl, _, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "labels")
		for k, v := range tmpl {
			labels[k] = v
		}
		for k, v := range labels {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Errorf("%s: label %s=%q: %v", id, k, v, errs)
			}
		}
		switch u.GetKind() {
		case "StatefulSet":
			replicas, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
			for _, derived := range []string{u.GetName() + "-0123456789", u.GetName() + "-" + strconv.FormatInt(replicas-1, 10)} {
				if errs := validation.IsValidLabelValue(derived); len(errs) > 0 {
					t.Errorf("%s: derived %q (revision label, pod name): %v", id, derived, errs)
				}
			}
		case "Job":
			jobs++
			if suffix := render.MigrationSuffix(&b.Spec); !strings.HasSuffix(u.GetName(), "-"+suffix) {
				t.Errorf("%s: the migration Job lost its version hash %s", id, suffix)
			}
		}
	}
	if jobs != len(render.Services()) {
		t.Errorf("%d migration Jobs rendered, want %d", jobs, len(render.Services()))
	}

	over := longest(v1alpha1.MaxNameLength + 1)
	if name := (render.Names{Bookstore: over.Name}).MigrationJob("inventory", &over.Spec); strings.HasSuffix(name, render.MigrationSuffix(&over.Spec)) {
		t.Errorf("at %d characters the inventory Job %s still keeps its hash: MaxNameLength could be larger", len(over.Name), name)
	}
}
