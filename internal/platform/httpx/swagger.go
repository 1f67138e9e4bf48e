package httpx

import (
	"embed"
	"io/fs"
	"net/http"
	"strconv"
)

//go:embed swaggerui/dist
var swaggerFiles embed.FS

// SwaggerUI serves the embedded Swagger UI (npm swagger-ui-dist) under
// prefix (e.g. "/swagger/"); the page loads "../openapi.json".
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
