package httpx

import "net/http"

// MethodOther is the metric label of every method outside the standard set.
const MethodOther = "other"

// CodeMethodNotImplemented is the error code of a request whose method is not
// one of the standard HTTP methods.
const CodeMethodNotImplemented = "method_not_implemented"

// standardMethods are the methods of RFC 9110 and PATCH (RFC 5789). Any other
// token is refused before routing, so a client cannot make up methods.
var standardMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodConnect: true,
	http.MethodOptions: true, http.MethodTrace: true,
}

// KnownMethod reports whether m is one of the standard HTTP methods (case
// sensitive, as methods are).
func KnownMethod(m string) bool { return standardMethods[m] }

// MethodLabel returns m when it is a standard method, else MethodOther: the
// value used as a metric label and in access logs, so that hostile input can
// add neither series nor kilobytes of log.
func MethodLabel(m string) string {
	if standardMethods[m] {
		return m
	}
	return MethodOther
}

// RejectUnknownMethods answers a request with a non-standard method with a
// JSON 501 and does not call next.
func RejectUnknownMethods(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !KnownMethod(r.Method) {
			WriteError(w, r, E(http.StatusNotImplemented, CodeMethodNotImplemented, "method not implemented"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
