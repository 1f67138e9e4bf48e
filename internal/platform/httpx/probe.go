package httpx

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Probe asks the server listening on listenAddr (":8080", "127.0.0.1:8091") for path on
// loopback and returns nil when it answers 200 within the timeout. Container images have
// no shell or curl, so `<binary> healthcheck` (docker-compose's healthcheck) runs this.
func Probe(ctx context.Context, listenAddr, path string, timeout time.Duration) error {
	_, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return fmt.Errorf("probe: listen address %q: %w", listenAddr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort("127.0.0.1", port)+path, nil)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: status %d", path, resp.StatusCode)
	}
	return nil
}
