// Command user is the user service: `user` (or `user serve`) runs the
// server, `user migrate` applies its migrations and exits. It also serves the
// storefront page at / and /assets/ (package storefront), which the entry points
// route to it.
package main

import (
	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/retention"
	"github.com/bookstore-platform/bookstore/internal/storefront"
	"github.com/bookstore-platform/bookstore/services/user"
)

func main() {
	app.Main("user", user.Build(user.Options{}), user.Events(eventbus.Config{}), storefront.Build(), retention.Builder(retention.Inbox))
}
