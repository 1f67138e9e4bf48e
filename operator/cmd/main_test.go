package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/internal/testenv/kubeenv"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/testutil"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func wait(t *testing.T, what string, f func() error) {
	t.Helper()
	testutil.Eventually(t, what, 60*time.Second, f)
}

// TestOperatorBinary runs the operator's main program against envtest, as its
// ServiceAccount with the RBAC of manifests/: it takes the leader Lease, serves its probes and metrics, reconciles a
// Bookstore, and on shutdown releases the Lease.
func TestOperatorBinary(t *testing.T) {
	root := testenv.RepoRoot(t)
	env, cfg := kubeenv.KubeEnv(t, filepath.Join(root, "manifests", "crd"))
	c, err := client.New(cfg, client.Options{Scheme: testutil.Scheme(t)})
	if err != nil {
		t.Fatal(err)
	}
	// The program runs as its ServiceAccount with the RBAC of manifests/
	// (ClusterRole, its binding, the leader election Role in bookstore-system).
	testutil.InstallManifests(t, c, root, "rbac/role.yaml", "rbac/metrics_reader_role.yaml", "operator/role_binding.yaml", "operator/leader_election.yaml")
	kubeconfig := testutil.Kubeconfig(t, testutil.AddUser(t, env, testutil.OperatorServiceAccount))

	metrics, probes := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{
			"--kubeconfig", kubeconfig,
			"--metrics-bind-address", metrics,
			"--health-probe-bind-address", probes,
			"--leader-elect", "--leader-election-namespace", "bookstore-system",
			"--log-level", "warn",
		})
	}()

	for _, path := range []string{"/healthz", "/readyz"} {
		wait(t, path, func() error {
			code, body, err := get("http://" + probes + path)
			if err != nil {
				return err
			}
			if code != http.StatusOK {
				return fmt.Errorf("%s: %d %s", path, code, body)
			}
			return nil
		})
	}
	lease := &coordinationv1.Lease{}
	wait(t, "leader lease", func() error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: "bookstore-system", Name: "bookstore-operator.bookstore.dev"}, lease); err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return fmt.Errorf("lease has no holder")
		}
		return nil
	})

	b := &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "bin", Namespace: "default"}, Spec: v1alpha1.BookstoreSpec{Version: "1.0.0"}}
	if err := c.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	wait(t, "the operator reconciles: generated JWT Secret", func() error {
		return c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "bin-jwt"}, &corev1.Secret{})
	})
	checkSecureMetrics(ctx, t, c, cfg, "https://"+metrics+"/metrics")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the operator did not stop within 30s of its context ending")
	}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(lease), lease); err != nil {
		t.Fatal(err)
	}
	if lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "" {
		t.Errorf("lease still held by %q after shutdown", *lease.Spec.HolderIdentity)
	}
}
