package eventbus_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// TestSagaProgressesWhileRevocationsBlocked: with the service's Redis down,
// a UserLoggedOut waiting on the users topic (its revocation retried) does
// not hold the saga: an OrderCreated published after it is applied at once.
// Once a real redis-server comes up on that address the revocation lands.
func TestSagaProgressesWhileRevocationsBlocked(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not installed")
		}
		t.Skip("redis-server not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // Redis down: nothing listens there yet

	env := apptest.NewEnv(t)
	cfg := env.Config(t, "token")
	cfg.RedisURL = "redis://" + addr + "/0"
	cfg.Kafka = testenv.KafkaConfig(t, 1)
	topics := events.TopicsWithPrefix(testenv.Name(t, "rev") + ".")
	applied := make(chan string, 4)
	spec := eventbus.Participant(topics, "probe", topics.Payments,
		func(ctx context.Context, _ pgx.Tx, e events.OrderCreated) error { applied <- e.OrderID; return nil },
		func(context.Context, pgx.Tx, events.OrderFailed) error { return nil })
	apptest.Start(t, cfg, eventbus.Builder(spec, eventbus.Config{Topics: &topics}))

	prod, err := events.NewProducer(cfg.Kafka, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close(time.Second)
	publish := func(topic, key, typ string, data any) {
		t.Helper()
		e, err := events.New(typ, data)
		if err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, "publish to "+topic, 30*time.Second, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return prod.PublishEvent(ctx, topic, key, e) == nil // the service creates its topics
		})
	}
	const jti = "revoked-while-redis-down"
	user, order := uuid.NewString(), uuid.NewString()
	publish(topics.Users, user, events.TypeUserLoggedOut, events.UserLoggedOut{JTI: jti, UserID: user, ExpiresAt: time.Now().Add(10 * time.Minute)})
	time.Sleep(2 * time.Second) // the revocation consumer has it and is retrying
	publish(topics.Orders, order, events.TypeOrderCreated, events.OrderCreated{OrderID: order, UserID: user,
		Items: []events.OrderItem{{BookID: uuid.NewString(), Price: 1, Quantity: 1}}, TotalPrice: 1})
	select {
	case id := <-applied:
		if id != order {
			t.Fatalf("applied %q, want %s", id, order)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("OrderCreated not applied within 30s while Redis was down: the revocation holds the saga")
	}

	srv := exec.Command(bin, "--port", fmt.Sprint(ln.Addr().(*net.TCPAddr).Port), "--bind", "127.0.0.1", "--save", "", "--dir", t.TempDir())
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	revs := auth.NewRedisRevocations(rdb)
	testenv.Eventually(t, "the revocation applied once Redis is up", 30*time.Second, func() bool {
		ok, err := revs.IsRevoked(context.Background(), jti)
		return err == nil && ok
	})
}
