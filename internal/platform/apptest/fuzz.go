package apptest

import (
	"encoding/json"
	"testing"
)

// ExpectClientOutcome fails the test unless r is what hostile input may get:
// a success, a redirect, or a 4xx with the JSON error shape
// {"error":{"code","message"}}. A 5xx (the server broke on the input) or a
// 4xx without a code fails.
func ExpectClientOutcome(t testing.TB, what string, r *Response) {
	t.Helper()
	switch {
	case r.Status >= 500:
		t.Fatalf("%s: status %d (server error on client input); body: %.300s", what, r.Status, r.Body)
	case r.Status >= 400:
		if r.ErrorCode() == "" || r.ErrorMessage() == "" {
			t.Fatalf("%s: status %d without a JSON error code and message; body: %.300s", what, r.Status, r.Body)
		}
	case r.Status >= 200 && r.Status < 300 && len(r.Body) > 0 && !json.Valid(r.Body):
		t.Fatalf("%s: status %d with a body that is not JSON: %.300s", what, r.Status, r.Body)
	}
}

// FuzzBody sends body as is (Content-Type application/json) with method to
// path as the holder of token ("" for none) and checks the outcome with
// ExpectClientOutcome. It is the body of the request-decoder fuzz targets.
func (s *Server) FuzzBody(t testing.TB, method, path, token string, body []byte) *Response {
	t.Helper()
	if body == nil {
		body = []byte{}
	}
	r := s.Do(t, Request{Method: method, Path: path, Token: token, Body: body})
	ExpectClientOutcome(t, method+" "+path, r)
	return r
}

// Seeds adds each value to the fuzz corpus of f, JSON-encoded unless it is
// a string or []byte (added as is).
func Seeds(f *testing.F, values ...any) {
	f.Helper()
	for _, v := range values {
		switch b := v.(type) {
		case string:
			f.Add([]byte(b))
		case []byte:
			f.Add(b)
		default:
			j, err := json.Marshal(b)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(j)
		}
	}
}

// HostileBodies are seeds every request-decoder fuzz target starts from:
// the shapes that broke or nearly broke JSON decoders elsewhere.
var HostileBodies = []any{
	"", "null", "[]", "{}", "0", `"x"`, "{", `{"a":1}{"a":2}`, `{"a":1} x`,
	"\x00", "\xff\xfe", `{"\u0000":"\u0000"}`, `{"x":"\ud800"}`,
	`{"n":1e309}`, `{"n":-9223372036854775809}`, `{"n":9223372036854775807}`,
	`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
	`{"email":"' OR 1=1 --","password":"'; DROP TABLE users; --"}`,
}

// StatusIs reports whether r has one of statuses; fuzz bodies use it to say
// which outcomes an endpoint may have.
func StatusIs(r *Response, statuses ...int) bool {
	for _, s := range statuses {
		if r.Status == s {
			return true
		}
	}
	return false
}
