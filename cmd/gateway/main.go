// Command gateway is the single entry point of `make dev` and docker-compose: it routes
// /api/users, /api/tokens, /api/books and /api/orders to the services like the Ingress.
//
// Environment: BOOKSTORE_HTTP_ADDR (default :8080) and BOOKSTORE_GATEWAY_{USER,TOKEN,
// INVENTORY,ORDER}_URL (defaults: the `make dev` ports 8091..8094 on 127.0.0.1).
package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bookstore-platform/bookstore/internal/gateway"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(logger); err != nil {
		logger.Error("gateway stopped", "err", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	env := func(name, def string) string {
		if v := strings.TrimSpace(os.Getenv(name)); v != "" {
			return v
		}
		return def
	}
	routes, err := gateway.Routes(map[string]string{
		"user":      env("BOOKSTORE_GATEWAY_USER_URL", "http://127.0.0.1:8091"),
		"token":     env("BOOKSTORE_GATEWAY_TOKEN_URL", "http://127.0.0.1:8092"),
		"inventory": env("BOOKSTORE_GATEWAY_INVENTORY_URL", "http://127.0.0.1:8093"),
		"order":     env("BOOKSTORE_GATEWAY_ORDER_URL", "http://127.0.0.1:8094"),
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := env("BOOKSTORE_HTTP_ADDR", ":8080")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for _, rt := range routes {
		logger.Info("route", "prefix", rt.Prefix, "upstream", rt.Upstream.String())
	}
	logger.Info("gateway listening", "addr", ln.Addr().String())
	return httpx.Serve(ctx, httpx.NewServer(gateway.Handler(routes, logger)), ln, 20*time.Second)
}
