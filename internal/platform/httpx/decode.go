package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// DecodeJSON decodes the request body into dst strictly: the Content-Type
// must be application/json (415), the body must fit the limit set by
// BodyLimit (413), unknown fields, wrong types, an empty body and trailing
// data are 400. The returned error is an *Error ready for WriteError.
func DecodeJSON(r *http.Request, dst any) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return E(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decodeError(err)
		}
		return BadRequest("request body must hold a single JSON value")
	}
	return nil
}

func decodeError(err error) *Error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		mbe    *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return E(http.StatusRequestEntityTooLarge, CodePayloadTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit))
	case errors.Is(err, io.EOF):
		return BadRequest("request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("request body is truncated JSON")
	case errors.As(err, &syntax):
		return BadRequest(fmt.Sprintf("malformed JSON at offset %d", syntax.Offset))
	case errors.As(err, &typ):
		if typ.Field != "" {
			return BadRequest(fmt.Sprintf("field %q must be %s", typ.Field, typ.Type))
		}
		return BadRequest(fmt.Sprintf("request body must be %s", typ.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return BadRequest("unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return BadRequest("malformed JSON body")
	}
}
