package charts_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/bookstore-platform/bookstore/charts"
	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/internal/testenv/kubeenv"
)

// need skips the test, or fails it with CI=true, when a prerequisite is missing.
func need(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %s", what)
	}
	t.Skip(what)
}

// backends starts one HTTP server per service on addr (an address this test
// added: the API server refuses loopback endpoints) and
// returns their ports and the last path each received.
func backends(t *testing.T, addr string) (map[string]int, func(string) string) {
	var mu sync.Mutex
	got := map[string]string{}
	ports := map[string]int{}
	for _, svc := range charts.Services() {
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got[svc] = r.URL.Path
			mu.Unlock()
			_, _ = w.Write([]byte(svc))
		})}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		ports[svc] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports, func(svc string) string {
		mu.Lock()
		defer mu.Unlock()
		p := got[svc]
		delete(got, svc)
		return p
	}
}

// serviceObjects: a Service bs-<svc> per service and its EndpointSlice at addr.
func serviceObjects(addr string, ports map[string]int) string {
	var b strings.Builder
	for svc, port := range ports {
		fmt.Fprintf(&b, `---
apiVersion: v1
kind: Service
metadata: {name: bs-%[1]s, namespace: shop}
spec: {ports: [{name: http, port: 8080, targetPort: %[2]d}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: bs-%[1]s-host, namespace: shop, labels: {kubernetes.io/service-name: bs-%[1]s}}
addressType: IPv4
endpoints: [{addresses: ["%[3]s"], conditions: {ready: true}}]
ports: [{name: http, port: %[2]d, protocol: TCP}]
`, svc, port, addr)
	}
	return b.String()
}

// TestHAProxyIngressRoutesTheRouteTable runs hack/ingress-controller.sh (haproxy-ingress
// as host processes) against a real kube-apiserver, applies the umbrella chart's Ingress,
// then instead its Gateway and HTTPRoutes, and sends every probe path through
// 127.0.0.1: the route table's paths reach their service unchanged, nothing else does.
func TestHAProxyIngressRoutesTheRouteTable(t *testing.T) {
	root := testenv.RepoRoot(t)
	version := pinnedVersion(t, root, "HAPROXY_INGRESS_VERSION")
	_, err := os.Stat(filepath.Join(root, ".cache", "haproxy-ingress", version, "haproxy-ingress-controller"))
	need(t, err == nil, "haproxy-ingress is not built (hack/install-haproxy-ingress.sh)")
	_, err = exec.LookPath("haproxy")
	need(t, err == nil, "haproxy is not installed (Debian package haproxy)")
	need(t, os.Geteuid() == 0, "adding the backends' address needs root")
	kubectl := testenv.Tool(t, "kubectl")
	kc := kubeconfig(t, kubeenv.Kube(t, kubeenv.GatewayAPICRDs(t)))
	port := 18080 + os.Getpid()%500*10
	addr := fmt.Sprintf("10.254.%d.1", os.Getpid()%250)
	// An address of this run's own on lo, outside 127.0.0.0/8 (which EndpointSlices refuse).
	run(t, nil, "ip", "addr", "add", addr+"/32", "dev", "lo")
	t.Cleanup(func() { _ = exec.Command("ip", "addr", "del", addr+"/32", "dev", "lo").Run() })

	ports, received := backends(t, addr)
	script := filepath.Join(root, "hack", "ingress-controller.sh")
	run(t, nil, "bash", script, "start", kc, fmt.Sprint(port))
	t.Cleanup(func() { run(t, nil, "bash", script, "stop", kc, fmt.Sprint(port)) })
	run(t, nil, kubectl, "--kubeconfig", kc, "create", "namespace", "shop")
	run(t, []byte(serviceObjects(addr, ports)), kubectl, "--kubeconfig", kc, "apply", "-f", "-")

	table, err := charts.Routes(true)
	if err != nil {
		t.Fatal(err)
	}
	var want []rule
	for _, r := range table {
		want = append(want, rule{r.Path, string(r.Match), r.Service})
	}
	send := func(path string) (int, string) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			return 0, ""
		}
		_ = resp.Body.Close()
		for _, svc := range charts.Services() {
			if p := received(svc); p != "" {
				if p != path {
					t.Errorf("%s reached %s as %s; the path must arrive unchanged", path, svc, p)
				}
				return resp.StatusCode, svc
			}
		}
		return resp.StatusCode, ""
	}
	for _, entry := range []struct{ name, values string }{
		{"Ingress", `ingress: {className: haproxy}`},
		{"HTTPRoute", `{ingress: {enabled: false}, gatewayAPI: {enabled: true, gateway: {className: haproxy}}}`},
	} {
		t.Run(entry.name, func(t *testing.T) {
			// Nothing routes before this entry point's objects exist (the previous ones are gone).
			testenv.Eventually(t, "no route left before "+entry.name, 60*time.Second, func() bool {
				status, svc := send("/api/books")
				return svc == "" && status == http.StatusNotFound
			})
			vals := yamlValues(t, entry.values)
			for _, svc := range charts.Services() {
				vals[svc] = map[string]any{"enabled": false}
			}
			var manifest []byte
			for _, o := range mustRender(t, "bookstore", vals) {
				data, _ := yaml.Marshal(o)
				manifest = append(append(manifest, "---\n"...), data...)
			}
			run(t, manifest, kubectl, "--kubeconfig", kc, "apply", "-f", "-")
			t.Cleanup(func() { run(t, manifest, kubectl, "--kubeconfig", kc, "delete", "--wait", "-f", "-") })
			// The controller reloads haproxy within seconds of a change.
			testenv.Eventually(t, entry.name+" routes /api/books", 60*time.Second, func() bool {
				_, svc := send("/api/books")
				return svc == "inventory"
			})
			for _, path := range probes(t) {
				status, svc := send(path)
				if expect := pick(want, path); svc != expect || (expect == "" && status != http.StatusNotFound) {
					t.Errorf("%s: %s went to %q (status %d), the route table says %q", entry.name, path, svc, status, expect)
				}
			}
		})
	}
}

func pinnedVersion(t *testing.T, root, key string) string {
	data, err := os.ReadFile(filepath.Join(root, "hack", "versions.env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k == key {
			return v
		}
	}
	t.Fatalf("%s not in hack/versions.env", key)
	return ""
}
