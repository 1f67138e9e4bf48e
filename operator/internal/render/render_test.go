package render_test

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
	"github.com/bookstore-platform/bookstore/operator/internal/testutil"
)

// maximal sets every part of the spec that reaches the charts.
func maximal() *v1alpha1.Bookstore {
	return &v1alpha1.Bookstore{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "prod", UID: "0b5d8c9e-1111-2222-3333-444455556666"},
		Spec: v1alpha1.BookstoreSpec{
			Version:          "1.4.2",
			Image:            v1alpha1.ImageSpec{Repository: "registry.example.com/bookstore", Tag: "1.4.2-rc1"},
			ImagePullPolicy:  corev1.PullAlways,
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
			LogLevel:         "debug",
			Services: v1alpha1.ServicesSpec{
				User:  v1alpha1.ServiceSpec{Replicas: ptr.To(int32(3)), Env: []corev1.EnvVar{{Name: "EXTRA", Value: "1"}}},
				Token: v1alpha1.ServiceSpec{Autoscaling: &v1alpha1.AutoscalingSpec{MinReplicas: 2, MaxReplicas: 8, TargetCPUUtilizationPercentage: 60}},
				Inventory: v1alpha1.ServiceSpec{Resources: &corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
				}},
			},
			Postgres: v1alpha1.PostgresSpec{External: &v1alpha1.ExternalPostgres{SecretName: "pg"}},
			Kafka: v1alpha1.KafkaSpec{External: &v1alpha1.ExternalKafka{
				SecretName: "kafka", SecurityProtocol: "SASL_SSL", SASLMechanism: "SCRAM-SHA-512", TopicReplication: ptr.To(int32(3)),
			}},
			Ingress: v1alpha1.IngressSpec{Enabled: true, ClassName: ptr.To("haproxy"), Host: "shop.example.com", TLSSecretName: "shop-tls"},
			GatewayAPI: v1alpha1.GatewayAPISpec{Enabled: true, GatewayClassName: "haproxy", Port: 8080, Hostnames: []string{"shop.example.com"},
				ParentRefs: []v1alpha1.GatewayParentRef{{Name: "shared", Namespace: "infra", SectionName: "web"}}},
			Docs: v1alpha1.DocsSpec{Enabled: ptr.To(false)},
			Auth: v1alpha1.AuthSpec{JWTSecretName: "keys", AdminSecretName: "root"},
		},
	}
}

// minimal is the smallest valid spec: everything managed and generated.
func minimal() *v1alpha1.Bookstore {
	return &v1alpha1.Bookstore{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "default"},
		Spec:       v1alpha1.BookstoreSpec{Version: "0.1.0"},
	}
}

// TestChartOutputEqualsOperatorOutput renders each chart twice for the same
// Bookstore: with the helm binary (`helm template`, a Helm user's path) and
// with the operator's Go rendering. The objects must be identical.
func TestChartOutputEqualsOperatorOutput(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    *v1alpha1.Bookstore
	}{{"maximal", maximal()}, {"minimal", minimal()}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			type chartCase struct {
				chart  string
				values map[string]any
			}
			var cases []chartCase
			for _, svc := range render.Services() {
				v, err := render.ServiceValues(tc.b, svc)
				if err != nil {
					t.Fatal(err)
				}
				cases = append(cases, chartCase{svc, v})
			}
			cases = append(cases, chartCase{"bookstore", render.IngressValues(tc.b)}, chartCase{"bookstore", render.GatewayAPIValues(tc.b)})
			for _, cc := range cases {
				t.Run(cc.chart, func(t *testing.T) {
					fromHelm := testutil.HelmTemplate(t, cc.chart, tc.b.Name, tc.b.Namespace, cc.values)
					fromOperator, err := render.Chart(ctx, cc.chart, tc.b.Name, tc.b.Namespace, cc.values)
					if err != nil {
						t.Fatal(err)
					}
					if len(fromHelm) == 0 && (cc.chart != "bookstore" || tc.b.Spec.Ingress.Enabled || tc.b.Spec.GatewayAPI.Enabled) {
						t.Fatal("helm template rendered nothing")
					}
					h, o := byKey(fromHelm), byKey(fromOperator)
					if !reflect.DeepEqual(keys(h), keys(o)) {
						t.Fatalf("objects differ:\n helm:     %v\n operator: %v", keys(h), keys(o))
					}
					for k, ho := range h {
						if !reflect.DeepEqual(ho.Object, o[k].Object) {
							hy, _ := yaml.Marshal(ho.Object)
							oy, _ := yaml.Marshal(o[k].Object)
							t.Errorf("%s differs:\n--- helm template\n%s\n--- operator\n%s", k, hy, oy)
						}
					}
				})
			}
		})
	}
}

