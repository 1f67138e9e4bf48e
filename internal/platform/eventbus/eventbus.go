// Package eventbus plugs the event platform into a service process (package
// app): it ensures the service's topics, runs its outbox relay and its inbox
// consumer as one app worker, consumes UserLoggedOut into the Redis
// revocation store in every service (a consumer and group of its own, apart
// from the saga's), and adds a Kafka readiness check.
package eventbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/platform/kafkaacl"
)

// Config is what a deployment or a test may tune; the zero value is
// production.
type Config struct {
	// Topics names the topics (default events.DefaultTopics()). Tests use
	// events.TopicsWithPrefix so runs sharing a broker stay apart; the
	// prefix also prefixes the consumer group.
	Topics *events.Topics
	// Relay tunes the outbox relay.
	Relay events.RelayOptions
	// Concurrency overrides the service's consumer concurrency (see
	// Spec.Concurrency) when positive.
	Concurrency int
	// AfterCommit is the consumer's crash hook (see
	// events.ConsumerOptions.AfterCommit); tests only.
	AfterCommit func(ctx context.Context, env events.Envelope) error
}

// TopicsOf returns c.Topics or the defaults.
func (c Config) TopicsOf() events.Topics {
	if c.Topics != nil {
		return *c.Topics
	}
	return events.DefaultTopics()
}

// Spec is what a service declares: its name (the inbox consumer and the
// consumer group), the topics it produces to and consumes, and its
// handlers. A service that consumes the users topic gets a second consumer
// for it, "<service>.revocations" (its own group and inbox name), applying
// UserLoggedOut to its Redis: so a Redis outage stalls only revocations,
// never the saga.
type Spec struct {
	Service  string
	Produces []string
	Consumes []string
	Handlers map[string]events.Handler
	// Concurrency is how many consumer workers apply batches in parallel
	// (default 1). More than one is only safe when batches of different
	// partitions never lock the same rows (see events.ConsumerOptions).
	Concurrency int
}

// Participant is the spec of a service that takes one step of the order
// saga: it does its step on OrderCreated and compensates it on OrderFailed
// (both from the orders topic), consumes logouts, and publishes its outcomes
// on produces.
func Participant(topics events.Topics, service, produces string,
	do func(ctx context.Context, tx pgx.Tx, e events.OrderCreated) error,
	undo func(ctx context.Context, tx pgx.Tx, e events.OrderFailed) error,
) Spec {
	return Spec{
		Service:  service,
		Produces: []string{produces},
		Consumes: []string{topics.Orders, topics.Users},
		Handlers: map[string]events.Handler{
			events.TypeOrderCreated: events.On(do),
			events.TypeOrderFailed:  events.On(undo),
		},
	}
}

// AllHandlers returns every handler of spec's consumers by event type: its
// own (its saga consumer's) and, when it consumes the users topic, the
// revocations consumer's RevokeOnLogout(r). The fuzz targets use it.
func (spec Spec) AllHandlers(topics events.Topics, r Revoker) map[string]events.Handler {
	handlers := make(map[string]events.Handler, len(spec.Handlers)+1)
	for t, h := range spec.Handlers {
		handlers[t] = h
	}
	for _, t := range spec.Consumes {
		if t == topics.Users {
			handlers[events.TypeUserLoggedOut] = RevokeOnLogout(r)
		}
	}
	return handlers
}

