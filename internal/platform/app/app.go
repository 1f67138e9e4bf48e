// Package app runs one Bookstore service process: it loads and validates the
// configuration, opens the PostgreSQL pool and Redis, builds the service,
// serves HTTP with the platform endpoints and runs the background workers,
// and shuts everything down in order on SIGTERM.
//
// A service plugs in with a Builder, called once with the opened Deps:
//
//	func Build(opts Options) app.Builder {
//		return func(ctx context.Context, d app.Deps) (app.Service, error) {
//			return app.Service{
//				Routes:  func(r *mux.Router) { ... },          // public API
//				OpenAPI: openapiJSON,                          // served at <docs>/openapi.json
//				Workers: map[string]app.Worker{"relay": ...},  // background loops
//				Checks:  map[string]app.Check{"kafka": ...},   // extra /readyz checks
//				Close:   func() { ... },                       // after workers stopped
//			}, nil
//		}
//	}
//
// Several builders may be passed (e.g. the service's own and a shared events
// layer); their routes, workers, checks and closers are merged.
//
// Endpoints added to every service: GET /healthz (process alive), GET
// /readyz (database, Redis and every Check answer within 2s; 503 while
// shutting down), GET /metrics, and under the docs prefix (BOOKSTORE_DOCS_PREFIX,
// default /docs/<service>) GET <docs>/openapi.json and GET <docs>/swagger/.
//
// Programs call Main ("user" = "user serve", "user migrate"). End-to-end
// tests embed a service in process with New, then Handler (e.g. behind
// httptest.NewServer), RunWorkers and Close.
//
// Shutdown order on SIGTERM/SIGINT (Run/Serve when ctx is done): /readyz
// turns 503 and the server keeps serving for BOOKSTORE_SHUTDOWN_DELAY (so
// that the endpoint leaves the load balancer before it stops answering),
// then it stops accepting and drains in-flight requests, then workers'
// context is canceled and they are awaited (consumers commit the offsets of
// what they applied), then Service.Close, Redis and the pool are closed.
// Draining and stopping share one budget, BOOKSTORE_SHUTDOWN_TIMEOUT; the
// grace period before SIGKILL must exceed delay + budget.
// A worker returning an error (other than at shutdown) stops the process
// with that error, so that the orchestrator restarts it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/database"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
	"github.com/bookstore-platform/bookstore/internal/platform/observability"
	"github.com/bookstore-platform/bookstore/migrations"
)

// Worker is a background loop; it must return when ctx is done (returning
// nil or ctx.Err()).
type Worker func(ctx context.Context) error

// Check is a readiness check; a non-nil error makes /readyz answer 503.
type Check func(ctx context.Context) error

// Deps are the resources the process opened for the service.
type Deps struct {
	Config      config.Config
	Logger      *slog.Logger
	Pool        *pgxpool.Pool
	Redis       *redis.Client
	Revocations *auth.RedisRevocations
	Auth        *auth.Authenticator
	Metrics     *observability.Metrics
}

// Service is what a service contributes to the process.
type Service struct {
	Routes  func(r *mux.Router)
	OpenAPI []byte
	Workers map[string]Worker
	Checks  map[string]Check
	// Drain, if set, runs when the server stops accepting requests, before
	// in-flight ones are awaited (e.g. to answer long polls at once).
	Drain func()
	Close func()
}

// Builder builds a service from the opened resources.
type Builder func(ctx context.Context, d Deps) (Service, error)

// API returns the Builder of a service that serves routes, built over the
// deps by newRoutes, and its OpenAPI document.
func API(openapi []byte, newRoutes func(d Deps) func(r *mux.Router)) Builder {
	return func(ctx context.Context, d Deps) (Service, error) {
		return Service{Routes: newRoutes(d), OpenAPI: openapi}, nil
	}
}

// App is one running service.
type App struct {
	deps     Deps
	svc      Service
	handler  http.Handler
	draining atomic.Bool
	close    sync.Once
}

