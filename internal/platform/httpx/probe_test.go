package httpx

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	closed := httptest.NewServer(http.NotFoundHandler())
	_, deadPort, _ := net.SplitHostPort(closed.Listener.Addr().String())
	closed.Close()

	tests := []struct {
		name, addr, path string
		ok               bool
	}{
		{"ready", ":" + port, "/readyz", true},
		{"ready, host in the address", "0.0.0.0:" + port, "/readyz", true},
		{"not ready", ":" + port, "/healthz", false},
		{"nothing listening", ":" + deadPort, "/readyz", false},
		{"bad address", "8080", "/readyz", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Probe(context.Background(), tt.addr, tt.path, 2*time.Second)
			if (err == nil) != tt.ok {
				t.Fatalf("Probe(%q, %q) = %v, want ok=%v", tt.addr, tt.path, err, tt.ok)
			}
		})
	}
}
