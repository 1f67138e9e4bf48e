package gateway

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// notRouted is a path outside every route of the route table.
const notRouted = "/-/gateway-probe"

// Probe checks that the gateway listening on listenAddr answers on loopback: it asks
// for a path outside every route and wants the gateway's own JSON 404. The gateway
// serves no path of its own (no /healthz: nothing but the route table is reachable
// through the entry point), so this is its liveness check.
func Probe(ctx context.Context, listenAddr string, timeout time.Duration) error {
	_, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return fmt.Errorf("probe: listen address %q: %w", listenAddr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort("127.0.0.1", port)+notRouted, nil)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"code":"not_found"`) {
		return fmt.Errorf("probe: status %d %q, want the gateway's JSON 404", resp.StatusCode, body)
	}
	return nil
}