// New opens the pool and Redis described by cfg (which must satisfy
// RequireServe), builds the service with builders and assembles the HTTP
// handler. It does not apply migrations. Close releases everything.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, builders ...Builder) (*App, error) {
	if err := cfg.RequireServe(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("service", cfg.Service)
	pool, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	ropts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	rdb := redis.NewClient(failFast(ropts))
	metrics := observability.New(cfg.Service)
	if err := metrics.RegisterPool(pool); err != nil {
		pool.Close()
		_ = rdb.Close()
		return nil, fmt.Errorf("register pool metrics: %w", err)
	}
	revs := auth.NewRedisRevocations(rdb)
	a := &App{deps: Deps{
		Config:      cfg,
		Logger:      logger,
		Pool:        pool,
		Redis:       rdb,
		Revocations: revs,
		Auth:        auth.NewAuthenticator(auth.NewVerifier(cfg.VerifyKeys()...).WithAudience(cfg.JWTAudience), revs),
		Metrics:     metrics,
	}}
	svc := Service{Workers: map[string]Worker{}, Checks: map[string]Check{}}
	var routes []func(*mux.Router)
	var closers, drains []func()
	for _, b := range builders {
		s, err := b(ctx, a.deps)
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
			a.closeResources()
			return nil, fmt.Errorf("build %s service: %w", cfg.Service, err)
		}
		if s.Routes != nil {
			routes = append(routes, s.Routes)
		}
		if svc.OpenAPI == nil {
			svc.OpenAPI = s.OpenAPI
		}
		for n, w := range s.Workers {
			svc.Workers[n] = w
		}
		for n, c := range s.Checks {
			svc.Checks[n] = c
		}
		if s.Close != nil {
			closers = append(closers, s.Close)
		}
		if s.Drain != nil {
			drains = append(drains, s.Drain)
		}
	}
	svc.Drain = func() {
		for _, d := range drains {
			d()
		}
	}
	svc.Close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	a.svc = svc

	r := httpx.NewRouter()
	r.Handle("/healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})).Methods(http.MethodGet)
	r.Handle("/readyz", http.HandlerFunc(a.readyz)).Methods(http.MethodGet)
	r.Handle("/metrics", metrics.Handler()).Methods(http.MethodGet)
	if svc.OpenAPI != nil {
		httpx.Docs(r, cfg.DocsPrefix, svc.OpenAPI)
	}
	for _, f := range routes {
		f(r)
	}
	a.handler = httpx.Stack(r, httpx.StackOptions{
		Logger:      logger,
		Observer:    metrics,
		QuietRoutes: []string{"/healthz", "/readyz", "/metrics"},
	})
	return a, nil
}

// Deps returns the resources of the app.
func (a *App) Deps() Deps { return a.deps }

// Handler is the complete HTTP handler: API, platform endpoints, middleware.
func (a *App) Handler() http.Handler { return a.handler }

func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	if a.draining.Load() {
		httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "shutting down"})
		return
	}
	checks := map[string]Check{
		"database": func(ctx context.Context) error { return a.deps.Pool.Ping(ctx) },
		"redis":    func(ctx context.Context) error { return a.deps.Redis.Ping(ctx).Err() },
	}
	for n, c := range a.svc.Checks {
		checks[n] = c
	}
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(checks))
	for name, check := range checks {
		go func() {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			results <- result{name, check(ctx)}
		}()
	}
	out := map[string]string{}
	status := http.StatusOK
	for range checks {
		res := <-results
		out[res.name] = "ok"
		if res.err != nil {
			out[res.name] = res.err.Error()
			status = http.StatusServiceUnavailable
		}
	}
	word := "ok"
	if status != http.StatusOK {
		word = "unavailable"
		a.deps.Logger.WarnContext(r.Context(), "not ready", "checks", out)
	}
	httpx.WriteJSON(w, status, map[string]any{"status": word, "checks": out})
}

