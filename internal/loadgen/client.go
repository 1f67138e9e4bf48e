// Package loadgen is the load generator's library: a small JSON client of the
// public API (through the gateway or an Ingress), the fixture every load run
// needs (books with stock, users with balance) and open-loop pacing. The
// command bookstore-load (make bench, make soak) and the fault harness
// (faults/, make faults) build on it.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client is a JSON client of the public API.
type Client struct {
	Base string
	HTTP *http.Client
}

// NewClient returns a client of base keeping up to conns idle connections.
func NewClient(base string, conns int) *Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns
	tr.MaxIdleConnsPerHost = conns
	return &Client{Base: base, HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// APIError is an answer with a status of 300 or more.
type APIError struct {
	Status int
	Body   string
}

func (e *APIError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

// Request is one API call.
type Request struct {
	Method, Path, Token string
	Header              map[string]string
	Body                any // JSON-encoded when not nil
}

// Send sends r and decodes a 2xx answer into out (when not nil). It returns
// the status (0 when no answer came) and, for a status of 300 or more, an
// error wrapping *APIError.
func (c *Client) Send(ctx context.Context, r Request, out any) (int, error) {
	var body io.Reader
	if r.Body != nil {
		b, err := json.Marshal(r.Body)
		if err != nil {
			return 0, fmt.Errorf("encode %s %s: %w", r.Method, r.Path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, c.Base+r.Path, body)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read: %w", r.Method, r.Path, err)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %w", r.Method, r.Path, &APIError{Status: resp.StatusCode, Body: string(b)})
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode: %w", r.Method, r.Path, err)
		}
	}
	return resp.StatusCode, nil
}

// Do is Send without headers or status.
func (c *Client) Do(ctx context.Context, method, path, token string, in, out any) error {
	_, err := c.Send(ctx, Request{Method: method, Path: path, Token: token, Body: in}, out)
	return err
}

// Login returns a token of the account.
func (c *Client) Login(ctx context.Context, email, password string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	err := c.Do(ctx, http.MethodPost, "/api/users/login", "", map[string]string{"email": email, "password": password}, &out)
	return out.Token, err
}
