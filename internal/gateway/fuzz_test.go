package gateway

import (
	"bufio"
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/bookstore-platform/bookstore/charts"
	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/services/user"
)

// FuzzPath sends any method and request target through the entry point to
// a real service (the user service's complete handler, with its /metrics,
// /healthz and /readyz, stands for all four) and checks what reaches it:
// only paths of the public route table, or unclean paths that the service's
// router answers with a redirect to the clean one (asked again, that goes
// through the gateway's table). No internal endpoint answers through the
// gateway, and nothing is a 5xx.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"/api/users/me", "/metrics", "/api/users/../../metrics", "/api/users/%2e%2e/%2e%2e/metrics",
		"/api/users/..%2f..%2fmetrics", "//metrics", "/api/users//../../healthz", "/api/books/%00", "/docs/user/openapi.json",
		"/docs/user/../../readyz", "/api/users/me?x=/metrics", "/api/users/me#/metrics", "http://evil/metrics", "*",
		"/api/usersX", "/API/users/me", "/api/orders/%2F..%2F..%2Freadyz", "/assets/../metrics"} {
		f.Add("GET", s)
	}
	f.Add("DELETE", "/api/books/x")
	f.Add("PROPFIND", "/api/books")
	env := apptest.NewEnv(f)
	cfg := env.Config(f, "user")
	svc := apptest.Start(f, cfg, user.Build(user.Options{BcryptCost: bcrypt.MinCost}))
	table, err := charts.Routes(true)
	if err != nil {
		f.Fatal(err)
	}
	var mu sync.Mutex
	var received []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received = append(received, r.URL.Path)
		mu.Unlock()
		svc.App.Handler().ServeHTTP(w, r)
	}))
	f.Cleanup(up.Close)
	routes, err := Routes(map[string]string{"user": up.URL, "token": up.URL, "inventory": up.URL, "order": up.URL}, true)
	if err != nil {
		f.Fatal(err)
	}
	gw := Handler(routes, slog.New(slog.DiscardHandler))
	public := func(p string) bool {
		for _, rt := range table {
			if rt.Matches(p) {
				return true
			}
		}
		return false
	}
	f.Fuzz(func(t *testing.T, method, target string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: bookstore.test\r\n\r\n")))
		if err != nil {
			return // not a request any server would read
		}
		mu.Lock()
		received = received[:0]
		mu.Unlock()
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
			t.Fatalf("%s %q: status %d: %s", method, target, rec.Code, rec.Body)
		}
		body := rec.Body.Bytes()
		if bytes.Contains(body, []byte("# HELP")) || bytes.Contains(body, []byte(`"status":"ok"`)) || bytes.Contains(body, []byte(`"checks"`)) {
			t.Fatalf("%s %q reached an internal endpoint: %d %s", method, target, rec.Code, body)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, p := range received {
			clean := p == "" || path.Clean(p) == p || (strings.HasSuffix(p, "/") && path.Clean(p)+"/" == p)
			if clean && !public(p) {
				t.Fatalf("%s %q reached the service as %q, outside the public route table", method, target, p)
			}
			if !clean && rec.Code != http.StatusMovedPermanently && rec.Code < 400 {
				t.Fatalf("%s %q reached the service as unclean %q and got %d", method, target, p, rec.Code)
			}
		}
	})
}
