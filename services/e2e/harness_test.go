package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bookstore-platform/bookstore/internal/platform/app"
	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/internal/platform/eventbus"
	"github.com/bookstore-platform/bookstore/internal/platform/events"
	"github.com/bookstore-platform/bookstore/internal/platform/events/eventstest"
	"github.com/bookstore-platform/bookstore/internal/storefront"
	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/services/inventory"
	"github.com/bookstore-platform/bookstore/services/order"
	"github.com/bookstore-platform/bookstore/services/token"
	"github.com/bookstore-platform/bookstore/services/user"
)

var services = []string{"user", "token", "inventory", "order"}

const (
	adminEmail    = "admin@bookstore.test"
	adminPassword = "admin-password"
)

// system is the four services in process, each on its own database, all on
// one Kafka with topics private to the test.
type system struct {
	t      *testing.T
	env    *apptest.Env
	topics events.Topics
	kafka  config.Kafka
	cfg    map[string]config.Config
	addr   map[string]string // fixed listen address per service, kept across restarts
	ln     map[string]net.Listener
	mu     sync.Mutex
	procs  map[string]*proc
	pools  map[string]*pgxpool.Pool
	logger *slog.Logger // nil: apptest.Logger
}

// proc is one running service.
type proc struct {
	*apptest.Server
	app    *app.App
	srv    *httptest.Server
	cancel context.CancelFunc
	exited chan struct{} // closed when the workers returned; err is then set
	once   sync.Once
	err    error
}

// option adjusts one service's configuration before start.
type option func(service string, c *config.Config)

// withRedis gives service a Redis database of its own: revocations reach
// it only through the UserLoggedOut event.
func withRedis(service, url string) option {
	return func(s string, c *config.Config) {
		if s == service {
			c.RedisURL = url
		}
	}
}

func newSystem(t *testing.T, opts ...option) *system {
	t.Helper()
	return newSystemLogged(t, nil, opts...)
}

