// Package httpx is the HTTP layer shared by the services: a gorilla/mux
// router with JSON 404/405, the middleware stack (request ID, JSON access log,
// metrics hook, panic recovery, body limit, request timeout), JSON errors of
// the form {"error":{"code":"...","message":"..."}}, a strict JSON decoder, a
// server with graceful shutdown and the embedded Swagger UI.
//
// Handlers return errors: wrap a handler with Handle and return an *Error
// (built with E or the helpers) for a client error; any other error becomes a
// 500 whose detail is logged, not sent.
package httpx

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bookstore-platform/bookstore/internal/platform/database"
)

// RetryAfterSeconds is the Retry-After sent with every 503: dropped
// connections and restarting dependencies are usually back within seconds.
const RetryAfterSeconds = 1

// Error codes sent in the "code" field.
const (
	CodeBadRequest           = "bad_request"
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeConflict             = "conflict"
	CodePayloadTooLarge      = "payload_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeUnprocessable        = "unprocessable_entity"
	CodeUnavailable          = "service_unavailable"
	CodeInternal             = "internal"
)

// Error is an error with the HTTP status and the code and message sent to the
// client. Err, if set, is logged but never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// E returns an *Error.
func E(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// BadRequest is a 400.
func BadRequest(msg string) *Error { return E(http.StatusBadRequest, CodeBadRequest, msg) }

// Unauthorized is a 401.
func Unauthorized(msg string) *Error { return E(http.StatusUnauthorized, CodeUnauthorized, msg) }

// Forbidden is a 403.
func Forbidden(msg string) *Error { return E(http.StatusForbidden, CodeForbidden, msg) }

// NotFound is a 404.
func NotFound(msg string) *Error { return E(http.StatusNotFound, CodeNotFound, msg) }

// Conflict is a 409.
func Conflict(msg string) *Error { return E(http.StatusConflict, CodeConflict, msg) }

// Unprocessable is a 422.
func Unprocessable(msg string) *Error {
	return E(http.StatusUnprocessableEntity, CodeUnprocessable, msg)
}

// Unavailable is a 503 caused by err (a dependency that is down).
func Unavailable(msg string, err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: msg, Err: err}
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes err as a JSON error. An *Error anywhere in err's chain
// gives status, code and message; anything else is a 500 "internal error".
// The full error is attached to the request's access log line.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var he *Error
	switch {
	case errors.As(err, &he):
	case dependencyDown(err):
		he = Unavailable("a dependency is unavailable", err)
	default:
		he = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error", Err: err}
	}
	if he.Status >= 500 || he.Err != nil {
		noteError(r, err)
	}
	switch he.Status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="bookstore"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
	}
	var body ErrorBody
	body.Error.Code, body.Error.Message = he.Code, he.Message
	WriteJSON(w, he.Status, body)
}

// HandlerFunc is an http handler that returns an error, written by WriteError.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP implements http.Handler. A GET or HEAD whose handler failed
// because a connection dropped (ConnectionLost) before anything was written
// runs once more: the pool has discarded the broken connection, so the
// retry gets a fresh one (a restarted or failed-over database, a backend
// that was terminated).
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tw := &trackingWriter{ResponseWriter: w}
	err := f(tw, r)
	if err != nil && !tw.wrote && (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		ConnectionLost(err) && r.Context().Err() == nil {
		err = f(tw, r.WithContext(database.Revalidate(r.Context())))
	}
	if err != nil {
		WriteError(w, r, err)
	}
}

// trackingWriter remembers whether the handler started a response.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) { t.wrote = true; t.ResponseWriter.WriteHeader(code) }
func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// Handle adapts f to http.Handler.
func Handle(f func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return HandlerFunc(f)
}

// dependencyDown reports whether err means that a dependency (the database,
// another service) cannot be reached rather than a bug: a failed connect
// (connection refused, too many connections) or a lost connection
// (ConnectionLost). Those are 503, not 500.
func dependencyDown(err error) bool {
	var (
		connect *pgconn.ConnectError
		pg      *pgconn.PgError
	)
	switch {
	case errors.As(err, &connect):
		return true
	case errors.As(err, &pg) && pg.Code == "53300": // too_many_connections
		return true
	}
	return ConnectionLost(err)
}

// ConnectionLost reports whether err is a connection-level failure: the
// network (reset, broken pipe, timeout), a connection that ended mid-reply
// (EOF, unexpected EOF: the server process died, PostgreSQL shut down
// immediately), one the pool had already closed, or PostgreSQL closing it
// (SQLSTATE class 08; 57P01 admin shutdown or pg_terminate_backend, 57P02
// crash shutdown, 57P03 cannot connect now). Nothing was applied that the
// client could not retry: a transaction on a lost connection is rolled back.
func ConnectionLost(err error) bool {
	var (
		netErr net.Error
		pg     *pgconn.PgError
	)
	switch {
	case errors.As(err, &pg):
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03"
	case errors.As(err, &netErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, pgconn.ErrConnClosed), errors.Is(err, net.ErrClosed):
		return true
	}
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}
