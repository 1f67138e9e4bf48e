// Command token is the token service: `token` (or `token serve`) runs the
// server, `token migrate` applies its migrations and exits.
package main

import (
	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/retention"
	"github.com/bookstore-platform/bookstore/services/token"
)

func main() {
	app.Main("token", token.Build(), token.Events(eventbus.Config{}), retention.Builder(retention.Inbox, retention.IdempotencyKeys))
}
