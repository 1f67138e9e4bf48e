package observability_test

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
	"github.com/bookstore-platform/bookstore/internal/platform/observability"
)

const tokenChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~"

func randomString(rng *rand.Rand, alphabet string, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}

// series returns the label sets of bookstore_http_requests_total.
func series(t *testing.T, m *observability.Metrics) []map[string]string {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, mf := range mfs {
		if mf.GetName() != "bookstore_http_requests_total" {
			continue
		}
		for _, metric := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range metric.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			out = append(out, l)
		}
	}
	return out
}

// Made-up methods and random paths, as an attacker sends them, cannot add
// series: methods collapse to "other" (and are refused with 501), paths to
// the route templates or "unmatched".
func TestHostileInputCannotAddSeries(t *testing.T) {
	m := observability.New("test")
	r := httpx.NewRouter()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	r.Handle("/api/books/{id}", ok).Methods(http.MethodGet)
	r.PathPrefix("/swagger/").Handler(ok)
	srv := httptest.NewServer(httpx.Stack(r, httpx.StackOptions{Observer: m}))
	defer srv.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	send := func(method, path string) int {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodDelete}
	hostile := func(n int) {
		for range n {
			method := methods[rng.IntN(len(methods))]
			if rng.IntN(2) == 0 {
				method = "X" + randomString(rng, tokenChars, 1+rng.IntN(2000))
			}
			paths := []string{
				"/api/books/" + randomString(rng, "abcdef0123456789-", 1+rng.IntN(200)),
				"/swagger/" + randomString(rng, "abcdefghij./", 1+rng.IntN(50)),
				"/" + randomString(rng, "abcdefghijklmnop/", 1+rng.IntN(300)),
			}
			status := send(method, paths[rng.IntN(len(paths))])
			if !httpx.KnownMethod(method) && status != http.StatusNotImplemented {
				t.Fatalf("method %.20q…: status %d, want 501", method, status)
			}
		}
	}
	hostile(200)
	before := len(series(t, m))
	hostile(1000)
	after := series(t, m)
	if len(after) != before {
		t.Errorf("1000 more hostile requests grew the series from %d to %d", before, len(after))
	}
	routes := map[string]bool{"/api/books/{id}": true, "/swagger/": true, "unmatched": true}
	for _, l := range after {
		if !routes[l["route"]] || (l["method"] != httpx.MethodOther && !httpx.KnownMethod(l["method"])) {
			t.Errorf("unbounded label in series %v", l)
		}
	}
	// The bound is the product of the fixed sets: methods × routes × statuses seen.
	if max := 10 * len(routes) * 4; len(after) > max {
		t.Errorf("%d series, want at most %d", len(after), max)
	}
}

func TestObserveHTTPBoundsItsInput(t *testing.T) {
	m := observability.New("test")
	m.ObserveHTTP(strings.Repeat("Z", 2048), "unmatched", 404, 0)
	m.ObserveHTTP("get", "unmatched", 1000, 0)
	m.ObserveHTTP(http.MethodGet, "unmatched", 200, 0)
	want := map[string]bool{"other/404": true, "other/other": true, "GET/200": true}
	for _, l := range series(t, m) {
		if !want[l["method"]+"/"+l["status"]] {
			t.Errorf("series %v, want one of %v", l, want)
		}
	}
}