// newSystemLogged is newSystem with every service logging to logger.
func newSystemLogged(t *testing.T, logger *slog.Logger, opts ...option) *system {
	t.Helper()
	s := &system{
		logger: logger,
		t:      t,
		env:    apptest.NewEnv(t),
		topics: events.TopicsWithPrefix(testenv.Name(t, "e2e") + "."),
		kafka:  testenv.KafkaConfig(t, 3),
		cfg:    map[string]config.Config{},
		addr:   map[string]string{},
		ln:     map[string]net.Listener{},
		procs:  map[string]*proc{},
		pools:  map[string]*pgxpool.Pool{},
	}
	// Each service talks to Kafka as its own user, bound by the production
	// ACLs (kafkaacl.Table) for this run's prefixed topics; the test itself
	// is the super user. Without authentication (the Docker fallback) all
	// use the same anonymous settings.
	if s.kafka.SASLUsername != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := events.ApplyACLs(ctx, s.kafka, s.topics.Prefix); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range services {
		c := s.env.Config(t, name)
		c.Kafka = s.kafka
		if s.kafka.SASLUsername != "" {
			c.Kafka = testenv.KafkaServiceConfig(t, name, 3)
		}
		if name == "user" {
			c.AdminEmail, c.AdminPassword = adminEmail, adminPassword
		}
		for _, o := range opts {
			o(name, &c)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.addr[name] = ln.Addr().String()
		s.ln[name] = ln // held until the first start: no other process can take the port
		s.cfg[name] = c
		pool, err := pgxpool.New(context.Background(), c.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		s.pools[name] = pool
	}
	inv := s.cfg["order"]
	inv.InventoryURL = "http://" + s.addr["inventory"]
	s.cfg["order"] = inv
	for _, name := range services {
		s.start(name, nil)
	}
	t.Cleanup(func() {
		for _, name := range services {
			_ = s.stop(name) // best effort: the test is over
		}
	})
	s.waitReady()
	return s
}

func (s *system) builders(name string, c eventbus.Config) []app.Builder {
	switch name {
	case "user":
		return []app.Builder{user.Build(user.Options{Topics: &s.topics, BcryptCost: 4}), user.Events(c), storefront.Build()}
	case "token":
		return []app.Builder{token.Build(), token.Events(c)}
	case "inventory":
		return []app.Builder{inventory.Build(inventory.Options{Topics: &s.topics}), inventory.Events(c)}
	default:
		return []app.Builder{order.Build(order.Options{Topics: &s.topics}), order.Events(c)}
	}
}

// start runs service name; afterCommit, if set, is its consumer's crash
// hook.
func (s *system) start(name string, afterCommit func(context.Context, events.Envelope) error) *proc {
	t := s.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ec := eventbus.Config{Topics: &s.topics, AfterCommit: afterCommit}
	logger := s.logger
	if logger == nil {
		logger = apptest.Logger(t)
	}
	a, err := app.New(ctx, s.cfg[name], logger, s.builders(name, ec)...)
	if err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	ln := s.ln[name]
	delete(s.ln, name)
	for i := 0; ln == nil; i++ {
		ln, err = net.Listen("tcp", s.addr[name])
		if err == nil {
			break
		}
		if i == 50 {
			t.Fatalf("listen %s on %s: %v", name, s.addr[name], err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	p := &proc{
		Server: &apptest.Server{URL: srv.URL, App: a, Client: srv.Client()},
		app:    a, srv: srv, cancel: cancel, exited: make(chan struct{}),
	}
	go func() {
		p.err = a.RunWorkers(ctx)
		close(p.exited)
	}()
	s.mu.Lock()
	s.procs[name] = p
	s.mu.Unlock()
	return p
}

// stop shuts service name down (if running) and returns its workers' error.
func (s *system) stop(name string) error {
	s.mu.Lock()
	p := s.procs[name]
	delete(s.procs, name)
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	p.once.Do(func() {
		p.srv.Close()
		p.cancel()
		select {
		case <-p.exited:
		case <-time.After(30 * time.Second):
			s.t.Errorf("%s: workers did not stop", name)
			return
		}
		p.app.Close()
	})
	select {
	case <-p.exited:
		return p.err
	default:
		return errors.New("workers did not stop")
	}
}

// crashed waits until service name's workers died on their own (without
// being stopped), like a process exiting, and returns why.
func (s *system) crashed(name string) error {
	s.t.Helper()
	s.mu.Lock()
	p := s.procs[name]
	s.mu.Unlock()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(30 * time.Second):
		s.t.Fatalf("%s did not die", name)
		return nil
	}
}

func (s *system) svc(name string) *apptest.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procs[name]
	if p == nil {
		s.t.Fatalf("%s is not running", name)
	}
	return p.Server
}

// waitReady waits until every running service's /readyz is 200 (database,
// Redis, Kafka and its topics).
func (s *system) waitReady() {
	s.t.Helper()
	for _, name := range services {
		s.mu.Lock()
		p := s.procs[name]
		s.mu.Unlock()
		if p == nil {
			continue
		}
		eventually(s.t, name+" ready", 60*time.Second, func() bool {
			resp, err := p.Client.Get(p.URL + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
}

// ---- API helpers ----

type account struct {
	ID    string
	Email string
	Token string
}

func (s *system) register(email string) account {
	t := s.t
	t.Helper()
	u := s.svc("user")
	var reg struct {
		UserID string `json:"userId"`
	}
	u.Post(t, "/api/users/register", "", map[string]string{"email": email, "password": "password-123"}).Expect(t, http.StatusCreated).JSON(t, &reg)
	a := s.login(email, "password-123")
	a.ID = reg.UserID
	return a
}

func (s *system) login(email, password string) account {
	t := s.t
	t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	s.svc("user").Post(t, "/api/users/login", "", map[string]string{"email": email, "password": password}).Expect(t, http.StatusOK).JSON(t, &out)
	var me struct {
		UserID string `json:"userId"`
	}
	s.svc("user").Get(t, "/api/users/me", out.Token).Expect(t, http.StatusOK).JSON(t, &me)
	return account{ID: me.UserID, Email: email, Token: out.Token}
}

func (s *system) admin() account { return s.login(adminEmail, adminPassword) }

func (s *system) createBook(admin account, price, amount int64) string {
	t := s.t
	t.Helper()
	var out struct {
		BookID string `json:"bookId"`
	}
	s.svc("inventory").Post(t, "/api/books", admin.Token, map[string]any{
		"title": "The Go Programming Language", "author": "Donovan & Kernighan", "price": price, "amount": amount,
	}).Expect(t, http.StatusCreated).JSON(t, &out)
	return out.BookID
}

func (s *system) stock(tok, bookID string) int64 {
	t := s.t
	t.Helper()
	var b struct {
		Amount int64 `json:"amount"`
	}
	s.svc("inventory").Get(t, "/api/books/"+bookID, tok).Expect(t, http.StatusOK).JSON(t, &b)
	return b.Amount
}

func (s *system) topUp(a account, amount int64) {
	s.t.Helper()
	s.svc("token").Post(s.t, "/api/tokens/add", a.Token, map[string]int64{"amount": amount}).Expect(s.t, http.StatusOK)
}

func (s *system) balance(a account) int64 {
	t := s.t
	t.Helper()
	var b struct {
		Balance int64 `json:"balance"`
	}
	s.svc("token").Get(t, "/api/tokens/balance", a.Token).Expect(t, http.StatusOK).JSON(t, &b)
	return b.Balance
}

func (s *system) placeOrder(a account, bookIDs ...string) string {
	t := s.t
	t.Helper()
	var out struct {
		OrderID string `json:"orderId"`
		Status  string `json:"status"`
	}
	s.svc("order").Post(t, "/api/orders", a.Token, map[string]any{"bookIds": bookIDs}).Expect(t, http.StatusAccepted).JSON(t, &out)
	if out.Status != order.StatusPending {
		t.Fatalf("new order status %q, want Pending", out.Status)
	}
	return out.OrderID
}

func (s *system) order(a account, id string) order.Order {
	t := s.t
	t.Helper()
	var o order.Order
	s.svc("order").Get(t, "/api/orders/"+id, a.Token).Expect(t, http.StatusOK).JSON(t, &o)
	return o
}

// final polls the order until it leaves Pending.
func (s *system) final(a account, id string) order.Order {
	s.t.Helper()
	var o order.Order
	eventually(s.t, "order "+id+" final", 30*time.Second, func() bool {
		o = s.order(a, id)
		return o.Status != order.StatusPending
	})
	return o
}

// count runs a count(*) style query on service's database.
func (s *system) scalar(service, sql string, args ...any) int64 {
	s.t.Helper()
	var n int64
	if err := s.pools[service].QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %s: %v", service, sql, err)
	}
	return n
}

// ---- Kafka helpers ----

func (s *system) producer() *events.Producer {
	s.t.Helper()
	p, err := events.NewProducer(s.kafka, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { p.Close(5 * time.Second) })
	return p
}

// messages reads every message currently on topics (waiting up to wait
// for stragglers) with a throwaway consumer group.
func (s *system) messages(wait time.Duration, topics ...string) []*kafka.Message {
	t := s.t
	t.Helper()
	c := eventstest.Reader(t, s.kafka, topics...)
	defer c.Close()
	var out []*kafka.Message
	// The quiet window starts once the reader's group has its partitions:
	// joining the group alone can take over a second on a loaded machine.
	for joining := time.Now().Add(30 * time.Second); time.Now().Before(joining); {
		if m, err := c.ReadMessage(100 * time.Millisecond); err == nil {
			out = append(out, m)
			break
		}
		if a, err := c.Assignment(); err == nil && len(a) > 0 {
			break
		}
	}
	quiet := time.Now().Add(wait)
	for time.Now().Before(quiet) {
		m, err := c.ReadMessage(100 * time.Millisecond)
		if err != nil {
			continue
		}
		out = append(out, m)
		if until := time.Now().Add(time.Second); until.After(quiet) {
			quiet = until
		}
	}
	return out
}

var (
	header     = eventstest.Header
	eventually = testenv.Eventually
)

func describe(m *kafka.Message) string {
	return fmt.Sprintf("%s key=%s %s", *m.TopicPartition.Topic, m.Key, strings.TrimSpace(string(m.Value)))
}

func separateRedis(t *testing.T) string { return testenv.Redis(t) }

func apptestRequest(method, path, token string) apptest.Request {
	return apptest.Request{Method: method, Path: path, Token: token}
}

// metric sums the samples of a counter family on service's /metrics whose
// labels contain every one of match (e.g. `outcome="duplicate"`).
func (s *system) metric(service, family string, match ...string) float64 {
	t := s.t
	t.Helper()
	body := string(s.svc(service).Get(t, "/metrics", "").Expect(t, http.StatusOK).Body)
	var sum float64
lines:
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, family+"{") && !strings.HasPrefix(line, family+" ") {
			continue
		}
		for _, m := range match {
			if !strings.Contains(line, m) {
				continue lines
			}
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			sum += v
		}
	}
	return sum
}

func decodeJSON(resp *http.Response, v any) error {
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decode %s response: %w", resp.Request.URL.Path, err)
	}
	return nil
}
