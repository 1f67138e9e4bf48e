// Command inventory is the inventory service: `inventory` (or `inventory
// serve`) runs the server, `inventory migrate` applies its migrations and
// exits.
package main

import (
	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/retention"
	"github.com/bookstore-platform/bookstore/services/inventory"
)

func main() {
	app.Main("inventory", inventory.Build(inventory.Options{}), inventory.Events(eventbus.Config{}), retention.Builder(retention.Inbox))
}
