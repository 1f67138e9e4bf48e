package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkProxy is one request through the gateway to an upstream over a
// kept-alive connection: routing, the reverse proxy (pooled copy buffer)
// and the access log; allocations per request are reported.
func BenchmarkProxy(b *testing.B) {
	ups := map[string]string{}
	for _, s := range []string{"user", "token", "inventory", "order"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"orderId":"0193","status":"Pending"}`))
		}))
		b.Cleanup(srv.Close)
		ups[s] = srv.URL
	}
	routes, err := Routes(ups, false)
	if err != nil {
		b.Fatal(err)
	}
	h := Handler(routes, slog.New(slog.DiscardHandler))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/orders/0193", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
		_, _ = io.Copy(io.Discard, rec.Body)
	}
}
