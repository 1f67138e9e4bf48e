package storefront

import (
	"context"

	"github.com/gorilla/mux"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
)

// Build is the app.Builder that adds the storefront to a service process: GET / and
// /assets/ (no other path, so the service's /metrics, /readyz and API are untouched).
// cmd/user runs it, so on Kubernetes the entry point routes / (Exact) and /assets/
// (Prefix) to the user Service and no fifth Deployment is needed. The routes carry no
// method matcher, so they stay out of the OpenAPI route check; Site answers other
// methods with a JSON 405.
func Build() app.Builder {
	return func(context.Context, app.Deps) (app.Service, error) {
		site, err := New()
		if err != nil {
			return app.Service{}, err
		}
		return app.Service{Routes: func(r *mux.Router) {
			r.Path("/").Handler(site)
			r.PathPrefix("/assets/").Handler(site)
		}}, nil
	}
}
