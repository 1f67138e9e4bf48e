// Package gateway is the single entry point used by `make dev` and docker-compose: it
// routes the public API paths to the four services exactly like the Kubernetes Ingress
// does, and exposes each service's own paths under /docs/<service>/ (as the docs Ingress
// does), so its Swagger UI is /docs/<service>/swagger/ and its document
// /docs/<service>/openapi.json.
package gateway

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

// Route sends requests whose path starts with Prefix to Upstream.
type Route struct {
	Service  string // user, token, inventory, order
	Prefix   string // /api/users
	Upstream *url.URL
}

// Routes maps the public prefixes to the services, as the Ingress does.
func Routes(upstreams map[string]string) ([]Route, error) {
	prefixes := []struct{ service, prefix string }{
		{"user", "/api/users"}, {"token", "/api/tokens"}, {"inventory", "/api/books"}, {"order", "/api/orders"},
	}
	routes := make([]Route, 0, len(prefixes))
	for _, p := range prefixes {
		raw, ok := upstreams[p.service]
		if !ok || raw == "" {
			return nil, fmt.Errorf("gateway: no upstream for the %s service", p.service)
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("gateway: upstream of %s is not an http(s) URL: %q", p.service, raw)
		}
		routes = append(routes, Route{Service: p.service, Prefix: p.prefix, Upstream: u})
	}
	return routes, nil
}

// Handler returns the gateway's handler: the API routes, /docs/<service>/ (the service's
// Swagger UI and OpenAPI document), /healthz, and a JSON 404 for anything else. A
// request with a method outside the standard set is answered 501 and never forwarded.
func Handler(routes []Route, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	for _, rt := range routes {
		proxy := newProxy(rt, logger)
		mux.Handle(rt.Prefix, proxy)
		mux.Handle(rt.Prefix+"/", proxy)
		// /docs/user/swagger/ → user's /swagger/; the page loads ../openapi.json, which is
		// /docs/user/openapi.json → user's /openapi.json.
		docs := "/docs/" + rt.Service
		mux.Handle("GET "+docs+"/", http.StripPrefix(docs, proxy))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"no such route"}}`))
	})
	return accessLog(httpx.RejectUnknownMethods(mux), logger)
}

func newProxy(rt Route, logger *slog.Logger) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(rt.Upstream)
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
		},
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        512,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.WarnContext(r.Context(), "upstream unavailable", "service", rt.Service, "err", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = fmt.Fprintf(w, `{"error":{"code":"bad_gateway","message":"the %s service is not reachable"}}`, rt.Service)
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
