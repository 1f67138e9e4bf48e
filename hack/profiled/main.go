// Command profiled is any of the four services with net/http/pprof on
// PPROF_ADDR, for profiling under load (docs/benchmarks.md):
//
//	go build -o .cache/dev/bin/order ./hack/profiled   # then run it as the order service
//	BOOKSTORE_SERVICE=order PPROF_ADDR=127.0.0.1:8194 .cache/dev/bin/order
//	go tool pprof -top 'http://127.0.0.1:8194/debug/pprof/profile?seconds=10'
//
// BOOKSTORE_SERVICE names the service (default: the program's file name).
package main

import (
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // the point of this program
	"os"
	"path/filepath"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/services/inventory"
	"github.com/bookstore-platform/bookstore/services/order"
	"github.com/bookstore-platform/bookstore/services/token"
	"github.com/bookstore-platform/bookstore/services/user"
)

func main() {
	if addr := os.Getenv("PPROF_ADDR"); addr != "" {
		go func() {
			if err := http.ListenAndServe(addr, nil); err != nil {
				slog.Error("pprof listener", "err", err)
			}
		}()
	}
	svc := os.Getenv("BOOKSTORE_SERVICE")
	if svc == "" {
		svc = filepath.Base(os.Args[0])
	}
	switch svc {
	case "user":
		app.Main("user", user.Build(user.Options{}), user.Events(eventbus.Config{}))
	case "token":
		app.Main("token", token.Build(), token.Events(eventbus.Config{}))
	case "inventory":
		app.Main("inventory", inventory.Build(inventory.Options{}), inventory.Events(eventbus.Config{}))
	case "order":
		app.Main("order", order.Build(order.Options{}), order.Events(eventbus.Config{}))
	default:
		fmt.Fprintf(os.Stderr, "profiled: unknown service %q (set BOOKSTORE_SERVICE)\n", svc)
		os.Exit(2)
	}
}
