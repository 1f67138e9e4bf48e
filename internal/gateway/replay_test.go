package gateway

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// closingUpstream answers the first request on each connection and closes the
// connection after reading the second, before any byte of its answer: what a
// service draining on SIGTERM does to a keep-alive connection a request was
// just written on. It records every body it read.
func closingUpstream(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	perConn := map[string]int{}
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		perConn[r.RemoteAddr]++
		n := perConn[r.RemoteAddr]
		bodies = append(bodies, string(b))
		mu.Unlock()
		if n == 2 {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				_ = conn.Close()
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), bodies...) }
}

// A request that honours an Idempotency-Key and carries one is sent again when
// the upstream closes its keep-alive connection before answering; any other
// request that meets the closed connection is a 502 (it may have been applied).
func TestGatewayReplaysIdempotentRequestOnClosedConnection(t *testing.T) {
	for _, tt := range []struct {
		name, path, key string
		status          int
		delivered       int // times the upstream read the second request's body
	}{
		{"order with a key", "/api/orders", "k-1", http.StatusOK, 2},
		{"top-up with a key", "/api/tokens/add", "k-2", http.StatusOK, 2},
		{"order without a key", "/api/orders", "", http.StatusBadGateway, 1},
		{"a key on a route that ignores it", "/api/books", "k-3", http.StatusBadGateway, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			up, bodies := closingUpstream(t)
			routes, err := Routes(map[string]string{"user": up.URL, "token": up.URL, "inventory": up.URL, "order": up.URL}, false)
			if err != nil {
				t.Fatal(err)
			}
			gw := httptest.NewServer(Handler(routes, slog.New(slog.DiscardHandler)))
			defer gw.Close()
			var got []int
			for i, body := range []string{`{"n":1}`, `{"n":2}`} {
				req, _ := http.NewRequest(http.MethodPost, gw.URL+tt.path, strings.NewReader(body))
				if tt.key != "" {
					req.Header.Set("Idempotency-Key", tt.key+string(rune('a'+i)))
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				got = append(got, resp.StatusCode)
			}
			if got[0] != http.StatusOK || got[1] != tt.status {
				t.Fatalf("statuses %v, want [200 %d]", got, tt.status)
			}
			n := 0
			for _, b := range bodies() {
				if b == `{"n":2}` {
					n++
				}
			}
			if n != tt.delivered {
				t.Fatalf("the upstream read the second body %d times (%q), want %d", n, bodies(), tt.delivered)
			}
		})
	}
}

// The replayable table is exactly the operations whose OpenAPI documents
// declare the Idempotency-Key header.
func TestReplayableMatchesOpenAPI(t *testing.T) {
	files, err := filepath.Glob("../../services/*/openapi.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no OpenAPI documents: %v", err)
	}
	var declared []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for path, ops := range doc.Paths {
			for method, op := range ops {
				var o struct {
					Parameters []struct{ Name, In string } `json:"parameters"`
				}
				_ = json.Unmarshal(op, &o)
				for _, p := range o.Parameters {
					if p.In == "header" && strings.EqualFold(p.Name, "Idempotency-Key") {
						declared = append(declared, strings.ToUpper(method)+" "+path)
					}
				}
			}
		}
	}
	var table []string
	for k := range replayable {
		table = append(table, k)
	}
	sort.Strings(declared)
	sort.Strings(table)
	if strings.Join(declared, ",") != strings.Join(table, ",") {
		t.Fatalf("replayable %v, OpenAPI declares Idempotency-Key on %v", table, declared)
	}
}

// A killed service resets even a fresh connection after reading a request,
// which net/http never retries: the gateway sends a replayable request once
// more, and still answers 502 for one that is not.
func TestGatewayRetriesReplayableRequestOnceAfterReset(t *testing.T) {
	for _, tt := range []struct {
		name, method, path, key string
		status                  int
		delivered               int // times the upstream read the request
	}{
		{"keyed order", http.MethodPost, "/api/orders", "k-1", http.StatusOK, 2},
		{"read", http.MethodGet, "/api/books", "", http.StatusOK, 2},
		{"order without a key", http.MethodPost, "/api/orders", "", http.StatusBadGateway, 1},
		{"a key on a route that ignores it", http.MethodPost, "/api/books", "k-2", http.StatusBadGateway, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				seen = append(seen, string(b))
				first := len(seen) == 1
				mu.Unlock()
				if first { // the first request the service ever reads: it dies
					if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
						_ = conn.Close()
					}
					return
				}
				_, _ = w.Write([]byte(`{"ok":true}`))
			}))
			defer up.Close()
			routes, err := Routes(map[string]string{"user": up.URL, "token": up.URL, "inventory": up.URL, "order": up.URL}, false)
			if err != nil {
				t.Fatal(err)
			}
			gw := httptest.NewServer(Handler(routes, slog.New(slog.DiscardHandler)))
			defer gw.Close()
			var body io.Reader
			if tt.method == http.MethodPost {
				body = strings.NewReader(`{"n":1}`)
			}
			req, _ := http.NewRequest(tt.method, gw.URL+tt.path, body)
			if tt.key != "" {
				req.Header.Set("Idempotency-Key", tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if resp.StatusCode != tt.status || len(seen) != tt.delivered {
				t.Fatalf("%d after %d deliveries %q, want %d after %d", resp.StatusCode, len(seen), seen, tt.status, tt.delivered)
			}
			if tt.method == http.MethodPost && seen[len(seen)-1] != `{"n":1}` {
				t.Fatalf("the upstream read %q, want the whole body each time", seen)
			}
		})
	}
}
