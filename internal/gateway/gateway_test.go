package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// upstream answers with the service name and the path it received.
func upstream(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"service": name, "path": r.URL.RequestURI(), "auth": r.Header.Get("Authorization")})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestGatewayRoutesOnlyPublicPathsUnchanged(t *testing.T) {
	ups := map[string]string{}
	for _, s := range []string{"user", "token", "inventory", "order"} {
		ups[s] = upstream(t, s)
	}
	for _, docs := range []bool{true, false} {
		routes, err := Routes(ups, docs)
		if err != nil {
			t.Fatal(err)
		}
		gw := httptest.NewServer(Handler(routes, slog.New(slog.DiscardHandler)))
		t.Cleanup(gw.Close)
		t.Run(fmt.Sprintf("docs=%v", docs), func(t *testing.T) { checkRoutes(t, gw.URL, docs) })
	}
}

func checkRoutes(t *testing.T, gw string, docs bool) {
	docStatus := map[bool]int{true: 200, false: 404}[docs]
	tests := []struct {
		path, service, upstreamPath string
		status                      int
	}{
		{"/api/users/login", "user", "/api/users/login", 200},
		{"/api/tokens/balance", "token", "/api/tokens/balance", 200},
		{"/api/books?limit=2&cursor=x", "inventory", "/api/books?limit=2&cursor=x", 200},
		{"/api/books/42", "inventory", "/api/books/42", 200},
		{"/api/orders", "order", "/api/orders", 200},
		{"/docs/order/swagger/", "order", "/docs/order/swagger/", docStatus},
		{"/docs/order/swagger", "order", "/docs/order/swagger", docStatus},
		{"/docs/token/openapi.json", "token", "/docs/token/openapi.json", docStatus},
		{"/docs/user/swagger/swagger-ui.css", "user", "/docs/user/swagger/swagger-ui.css", docStatus},
		{"/api/booksellers", "", "", 404},
		{"/nothing", "", "", 404},
		{"/healthz", "", "", 404},
		{"/metrics", "", "", 404},
		{"/readyz", "", "", 404},
		{"/docs/user/metrics", "", "", 404},
		{"/docs/token/readyz", "", "", 404},
		{"/docs/inventory/healthz", "", "", 404},
		{"/docs/order/openapi.json/x", "", "", 404},
		{"/docs/user/swaggerx", "", "", 404},
		{"/docs/user/", "", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, gw+tt.path, nil)
			req.Header.Set("Authorization", "Bearer abc")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.status, body)
			}
			if tt.status != 200 {
				if !strings.Contains(string(body), `"code":"not_found"`) {
					t.Fatalf("404 body %s is not the JSON error", body)
				}
				return
			}
			var got map[string]string
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if got["service"] != tt.service || got["path"] != tt.upstreamPath || got["auth"] != "Bearer abc" {
				t.Fatalf("routed to %v, want %s %s with the Authorization header", got, tt.service, tt.upstreamPath)
			}
		})
	}
}

// An upstream with nothing listening is 503 with Retry-After (the request never reached
// it: safe to retry); one that drops the connection after reading the request is 502.
func TestGatewayUpstreamDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	refused := srv.URL
	srv.Close()
	dropping := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	defer dropping.Close()
	for _, tt := range []struct {
		name, upstream, retryAfter, message string
		status                              int
	}{
		{"refused", refused, "1", "order service is not reachable", http.StatusServiceUnavailable},
		{"dropped mid-request", dropping.URL, "", "order service failed to answer", http.StatusBadGateway},
	} {
		t.Run(tt.name, func(t *testing.T) {
			routes, err := Routes(map[string]string{"user": tt.upstream, "token": tt.upstream, "inventory": tt.upstream, "order": tt.upstream}, true)
			if err != nil {
				t.Fatal(err)
			}
			gw := httptest.NewServer(Handler(routes, slog.New(slog.DiscardHandler)))
			defer gw.Close()
			resp, err := http.Post(gw.URL+"/api/orders", "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("Retry-After") != tt.retryAfter ||
				resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), tt.message) {
				t.Fatalf("got %d (Retry-After %q) %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
			}
		})
	}
}

// Several replicas of a service (comma-separated URLs) share its requests
// round-robin.
func TestGatewaySpreadsOverReplicas(t *testing.T) {
	ups := map[string]string{"user": upstream(t, "user"), "token": upstream(t, "token"), "inventory": upstream(t, "inventory"),
		"order": upstream(t, "order-1") + "," + upstream(t, "order-2")}
	routes, err := Routes(ups, false)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(Handler(routes, slog.New(slog.DiscardHandler)))
	defer gw.Close()
	seen := map[string]int{}
	for range 6 {
		resp, err := http.Get(gw.URL + "/api/orders")
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		seen[got["service"]]++
	}
	if seen["order-1"] != 3 || seen["order-2"] != 3 {
		t.Fatalf("requests per replica %v, want 3 and 3", seen)
	}
}

func TestRoutesRejectsBadConfig(t *testing.T) {
	for name, ups := range map[string]map[string]string{
		"missing order": {"user": "http://a", "token": "http://b", "inventory": "http://c"},
		"not a URL":     {"user": "http://a", "token": "http://b", "inventory": "http://c", "order": "ftp://d"},
		"bad replica":   {"user": "http://a", "token": "http://b", "inventory": "http://c", "order": "http://d,"},
	} {
		if _, err := Routes(ups, true); err == nil {
			t.Errorf("%s: Routes accepted %v", name, ups)
		}
	}
}

func TestProbeWantsTheGatewaysOwn404(t *testing.T) {
	routes, err := Routes(map[string]string{"user": "http://a", "token": "http://b", "inventory": "http://c", "order": "http://d"}, true)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(Handler(routes, slog.New(slog.DiscardHandler)))
	defer gw.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }))
	defer other.Close()
	addr := func(u string) string { return ":" + u[strings.LastIndex(u, ":")+1:] }
	if err := Probe(t.Context(), addr(gw.URL), 2*time.Second); err != nil {
		t.Errorf("probe of the gateway: %v", err)
	}
	if err := Probe(t.Context(), addr(other.URL), 2*time.Second); err == nil {
		t.Error("probe accepted a server that is not the gateway")
	}
}
