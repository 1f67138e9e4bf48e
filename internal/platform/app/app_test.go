package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

func testConfig(t *testing.T) config.Config {
	t.Helper()
	return apptest.NewEnv(t).Config(t, "token")
}

func serve(t *testing.T, cfg config.Config, b app.Builder) (url string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), b)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ch := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		ch <- a.Serve(ctx, ln)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return "http://" + ln.Addr().String(), cancel, ch
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// SIGTERM (ctx canceled) while a request is in flight: the request completes,
// new connections are refused, workers stop only after the server drained,
// and Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	cfg := testConfig(t)
	started := make(chan struct{})
	var requestDone, workerStopped atomic.Int64
	b := func(ctx context.Context, d app.Deps) (app.Service, error) {
		return app.Service{
			Routes: func(r *mux.Router) {
				r.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
					close(started)
					time.Sleep(300 * time.Millisecond)
					requestDone.Store(time.Now().UnixNano())
					w.WriteHeader(http.StatusOK)
				}).Methods(http.MethodGet)
			},
			Workers: map[string]app.Worker{"waiter": func(ctx context.Context) error {
				<-ctx.Done()
				workerStopped.Store(time.Now().UnixNano())
				return ctx.Err()
			}},
			Checks: map[string]app.Check{"extra": func(context.Context) error { return nil }},
		}, nil
	}
	url, cancel, done := serve(t, cfg, b)
	if code, body := get(t, url+"/readyz"); code != 200 || !strings.Contains(body, `"extra":"ok"`) {
		t.Fatalf("readyz %d %s", code, body)
	}

	slow := make(chan int, 1)
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			slow <- -1
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	<-started
	cancel()
	if code := <-slow; code != 200 {
		t.Fatalf("in-flight request got %d, want 200 (drained)", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if workerStopped.Load() == 0 || workerStopped.Load() < requestDone.Load() {
		t.Fatal("worker stopped before the in-flight request finished")
	}
	if resp, err := http.Get(url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("server still accepts connections after shutdown")
	}
}

// A failing worker takes the process down with its error.
func TestWorkerFailureStopsServe(t *testing.T) {
	cfg := testConfig(t)
	boom := errors.New("consumer lost its partition")
	_, _, done := serve(t, cfg, func(ctx context.Context, d app.Deps) (app.Service, error) {
		return app.Service{Workers: map[string]app.Worker{"bad": func(ctx context.Context) error { return boom }}}, nil
	})
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Fatalf("Serve returned %v, want the worker's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve kept running after a worker failed")
	}
}

func TestReadyzReportsFailingCheck(t *testing.T) {
	cfg := testConfig(t)
	url, _, _ := serve(t, cfg, func(ctx context.Context, d app.Deps) (app.Service, error) {
		return app.Service{Checks: map[string]app.Check{"kafka": func(context.Context) error { return errors.New("no brokers") }}}, nil
	})
	code, body := get(t, url+"/readyz")
	if code != 503 || !strings.Contains(body, `"kafka":"no brokers"`) || !strings.Contains(body, `"database":"ok"`) {
		t.Fatalf("readyz %d %s", code, body)
	}
	if code, _ := get(t, url+"/healthz"); code != 200 {
		t.Fatalf("healthz %d while not ready; liveness must not depend on dependencies", code)
	}
}

func TestNewFailsClearly(t *testing.T) {
	cfg := testConfig(t)
	noKey := cfg
	noKey.JWTPublicKey = nil
	if _, err := app.New(context.Background(), noKey, nil); err == nil || !strings.Contains(err.Error(), "JWT_PUBLIC_KEY") {
		t.Fatalf("New without key: %v", err)
	}
	badDB := cfg
	badDB.DatabaseURL = "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1"
	if _, err := app.New(context.Background(), badDB, nil); err == nil {
		t.Fatal("New with unreachable database succeeded")
	}
	builderErr := errors.New("builder failed")
	if _, err := app.New(context.Background(), cfg, nil, func(context.Context, app.Deps) (app.Service, error) {
		return app.Service{}, builderErr
	}); !errors.Is(err, builderErr) {
		t.Fatalf("New with failing builder: %v", err)
	}
}

func TestMigrate(t *testing.T) {
	cfg, err := config.Load("inventory", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL = testenv.Postgres(t)
	for range 2 {
		if err := app.Migrate(context.Background(), cfg, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
	}
}
