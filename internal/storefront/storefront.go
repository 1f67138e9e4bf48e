// Package storefront is the shoppers' and admins' web page: plain ES modules and CSS
// embedded with go:embed, no build step and no CDN. Handler serves the page at / and the
// assets under /assets/ by content-hashed names (cached for a year, immutable); the page
// itself is never cached, so a new release is picked up on the next load. The page talks
// to the public API (/api/...) of the same origin, as any client does, so it works
// unchanged behind the dev gateway, the Ingress and the HTTPRoutes.
package storefront

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"
)

//go:embed assets
var files embed.FS

// CSP allows the page's own scripts, styles, images and API calls only: no inline script
// or style, no other origin, no framing, no plugins.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"font-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// asset is one embedded file under its hashed name.
type asset struct {
	body        []byte
	contentType string
}

// Site is the built storefront: the page and its assets by hashed URL.
type Site struct {
	page   []byte
	assets map[string]asset // "/assets/app.1a2b3c4d5e.js" → file
	urls   map[string]string
}

// importRE finds the relative module imports of a JS file: from "./x.js", import "./x.js".
var importRE = regexp.MustCompile(`((?:from|import)\s*["'])\./([a-z0-9_-]+\.js)(["'])`)

// New builds the site from the embedded files: each JS module's imports are rewritten to
// the hashed names of the modules it imports (so a module's hash covers what it loads),
// and index.html's {{name}} placeholders become hashed URLs.
func New() (*Site, error) {
	s := &Site{assets: map[string]asset{}, urls: map[string]string{}}
	src := map[string][]byte{}
	entries, err := fs.ReadDir(files, "assets")
	if err != nil {
		return nil, fmt.Errorf("storefront: %w", err)
	}
	for _, e := range entries {
		b, err := files.ReadFile("assets/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("storefront: %w", err)
		}
		src[e.Name()] = b
	}
	page, ok := src["index.html"]
	if !ok {
		return nil, fmt.Errorf("storefront: assets/index.html missing")
	}
	delete(src, "index.html")
	names := make([]string, 0, len(src))
	for n := range src {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := s.hashed(n, src, map[string]bool{}); err != nil {
			return nil, err
		}
	}
	var missing []string
	s.page = regexp.MustCompile(`\{\{([a-z0-9_.-]+)\}\}`).ReplaceAllFunc(page, func(m []byte) []byte {
		n := string(m[2 : len(m)-2])
		if u, ok := s.urls[n]; ok {
			return []byte(u)
		}
		missing = append(missing, n)
		return m
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("storefront: index.html names unknown assets %v", missing)
	}
	return s, nil
}

// hashed returns the URL of asset name, hashing its imports first.
func (s *Site) hashed(name string, src map[string][]byte, visiting map[string]bool) (string, error) {
	if u, ok := s.urls[name]; ok {
		return u, nil
	}
	body, ok := src[name]
	if !ok {
		return "", fmt.Errorf("storefront: no asset %q", name)
	}
	if visiting[name] {
		return "", fmt.Errorf("storefront: import cycle through %s", name)
	}
	visiting[name] = true
	if strings.HasSuffix(name, ".js") {
		var ferr error
		body = importRE.ReplaceAllFunc(body, func(m []byte) []byte {
			sub := importRE.FindSubmatch(m)
			u, err := s.hashed(string(sub[2]), src, visiting)
			if err != nil {
				ferr = err
				return m
			}
			return bytes.Join([][]byte{sub[1], []byte("./" + path.Base(u)), sub[3]}, nil)
		})
		if ferr != nil {
			return "", ferr
		}
	}
	sum := sha256.Sum256(body)
	ext := path.Ext(name)
	u := "/assets/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
	ct := mime.TypeByExtension(ext)
	if ext == ".js" {
		ct = "text/javascript; charset=utf-8"
	}
	s.assets[u] = asset{body: body, contentType: ct}
	s.urls[name] = u
	return u, nil
}

// URL returns the hashed URL of an asset (e.g. "app.js"), or "" if there is none.
func (s *Site) URL(name string) string { return s.urls[name] }

// ServeHTTP serves GET/HEAD / (the page) and /assets/<name>.<hash>.<ext>; anything else
// is a JSON 404 like the rest of the entry point.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed")
		return
	}
	if r.URL.Path == "/" || r.URL.Path == "/index.html" {
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", CSP)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		_, _ = w.Write(s.page)
		return
	}
	a, ok := s.assets[r.URL.Path]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no such route")
		return
	}
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(a.body)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, msg)
}

// Mount serves the storefront at / and /assets/ and sends every other request to api
// (the gateway's routes: /api/..., /docs/..., /healthz and its JSON 404).
func Mount(site http.Handler, api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", site)
	mux.Handle("GET /assets/", site)
	mux.Handle("/", api)
	return mux
}
