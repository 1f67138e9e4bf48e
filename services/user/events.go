package user

import (
	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
)

// Events returns the app builder of the user service's event machinery: the
// outbox relay publishing UserLoggedOut on the users topic, and the
// UserLoggedOut consumer every service runs (so that a revocation reaches
// this service's Redis even when logout was served by another replica with
// another Redis).
func Events(c eventbus.Config) app.Builder {
	topics := c.TopicsOf()
	return eventbus.Builder(eventbus.Spec{
		Service:  "user",
		Produces: []string{topics.Users},
		Consumes: []string{topics.Users},
	}, c)
}
