package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// endpoint returns the address from env, else from a shared container, else skips.
func endpoint(t testing.TB, what, env string, s *shared[string], start func(context.Context) (string, error)) string {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		return v
	}
	if !dockerAvailable() {
		missing(t, what, env+" is not set and no Docker engine answers")
	}
	v, err := s.get(start)
	if err != nil {
		t.Fatalf("%s container: %v", what, err)
	}
	return v
}

// Postgres returns the DSN of a fresh, empty database created for this test and dropped
// (with its connections) when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := endpoint(t, "PostgreSQL", EnvPostgres, &pgContainer, startPostgresContainer)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connecting to PostgreSQL at %s: %v", redact(admin), err)
	}
	defer conn.Close(ctx)
	name := Name(t, "t")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("dropping database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parsing %s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Redis returns redis://host:port/N with a database index of its own for this test
// (indexes 1..15 are handed out round robin across all test processes, through a counter
// kept in database 0).
func Redis(t testing.TB) string {
	t.Helper()
	addr := endpoint(t, "Redis", EnvRedis, &rdContainer, startRedisContainer)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	n, err := c.Incr(ctx, "testenv:next-db").Result()
	if err != nil {
		t.Fatalf("connecting to Redis at %s: %v", addr, err)
	}
	return fmt.Sprintf("redis://%s/%d", addr, 1+n%15)
}

// Kafka returns the bootstrap servers of a real Kafka broker (KRaft, topic auto-creation off).
// Use Name for topics and consumer groups so tests do not see each other's messages.
func Kafka(t testing.TB) string {
	t.Helper()
	return endpoint(t, "Kafka", EnvKafka, &kfkContainer, startKafkaContainer)
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "<dsn>"
	}
	return strings.Replace(u.Redacted(), "xxxxx", "***", 1)
}