// Builder returns the app builder adding the event machinery of spec.
func Builder(spec Spec, c Config) app.Builder {
	return func(ctx context.Context, d app.Deps) (app.Service, error) {
		topics := c.TopicsOf()
		log := d.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		m, err := events.NewMetrics(d.Metrics.Registry)
		if err != nil {
			return app.Service{}, fmt.Errorf("event metrics: %w", err)
		}
		prod, err := events.NewProducer(d.Config.Kafka, log)
		if err != nil {
			return app.Service{}, err
		}
		// The saga's topics and the users topic have consumers of their own: a
		// Redis outage holds the revocations (retried until Redis is back),
		// never OrderCreated/OrderFailed (issue 13).
		var sagaTopics []string
		revocations := false
		for _, t := range spec.Consumes {
			if t == topics.Users {
				revocations = true
			} else {
				sagaTopics = append(sagaTopics, t)
			}
		}
		concurrency := spec.Concurrency
		if c.Concurrency > 0 {
			concurrency = c.Concurrency
		}
		var consumers []*events.Consumer
		newConsumer := func(name, group string, topics []string, handlers map[string]events.Handler, conc int) error {
			cons, err := events.NewConsumer(d.Config.Kafka, d.Pool, prod, log, m, events.ConsumerOptions{
				Name:            name,
				GroupID:         group,
				Topics:          topics,
				Handlers:        handlers,
				DeadLetterTopic: c.TopicsOf().DeadLetters,
				Concurrency:     conc,
				AfterCommit:     c.AfterCommit,
			})
			if err == nil {
				consumers = append(consumers, cons)
			}
			return err
		}
		if len(sagaTopics) > 0 {
			err = newConsumer(spec.Service, topics.Prefix+spec.Service, sagaTopics, spec.Handlers, concurrency)
		}
		if err == nil && revocations {
			err = newConsumer(spec.Service+RevocationsSuffix, topics.Prefix+spec.Service+RevocationsSuffix, []string{topics.Users},
				map[string]events.Handler{events.TypeUserLoggedOut: RevokeOnLogout(d.Revocations)}, 1)
		}
		if err != nil {
			prod.Close(0)
			return app.Service{}, err
		}
		relay := events.NewRelay(d.Pool, prod, log, m, c.Relay)
		ensure := append(append([]string{topics.DeadLetters}, spec.Produces...), spec.Consumes...)

		var topicsReady atomic.Bool
		run := func(ctx context.Context) error {
			// Topics first: relay and consumer need them. Kafka being down
			// at start is retried, not fatal; /readyz says so meanwhile.
			b := events.NewBackoff(200*time.Millisecond, 5*time.Second)
			for {
				err := prod.EnsureTopics(ctx, d.Config.Kafka, ensure...)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return nil
				}
				wait := b.Next()
				log.Warn("ensure topics failed, retrying", "err", err, "backoff", wait)
				if !events.Sleep(ctx, wait) {
					return nil
				}
			}
			topicsReady.Store(true)
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, 1+len(consumers))
			wg.Go(func() { errs <- relay.Run(ctx) })
			for _, consumer := range consumers {
				wg.Go(func() {
					err := consumer.Run(ctx)
					if err != nil {
						cancel() // a consumer died: take the others down with it, like a process crash
					}
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			var all []error
			for err := range errs {
				all = append(all, err)
			}
			return errors.Join(all...)
		}
		return app.Service{
			Workers: map[string]app.Worker{"events": run},
			Checks: map[string]app.Check{
				"kafka": func(ctx context.Context) error {
					if err := prod.Ready(ctx); err != nil {
						return err
					}
					if !topicsReady.Load() {
						return errors.New("topics not ensured yet")
					}
					return nil
				},
			},
			Close: func() { prod.Close(5 * time.Second) },
		}, nil
	}
}

// RevocationsSuffix names the users-topic consumer of a service (and its
// consumer group): "<service>.revocations".
const RevocationsSuffix = kafkaacl.RevocationsSuffix

// Revoker records a revoked token id until its expiry.
type Revoker interface {
	Revoke(ctx context.Context, jti string, expiresAt time.Time) error
}

// RevokeOnLogout is the UserLoggedOut handler of every service: it writes
// the revocation into this service's Redis (idempotent; a Redis failure is
// retried).
func RevokeOnLogout(r Revoker) events.Handler {
	return events.On(func(ctx context.Context, _ pgx.Tx, e events.UserLoggedOut) error {
		if err := r.Revoke(ctx, e.JTI, e.ExpiresAt); err != nil {
			return fmt.Errorf("revoke %s: %w", e.JTI, err)
		}
		return nil
	})
}
