package apptest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// CheckOpenAPI fails the test unless the routes that register puts on a
// router and the operations of the OpenAPI document doc are the same set of
// (method, path) pairs, every operation documents its responses, and every
// local $ref of the document resolves.
func CheckOpenAPI(t testing.TB, doc []byte, register func(*mux.Router)) {
	t.Helper()
	var d struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("OpenAPI document is not JSON: %v", err)
	}
	if !strings.HasPrefix(d.OpenAPI, "3.") {
		t.Fatalf("openapi version %q, want 3.x", d.OpenAPI)
	}
	var documented []httpx.Route
	for path, item := range d.Paths {
		for key, raw := range item {
			if !slices.Contains(httpMethods, key) {
				continue
			}
			documented = append(documented, httpx.Route{Method: strings.ToUpper(key), Path: path})
			var op struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil || len(op.Responses) == 0 {
				t.Errorf("%s %s: operation without responses", key, path)
			}
		}
	}
	r := mux.NewRouter()
	register(r)
	registered, err := httpx.Routes(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range registered {
		if !slices.Contains(documented, rt) {
			t.Errorf("route %s %s is registered but not in the OpenAPI document", rt.Method, rt.Path)
		}
	}
	for _, rt := range documented {
		if !slices.Contains(registered, rt) {
			t.Errorf("OpenAPI documents %s %s but no such route is registered", rt.Method, rt.Path)
		}
	}
	if len(registered) == 0 {
		t.Error("no routes registered")
	}

	var whole any
	_ = json.Unmarshal(doc, &whole)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok && !resolves(whole, ref) {
				t.Errorf("$ref %q does not resolve", ref)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(whole)
}

func resolves(doc any, ref string) bool {
	if !strings.HasPrefix(ref, "#/") {
		return false
	}
	cur := doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[part]; !ok {
			return false
		}
	}
	return true
}
