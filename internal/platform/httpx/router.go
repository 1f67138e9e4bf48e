package httpx

import (
	"net/http"
	"sort"
	"strings"

	"github.com/gorilla/mux"
)

// NewRouter returns a mux.Router answering unknown paths with a JSON 404 and
// known paths with a wrong method with a JSON 405.
func NewRouter() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = Handle(func(w http.ResponseWriter, r *http.Request) error {
		return NotFound("no such resource")
	})
	r.MethodNotAllowedHandler = Handle(func(w http.ResponseWriter, r *http.Request) error {
		return E(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed")
	})
	r.Use(captureRoute)
	return r
}

// Route is one method + path template.
type Route struct {
	Method string
	Path   string
}

// Routes lists the method + path-template pairs registered in r that have
// methods, sorted. Path-prefix mounts without methods are left out.
func Routes(r *mux.Router) ([]Route, error) {
	var out []Route
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range methods {
			out = append(out, Route{Method: strings.ToUpper(m), Path: tpl})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out, err
}
