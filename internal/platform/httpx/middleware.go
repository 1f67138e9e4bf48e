package httpx

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
)

// Observer receives one observation per finished request; route is the mux
// path template ("/api/books/{id}"), or "unmatched".
type Observer interface {
	ObserveHTTP(method, route string, status int, duration time.Duration)
}

// requestInfo is shared, through the context, by the outer middleware and
// the router so that the access log and metrics know the matched route and
// the error behind a 5xx.
type requestInfo struct {
	id    string
	route string
	err   error
}

type infoKey struct{}

func info(r *http.Request) *requestInfo {
	ri, _ := r.Context().Value(infoKey{}).(*requestInfo)
	return ri
}

func noteError(r *http.Request, err error) {
	if ri := info(r); ri != nil {
		ri.err = err
	}
}

// RequestID returns the request ID of the request (the X-Request-ID header
// it came with, if sane, or a generated one).
func RequestID(ctx context.Context) string {
	if ri, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return ri.id
	}
	return ""
}

// StackOptions configure Stack.
type StackOptions struct {
	Logger   *slog.Logger
	Observer Observer // may be nil
	// MaxBodyBytes limits request bodies (default 1 MiB).
	MaxBodyBytes int64
	// RequestTimeout bounds the context of each request (default 30s).
	RequestTimeout time.Duration
	// QuietRoutes are logged at debug level when they succeed (probes and
	// scrapes: /healthz, /readyz, /metrics).
	QuietRoutes []string
}

// Stack wraps the router h with the middleware every service uses, outermost
// first: request ID, access log + metrics, panic recovery, refusal of
// non-standard methods (501), body limit, request timeout. h should come from
// NewRouter so that routes are known. Metric labels and the logged method are
// bounded: methods to the standard set + "other" (MethodLabel), routes to the
// router's templates + "unmatched".
func Stack(h http.Handler, o StackOptions) http.Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	inner := RejectUnknownMethods(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, o.MaxBodyBytes)
		ctx, cancel := context.WithTimeout(r.Context(), o.RequestTimeout)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: requestIDFrom(r), route: "unmatched"}
		w.Header().Set("X-Request-ID", ri.id)
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
		rec := &statusRecorder{ResponseWriter: w}

		func() {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler { //nolint:errorlint // a recovered panic value, compared as net/http does
						panic(p)
					}
					if !rec.wrote {
						WriteError(rec, r, E(http.StatusInternalServerError, CodeInternal, "internal error"))
					}
					ri.err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
				}
			}()
			inner.ServeHTTP(rec, r)
		}()

		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		d := time.Since(start)
		method := MethodLabel(r.Method)
		if o.Observer != nil {
			o.Observer.ObserveHTTP(method, ri.route, status, d)
		}
		level := slog.LevelInfo
		switch {
		case status >= 500 && status != http.StatusNotImplemented:
			level = slog.LevelError
		case status < 400 && slices.Contains(o.QuietRoutes, ri.route):
			level = slog.LevelDebug
		}
		attrs := []slog.Attr{
			slog.String("request_id", ri.id),
			slog.String("method", method),
			slog.String("path", r.URL.Path),
			slog.String("route", ri.route),
			slog.Int("status", status),
			slog.Int64("bytes", rec.bytes),
			slog.Float64("duration_ms", float64(d.Microseconds())/1000),
			slog.String("remote", r.RemoteAddr),
		}
		if ri.err != nil {
			attrs = append(attrs, slog.String("error", ri.err.Error()))
		}
		o.Logger.LogAttrs(r.Context(), level, "http request", attrs...)
	})
}

func requestIDFrom(r *http.Request) string {
	id := r.Header.Get("X-Request-ID")
	if id == "" || len(id) > 128 {
		return uuid.NewString()
	}
	for _, c := range id {
		if c < 0x21 || c > 0x7e {
			return uuid.NewString()
		}
	}
	return id
}

// captureRoute is installed on the router with Use; it runs only for matched
// routes and records the route template for the outer middleware.
func captureRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri := info(r); ri != nil {
			if rt := mux.CurrentRoute(r); rt != nil {
				if tpl, err := rt.GetPathTemplate(); err == nil {
					ri.route = tpl
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wrote {
		s.status, s.wrote = http.StatusOK, true
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
