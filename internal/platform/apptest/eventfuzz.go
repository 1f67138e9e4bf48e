package apptest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/database"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// EventSeed is a well-formed message of type typ carrying data, for a fuzz
// corpus.
func EventSeed(f *testing.F, typ string, data any) {
	f.Helper()
	env, err := events.New(typ, data)
	if err != nil {
		f.Fatal(err)
	}
	b, err := env.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

// HostileEvents are message values every consumer fuzz target starts from.
var HostileEvents = []string{
	"", "null", "[]", "{}", `{"id":"x"}`, `{"type":"OrderCreated"}`,
	`{"id":"1","type":"OrderCreated","data":null}`,
	`{"id":"1","type":"OrderCreated","data":"x"}`,
	`{"id":"1","type":"OrderFailed","data":{"orderId":"\u0000"}}`,
	`{"id":"1","type":"StockRejected","data":{"orderId":"0190a9b6-7c1e-7b3a-9f3e-2a8d7c6b5a41","reason":"\u0000"}}`,
	`{"id":"1","type":"OrderCreated","data":{"orderId":"0190a9b6-7c1e-7b3a-9f3e-2a8d7c6b5a41","userId":"0190a9b6-7c1e-7b3a-9f3e-2a8d7c6b5a42",` +
		`"items":[{"bookId":"0190a9b6-7c1e-7b3a-9f3e-2a8d7c6b5a43","price":9223372036854775807,"quantity":9223372036854775807}],"totalPrice":9223372036854775807}}`,
	`{"id":"1","type":"UserLoggedOut","data":{"jti":"j","userId":"u","expiresAt":"9999-12-31T23:59:59Z"}}`,
	`{"id":"1","type":"UserLoggedOut","data":{"jti":"j","userId":"u","expiresAt":"0001-01-01T00:00:00Z"}}`,
}

// FuzzConsumer is the body of a consumer's fuzz target: it feeds each
// message value to the consumer's handlers (eventbus.Spec.AllHandlers) as
// the inbox consumer does (events.Parse, then the handler of its type in a
// transaction on the service's real, migrated database, rolled back) and
// fails unless every value is applied, ignored (no handler) or refused
// with a permanent error, which the consumer dead-letters. A transient
// error on a hostile value would be retried forever and block its
// partition; a panic would crash the service.
func FuzzConsumer(f *testing.F, service string, spec eventbus.Spec, topics events.Topics) {
	f.Helper()
	for _, v := range HostileEvents {
		f.Add([]byte(v))
	}
	ctx := context.Background()
	pool, err := database.Open(ctx, MigratedDatabase(f, service))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(pool.Close)
	opts, err := redis.ParseURL(testenv.Redis(f))
	if err != nil {
		f.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	f.Cleanup(func() { _ = rdb.Close() })
	handlers := spec.AllHandlers(topics, auth.NewRedisRevocations(rdb))
	f.Fuzz(func(t *testing.T, value []byte) {
		env, err := events.Parse(value)
		if err != nil {
			if !events.IsPermanent(err) {
				t.Fatalf("Parse error is not permanent: %v", err)
			}
			return
		}
		h, ok := handlers[env.Type]
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		if err := h(ctx, tx, env); err != nil && !events.IsPermanent(err) {
			data, _ := json.Marshal(env)
			t.Fatalf("%s handler: transient error on a hostile event (retried forever): %v\nevent: %s", env.Type, err, data)
		}
	})
}
