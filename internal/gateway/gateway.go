// Package gateway is the single entry point used by `make dev` and docker-compose. It
// routes exactly the public paths of the route table (charts/bookstore/routes.yaml, the
// one the Ingress and the HTTPRoutes are rendered from) to their services, with the path
// unchanged: /api/... and, with docs on, each service's Swagger UI and OpenAPI document
// (/docs/<service>/swagger/, /docs/<service>/openapi.json). Everything else, including
// the services' /healthz, /readyz and /metrics, is a JSON 404.
package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookstore-platform/bookstore/charts"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

// Route sends requests matching the table route to Upstream, or round-robin to
// Replicas when the service has several.
type Route struct {
	charts.Route
	Upstream *url.URL   // the first replica
	Replicas []*url.URL // every replica, Upstream first
}

// Routes builds the gateway's routes from the route table, with the upstream URL of
// each service (several replicas: URLs separated by commas, e.g. `make dev` with
// BOOKSTORE_REPLICAS=2); docs turns the Swagger UI / OpenAPI routes on.
func Routes(upstreams map[string]string, docs bool) ([]Route, error) {
	table, err := charts.Routes(docs)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	routes := make([]Route, 0, len(table))
	for _, tr := range table {
		raw, ok := upstreams[tr.Service]
		if !ok || raw == "" {
			return nil, fmt.Errorf("gateway: no upstream for the %s service", tr.Service)
		}
		var replicas []*url.URL
		for _, one := range strings.Split(raw, ",") {
			u, err := url.Parse(strings.TrimSpace(one))
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("gateway: upstream of %s is not an http(s) URL: %q", tr.Service, one)
			}
			replicas = append(replicas, u)
		}
		routes = append(routes, Route{Route: tr, Upstream: replicas[0], Replicas: replicas})
	}
	// As Ingress and HTTPRoute: an Exact match wins, then the longest prefix.
	sort.SliceStable(routes, func(i, j int) bool {
		if (routes[i].Match == charts.Exact) != (routes[j].Match == charts.Exact) {
			return routes[i].Match == charts.Exact
		}
		return len(routes[i].Path) > len(routes[j].Path)
	})
	return routes, nil
}

// Handler returns the gateway's handler: the routes, and a JSON 404 for anything else. A
// request with a method outside the standard set is answered 501 and never forwarded.
func Handler(routes []Route, logger *slog.Logger) http.Handler {
	proxies := make(map[string]http.Handler)
	buffers := newBufferPool()
	for _, rt := range routes {
		if proxies[rt.Service] == nil {
			proxies[rt.Service] = newProxy(rt, logger, buffers)
		}
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, rt := range routes {
			if rt.Matches(r.URL.Path) {
				if err := makeReplayable(r); err != nil {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(`{"error":{"code":"bad_request","message":"the request body could not be read"}}`))
					return
				}
				proxies[rt.Service].ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"no such route"}}`))
	})
	return accessLog(httpx.RejectUnknownMethods(h), logger)
}

// bufferPool lends the reverse proxies their 32 KiB copy buffers, which
// they would otherwise allocate for every proxied response.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(v []byte) { b.p.Put(&v) }

var _ httputil.BufferPool = (*bufferPool)(nil)

func newProxy(rt Route, logger *slog.Logger, buffers httputil.BufferPool) *httputil.ReverseProxy {
	replicas := rt.Replicas
	if len(replicas) == 0 {
		replicas = []*url.URL{rt.Upstream}
	}
	var next atomic.Uint64
	return &httputil.ReverseProxy{
		BufferPool: buffers,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(replicas[(next.Add(1)-1)%uint64(len(replicas))])
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
		},
		Transport: retryOnce{base: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        512,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		}},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.WarnContext(r.Context(), "upstream unavailable", "service", rt.Service, "err", err)
			w.Header().Set("Content-Type", "application/json")
			// Nothing listening (a process restarting, no endpoint left): the request never
			// reached the service, so it is 503 with Retry-After, as the Ingress answers a
			// Service without ready endpoints. A connection lost after the request was sent
			// (the service died mid-request) is 502: the request may have been applied.
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = fmt.Fprintf(w, `{"error":{"code":"service_unavailable","message":"the %s service is not reachable"}}`, rt.Service)
				return
			}
			w.WriteHeader(http.StatusBadGateway)
			_, _ = fmt.Fprintf(w, `{"error":{"code":"bad_gateway","message":"the %s service failed to answer"}}`, rt.Service)
		},
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func accessLog(h http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if strings.HasPrefix(r.URL.Path, "/docs/") && sw.status < 400 {
			return
		}
		logger.InfoContext(r.Context(), "request", "method", httpx.MethodLabel(r.Method), "path", r.URL.Path,
			"status", sw.status, "duration_ms", float64(time.Since(start).Microseconds())/1000)
	})
}
