package eventbus_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

func readyz(t *testing.T, url string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body.Checks
}

// TestKafkaDownAtStart: a service whose Kafka is unreachable starts, serves,
// reports "kafka" not ready instead of crashing, and still stops promptly.
func TestKafkaDownAtStart(t *testing.T) {
	env := apptest.NewEnv(t)
	cfg := env.Config(t, "token")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Kafka.Brokers = []string{ln.Addr().String()}
	ln.Close()
	topics := events.TopicsWithPrefix(testenv.Name(t, "bus") + ".")
	spec := eventbus.Spec{Service: "probe", Produces: []string{topics.Payments}, Consumes: []string{topics.Users}}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, apptest.Logger(t), eventbus.Builder(spec, eventbus.Config{Topics: &topics}))
	if err != nil {
		t.Fatalf("start with Kafka down: %v", err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	done := make(chan error, 1)
	go func() { done <- a.RunWorkers(ctx) }()

	status, checks := readyz(t, srv.URL)
	if status != http.StatusServiceUnavailable || checks["kafka"] == "ok" || checks["database"] != "ok" {
		t.Errorf("readyz = %d %v, want 503 with kafka failing and the database ok", status, checks)
	}
	time.Sleep(time.Second) // let it retry a few times
	select {
	case err := <-done:
		t.Fatalf("workers gave up while Kafka was down: %v", err)
	default:
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("workers stopped with %v", err)
		}
		if d := time.Since(start); d > 12*time.Second {
			t.Errorf("workers took %s to stop", d)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("workers did not stop")
	}
}

// TestReadyOnceTopicsExist: with Kafka up, the service becomes ready only
// after its topics were created.
func TestReadyOnceTopicsExist(t *testing.T) {
	env := apptest.NewEnv(t)
	cfg := env.Config(t, "token")
	cfg.Kafka = testenv.KafkaConfig(t, 1)
	topics := events.TopicsWithPrefix(testenv.Name(t, "bus") + ".")
	spec := eventbus.Spec{Service: "probe", Produces: []string{topics.Payments}, Consumes: []string{topics.Users}}
	srv := apptest.Start(t, cfg, eventbus.Builder(spec, eventbus.Config{Topics: &topics}))
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, checks := readyz(t, srv.URL)
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 30s: %v", checks)
		}
		if c := checks["kafka"]; c != "ok" && !strings.Contains(c, "topics") && !strings.Contains(c, "kafka") {
			t.Errorf("unexpected kafka check %q", c)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p, err := events.NewProducer(cfg.Kafka, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(time.Second)
	for _, topic := range []string{topics.Payments, topics.Users, topics.DeadLetters} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := p.Publish(ctx, topic, "k", []byte("{}"), nil); err != nil {
			t.Errorf("topic %s was not created: %v", topic, err)
		}
		cancel()
	}
}
