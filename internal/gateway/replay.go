package gateway

import (
	"bytes"
	"io"
	"net/http"

	"github.com/bookstore-platform/bookstore/internal/platform/idempotency"
)

// replayable are the requests whose handlers honour an Idempotency-Key (the
// operations that declare the header in services/*/openapi.json; a test holds
// the two together): repeating one with the same key and body applies it once.
var replayable = map[string]bool{
	http.MethodPost + " /api/orders":     true,
	http.MethodPost + " /api/tokens/add": true,
}

// maxReplayBody bounds the body the gateway keeps to replay a request; larger
// bodies are streamed and not replayed (the services accept far less).
const maxReplayBody = 64 << 10

// makeReplayable lets the proxy's transport send r again on a new connection
// when the keep-alive connection it used was closed before the first byte of
// the answer (a service draining on SIGTERM closes its idle connections; one
// may be closing just as a request is written on it). net/http retries such a
// request only when its body can be rewound (GetBody) and it is replayable (an
// Idempotency-Key header), so this buffers the body of the requests that honour
// the key and carry one. Every other request is left as it is: a POST without
// a key that meets a closed connection is still a 502, since it may have been
// applied.
func makeReplayable(r *http.Request) error {
	if r.Header.Get(idempotency.Header) == "" || !replayable[r.Method+" "+r.URL.Path] || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if r.ContentLength > maxReplayBody {
		return nil
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, maxReplayBody+1))
	if err != nil {
		return err
	}
	if len(buf) > maxReplayBody { // unknown length, too long: stream the rest
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
		return nil
	}
	_ = r.Body.Close()
	r.ContentLength = int64(len(buf))
	r.Body = io.NopCloser(bytes.NewReader(buf))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	return nil
}

// retryOnce sends a replayable request a second time when the first attempt
// got no answer at all: a connection reset, a broken pipe or an EOF from a
// service that was killed or is draining. net/http retries by itself only on
// a reused connection that failed before anything was written or before the
// first byte of the answer; a fresh connection reset by a killed service, or
// a request body cut off by a draining one, would be a 502. Replayable are
// GET, HEAD and OPTIONS, and the requests makeReplayable kept the body of.
// The second failure is final (ErrorHandler: 503 when nothing listens, else
// 502).
type retryOnce struct{ base http.RoundTripper }

func (rt retryOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rt.base.RoundTrip(r)
	if err == nil || r.Context().Err() != nil || !canReplay(r) {
		return resp, err
	}
	again := r.Clone(r.Context())
	if r.GetBody != nil {
		body, berr := r.GetBody()
		if berr != nil {
			return nil, err
		}
		again.Body = body
	}
	return rt.base.RoundTrip(again)
}

func canReplay(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return r.Body == nil || r.Body == http.NoBody || r.GetBody != nil
	}
	return r.GetBody != nil && r.Header.Get(idempotency.Header) != "" && replayable[r.Method+" "+r.URL.Path]
}
