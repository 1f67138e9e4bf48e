package httpx_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

// Type errors speak JSON, never a Go type name.
func TestDecodeErrorsSpeakJSON(t *testing.T) {
	h := newHandler(t, nil, nil)
	tests := []struct{ body, want string }{
		{`[]`, "request body must be a JSON object"},
		{`"x"`, "request body must be a JSON object"},
		{`{"count":"x"}`, `field "count" must be an integer in range`},
		{`{"count":99999999999999999999}`, `field "count" must be an integer in range`},
		{`{"name":7}`, `field "name" must be a string`},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodPost, "/echo", strings.NewReader(tt.body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var e httpx.ErrorBody
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusBadRequest || e.Error.Message != tt.want {
			t.Errorf("%s: %d %q, want 400 %q", tt.body, rec.Code, e.Error.Message, tt.want)
		}
	}
}
