package charts_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	cutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"sigs.k8s.io/yaml"

	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// The operator chart installs exactly the objects of `kubectl apply -k
// manifests/` (it reads them through symlinks), adjusted by its values.
func TestOperatorChartIsTheKustomizeManifests(t *testing.T) {
	root := testenv.RepoRoot(t)
	c, err := loader.Load(filepath.Join(root, "charts", "bookstore-operator"))
	if err != nil {
		t.Fatal(err)
	}
	vals := yamlValues(t, `{image: {repository: example.com/op, tag: "9.9.9"}, replicaCount: 2, commonLabels: {team: platform}}`)
	rv, err := cutil.ToRenderValues(c, vals, common.ReleaseOptions{Name: "op", Namespace: "ops", IsInstall: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(c, rv)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var dep map[string]any
	for name, content := range files {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		for _, doc := range docSep.Split(content, -1) {
			var o map[string]any
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil || o == nil {
				continue
			}
			got = append(got, str(o, "kind")+"/"+str(o, "metadata", "name"))
			if ns := str(o, "metadata", "namespace"); ns != "" && ns != "ops" {
				t.Errorf("%s/%s in namespace %q, want the release namespace", str(o, "kind"), str(o, "metadata", "name"), ns)
			}
			if str(o, "metadata", "labels", "team") != "platform" {
				t.Errorf("%s/%s lacks commonLabels", str(o, "kind"), str(o, "metadata", "name"))
			}
			if str(o, "kind") == "Deployment" {
				dep = o
			}
			if str(o, "kind") == "ClusterRoleBinding" && str(o, "subjects", "0", "namespace") != "ops" {
				t.Errorf("ClusterRoleBinding subject namespace %q", str(o, "subjects", "0", "namespace"))
			}
		}
	}
	sort.Strings(got)

	// What kubectl apply -k manifests/ installs besides the namespace and the CRD.
	var k struct {
		Resources []string `json:"resources"`
	}
	data, err := os.ReadFile(filepath.Join(root, "manifests", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range k.Resources {
		b, err := os.ReadFile(filepath.Join(root, "manifests", r))
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			var o map[string]any
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil || o == nil {
				continue
			}
			if kind := str(o, "kind"); kind != "Namespace" && kind != "CustomResourceDefinition" {
				want = append(want, kind+"/"+str(o, "metadata", "name"))
			}
		}
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("chart objects %v\nmanifests/ objects %v", got, want)
	}
	if dep == nil {
		t.Fatal("no Deployment")
	}
	if img := str(dep, "spec", "template", "spec", "containers", "0", "image"); img != "example.com/op:9.9.9" {
		t.Errorf("image = %q", img)
	}
	if r := get(dep, "spec", "replicas"); r != float64(2) {
		t.Errorf("replicas = %v", r)
	}
	// And the CRD is the generated one.
	crds := c.CRDObjects()
	if len(crds) != 1 || !strings.Contains(string(crds[0].File.Data), "name: bookstores.bookstore.dev") {
		t.Errorf("chart CRDs: %d, want manifests/crd/bookstore.dev_bookstores.yaml", len(crds))
	}
}
