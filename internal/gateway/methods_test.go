package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// The entry point refuses made-up methods itself (501 JSON); the service
// never sees them. Standard methods still pass.
func TestGatewayRejectsUnknownMethods(t *testing.T) {
	var forwarded atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forwarded.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer up.Close()
	routes, err := Routes(map[string]string{"user": up.URL, "token": up.URL, "inventory": up.URL, "order": up.URL}, true)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(Handler(routes, slog.New(slog.DiscardHandler)))
	defer gw.Close()

	tests := []struct {
		method string
		status int
	}{
		{"X" + strings.Repeat("A", 2000), http.StatusNotImplemented},
		{"PROPFIND", http.StatusNotImplemented},
		{"get", http.StatusNotImplemented}, // methods are case-sensitive
		{http.MethodGet, http.StatusNoContent},
		{http.MethodDelete, http.StatusNoContent},
	}
	for _, tt := range tests {
		forwarded.Store(0)
		req, _ := http.NewRequest(tt.method, gw.URL+"/api/books/1", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Fatalf("%.12s…: status %d, want %d (%s)", tt.method, resp.StatusCode, tt.status, body)
		}
		if tt.status == http.StatusNotImplemented {
			if !strings.Contains(string(body), `"code":"method_not_implemented"`) || forwarded.Load() != 0 {
				t.Fatalf("%.12s…: body %s, forwarded %d times", tt.method, body, forwarded.Load())
			}
		}
	}
}