// RunWorkers runs every worker until ctx is done and they have returned. The
// first worker error (not caused by ctx) cancels the others and is returned.
func (a *App) RunWorkers(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	names := make([]string, 0, len(a.svc.Workers))
	for n := range a.svc.Workers {
		names = append(names, n)
	}
	sort.Strings(names)
	var wg sync.WaitGroup
	for _, name := range names {
		w := a.svc.Workers[name]
		wg.Go(func() {
			a.deps.Logger.InfoContext(ctx, "worker started", "worker", name)
			err := w(ctx)
			if err != nil && ctx.Err() == nil {
				a.deps.Logger.ErrorContext(ctx, "worker failed", "worker", name, "error", err)
				cancel(fmt.Errorf("worker %s: %w", name, err))
				return
			}
			a.deps.Logger.InfoContext(ctx, "worker stopped", "worker", name)
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// Serve serves HTTP on ln and runs the workers until ctx is done (or a worker
// fails), then shuts down in order (see the package doc) and closes the app.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	defer a.Close()
	cfg := a.deps.Config
	srvCtx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	workCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()

	workErr := make(chan error, 1)
	workerFailed := make(chan struct{})
	go func() {
		err := a.RunWorkers(workCtx)
		if err != nil {
			close(workerFailed)
			stopServer() // a failed worker takes the process down
		}
		workErr <- err
	}()
	a.deps.Logger.InfoContext(ctx, "http server listening", "addr", ln.Addr().String())
	srv := httpx.NewServer(a.handler)
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	// SIGTERM: readiness turns false at once, the server keeps serving for
	// ShutdownDelay (while the endpoint is taken out of rotation; keep-alive
	// connections are told to close), then stops accepting and drains.
	closeCtx, closeListener := context.WithCancel(context.WithoutCancel(ctx))
	var deadline time.Time // written before closeListener, read after Serve returned
	go func() {
		<-srvCtx.Done()
		a.draining.Store(true)
		srv.SetKeepAlivesEnabled(false)
		a.deps.Logger.InfoContext(ctx, "shutting down: not ready, serving on", "delay", cfg.ShutdownDelay)
		select {
		case <-time.After(cfg.ShutdownDelay):
		case <-workerFailed:
		}
		deadline = time.Now().Add(cfg.ShutdownTimeout)
		closeListener()
		a.svc.Drain() // long polls answer now instead of holding the drain
	}()
	serveErr := httpx.Serve(closeCtx, srv, ln, cfg.ShutdownTimeout)
	stopServer() // a server that failed by itself also ends the process
	<-closeCtx.Done()
	if serveErr == nil {
		a.deps.Logger.InfoContext(ctx, "http server drained; stopping workers")
	}
	stopWorkers()
	var wErr error
	select {
	case wErr = <-workErr:
	case <-time.After(max(time.Until(deadline), time.Second)):
		wErr = fmt.Errorf("workers did not stop within %s", cfg.ShutdownTimeout)
	}
	return errors.Join(serveErr, wErr)
}

// Run listens on the configured address and calls Serve.
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.deps.Config.HTTPAddr)
	if err != nil {
		a.Close()
		return fmt.Errorf("listen on %s: %w", a.deps.Config.HTTPAddr, err)
	}
	return a.Serve(ctx, ln)
}

// Close runs the service's closers and closes Redis and the pool. It is
// idempotent. Call it only after workers have stopped.
func (a *App) Close() {
	a.close.Do(func() {
		if a.svc.Close != nil {
			a.svc.Close()
		}
		a.closeResources()
	})
}

func (a *App) closeResources() {
	if err := a.deps.Redis.Close(); err != nil {
		a.deps.Logger.Warn("close redis", "error", err)
	}
	a.deps.Pool.Close()
}

// Migrate applies the service's migrations (migrations.FS) to its database.
func Migrate(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	pool, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := database.Migrate(ctx, pool, migrations.FS, cfg.Service, logger)
	if err != nil {
		return err
	}
	logger.InfoContext(ctx, "migrations done", "service", cfg.Service, "applied", len(applied))
	return nil
}

// Main is the whole program of a service: "<service> [serve]" runs the
// server, "<service> migrate" applies the migrations and exits, "<service> healthcheck"
// probes the running server's /readyz (docker-compose healthchecks). It exits the
// process with status 1 on error, 2 on bad usage.
func Main(service string, builders ...Builder) {
	os.Exit(run(service, os.Args[1:], builders))
}

func run(service string, args []string, builders []Builder) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	if len(args) > 1 || (cmd != "serve" && cmd != "migrate" && cmd != "healthcheck") {
		fmt.Fprintf(os.Stderr, "usage: %s [serve|migrate|healthcheck]\n", service)
		return 2
	}
	if cmd == "healthcheck" {
		// Asks the running server's /readyz; needs only the listen address, not the config.
		addr := os.Getenv("BOOKSTORE_HTTP_ADDR")
		if addr == "" {
			addr = ":8080"
		}
		if err := httpx.Probe(context.Background(), addr, "/readyz", 2*time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
			return 1
		}
		return 0
	}
	cfg, err := config.FromEnv(service)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		return 1
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "migrate":
		if err := Migrate(ctx, cfg, logger); err != nil {
			logger.Error("migrate failed", "service", service, "error", err)
			return 1
		}
		return 0
	default:
		a, err := New(ctx, cfg, logger, builders...)
		if err != nil {
			logger.Error("start failed", "service", service, "error", err)
			return 1
		}
		if err := a.Run(ctx); err != nil {
			logger.Error("stopped with error", "service", service, "error", err)
			return 1
		}
		logger.Info("stopped", "service", service)
		return 0
	}
}
