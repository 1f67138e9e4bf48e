package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
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
	assets := kubeAssets()
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); assets == "" || err != nil {
		missing(t, "kube-apiserver and etcd", "no envtest assets in "+assets+"; hack/install-k8s.sh builds them")
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
