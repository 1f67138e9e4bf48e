package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// TestKindUpVersion: BOOKSTORE_VERSION changes every tag kind-up puts on the
// cluster: the images it builds and loads, the operator image of the
// manifests it applies (kustomize build of its overlay) and the sample's
// spec.version (the services' image and migration Jobs).
func TestKindUpVersion(t *testing.T) {
	const v = "9.8.7-rc1"
	work := filepath.Join(t.TempDir(), "work")
	calls, _ := runKindUp(t, "DOCKER=docker", "BOOKSTORE_VERSION="+v, "KIND_WORKDIR="+work)
	for _, want := range [][]string{
		{"docker build", "-t bookstore:" + v + " ."},
		{"docker build", "-t bookstore-operator:" + v + " --target operator ."},
		{"kind load docker-image", "bookstore:" + v, "bookstore-operator:" + v},
		{"kubectl", "apply -k " + filepath.Join(work, "manifests")},
		{"kubectl", "apply -f " + filepath.Join(work, "manifests", "bookstore.yaml")},
	} {
		if index(calls, want...) < 0 {
			t.Errorf("no call with %q; calls:\n%s", want, strings.Join(calls, "\n"))
		}
	}
	var sample struct {
		Spec struct {
			Version string `json:"version"`
		} `json:"spec"`
	}
	data, err := os.ReadFile(filepath.Join(work, "manifests", "bookstore.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &sample); err != nil || sample.Spec.Version != v {
		t.Errorf("the applied sample's spec.version = %q (%v), want %q", sample.Spec.Version, err, v)
	}
	built, err := exec.Command(testenv.Tool(t, "kubectl"), "kustomize", filepath.Join(work, "manifests")).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize of the overlay: %v\n%s", err, built)
	}
	if !strings.Contains(string(built), "image: bookstore-operator:"+v+"\n") {
		t.Errorf("the overlay's operator Deployment does not run bookstore-operator:%s:\n%s", v, built)
	}
}
