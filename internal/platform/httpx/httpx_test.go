package httpx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

type payload struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type observation struct {
	method, route string
	status        int
}

type recorder struct {
	mu  sync.Mutex
	obs []observation
}

func (r *recorder) ObserveHTTP(method, route string, status int, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.obs = append(r.obs, observation{method, route, status})
}

func newHandler(t *testing.T, obs httpx.Observer, logs *bytes.Buffer) http.Handler {
	t.Helper()
	r := httpx.NewRouter()
	r.Handle("/echo", httpx.Handle(func(w http.ResponseWriter, r *http.Request) error {
		var p payload
		if err := httpx.DecodeJSON(r, &p); err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, p)
		return nil
	})).Methods(http.MethodPost)
	r.Handle("/items/{id}", httpx.Handle(func(w http.ResponseWriter, r *http.Request) error {
		return httpx.Conflict("item " + "is busy")
	})).Methods(http.MethodGet)
	r.Handle("/boom", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("kaboom")
	})).Methods(http.MethodGet)
	r.Handle("/fail", httpx.Handle(func(w http.ResponseWriter, r *http.Request) error {
		return errors.New("database password is hunter2")
	})).Methods(http.MethodGet)
	logger := slog.New(slog.DiscardHandler)
	if logs != nil {
		logger = slog.New(slog.NewJSONHandler(logs, nil))
	}
	return httpx.Stack(r, httpx.StackOptions{Logger: logger, Observer: obs, MaxBodyBytes: 64})
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e httpx.ErrorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	if e.Error.Message == "" {
		t.Fatalf("error body %s has no message", body)
	}
	return e.Error.Code
}

func TestDecodeJSON(t *testing.T) {
	h := newHandler(t, nil, nil)
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		code        string
	}{
		{"valid", "application/json", `{"name":"a","count":2}`, 200, ""},
		{"valid with charset", "application/json; charset=utf-8", `{"name":"a"}`, 200, ""},
		{"no content type", "", `{"name":"a"}`, 415, httpx.CodeUnsupportedMediaType},
		{"text/plain", "text/plain", `{"name":"a"}`, 415, httpx.CodeUnsupportedMediaType},
		{"unknown field", "application/json", `{"name":"a","admin":true}`, 400, httpx.CodeBadRequest},
		{"trailing object", "application/json", `{"name":"a"}{"name":"b"}`, 400, httpx.CodeBadRequest},
		{"trailing garbage", "application/json", `{"name":"a"} x`, 400, httpx.CodeBadRequest},
		{"malformed", "application/json", `{"name":`, 400, httpx.CodeBadRequest},
		{"syntax error", "application/json", `{name: "a"}`, 400, httpx.CodeBadRequest},
		{"wrong type", "application/json", `{"count":"two"}`, 400, httpx.CodeBadRequest},
		{"empty body", "application/json", ``, 400, httpx.CodeBadRequest},
		{"not an object", "application/json", `[1,2]`, 400, httpx.CodeBadRequest},
		{"too large", "application/json", `{"name":"` + strings.Repeat("x", 100) + `"}`, 413, httpx.CodePayloadTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/echo", strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if tc.code != "" {
				if got := errorCode(t, rec.Body.Bytes()); got != tc.code {
					t.Fatalf("code %q, want %q", got, tc.code)
				}
			}
		})
	}
}

