package charts_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/bookstore-platform/bookstore/charts"
	"github.com/bookstore-platform/bookstore/internal/gateway"
)

// TestGatewayRoutesLikeIngress: compose and `make dev` reach the services
// through cmd/gateway, Kubernetes through the umbrella chart's Ingresses;
// both must send the same public paths to the same service with the same
// path. Every API prefix goes to the same service unchanged, and
// /docs/<service>/... reaches the service as the docs Ingress's regex and
// rewrite-target make ingress-nginx send it.
func TestGatewayRoutesLikeIngress(t *testing.T) {
	objs := mustRender(t, "bookstore", nil)
	backend := func(p any) string { return strings.TrimPrefix(str(p, "backend", "service", "name"), "bs-") }

	// API routes: path (Prefix) -> service.
	ingressAPI := map[string]string{}
	for _, p := range get(find(objs, "Ingress", "bs-bookstore"), "spec", "rules", "0", "http", "paths").([]any) {
		if str(p, "pathType") != "Prefix" {
			t.Errorf("API path %s has pathType %s", str(p, "path"), str(p, "pathType"))
		}
		ingressAPI[str(p, "path")] = backend(p)
	}

	// The gateway, with a recording upstream per service.
	var mu sync.Mutex
	got := map[string]string{} // service -> last path it received
	upstreams := map[string]string{}
	for _, svc := range charts.Services() {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got[svc] = r.URL.Path
			mu.Unlock()
		}))
		t.Cleanup(srv.Close)
		upstreams[svc] = srv.URL
	}
	routes, err := gateway.Routes(upstreams)
	if err != nil {
		t.Fatal(err)
	}
	gatewayAPI := map[string]string{}
	for _, r := range routes {
		gatewayAPI[r.Prefix] = r.Service
	}
	if len(gatewayAPI) != len(ingressAPI) {
		t.Errorf("gateway routes %v, Ingress routes %v", gatewayAPI, ingressAPI)
	}
	for p, svc := range ingressAPI {
		if gatewayAPI[p] != svc {
			t.Errorf("%s: Ingress -> %s, gateway -> %q", p, svc, gatewayAPI[p])
		}
	}
	gw := httptest.NewServer(gateway.Handler(routes, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(gw.Close)
	send := func(path string) (string, string) {
		t.Helper()
		mu.Lock()
		clear(got)
		mu.Unlock()
		resp, err := http.Get(gw.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		mu.Lock()
		defer mu.Unlock()
		for svc, p := range got {
			return svc, p
		}
		return "", ""
	}
	for prefix, svc := range ingressAPI {
		for _, path := range []string{prefix, prefix + "/123"} {
			if s, p := send(path); s != svc || p != path {
				t.Errorf("gateway: %s reaches %s as %s; the Ingress sends it to %s as %s", path, s, p, svc, path)
			}
		}
	}

	// Docs: ingress-nginx matches the regex paths (case-insensitive, anchored
	// at the start) and rewrites to rewrite-target with the capture groups.
	docs := find(objs, "Ingress", "bs-bookstore-docs")
	target := str(docs, "metadata", "annotations", "nginx.ingress.kubernetes.io/rewrite-target")
	if str(docs, "metadata", "annotations", "nginx.ingress.kubernetes.io/use-regex") != "true" || target == "" {
		t.Fatalf("docs Ingress annotations %v", get(docs, "metadata", "annotations"))
	}
	for _, p := range get(docs, "spec", "rules", "0", "http", "paths").([]any) {
		re := regexp.MustCompile("(?i)^" + str(p, "path"))
		svc := backend(p)
		for _, path := range []string{"/docs/" + svc + "/swagger/", "/docs/" + svc + "/openapi.json", "/docs/" + svc + "/swagger/swagger-ui.css"} {
			m := re.FindStringSubmatchIndex(path)
			if m == nil {
				t.Errorf("docs Ingress path %s does not match %s", str(p, "path"), path)
				continue
			}
			want := string(re.ExpandString(nil, target, path, m))
			if s, got := send(path); s != svc || got != want {
				t.Errorf("gateway: %s reaches %s as %s; the docs Ingress sends it to %s as %s", path, s, got, svc, want)
			}
		}
	}
}
