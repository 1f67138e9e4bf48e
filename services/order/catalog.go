package order

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

// CatalogBook is what the order service needs to know about a book.
type CatalogBook struct {
	BookID string `json:"bookId"`
	Price  int64  `json:"price"`
}

// Catalog looks up books by id on behalf of the caller whose bearer token is
// given. Ids it does not return are unknown.
type Catalog interface {
	Books(ctx context.Context, token string, ids []string) (map[string]CatalogBook, error)
}

// HTTPCatalog is the inventory service's GET /api/books?ids=...
type HTTPCatalog struct {
	BaseURL string
	Client  *http.Client
}

// NewHTTPCatalog returns a catalog on the inventory service at baseURL.
func NewHTTPCatalog(baseURL string) *HTTPCatalog {
	return &HTTPCatalog{BaseURL: strings.TrimRight(baseURL, "/"), Client: &http.Client{Timeout: 5 * time.Second}}
}

// Books implements Catalog. An unreachable or failing inventory service is a
// 503 *httpx.Error; a token it rejects, a 401.
func (c *HTTPCatalog) Books(ctx context.Context, token string, ids []string) (map[string]CatalogBook, error) {
	u := c.BaseURL + "/api/books?" + url.Values{"ids": {strings.Join(ids, ",")}, "limit": {fmt.Sprint(len(ids))}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("inventory request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if id := httpx.RequestID(ctx); id != "" {
		req.Header.Set("X-Request-ID", id)
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, httpx.Unavailable("inventory service is unreachable", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, httpx.Unauthorized("token rejected by the inventory service")
	case resp.StatusCode != http.StatusOK:
		return nil, httpx.Unavailable("inventory service failed", fmt.Errorf("GET %s: status %d", u, resp.StatusCode))
	}
	var body struct {
		Items []CatalogBook `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, httpx.Unavailable("inventory service sent a malformed answer", err)
	}
	out := make(map[string]CatalogBook, len(body.Items))
	for _, b := range body.Items {
		out[b.BookID] = b
	}
	return out, nil
}