func TestRouterErrorsRecoveryAndObservation(t *testing.T) {
	obs := &recorder{}
	var logs bytes.Buffer
	h := newHandler(t, obs, &logs)
	tests := []struct {
		method, path string
		status       int
		code         string
		route        string
	}{
		{"GET", "/nowhere", 404, httpx.CodeNotFound, "unmatched"},
		{"DELETE", "/echo", 405, httpx.CodeMethodNotAllowed, "unmatched"},
		{"GET", "/items/42", 409, httpx.CodeConflict, "/items/{id}"},
		{"GET", "/boom", 500, httpx.CodeInternal, "/boom"},
		{"GET", "/fail", 500, httpx.CodeInternal, "/fail"},
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status {
			t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, rec.Code, tc.status)
		}
		if got := errorCode(t, rec.Body.Bytes()); got != tc.code {
			t.Fatalf("%s %s: code %q, want %q", tc.method, tc.path, got, tc.code)
		}
		if strings.Contains(rec.Body.String(), "hunter2") || strings.Contains(rec.Body.String(), "kaboom") {
			t.Fatalf("%s %s: internal detail leaked to the client: %s", tc.method, tc.path, rec.Body)
		}
		if rec.Header().Get("X-Request-ID") == "" {
			t.Fatalf("%s %s: no X-Request-ID", tc.method, tc.path)
		}
	}
	if len(obs.obs) != len(tests) {
		t.Fatalf("%d observations, want %d", len(obs.obs), len(tests))
	}
	for i, tc := range tests {
		if o := obs.obs[i]; o.route != tc.route || o.status != tc.status || o.method != tc.method {
			t.Errorf("observation %d = %+v, want route %s status %d", i, o, tc.route, tc.status)
		}
	}
	// The access log is JSON, one line per request, and carries the hidden
	// cause of a 500.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != len(tests) {
		t.Fatalf("%d log lines, want %d:\n%s", len(lines), len(tests), logs.String())
	}
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last["route"] != "/fail" || last["status"] != float64(500) || !strings.Contains(last["error"].(string), "hunter2") {
		t.Fatalf("last log line %v", last)
	}
	var panicLine map[string]any
	_ = json.Unmarshal([]byte(lines[3]), &panicLine)
	if e, _ := panicLine["error"].(string); !strings.Contains(e, "kaboom") {
		t.Fatalf("panic not logged: %v", panicLine)
	}
}

func TestRequestIDPropagates(t *testing.T) {
	h := newHandler(t, nil, nil)
	req := httptest.NewRequest(http.MethodGet, "/nowhere", nil)
	req.Header.Set("X-Request-ID", "abc-123")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if got := rec.Header().Get("X-Request-ID"); got != "abc-123" {
		t.Fatalf("X-Request-ID %q, want the caller's abc-123", got)
	}
	req.Header.Set("X-Request-ID", "bad id\x01")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if got := rec.Header().Get("X-Request-ID"); got == "" || strings.Contains(got, " ") {
		t.Fatalf("unsafe request id not replaced: %q", got)
	}
}

func TestRoutes(t *testing.T) {
	r := httpx.NewRouter()
	r.Handle("/b/{id}", http.NotFoundHandler()).Methods("GET", "DELETE")
	r.Handle("/a", http.NotFoundHandler()).Methods("POST")
	r.PathPrefix("/static/").Handler(http.NotFoundHandler())
	got, err := httpx.Routes(r)
	if err != nil {
		t.Fatal(err)
	}
	want := []httpx.Route{{"POST", "/a"}, {"DELETE", "/b/{id}"}, {"GET", "/b/{id}"}}
	if len(got) != len(want) {
		t.Fatalf("routes %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("routes %v, want %v", got, want)
		}
	}
}

func TestSwaggerUIIsEmbedded(t *testing.T) {
	h := httpx.SwaggerUI("/swagger/")
	for path, want := range map[string]string{
		"/swagger/":                       "swagger-ui-bundle.js",
		"/swagger/swagger-initializer.js": "../openapi.json",
		"/swagger/swagger-ui-bundle.js":   "SwaggerUIBundle",
		"/swagger/swagger-ui.css":         ".swagger-ui",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s: status %d, body without %q", path, rec.Code, want)
		}
	}
}

// The embedded Swagger UI is the version pinned in hack/versions.env.
func TestSwaggerUIVersionIsPinned(t *testing.T) {
	pinned, err := os.ReadFile("../../../hack/versions.env")
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for _, line := range strings.Split(string(pinned), "\n") {
		if v, ok := strings.CutPrefix(line, "SWAGGER_UI_VERSION="); ok {
			want = strings.TrimSpace(v)
		}
	}
	got, err := os.ReadFile("swaggerui/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if want == "" || strings.TrimSpace(string(got)) != want {
		t.Fatalf("embedded swagger-ui-dist %q, hack/versions.env pins %q", strings.TrimSpace(string(got)), want)
	}
	bundle, err := os.ReadFile("swaggerui/dist/swagger-ui-bundle.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(bundle, []byte(want)) {
		t.Fatalf("swagger-ui-bundle.js does not mention version %s", want)
	}
}
