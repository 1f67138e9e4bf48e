package charts_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/bookstore-platform/bookstore/charts"
	"github.com/bookstore-platform/bookstore/internal/gateway"
	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

// rule is one path of an entry point: where a matching request goes.
type rule struct {
	path, match, service string
}

// pick is how Ingress and HTTPRoute choose among matching paths: Exact
// first, then the longest prefix (segment-wise, charts.Route.Matches).
func pick(rules []rule, path string) string {
	sort.SliceStable(rules, func(i, j int) bool {
		if (rules[i].match == "Exact") != (rules[j].match == "Exact") {
			return rules[i].match == "Exact"
		}
		return len(rules[i].path) > len(rules[j].path)
	})
	for _, r := range rules {
		if (charts.Route{Path: r.path, Match: charts.Match(r.match)}).Matches(path) {
			return r.service
		}
	}
	return ""
}

// probes are paths a user (or an attacker) sends: every public path of the
// table, and the services' internal ones through every way in.
func probes(t *testing.T) []string {
	all, err := charts.Routes(true)
	if err != nil {
		t.Fatal(err)
	}
	ps := []string{"/", "/healthz", "/readyz", "/metrics", "/docs/", "/api/booksellers", "/api"}
	for _, svc := range charts.Services() {
		d := "/docs/" + svc
		ps = append(ps, d, d+"/", d+"/metrics", d+"/readyz", d+"/healthz", d+"/swaggerx", d+"/openapi.json/x",
			d+"/swagger/", d+"/swagger/swagger-ui.css", d+"/api/users")
	}
	for _, r := range all {
		ps = append(ps, r.Path, r.Path+"/42")
	}
	return ps
}

func ingressRules(t *testing.T, objs []object) []rule {
	var out []rule
	for _, ing := range objs {
		if ing.kind() != "Ingress" {
			continue
		}
		if a := get(ing, "metadata", "annotations"); a != nil {
			t.Errorf("Ingress %s has annotations %v: no controller-specific annotation may be needed", ing.name(), a)
		}
		for _, p := range get(ing, "spec", "rules", "0", "http", "paths").([]any) {
			if pt := str(p, "pathType"); pt != "Prefix" && pt != "Exact" {
				t.Errorf("Ingress %s path %s: pathType %s is not portable", ing.name(), str(p, "path"), pt)
			}
			out = append(out, rule{str(p, "path"), str(p, "pathType"), strings.TrimPrefix(str(p, "backend", "service", "name"), "bs-")})
		}
	}
	return out
}

func httpRouteRules(t *testing.T, objs []object) []rule {
	var out []rule
	for _, o := range objs {
		if o.kind() != "HTTPRoute" {
			continue
		}
		// The rendered object is a valid gateway.networking.k8s.io/v1 HTTPRoute of the
		// pinned sigs.k8s.io/gateway-api (no unknown field).
		data, _ := json.Marshal(o)
		var hr gatewayv1.HTTPRoute
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&hr); err != nil {
			t.Fatalf("HTTPRoute %s: %v", o.name(), err)
		}
		for _, r := range hr.Spec.Rules {
			if len(r.Filters) > 0 || len(r.BackendRefs) != 1 {
				t.Errorf("HTTPRoute %s: filters %v, backendRefs %v: want no filter (paths unchanged), one Service", o.name(), r.Filters, r.BackendRefs)
				continue
			}
			svc := strings.TrimPrefix(string(r.BackendRefs[0].Name), "bs-")
			for _, m := range r.Matches {
				match := map[gatewayv1.PathMatchType]string{gatewayv1.PathMatchPathPrefix: "Prefix", gatewayv1.PathMatchExact: "Exact"}[*m.Path.Type]
				out = append(out, rule{*m.Path.Value, match, svc})
			}
		}
	}
	return out
}

