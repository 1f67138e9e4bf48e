package deploy_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	kind "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/bookstore-platform/bookstore/internal/testenv"
)

func TestKindConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "kind-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c kind.Cluster
	// kind decodes its config strictly: an unknown or misspelt field is an error.
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		t.Fatalf("kind would refuse kind-config.yaml: %v", err)
	}
	if c.Kind != "Cluster" || c.APIVersion != "kind.x-k8s.io/v1alpha4" {
		t.Fatalf("kind %q apiVersion %q", c.Kind, c.APIVersion)
	}
	kind.SetDefaultsCluster(&c)
	var planes []kind.Node
	for _, n := range c.Nodes {
		if n.Role == kind.ControlPlaneRole {
			planes = append(planes, n)
		}
	}
	if len(planes) != 1 {
		t.Fatalf("%d control-plane nodes, want 1", len(planes))
	}
	cp := planes[0]
	if cp.Labels["ingress-ready"] != "true" {
		t.Errorf("control-plane labels %v: deploy/kind/haproxy-ingress.yaml schedules on ingress-ready=true", cp.Labels)
	}
	ports := map[int32]int32{}
	for _, m := range cp.ExtraPortMappings {
		if m.Protocol != kind.PortMappingProtocolTCP {
			t.Errorf("port mapping %+v is not TCP", m)
		}
		ports[m.ContainerPort] = m.HostPort
	}
	for _, p := range []int32{80, 443} {
		if ports[p] != p {
			t.Errorf("container port %d mapped to host port %d, want %d (extraPortMappings %+v)", p, ports[p], p, cp.ExtraPortMappings)
		}
	}
}

// The kind scripts are valid bash, and everything they name exists and agrees:
// the images they build and load are the ones the operator manifest and the
// sample Bookstore run.
func TestKindScripts(t *testing.T) {
	root := testenv.RepoRoot(t)
	scripts := []string{"hack/kind-up.sh", "hack/kind-down.sh", "hack/images.sh", "hack/build.sh", "hack/helm-deps.sh"}
	for _, s := range scripts {
		fi, err := os.Stat(filepath.Join(root, s))
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", s)
		}
		if out, err := exec.Command("bash", "-n", filepath.Join(root, s)).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
	}
	up, err := os.ReadFile(filepath.Join(root, "hack", "kind-up.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"kind-config.yaml", "manifests/", "manifests/samples/bookstore.yaml", "hack/images.sh", "hack/versions.env", "charts/bookstore/Chart.yaml"} {
		if !strings.Contains(string(up), ref) {
			t.Errorf("kind-up.sh does not use %s", ref)
		}
		mustExist(t, "kind-up.sh names "+ref, ref)
	}
	mustExist(t, "kubectl apply -k manifests/", "manifests/kustomization.yaml")
	pinned(t, "KIND_VERSION")

	version := appVersion(t)
	images, err := os.ReadFile(filepath.Join(root, "hack", "images.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []string{`bookstore:$version`, `bookstore-operator:$version`} {
		if !strings.Contains(string(images), img) {
			t.Errorf("hack/images.sh does not build %s", img)
		}
	}
	op, err := os.ReadFile(filepath.Join(root, "manifests", "operator", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`image:\s*"?([^\s"]+)`).FindSubmatch(op); m == nil || string(m[1]) != "bookstore-operator:"+version {
		t.Errorf("operator Deployment image %q, but kind-up.sh loads bookstore-operator:%s", m, version)
	}
	var sample struct {
		Spec struct {
			Version string `json:"version"`
			Image   struct {
				Repository string `json:"repository"`
				Tag        string `json:"tag"`
			} `json:"image"`
		} `json:"spec"`
	}
	readSample(t, root, &sample)
	tag := sample.Spec.Image.Tag
	if tag == "" {
		tag = sample.Spec.Version
	}
	if got := sample.Spec.Image.Repository + ":" + tag; got != "bookstore:"+version {
		t.Errorf("sample Bookstore runs %s, but kind-up.sh loads bookstore:%s", got, version)
	}
}

// appVersion is the release version: the umbrella chart's appVersion.
func appVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "charts", "bookstore", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil || c.AppVersion == "" {
		t.Fatalf("charts/bookstore/Chart.yaml appVersion: %q, %v", c.AppVersion, err)
	}
	return c.AppVersion
}

// TestKindEntryPointController: `make kind-up` installs haproxy-ingress at the
// pinned version, serving the Ingress class the sample names and a
// GatewayClass for HTTPRoutes, on the node whose ports kind maps to the host.
func TestKindEntryPointController(t *testing.T) {
	root := testenv.RepoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "deploy", "kind", "haproxy-ingress.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]map[string]any{}
	for _, doc := range regexp.MustCompile(`(?m)^---$`).Split(string(data), -1) {
		var o map[string]any
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatal(err)
		}
		if o != nil {
			objs[testenv.LookupString(o, "kind")] = o
		}
	}
	const controller = "haproxy-ingress.github.io/controller"
	if got := testenv.LookupString(objs["IngressClass"], "spec", "controller"); got != controller {
		t.Errorf("IngressClass controller %q", got)
	}
	if got := testenv.LookupString(objs["GatewayClass"], "spec", "controllerName"); got != controller {
		t.Errorf("GatewayClass controllerName %q", got)
	}
	var sample struct {
		Spec struct {
			Ingress struct {
				ClassName string `json:"className"`
			} `json:"ingress"`
		} `json:"spec"`
	}
	readSample(t, root, &sample)
	if name := testenv.LookupString(objs["IngressClass"], "metadata", "name"); sample.Spec.Ingress.ClassName != name {
		t.Errorf("the sample's Ingress class %q is not the controller's %q", sample.Spec.Ingress.ClassName, name)
	}
	pod := testenv.Lookup(objs["DaemonSet"], "spec", "template", "spec")
	if got, want := testenv.LookupString(pod, "containers", "0", "image"), "quay.io/jcmoraisjr/haproxy-ingress:v"+pinned(t, "HAPROXY_INGRESS_VERSION"); got != want {
		t.Errorf("image %s, want %s (hack/versions.env)", got, want)
	}
	args := fmt.Sprint(testenv.Lookup(pod, "containers", "0", "args"))
	if !strings.Contains(args, "--watch-gateway=true") {
		t.Errorf("args %s: without --watch-gateway=true no HTTPRoute is served", args)
	}
	if testenv.LookupString(pod, "nodeSelector", "ingress-ready") != "true" {
		t.Errorf("nodeSelector %v: the host ports are mapped on the ingress-ready node only", testenv.Lookup(pod, "nodeSelector"))
	}
}
