// Package charts holds the Helm charts of Bookstore, embedded so that the
// operator renders exactly the charts a Helm user installs (see
// charts/chartload), and the route table of every entry point
// (bookstore/routes.yaml, see Routes). It imports no Helm package, so the
// dev gateway can read the route table without linking Helm.
package charts

import (
	"embed"
	"fmt"

	"sigs.k8s.io/yaml"
)

// FS holds the chart directories: bookstore-lib (library), user, token,
// inventory, order and the umbrella bookstore.
//
//go:embed all:bookstore-lib all:user all:token all:inventory all:order all:bookstore
var FS embed.FS

// Services are the service charts, in the order the umbrella lists them.
func Services() []string { return []string{"user", "token", "inventory", "order"} }

// Match is how a route's path matches a request path.
type Match string

// The two kinds of match every entry point supports (Ingress pathType,
// HTTPRoute path type).
const (
	Prefix Match = "Prefix" // the path and everything below it, segment by segment
	Exact  Match = "Exact"
)

// Route is one public path of a service.
type Route struct {
	Service string
	Path    string
	Match   Match
	Docs    bool // a Swagger UI / OpenAPI route, off with the docs switch
}

// Table is charts/bookstore/routes.yaml.
type Table struct {
	Services []struct {
		Name string `json:"name"`
		API  string `json:"api"`
		Docs string `json:"docs"`
		Site []struct {
			Path  string `json:"path"`
			Match Match  `json:"match"`
		} `json:"site"`
	} `json:"services"`
	Docs []struct {
		Path  string `json:"path"`
		Match Match  `json:"match"`
	} `json:"docs"`
}

// Routes returns the public paths of the route table, each service's API
// route first, its storefront routes, then its docs routes (only with docs).
func Routes(docs bool) ([]Route, error) {
	data, err := FS.ReadFile("bookstore/routes.yaml")
	if err != nil {
		return nil, fmt.Errorf("route table: %w", err)
	}
	var t Table
	if err := yaml.UnmarshalStrict(data, &t); err != nil {
		return nil, fmt.Errorf("route table bookstore/routes.yaml: %w", err)
	}
	var out []Route
	for _, s := range t.Services {
		out = append(out, Route{Service: s.Name, Path: s.API, Match: Prefix})
		for _, p := range s.Site {
			out = append(out, Route{Service: s.Name, Path: p.Path, Match: p.Match})
		}
		if !docs {
			continue
		}
		for _, d := range t.Docs {
			if d.Match != Prefix && d.Match != Exact {
				return nil, fmt.Errorf("route table: %s%s: match %q, want Prefix or Exact", s.Docs, d.Path, d.Match)
			}
			out = append(out, Route{Service: s.Name, Path: s.Docs + d.Path, Match: d.Match, Docs: true})
		}
	}
	return out, nil
}

// Matches reports whether path is matched by r, the way an Ingress Prefix or
// Exact path and an HTTPRoute PathPrefix or Exact match do.
func (r Route) Matches(path string) bool {
	if r.Match == Exact {
		return path == r.Path
	}
	return path == r.Path || (len(path) > len(r.Path) && path[:len(r.Path)] == r.Path && path[len(r.Path)] == '/')
}
