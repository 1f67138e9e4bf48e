package httpx

import (
	"embed"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
)

//go:embed swaggerui/dist
var swaggerFiles embed.FS

// Docs registers a service's Swagger UI and OpenAPI document on r under
// prefix (e.g. "/docs/user", see charts/bookstore/routes.yaml): the page at
// prefix+"/swagger/" (prefix+"/swagger" redirects there) and the document
// at prefix+"/openapi.json", which the page loads as ../openapi.json. The
// entry points forward these paths unchanged, so the service answers them
// as they arrive.
func Docs(r *mux.Router, prefix string, doc []byte) {
	prefix = "/" + strings.Trim(prefix, "/")
	if prefix == "/" {
		prefix = ""
	}
	r.Handle(prefix+"/openapi.json", OpenAPI(doc)).Methods(http.MethodGet, http.MethodHead)
	r.Handle(prefix+"/swagger", http.RedirectHandler(prefix+"/swagger/", http.StatusMovedPermanently)).
		Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix(prefix+"/swagger/").Handler(SwaggerUI(prefix+"/swagger/")).Methods(http.MethodGet, http.MethodHead)
}

// SwaggerUI serves the embedded Swagger UI (npm swagger-ui-dist) under
// prefix (e.g. "/docs/user/swagger/"); the page loads "../openapi.json".
func SwaggerUI(prefix string) http.Handler {
	sub, err := fs.Sub(swaggerFiles, "swaggerui/dist")
	if err != nil {
		panic(err) // the embedded directory is fixed at compile time
	}
	files := http.FileServerFS(sub)
	return http.StripPrefix(prefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
}

// OpenAPI serves a fixed OpenAPI JSON document.
func OpenAPI(doc []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
		_, _ = w.Write(doc)
	})
}
