package httpx

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
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
	if field, ok := findNUL(reflect.ValueOf(dst), ""); ok {
		return BadRequest(fmt.Sprintf("%s must not contain the NUL character (\\u0000)", field))
	}
	return nil
}

// findNUL reports the first string in v holding U+0000, which no text
// column can store (PostgreSQL refuses it), so it is a client error, never
// a database failure. It names the JSON field where it can.
func findNUL(v reflect.Value, field string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return findNUL(v.Elem(), field)
	case reflect.String:
		if strings.ContainsRune(v.String(), 0) {
			if field == "" {
				field = "a string"
			}
			return field, true
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if f, ok := findNUL(v.Index(i), field); ok {
				return f, true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if f, ok := findNUL(it.Key(), field); ok {
				return f, true
			}
			if f, ok := findNUL(it.Value(), field); ok {
				return f, true
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if !sf.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if name == "" {
				name = sf.Name
			}
			if f, ok := findNUL(v.Field(i), fmt.Sprintf("field %q", name)); ok {
				return f, true
			}
		}
	}
	return "", false
}

// Text checks a query parameter that is compared with text columns: valid
// UTF-8 without NUL (PostgreSQL refuses both), else a 400 naming it.
func Text(name, v string) error {
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return BadRequest(name + " must be UTF-8 text without the NUL character")
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
			return BadRequest(fmt.Sprintf("field %q must be %s", typ.Field, jsonKind(typ.Type)))
		}
		return BadRequest(fmt.Sprintf("request body must be %s", jsonKind(typ.Type)))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return BadRequest("unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return BadRequest("malformed JSON body")
	}
}

// jsonKind names the JSON value a Go type decodes from, in the API's words
// (never a Go type name such as order.createRequest).
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	default:
		return "a valid value"
	}
}

// Limit parses the "limit" query parameter: def when absent, 400 unless it is
// an integer in [1, max].
func Limit(r *http.Request, def, max int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, BadRequest(fmt.Sprintf("limit must be an integer between 1 and %d", max))
	}
	return n, nil
}

// Paging reads the pagination parameters of a list request: the limit
// (Limit) and the cursor into cur (DecodeCursor; false when there is none).
func Paging(r *http.Request, def, max int, cur any) (limit int, hasCursor bool, err error) {
	if limit, err = Limit(r, def, max); err != nil {
		return 0, false, err
	}
	hasCursor, err = DecodeCursor(r, cur)
	return limit, hasCursor, err
}

// Page is the JSON shape of every paginated list: the items and the cursor
// of the next page (null on the last page).
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

// NewPage makes the page of items read with limit+1 (one more than the page
// holds, to know whether there is a next page): at most limit items, and
// then the cursor cursorOf(last item) of the next page.
func NewPage[T any](items []T, limit int, cursorOf func(last T) any) Page[T] {
	if items == nil {
		items = []T{}
	}
	p := Page[T]{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		next := EncodeCursor(cursorOf(p.Items[limit-1]))
		p.NextCursor = &next
	}
	return p
}

// EncodeCursor makes an opaque pagination cursor of v (JSON, base64url).
func EncodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads the "cursor" query parameter into v; it reports false
// when there is none, and a 400 error when it is not one EncodeCursor made.
func DecodeCursor(r *http.Request, v any) (bool, error) {
	s := r.URL.Query().Get("cursor")
	if s == "" {
		return false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, v) != nil {
		return false, BadRequest("invalid cursor")
	}
	return true, nil
}
