package e2e

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookstore-platform/bookstore/internal/gateway"
	"github.com/bookstore-platform/bookstore/internal/platform/apptest"
	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/services/order"
)

// logSink keeps every log line (JSON, debug level) of a run.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimSpace(l.buf.String()), "\n")
}

var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}`)

// Secrets never reach the logs: every line that the four services (with
// Kafka, the outbox and the consumers), the entry point and the default
// logger write at debug level during a full run (admin bootstrap,
// register, a wrong password, login, top-up, a book, an order through the
// saga, a forged token, logout and its revocation event) is checked for
// every JWT issued (and anything shaped like one), every password, the
// PostgreSQL password of the DSNs and the signing key.
func TestSecretsNeverLogged(t *testing.T) {
	sink := &logSink{}
	logger := slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(prev) })

	const dsnPassword = "dsn-secret-Pw-5d1e"
	withDSNPassword := func(_ string, c *config.Config) {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(u.User.Username(), dsnPassword) // trust auth here: accepted and ignored
		c.DatabaseURL = u.String()
	}
	s := newSystemLogged(t, logger, withDSNPassword)
	ups := map[string]string{}
	for _, name := range services {
		ups[name] = s.svc(name).URL
	}
	routes, err := gateway.Routes(ups, true)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(gateway.Handler(routes, logger))
	t.Cleanup(gw.Close)
	entry := &apptest.Server{URL: gw.URL, Client: gw.Client()}

	const password = "user-Secret-pw-77"
	entry.Post(t, "/api/users/register", "", map[string]string{"email": "log@example.com", "password": password}).Expect(t, 201)
	entry.Post(t, "/api/users/login", "", map[string]string{"email": "log@example.com", "password": "wrong-" + password}).Expect(t, 401)
	var li struct{ Token string }
	entry.Post(t, "/api/users/login", "", map[string]string{"email": "log@example.com", "password": password}).Expect(t, 200).JSON(t, &li)
	admin := s.admin()
	book := s.createBook(admin, 3, 5)
	entry.Post(t, "/api/tokens/add", li.Token, map[string]int{"amount": 10}).Expect(t, 200)
	var placed struct{ OrderID string }
	entry.Post(t, "/api/orders", li.Token, map[string]any{"bookIds": []string{book}}).Expect(t, 202).JSON(t, &placed)
	a := account{Token: li.Token}
	if o := s.final(a, placed.OrderID); o.Status != order.StatusCompleted {
		t.Fatalf("order %s, want Completed", o.Status)
	}
	forged := strings.Split(li.Token, ".")
	entry.Get(t, "/api/users/me", forged[0]+"."+forged[1]+".AAAA").Expect(t, 401)
	entry.Post(t, "/api/users/logout", li.Token, nil).Expect(t, 204)
	entry.Post(t, "/api/users/logout", admin.Token, nil).Expect(t, 204)
	eventually(t, "logout revoked in the order service", 30*time.Second, func() bool {
		return s.svc("order").Get(t, "/api/orders", li.Token).Status == 401
	})

	keys := s.env.Keys
	secrets := map[string]string{
		"user token":       li.Token,
		"admin token":      admin.Token,
		"token signature":  forged[2],
		"user password":    password,
		"wrong password":   "wrong-" + password,
		"admin password":   adminPassword,
		"DSN password":     dsnPassword,
		"private key PEM":  string(bytes.TrimSpace(keys.PrivatePEM)),
		"private key seed": base64.StdEncoding.EncodeToString(keys.Private.Seed()),
		"raw private key":  base64.StdEncoding.EncodeToString(keys.Private),
		"PEM marker":       "PRIVATE KEY",
	}
	lines := sink.lines()
	if len(lines) < 20 || !strings.Contains(strings.Join(lines, "\n"), `"msg":"request"`) {
		t.Fatalf("only %d log lines captured, without request logs: the capture is broken", len(lines))
	}
	for i, line := range lines {
		for what, secret := range secrets {
			if strings.Contains(line, secret) {
				t.Errorf("log line %d holds the %s: %s", i, what, line)
			}
		}
		if jwtPattern.MatchString(line) {
			t.Errorf("log line %d holds something shaped like a JWT: %s", i, line)
		}
	}
	t.Logf("%d log lines checked for %d secrets", len(lines), len(secrets))
}