// TestServiceValues checks the values the operator derives, as a Helm user would read them.
func TestServiceValues(t *testing.T) {
	ctx := context.Background()
	b := maximal()
	objs := map[string][]*unstructured.Unstructured{}
	for _, svc := range append(render.Services(), "bookstore") {
		var v map[string]any
		var err error
		if svc == "bookstore" {
			v = render.IngressValues(b)
		} else if v, err = render.ServiceValues(b, svc); err != nil {
			t.Fatal(err)
		}
		if objs[svc], err = render.Chart(ctx, svc, b.Name, b.Namespace, v); err != nil {
			t.Fatal(err)
		}
	}
	find := func(svc, kind string) *unstructured.Unstructured {
		for _, o := range objs[svc] {
			if o.GetKind() == kind {
				return o
			}
		}
		return nil
	}
	tests := []struct {
		name string
		got  func() any
		want any
	}{
		{"user replicas", func() any {
			v, _, _ := unstructured.NestedInt64(find("user", "Deployment").Object, "spec", "replicas")
			return v
		}, int64(3)},
		{"token has an HPA", func() any { return find("token", "HorizontalPodAutoscaler") != nil }, true},
		{"token deployment leaves replicas to the HPA", func() any {
			_, found, _ := unstructured.NestedFieldNoCopy(find("token", "Deployment").Object, "spec", "replicas")
			return found
		}, false},
		{"user has no HPA", func() any { return find("user", "HorizontalPodAutoscaler") == nil }, true},
		{"image", func() any {
			c, _, _ := unstructured.NestedSlice(find("inventory", "Deployment").Object, "spec", "template", "spec", "containers")
			return c[0].(map[string]any)["image"]
		}, "registry.example.com/bookstore:1.4.2-rc1"},
		{"migration job named per image", func() any { return find("order", "Job").GetName() }, "shop-order-" + render.MigrationSuffix(&b.Spec)},
		{"migration job is not a hook", func() any { return find("order", "Job").GetAnnotations()["helm.sh/hook"] }, ""},
		{"every service has a PDB", func() any {
			n := 0
			for _, svc := range render.Services() {
				if find(svc, "PodDisruptionBudget") != nil {
					n++
				}
			}
			return n
		}, 4},
		{"ingress TLS host", func() any {
			tls, _, _ := unstructured.NestedSlice(find("bookstore", "Ingress").Object, "spec", "tls")
			return tls[0].(map[string]any)["secretName"]
		}, "shop-tls"},
		{"instance label", func() any { return find("user", "Service").GetLabels()[render.InstanceLabel] }, "shop"},
		{"no service deployments from the umbrella", func() any { return find("bookstore", "Deployment") == nil }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.got(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	env := map[string]map[string]any{}
	c, _, _ := unstructured.NestedSlice(find("token", "Deployment").Object, "spec", "template", "spec", "containers")
	for _, e := range c[0].(map[string]any)["env"].([]any) {
		m := e.(map[string]any)
		env[m["name"].(string)] = m
	}
	for name, want := range map[string]string{
		"BOOKSTORE_DATABASE_URL":        "pg/token",
		"BOOKSTORE_KAFKA_BROKERS":       "kafka/brokers",
		"BOOKSTORE_KAFKA_SASL_PASSWORD": "kafka/password",
	} {
		ref, _, _ := unstructured.NestedStringMap(env[name], "valueFrom", "secretKeyRef")
		if got := ref["name"] + "/" + ref["key"]; got != want {
			t.Errorf("%s from secret %s, want %s", name, got, want)
		}
	}
	if v := env["BOOKSTORE_KAFKA_SECURITY_PROTOCOL"]["value"]; v != "SASL_SSL" {
		t.Errorf("BOOKSTORE_KAFKA_SECURITY_PROTOCOL = %v", v)
	}
	if v := env["BOOKSTORE_KAFKA_TOPIC_REPLICATION"]["value"]; v != "3" {
		t.Errorf("BOOKSTORE_KAFKA_TOPIC_REPLICATION = %v", v)
	}
}

func TestMigrationSuffixFollowsImageAndDatabase(t *testing.T) {
	a := minimal().Spec
	b := a
	b.Version = "0.2.0"
	c := a
	c.Image.Digest = "sha256:" + strings.Repeat("a", 64)
	d := a
	d.Postgres.External = &v1alpha1.ExternalPostgres{SecretName: "pg"}
	if render.MigrationSuffix(&a) == render.MigrationSuffix(&b) || render.MigrationSuffix(&a) == render.MigrationSuffix(&c) ||
		render.MigrationSuffix(&a) == render.MigrationSuffix(&d) {
		t.Errorf("suffixes do not change with the image or the database: %s %s %s %s",
			render.MigrationSuffix(&a), render.MigrationSuffix(&b), render.MigrationSuffix(&c), render.MigrationSuffix(&d))
	}
	e := a
	e.Services.User.Replicas = ptr.To(int32(4))
	if render.MigrationSuffix(&a) != render.MigrationSuffix(&e) {
		t.Error("suffix changes with the replica count")
	}
}

func byKey(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	m := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		m[o.GetKind()+"/"+o.GetName()] = o
	}
	return m
}

func keys(m map[string]*unstructured.Unstructured) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestGatewayAPIValues: spec.gatewayAPI renders the Gateway of its class and
// the HTTPRoutes attached to it and to the parentRefs; spec.docs off leaves
// the docs routes out of both entry points; off renders nothing.
func TestGatewayAPIValues(t *testing.T) {
	ctx := context.Background()
	b := maximal()
	kinds := func(v map[string]any) map[string]*unstructured.Unstructured {
		objs, err := render.Chart(ctx, "bookstore", b.Name, b.Namespace, v)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]*unstructured.Unstructured{}
		for _, o := range objs {
			m[o.GetKind()+"/"+o.GetName()] = o
		}
		return m
	}
	gw := kinds(render.GatewayAPIValues(b))
	if len(gw) != 2 || gw["Gateway/"+b.Name] == nil || gw["HTTPRoute/"+b.Name] == nil {
		t.Fatalf("Gateway API objects %v, want the Gateway and the API HTTPRoute (docs off)", keys(gw))
	}
	class, _, _ := unstructured.NestedString(gw["Gateway/"+b.Name].Object, "spec", "gatewayClassName")
	parents, _, _ := unstructured.NestedSlice(gw["HTTPRoute/"+b.Name].Object, "spec", "parentRefs")
	if class != "haproxy" || len(parents) != 2 {
		t.Errorf("gatewayClassName %q, parentRefs %v", class, parents)
	}
	// The Ingress pass renders the NetworkPolicies too: the external PostgreSQL
	// and Kafka of maximal get none, the managed Redis one.
	ing := keys(kinds(render.IngressValues(b)))
	sort.Strings(ing)
	want := []string{"Ingress/shop", "NetworkPolicy/shop-default-deny", "NetworkPolicy/shop-inventory", "NetworkPolicy/shop-order",
		"NetworkPolicy/shop-redis", "NetworkPolicy/shop-token", "NetworkPolicy/shop-user"}
	if !reflect.DeepEqual(ing, want) {
		t.Errorf("Ingress pass objects %v, want %v (docs off)", ing, want)
	}
	if np := kinds(render.IngressValues(minimal())); np["NetworkPolicy/demo-postgres"] == nil || np["NetworkPolicy/demo-kafka"] == nil {
		t.Errorf("managed infrastructure without policies: %v", keys(np))
	}
	if off := kinds(render.GatewayAPIValues(minimal())); len(off) != 0 {
		t.Errorf("gatewayAPI off renders %v", keys(off))
	}
}
