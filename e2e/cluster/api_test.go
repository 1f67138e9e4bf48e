//go:build e2e

package cluster

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// api is a client of the Bookstore's public API through the entry point.
type api struct {
	base string
	host string // the Ingress host (BOOKSTORE_HOST) sent as Host, when set
	http *http.Client
}

func newAPI(t *testing.T) *api {
	return &api{base: baseURL(t), host: os.Getenv("BOOKSTORE_HOST"), http: &http.Client{Timeout: 15 * time.Second}}
}

// call sends method path with body (JSON-encoded unless nil) and token, and
// returns the status and the response body. A transport error is status 0.
func (a *api) call(ctx context.Context, method, path, token string, body any) (int, []byte, error) {
	return a.callKey(ctx, method, path, token, body, "")
}

// callKey is call with an Idempotency-Key header when key is not empty.
func (a *api) callKey(ctx context.Context, method, path, token string, body any, key string) (int, []byte, error) {
	var h map[string]string
	if key != "" {
		h = map[string]string{"Idempotency-Key": key}
	}
	return a.callHeaders(ctx, method, path, token, body, h)
}

// callHeaders is call with the headers h.
func (a *api) callHeaders(ctx context.Context, method, path, token string, body any, h map[string]string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("request: %w", err)
	}
	if a.host != "" {
		req.Host = a.host
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// must calls and fails the test unless the status is want; it decodes the
// body into out when out is not nil.
func (a *api) must(t *testing.T, method, path, token string, body any, want int, out any) {
	t.Helper()
	status, data, err := a.call(context.Background(), method, path, token, body)
	if err != nil {
		t.Fatal(err)
	}
	if status != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, status, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
}

func (a *api) login(t *testing.T, email, password string) string {
	t.Helper()
	var r struct {
		Token string `json:"token"`
	}
	a.must(t, http.MethodPost, "/api/users/login", "", map[string]string{"email": email, "password": password}, http.StatusOK, &r)
	return r.Token
}

// user registers a new user and returns its token.
func (a *api) user(t *testing.T, prefix string) string {
	t.Helper()
	email := fmt.Sprintf("%s-%d@example.com", prefix, time.Now().UnixNano())
	a.must(t, http.MethodPost, "/api/users/register", "", map[string]string{"email": email, "password": "correct horse battery"}, http.StatusCreated, nil)
	return a.login(t, email, "correct horse battery")
}

// admin logs in with the credentials of the Secret the operator generated.
func (a *api) admin(t *testing.T) string {
	t.Helper()
	email := secretKey(t, bookstore+"-admin", "email")
	return a.login(t, email, secretKey(t, bookstore+"-admin", "password"))
}

func secretKey(t *testing.T, secret, key string) string {
	t.Helper()
	enc := kubectl(t, "-n", namespace, "get", "secret", secret, "-o", "jsonpath={.data."+key+"}")
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil || len(dec) == 0 {
		t.Fatalf("secret %s key %s: %q %v", secret, key, enc, err)
	}
	return string(dec)
}

func (a *api) createBook(t *testing.T, admin string, price, amount int) string {
	t.Helper()
	var r struct {
		BookID string `json:"bookId"`
	}
	a.must(t, http.MethodPost, "/api/books", admin, map[string]any{"title": "E2E", "author": "Cluster", "price": price, "amount": amount}, http.StatusCreated, &r)
	return r.BookID
}

func (a *api) stock(t *testing.T, token, book string) int {
	t.Helper()
	var r struct {
		Amount int `json:"amount"`
	}
	a.must(t, http.MethodGet, "/api/books/"+book, token, nil, http.StatusOK, &r)
	return r.Amount
}

func (a *api) balance(t *testing.T, token string) int {
	t.Helper()
	var r struct {
		Balance int `json:"balance"`
	}
	a.must(t, http.MethodGet, "/api/tokens/balance", token, nil, http.StatusOK, &r)
	return r.Balance
}

type orderView struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	FailReason string `json:"failReason"`
	TotalPrice int    `json:"totalPrice"`
}

// final waits until order id is no longer Pending and returns it.
func (a *api) final(t *testing.T, token, id string) orderView {
	t.Helper()
	var o orderView
	eventually(t, "order "+id+" to be final", 60*time.Second, func() bool {
		a.must(t, http.MethodGet, "/api/orders/"+id, token, nil, http.StatusOK, &o)
		return o.Status != "Pending"
	})
	return o
}

// orderWaiting places an order with Prefer: wait=10: answered 201 with the
// decided order, in one request through the entry point.
func (a *api) orderWaiting(t *testing.T, token string, books ...string) orderView {
	t.Helper()
	status, data, err := a.callHeaders(context.Background(), http.MethodPost, "/api/orders", token,
		map[string]any{"bookIds": books}, map[string]string{"Prefer": "wait=10"})
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusCreated {
		t.Fatalf("POST /api/orders with Prefer: wait=10 = %d %s, want 201 with the decided order", status, data)
	}
	var o orderView
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatalf("POST /api/orders: decode %s: %v", data, err)
	}
	return o
}

func (a *api) order(t *testing.T, token string, books ...string) string {
	t.Helper()
	var r struct {
		OrderID string `json:"orderId"`
	}
	a.must(t, http.MethodPost, "/api/orders", token, map[string]any{"bookIds": books}, http.StatusAccepted, &r)
	return r.OrderID
}
