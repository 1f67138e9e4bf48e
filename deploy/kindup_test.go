package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// runKindUp runs hack/kind-up.sh with recording stand-ins for kind, kubectl,
// docker and podman (and go, which must not be needed) and returns the
// commands in the order the script ran them, plus its output.
func runKindUp(t *testing.T, env ...string) ([]string, string) {
	t.Helper()
	root := testenv.RepoRoot(t)
	bin := t.TempDir()
	log := filepath.Join(bin, "calls.log")
	stub := `#!/bin/sh
echo "$(basename "$0") $*" >> "$CALLS_LOG"
case "$(basename "$0") $*" in
"kubectl "*" get -f "*"jsonpath="*) echo "http://bookstore.localtest.me/" ;;
esac
exit 0
`
	for _, name := range []string{"kind", "kubectl", "docker", "podman", "go"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(stub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", filepath.Join(root, "hack", "kind-up.sh"))
	cmd.Env = append(os.Environ(),
		"PATH="+bin+":"+os.Getenv("PATH"),
		"CALLS_LOG="+log,
		"KIND="+filepath.Join(bin, "kind"),
		"KUBECTL="+filepath.Join(bin, "kubectl"),
		"KIND_EXPERIMENTAL_PROVIDER=",
		"BOOKSTORE_VERSION=",
		"KIND_NODE_IMAGE=",
		"KIND_WORKDIR="+filepath.Join(bin, "work"),
	)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kind-up.sh: %v\n%s", err, out)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n"), string(out)
}

// index is the position of the first call containing every part, -1 if none.
func index(calls []string, parts ...string) int {
	return slices.IndexFunc(calls, func(c string) bool {
		for _, p := range parts {
			if !strings.Contains(c, p) {
				return false
			}
		}
		return true
	})
}

// TestKindUpOrder runs `make kind-up` against stand-ins: the steps run in an
// order that works on a real cluster, and it loads the images the operator
// Deployment and the sample reference.
func TestKindUpOrder(t *testing.T) {
	version := appVersion(t)
	calls, out := runKindUp(t, "DOCKER=docker")
	step := func(what string, parts ...string) int {
		t.Helper()
		i := index(calls, parts...)
		if i < 0 {
			t.Fatalf("kind-up.sh never runs %s (%q); calls:\n%s", what, parts, strings.Join(calls, "\n"))
		}
		return i
	}
	before := func(a, b string, i, j int) {
		t.Helper()
		if i >= j {
			t.Errorf("%s (call %d) must come before %s (call %d); calls:\n%s", a, i, b, j, strings.Join(calls, "\n"))
		}
	}
	create := step("kind create cluster", "kind create cluster", "--config kind-config.yaml", "--image kindest/node:v"+pinned(t, "KUBERNETES_VERSION"))
	gwCRDs := step("the Gateway API CRDs", "kubectl", "apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v"+pinned(t, "GATEWAY_API_VERSION")+"/standard-install.yaml")
	gwCRDsReady := step("the Gateway API CRD wait", "kubectl", "wait --for=condition=Established", "crd/httproutes.gateway.networking.k8s.io")
	ingress := step("the haproxy-ingress install", "kubectl", "apply -f deploy/kind/haproxy-ingress.yaml")
	metrics := step("the metrics-server install", "kubectl", "apply -f https://github.com/kubernetes-sigs/metrics-server/releases/download/v"+pinned(t, "METRICS_SERVER_VERSION")+"/components.yaml")
	insecure := step("the metrics-server kubelet TLS patch", "kubectl", "-n kube-system patch deployment metrics-server", "--kubelet-insecure-tls")
	build := step("the service image build", "docker build --provenance=false --sbom=false -t bookstore:"+version+" .")
	step("the operator image build", "docker build --provenance=false --sbom=false -t bookstore-operator:"+version+" --target operator .")
	load := step("kind load", "kind load docker-image", "bookstore:"+version, "bookstore-operator:"+version)
	ingressReady := step("the haproxy-ingress readiness wait", "kubectl", "-n haproxy-ingress rollout status daemonset/haproxy-ingress")
	operator := step("the operator install", "kubectl", "apply -k ", "/work/manifests")
	crd := step("the CRD wait", "kubectl", "wait --for=condition=Established crd/bookstores.bookstore.dev")
	operatorReady := step("the operator rollout wait", "kubectl", "-n bookstore-system rollout status deployment/bookstore-operator")
	sample := step("the sample", "kubectl", "apply -f ", "/work/manifests/bookstore.yaml")
	ready := step("the Ready wait", "kubectl", "wait --for=condition=Ready -f ", "/work/manifests/bookstore.yaml")

	before("kind create cluster", "the Gateway API CRDs", create, gwCRDs)
	before("the Gateway API CRD wait", "the haproxy-ingress install (its GatewayClass)", gwCRDsReady, ingress)
	before("the haproxy-ingress install", "its readiness wait", ingress, ingressReady)
	before("kind create cluster", "the metrics-server install", create, metrics)
	before("the metrics-server install", "its patch", metrics, insecure)
	before("the metrics-server install", "the sample (its order service autoscales)", metrics, sample)
	before("the image build", "kind load", build, load)
	before("kind load", "the operator install", load, operator)
	before("the haproxy-ingress readiness wait", "the sample (its routes need the controller)", ingressReady, sample)
	before("the operator install", "the CRD wait", operator, crd)
	before("the CRD wait", "the sample", crd, sample)
	before("the operator rollout wait", "the sample", operatorReady, sample)
	before("the sample", "the Ready wait", sample, ready)
	for _, c := range calls {
		if strings.HasPrefix(c, "go ") || strings.HasPrefix(c, "podman ") {
			t.Errorf("unexpected call %q", c)
		}
		if strings.HasPrefix(c, "kubectl ") && !strings.Contains(c, "--context kind-bookstore") {
			t.Errorf("%q does not name the kind cluster's context", c)
		}
	}
	if strings.Contains(out, "//api") || !strings.Contains(out, "http://bookstore.localtest.me/api/books") {
		t.Errorf("the printed URLs are wrong:\n%s", out)
	}
}

// TestKindUpPodman: `kind load docker-image` always runs the docker CLI
// (sigs.k8s.io/kind pkg/cmd/kind/load/docker-image), so with DOCKER=podman
// the images are saved by podman under their docker.io/library names (podman
// would call them localhost/bookstore, which the pods' bookstore:<version>
// does not match) and loaded as an archive.
func TestKindUpPodman(t *testing.T) {
	version := appVersion(t)
	calls, _ := runKindUp(t, "DOCKER=podman")
	for _, c := range calls {
		if strings.HasPrefix(c, "docker ") || strings.Contains(c, "load docker-image") {
			t.Errorf("with DOCKER=podman, kind-up.sh runs %q", c)
		}
	}
	// One image per archive: without --multi-image-archive, `podman save a b`
	// saves image a with b as a second tag.
	for _, img := range []string{"bookstore:" + version, "bookstore-operator:" + version} {
		tag := index(calls, "podman tag "+img+" docker.io/library/"+img)
		save := slices.IndexFunc(calls, func(c string) bool {
			f := strings.Fields(c)
			return len(f) == 5 && f[0] == "podman" && f[1] == "save" && f[2] == "-o" && f[4] == "docker.io/library/"+img
		})
		load := -1
		if save >= 0 {
			load = index(calls, "kind load image-archive --name bookstore "+strings.Fields(calls[save])[3])
		}
		if tag < 0 || save < tag || load < save {
			t.Errorf("%s: podman tag (call %d), podman save of that one image (call %d), kind load image-archive of it (call %d); calls:\n%s",
				img, tag, save, load, strings.Join(calls, "\n"))
		}
	}
}

// TestKindDocsURLs: the URLs docs/running.md gives for kind reach the
// sample's Ingress, whose rules match only its host (a request for
// http://localhost/ would get haproxy-ingress's 404).
func TestKindDocsURLs(t *testing.T) {
	root := testenv.RepoRoot(t)
	var sample struct {
		Spec struct {
			Ingress struct {
				Host string `json:"host"`
			} `json:"ingress"`
		} `json:"spec"`
	}
	readSample(t, root, &sample)
	host := sample.Spec.Ingress.Host
	doc, err := os.ReadFile(filepath.Join(root, "docs", "running.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "## kind + the operator")
	if !ok {
		t.Fatal("docs/running.md has no kind section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	re := regexp.MustCompile(`http://([^/\s]+)/(api|docs)/`)
	found := 0
	for _, line := range strings.Split(section, "\n") {
		for _, m := range re.FindAllStringSubmatch(line, -1) {
			found++
			if m[1] != host && !strings.Contains(line, "Host: "+host) {
				t.Errorf("docs/running.md: %q does not reach the sample's Ingress (host %q)", strings.TrimSpace(line), host)
			}
		}
	}
	if found == 0 {
		t.Fatal("the kind section of docs/running.md shows no URL")
	}
}
