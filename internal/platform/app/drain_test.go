package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
)

// TestDrainBeforeClose is the rolling-upgrade contract: after SIGTERM the
// service answers /readyz 503 at once but goes on serving new connections
// for BOOKSTORE_SHUTDOWN_DELAY (the time a load balancer needs to take it out
// of rotation); a request that arrives late in the delay still completes;
// only then the listener closes, and the whole shutdown fits in delay +
// BOOKSTORE_SHUTDOWN_TIMEOUT.
func TestDrainBeforeClose(t *testing.T) {
	cfg := testConfig(t)
	cfg.ShutdownDelay = 800 * time.Millisecond
	cfg.ShutdownTimeout = 3 * time.Second
	url, cancel, done := serve(t, cfg, func(ctx context.Context, d app.Deps) (app.Service, error) {
		return app.Service{Routes: func(r *mux.Router) {
			r.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(500 * time.Millisecond)
				w.WriteHeader(http.StatusOK)
			}).Methods(http.MethodGet)
		}}, nil
	})
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	status := func(path string) int {
		resp, err := fresh.Get(url + path)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := status("/readyz"); c != 200 {
		t.Fatalf("readyz %d before shutdown", c)
	}
	sigterm := time.Now()
	cancel()
	time.Sleep(100 * time.Millisecond)
	if c := status("/readyz"); c != 503 {
		t.Fatalf("readyz %d right after SIGTERM, want 503", c)
	}
	if c := status("/healthz"); c != 200 {
		t.Fatalf("new request during the drain delay got %d, want 200", c)
	}
	time.Sleep(time.Until(sigterm.Add(600 * time.Millisecond)))
	if c := status("/slow"); c != 200 { // sent at 600 ms, answered at ~1.1 s: after the listener closed
		t.Fatalf("request sent late in the delay got %d, want 200", c)
	}
	if c := status("/healthz"); c != -1 {
		t.Fatalf("new connection after the delay got %d, want refused", c)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(cfg.ShutdownDelay + cfg.ShutdownTimeout):
		t.Fatal("shutdown exceeded delay + timeout")
	}
	if elapsed := time.Since(sigterm); elapsed < cfg.ShutdownDelay {
		t.Fatalf("stopped after %s, before the %s delay", elapsed, cfg.ShutdownDelay)
	}
}
