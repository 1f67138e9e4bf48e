// Command gateway is the single entry point of `make dev` and docker-compose: it routes
// the public paths of charts/bookstore/routes.yaml to the services like the Ingress and
// the HTTPRoutes do (the storefront's / and /assets/ it serves itself, package storefront,
// the same pages the user service serves behind the Ingress), and answers 404 to everything
// else.
//
// Environment: BOOKSTORE_HTTP_ADDR (default :8080), BOOKSTORE_GATEWAY_{USER,TOKEN,
// INVENTORY,ORDER}_URL (defaults: the `make dev` ports 8091..8094 on 127.0.0.1) and
// BOOKSTORE_GATEWAY_DOCS (default true: route each service's Swagger UI and OpenAPI
// document; false in production). `gateway healthcheck` sends the running gateway a
// request outside every route and exits 0 when the gateway's own JSON 404 answers (the
// gateway has no path of its own, and the image has no shell or curl; compose's
// healthcheck runs this).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bookstore-platform/bookstore/internal/gateway"
	"github.com/bookstore-platform/bookstore/internal/platform/httpx"
	"github.com/bookstore-platform/bookstore/internal/storefront"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck())
	}
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: gateway [healthcheck]")
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	if err := run(logger); err != nil {
		logger.Error("gateway stopped", "err", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

func healthcheck() int {
	if err := gateway.Probe(context.Background(), env("BOOKSTORE_HTTP_ADDR", ":8080"), 2*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		return 1
	}
	return 0
}

func run(logger *slog.Logger) error {
	docs, err := strconv.ParseBool(env("BOOKSTORE_GATEWAY_DOCS", "true"))
	if err != nil {
		return fmt.Errorf("BOOKSTORE_GATEWAY_DOCS: want true or false: %w", err)
	}
	routes, err := gateway.Routes(map[string]string{
		"user":      env("BOOKSTORE_GATEWAY_USER_URL", "http://127.0.0.1:8091"),
		"token":     env("BOOKSTORE_GATEWAY_TOKEN_URL", "http://127.0.0.1:8092"),
		"inventory": env("BOOKSTORE_GATEWAY_INVENTORY_URL", "http://127.0.0.1:8093"),
		"order":     env("BOOKSTORE_GATEWAY_ORDER_URL", "http://127.0.0.1:8094"),
	}, docs)
	if err != nil {
		return err
	}
	site, err := storefront.New()
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
		logger.Info("route", "path", rt.Path, "match", rt.Match, "upstream", rt.Upstream.String())
	}
	logger.Info("gateway listening", "addr", ln.Addr().String())
	return httpx.Serve(ctx, httpx.NewServer(storefront.Mount(site, gateway.Handler(routes, logger))), ln, 20*time.Second)
}
