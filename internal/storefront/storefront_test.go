package storefront_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/bookstore-platform/bookstore/internal/storefront"
)

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

// TestPageAndHashedAssets: the page names every asset by a content-hashed URL, each
// served with a year's immutable caching; the page itself is revalidated and carries the CSP.
func TestPageAndHashedAssets(t *testing.T) {
	site, err := storefront.New()
	if err != nil {
		t.Fatal(err)
	}
	page := get(t, site, http.MethodGet, "/")
	if page.Code != 200 || page.Header().Get("Cache-Control") != "no-cache" || page.Header().Get("Content-Security-Policy") != storefront.CSP {
		t.Fatalf("page: %d %v", page.Code, page.Header())
	}
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(page.Body.String(), -1)
	if len(refs) != 3 {
		t.Fatalf("page references %v, want favicon, style and app", refs)
	}
	seen := map[string]bool{}
	var walk func(url string)
	walk = func(url string) {
		if seen[url] {
			return
		}
		seen[url] = true
		if !regexp.MustCompile(`^/assets/[a-z0-9_-]+\.[0-9a-f]{10}\.(js|css|svg)$`).MatchString(url) {
			t.Errorf("asset URL %s is not content-hashed", url)
		}
		a := get(t, site, http.MethodGet, url)
		if a.Code != 200 || a.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%s: %d %v", url, a.Code, a.Header())
		}
		if strings.HasSuffix(url, ".js") && !strings.HasPrefix(a.Header().Get("Content-Type"), "text/javascript") {
			t.Errorf("%s served as %q", url, a.Header().Get("Content-Type"))
		}
		// A module imports its neighbours by their hashed names too.
		for _, m := range regexp.MustCompile(`from "\./([^"]+)"`).FindAllStringSubmatch(a.Body.String(), -1) {
			walk("/assets/" + m[1])
		}
	}
	for _, r := range refs {
		walk(r[1])
	}
	if len(seen) < 9 {
		t.Errorf("reached %d assets from the page, want every module: %v", len(seen), seen)
	}
	for _, bad := range []string{"/assets/app.js", "/assets/app.0000000000.js", "/index.htm", "/api/x", "/assets/../storefront.go"} {
		if r := get(t, site, http.MethodGet, bad); r.Code != 404 || !strings.Contains(r.Body.String(), `"not_found"`) {
			t.Errorf("GET %s = %d %s, want a JSON 404", bad, r.Code, r.Body)
		}
	}
	if r := get(t, site, http.MethodPost, "/"); r.Code != 405 {
		t.Errorf("POST / = %d, want 405", r.Code)
	}
}