// gatewayRoute sends path through the dev gateway and returns the service
// that received it, failing when it arrived with another path.
func gatewayRoute(t *testing.T, docs bool) func(string) string {
	var mu sync.Mutex
	got := map[string]string{}
	ups := map[string]string{}
	for _, svc := range charts.Services() {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got[svc] = r.URL.Path
			mu.Unlock()
		}))
		t.Cleanup(srv.Close)
		ups[svc] = srv.URL
	}
	routes, err := gateway.Routes(ups, docs)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(gateway.Handler(routes, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(gw.Close)
	return func(path string) string {
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
			if p != path {
				t.Errorf("gateway: %s reached %s as %s; every entry point forwards paths unchanged", path, svc, p)
			}
			return svc
		}
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("gateway: %s answered %d without reaching a service, want 404", path, resp.StatusCode)
		}
		return ""
	}
}

// TestEveryEntryPointRoutesTheRouteTable: the dev gateway, the Ingresses and
// the HTTPRoutes send exactly the route table's paths to its services,
// unchanged, and nothing else (/docs/<svc>/metrics, /readyz: 404), with the
// docs switch on and off.
func TestEveryEntryPointRoutesTheRouteTable(t *testing.T) {
	for _, docs := range []bool{true, false} {
		t.Run(map[bool]string{true: "docs on", false: "docs off"}[docs], func(t *testing.T) {
			table, err := charts.Routes(docs)
			if err != nil {
				t.Fatal(err)
			}
			var want []rule
			for _, r := range table {
				want = append(want, rule{r.Path, string(r.Match), r.Service})
			}
			objs := mustRender(t, "bookstore", yamlValues(t, `
docs: {enabled: `+map[bool]string{true: "true", false: "false"}[docs]+`}
gatewayAPI: {enabled: true, gateway: {className: haproxy}, hostnames: [books.example.com], parentRefs: [{name: shared, namespace: infra}]}`))
			entries := map[string][]rule{"Ingress": ingressRules(t, objs), "HTTPRoute": httpRouteRules(t, objs)}
			for name, rules := range entries {
				sorted := func(rs []rule) []rule {
					rs = slices.Clone(rs)
					slices.SortFunc(rs, func(a, b rule) int { return strings.Compare(a.path, b.path) })
					return rs
				}
				if got := sorted(rules); !slices.Equal(got, sorted(want)) {
					t.Errorf("%s paths %v, want the route table's %v", name, got, sorted(want))
				}
			}
			viaGateway := gatewayRoute(t, docs)
			for _, path := range probes(t) {
				expect := pick(want, path)
				if strings.HasSuffix(path, "/metrics") || strings.HasSuffix(path, "/readyz") || strings.HasSuffix(path, "/healthz") {
					if expect != "" {
						t.Fatalf("the route table itself exposes %s", path)
					}
				}
				for name, rules := range entries {
					if got := pick(rules, path); got != expect {
						t.Errorf("%s: %s goes to %q, the route table says %q", name, path, got, expect)
					}
				}
				if got := viaGateway(path); got != expect {
					t.Errorf("gateway: %s goes to %q, the route table says %q", path, got, expect)
				}
			}
		})
	}
}

// TestServicesServeTheirDocsRoutes: each service, with its default
// configuration, serves the Swagger UI and OpenAPI document exactly at the
// route table's docs paths, so the entry points need no rewrite.
func TestServicesServeTheirDocsRoutes(t *testing.T) {
	table, err := charts.Routes(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range charts.Services() {
		cfg, err := config.Load(svc, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		r := httpx.NewRouter()
		httpx.Docs(r, cfg.DocsPrefix, []byte(`{"openapi":"3.0.3"}`))
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		n := 0
		for _, rt := range table {
			if rt.Service != svc || !rt.Docs {
				continue
			}
			n++
			path := rt.Path
			if rt.Match == charts.Prefix {
				path += "/" // the Swagger UI page
			}
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != 200 || !(strings.Contains(string(body), "swagger-ui") || strings.Contains(string(body), `"openapi"`)) {
				t.Errorf("%s (docs prefix %s): GET %s = %d %.80q", svc, cfg.DocsPrefix, path, resp.StatusCode, body)
			}
		}
		if n == 0 {
			t.Errorf("no docs route of %s in the route table", svc)
		}
	}
}
