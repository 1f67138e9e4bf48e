// Command order is the order service: `order` (or `order serve`) runs the
// server, `order migrate` applies its migrations and exits.
package main

import (
	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/retention"
	"github.com/bookstore-platform/bookstore/services/order"
)

func main() {
	app.Main("order", order.Build(order.Options{}), order.Events(eventbus.Config{}), order.Deadlines(order.DeadlineOptions{}), retention.Builder(retention.Inbox, retention.IdempotencyKeys))
}
