package charts_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"github.com/bookstore-platform/bookstore/charts"
	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/internal/testenv/kubeenv"
)

// stageCharts copies charts/ into a temporary directory and vendors the
// dependencies there with hack/helm-deps.sh, the script users run, leaving
// the working tree untouched.
func stageCharts(t *testing.T, helm string) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	dir := filepath.Join(t.TempDir(), "charts")
	// -L: bookstore-operator reads manifests/ through symlinks.
	run(t, nil, "cp", "-rL", filepath.Join(root, "charts"), dir)
	for _, c := range append([]string{"bookstore"}, charts.Services()...) {
		// A local `helm dependency build` may have left archives behind.
		if err := os.RemoveAll(filepath.Join(dir, c, "charts")); err != nil {
			t.Fatal(err)
		}
	}
	run(t, nil, "HELM="+helm, filepath.Join(root, "hack", "helm-deps.sh"), dir)
	return dir
}

// run runs a command (args[0] may be preceded by KEY=VALUE environment
// entries) and returns its stdout, failing the test with stderr on error.
func run(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	var env []string
	for len(args) > 0 && strings.Contains(args[0], "=") && !strings.HasPrefix(args[0], "-") {
		env = append(env, args[0])
		args = args[1:]
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// serviceValues is the maximal values file as a service chart sees it:
// global plus the service's own section of testdata/max-values.yaml.
func serviceValues(t *testing.T, svc string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "max-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	if err := yaml.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	own, _ := all[svc].(map[string]any)
	if own == nil {
		own = map[string]any{}
	}
	own["global"] = all["global"]
	out, err := yaml.Marshal(own)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), svc+"-max-values.yaml")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHelmLintStrict(t *testing.T) {
	helm := testenv.Tool(t, "helm")
	dir := stageCharts(t, helm)
	for _, c := range append([]string{"bookstore-lib", "bookstore", "bookstore-operator"}, charts.Services()...) {
		t.Run(c, func(t *testing.T) {
			run(t, nil, helm, "lint", "--strict", filepath.Join(dir, c))
			if c == "bookstore-lib" {
				return
			}
			max := maxValues(t, c)
			run(t, nil, helm, "lint", "--strict", "-f", max, filepath.Join(dir, c))
		})
	}
}

// maxValues is the maximal values file of a chart.
func maxValues(t *testing.T, chart string) string {
	t.Helper()
	switch chart {
	case "bookstore":
		p, _ := filepath.Abs(filepath.Join("testdata", "max-values.yaml"))
		return p
	case "bookstore-operator":
		p, _ := filepath.Abs(filepath.Join("testdata", "operator-max-values.yaml"))
		return p
	default:
		return serviceValues(t, chart)
	}
}

// kubeconfig writes a kubeconfig for cfg (envtest's admin client certificate).
func kubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// `helm template` of every chart, with the defaults and with the maximal
// values, is accepted by a real kube-apiserver (server-side dry-run applies
// the full OpenAPI schema validation and admission).
func TestHelmTemplateAppliesToTheAPIServer(t *testing.T) {
	helm := testenv.Tool(t, "helm")
	kubectl := testenv.Tool(t, "kubectl")
	dir := stageCharts(t, helm)
	kc := kubeconfig(t, kubeenv.Kube(t, kubeenv.GatewayAPICRDs(t)))
	const ns = "shop"
	run(t, nil, kubectl, "--kubeconfig", kc, "create", "namespace", ns)

	root := testenv.RepoRoot(t)
	for _, c := range append([]string{"bookstore", "bookstore-operator"}, charts.Services()...) {
		variants := []string{"defaults", "max"}
		if c == "bookstore" {
			variants = append(variants, "tilt")
		}
		for _, values := range variants {
			t.Run(c+"/"+values, func(t *testing.T) {
				args := []string{helm, "template", "bs", filepath.Join(dir, c), "--namespace", ns, "--include-crds"}
				switch values {
				case "max":
					args = append(args, "-f", maxValues(t, c))
				case "tilt":
					// The values and dev infrastructure the Tiltfile deploys.
					args = append(args, "-f", filepath.Join(root, "deploy", "tilt", "values.yaml"))
				}
				manifest := run(t, nil, args...)
				if values == "tilt" {
					infra, err := os.ReadFile(filepath.Join(root, "deploy", "tilt", "infra.yaml"))
					if err != nil {
						t.Fatal(err)
					}
					manifest = append(append(manifest, "\n---\n"...), infra...)
				}
				if !bytes.Contains(manifest, []byte("kind: ")) {
					t.Fatalf("helm template rendered no objects:\n%s", manifest)
				}
				out := run(t, manifest, kubectl, "--kubeconfig", kc, "apply", "--dry-run=server", "-f", "-")
				// kubectl prints one line per object: "<kind>/<name> created (server dry run)".
				objects := bytes.Count(manifest, []byte("\nkind: ")) + bytes.Count(manifest[:min(len(manifest), 6)], []byte("kind: "))
				if got := bytes.Count(out, []byte("(server dry run)")); got != objects {
					t.Errorf("API server accepted %d objects, helm rendered %d:\n%s", got, objects, out)
				}
			})
		}
	}
}
