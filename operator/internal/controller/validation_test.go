package controller

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

func testValidation(t *testing.T, h *harness) {
	valid := func() *v1alpha1.Bookstore {
		return &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, GenerateName: "v-"}, Spec: v1alpha1.BookstoreSpec{Version: "1.0.0"}}
	}
	q := resource.MustParse("1Gi")
	cases := []struct {
		name    string
		mutate  func(b *v1alpha1.Bookstore)
		wantErr string // "" means accepted
	}{
		{"minimal spec", func(*v1alpha1.Bookstore) {}, ""},
		{"full spec", func(b *v1alpha1.Bookstore) {
			b.Spec.Services.Order.Autoscaling = &v1alpha1.AutoscalingSpec{MinReplicas: 1, MaxReplicas: 3}
			b.Spec.Services.User.Replicas = ptr.To(int32(0))
			b.Spec.Postgres.Managed = &v1alpha1.ManagedPostgres{Storage: v1alpha1.StorageSpec{Size: &q}}
			b.Spec.Kafka.Managed = &v1alpha1.ManagedKafka{Replicas: 3}
			b.Spec.Ingress = v1alpha1.IngressSpec{Enabled: true, Host: "shop.example.com", TLSSecretName: "tls"}
		}, ""},
		{"negative replicas", func(b *v1alpha1.Bookstore) { b.Spec.Services.User.Replicas = ptr.To(int32(-1)) }, "spec.services.user.replicas"},
		{"min above max", func(b *v1alpha1.Bookstore) {
			b.Spec.Services.Token.Autoscaling = &v1alpha1.AutoscalingSpec{MinReplicas: 5, MaxReplicas: 2}
		}, "minReplicas must not exceed maxReplicas"},
		{"replicas and autoscaling", func(b *v1alpha1.Bookstore) {
			b.Spec.Services.Token.Replicas = ptr.To(int32(2))
			b.Spec.Services.Token.Autoscaling = &v1alpha1.AutoscalingSpec{MaxReplicas: 2}
		}, "set either replicas or autoscaling"},
		{"managed and external postgres", func(b *v1alpha1.Bookstore) {
			b.Spec.Postgres = v1alpha1.PostgresSpec{Managed: &v1alpha1.ManagedPostgres{}, External: &v1alpha1.ExternalPostgres{SecretName: "x"}}
		}, "postgres: managed and external are mutually exclusive"},
		{"managed and external kafka", func(b *v1alpha1.Bookstore) {
			b.Spec.Kafka = v1alpha1.KafkaSpec{Managed: &v1alpha1.ManagedKafka{}, External: &v1alpha1.ExternalKafka{SecretName: "x"}}
		}, "kafka: managed and external are mutually exclusive"},
		{"two kafka nodes", func(b *v1alpha1.Bookstore) { b.Spec.Kafka.Managed = &v1alpha1.ManagedKafka{Replicas: 2} }, "spec.kafka.managed.replicas"},
		{"empty version", func(b *v1alpha1.Bookstore) { b.Spec.Version = "" }, "spec.version"},
		{"an env variable twice", func(b *v1alpha1.Bookstore) {
			b.Spec.Services.Order.Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}}
		}, "spec.services.order.env[1]"},
		{"tls without host", func(b *v1alpha1.Bookstore) {
			b.Spec.Ingress = v1alpha1.IngressSpec{Enabled: true, TLSSecretName: "tls"}
		}, "tlsSecretName needs a host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := valid()
			tc.mutate(b)
			err := h.c.Create(h.ctx, b, client.DryRunAll)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("valid spec rejected: %v", err)
				}
				return
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an Invalid error mentioning %q", err, tc.wantErr)
			}
		})
	}
	testNameLength(t, h)
	testKafkaReplicasImmutable(t, h)
	// A bad quantity never reaches the typed client: send raw YAML.
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore",
		"metadata": map[string]any{"name": "badq", "namespace": h.ns},
		"spec":     map[string]any{"version": "1", "postgres": map[string]any{"managed": map[string]any{"storage": map[string]any{"size": "ten gigs"}}}},
	}}
	if err := h.c.Create(h.ctx, u, client.DryRunAll); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.postgres.managed.storage.size") {
		t.Errorf("bad quantity: got %v, want Invalid on spec.postgres.managed.storage.size", err)
	}
}

// testManifests applies everything in manifests/ (and the kustomize build)
// with --dry-run=server: real schema validation by the API server.
func testManifests(t *testing.T, c client.Client, root, kubeconfig string) {
	kubectl := testenv.Tool(t, "kubectl")
	// Namespaced objects cannot be dry-run into a namespace that only exists in the same dry run.
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bookstore-system"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	var files []string
	err := filepath.WalkDir(filepath.Join(root, "manifests"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".yaml") && filepath.Base(p) != "kustomization.yaml" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 7 {
		t.Fatalf("only %d manifests found: %v", len(files), files)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) {
			out, err := runCmd(kubectl, "--kubeconfig", kubeconfig, "apply", "--dry-run=server", "-f", f)
			if err != nil {
				t.Fatalf("kubectl apply --dry-run=server -f %s: %v\n%s", rel, err, out)
			}
		})
	}
	t.Run("kustomize", func(t *testing.T) {
		built, err := runCmd(kubectl, "kustomize", filepath.Join(root, "manifests"))
		if err != nil {
			t.Fatalf("kubectl kustomize manifests/: %v\n%s", err, built)
		}
		for _, want := range []string{"kind: CustomResourceDefinition", "kind: ClusterRole\n", "kind: Deployment", "kind: Namespace"} {
			if !strings.Contains(built, want) {
				t.Errorf("kustomize build lacks %q", want)
			}
		}
		p := filepath.Join(t.TempDir(), "built.yaml")
		if err := os.WriteFile(p, []byte(built), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := runCmd(kubectl, "--kubeconfig", kubeconfig, "apply", "--dry-run=server", "-f", p); err != nil {
			t.Fatalf("kubectl apply --dry-run=server of the kustomize build: %v\n%s", err, out)
		}
	})
}
