// Package kubeenv starts real Kubernetes control planes for tests (envtest's
// kube-apiserver + etcd). It is apart from package testenv so that tests of
// the services, which never need Kubernetes, do not build client-go and
// controller-runtime (and their fuzz builds do not instrument them).
package kubeenv

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// Kube starts a real control plane (kube-apiserver + etcd, from envtest's binary assets),
// installs the CRDs found in crdDirs and returns its config. It is stopped when the test ends.
// The binaries come from $KUBEBUILDER_ASSETS or .cache/k8s/<version> (hack/install-k8s.sh).
func Kube(t testing.TB, crdDirs ...string) *rest.Config {
	t.Helper()
	_, cfg := KubeEnv(t, crdDirs...)
	return cfg
}

// KubeEnv is Kube returning the envtest environment too (for its kubectl wrapper or
// to add users).
func KubeEnv(t testing.TB, crdDirs ...string) (*envtest.Environment, *rest.Config) {
	t.Helper()
	assets := testenv.KubeAssets()
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); assets == "" || err != nil {
		testenv.Missing(t, "kube-apiserver and etcd", "no envtest assets in "+assets+"; hack/install-k8s.sh builds them")
	}
	if os.Getenv("TMPDIR") == "" {
		// envtest puts etcd's data and the apiserver's certificates under TMPDIR.
		t.Setenv("TMPDIR", t.TempDir())
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     crdDirs,
		ErrorIfCRDPathMissing: len(crdDirs) > 0,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest (kube-apiserver + etcd from %s): %v", assets, err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	return env, cfg
}

// GatewayAPICRDs returns the directory of the standard Gateway API CRDs (GatewayClass,
// Gateway, HTTPRoute, ...) of sigs.k8s.io/gateway-api at GATEWAY_API_VERSION of
// hack/versions.env, the version go.mod requires: its config/crd/standard in the module
// cache, downloaded through `go mod download` when missing. Pass it to Kube.
func GatewayAPICRDs(t testing.TB) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	v, err := testenv.Pinned(root, "GATEWAY_API_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "mod", "download", "-json", "sigs.k8s.io/gateway-api@v"+v)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		testenv.Missing(t, "the Gateway API CRDs", fmt.Sprintf("go mod download sigs.k8s.io/gateway-api@v%s: %v", v, err))
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download -json sigs.k8s.io/gateway-api@v%s: no module directory in %s", v, out)
	}
	dir := filepath.Join(mod.Dir, "config", "crd", "standard")
	if _, err := os.Stat(filepath.Join(dir, "gateway.networking.k8s.io_httproutes.yaml")); err != nil {
		t.Fatalf("Gateway API CRDs: %v", err)
	}
	return dir
}
