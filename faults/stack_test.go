//go:build faults

package faults

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var discard = slog.New(slog.DiscardHandler)

var serviceNames = []string{"user", "token", "inventory", "order"}

const (
	adminEmail    = "admin@faults.local"
	adminPassword = "faults-admin-password"
)

// stack is the running system: servers (from the env file of
// hack/servers.sh start faults), the services and the gateway.
type stack struct {
	root, binDir, logDir string
	pgURL, redisAddr     string
	kafka                string
	procs                map[string]*proc
	dbs                  map[string]*pgxpool.Pool // the harness's own pools, for the invariants
	gateway              string
}

func (s *stack) dbURL(svc string) string {
	return strings.Replace(s.pgURL, "/postgres?", "/bookstore_"+svc+"?", 1)
}

// newStack creates the databases, applies the migrations with the binaries
// (`<svc> migrate`) and starts the services and the gateway.
func newStack(ctx context.Context, t *testing.T, root, binDir string, portBase int) *stack {
	t.Helper()
	s := &stack{
		root: root, binDir: binDir, logDir: filepath.Join(root, ".cache", "faults", "logs"),
		pgURL: os.Getenv("BOOKSTORE_TEST_POSTGRES_URL"), redisAddr: os.Getenv("BOOKSTORE_TEST_REDIS_ADDR"),
		kafka: os.Getenv("BOOKSTORE_TEST_KAFKA_BROKERS"), procs: map[string]*proc{}, dbs: map[string]*pgxpool.Pool{},
	}
	if s.pgURL == "" || s.redisAddr == "" || s.kafka == "" {
		t.Fatal("no servers: run `bash hack/faults.sh` (make faults), which starts them with hack/servers.sh start faults")
	}
	if err := os.RemoveAll(s.logDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	priv, pub := jwtKeys(t)
	admin, err := pgx.Connect(ctx, s.pgURL)
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	ports := map[string]int{"gateway": portBase, "user": portBase + 11, "token": portBase + 12, "inventory": portBase + 13, "order": portBase + 14}
	url := func(name string) string { return fmt.Sprintf("http://127.0.0.1:%d", ports[name]) }
	common := []string{
		"BOOKSTORE_REDIS_URL=redis://" + s.redisAddr + "/0",
		"BOOKSTORE_KAFKA_BROKERS=" + s.kafka,
		"BOOKSTORE_JWT_PUBLIC_KEY_FILE=" + pub,
		"BOOKSTORE_ADMIN_EMAIL=" + adminEmail,
		"BOOKSTORE_ADMIN_PASSWORD=" + adminPassword,
		"BOOKSTORE_INVENTORY_URL=" + url("inventory"),
		"BOOKSTORE_TRUSTED_PROXIES=127.0.0.1",
		"BOOKSTORE_LOGIN_LIMIT_CLIENT=1000/1m",
		"BOOKSTORE_REGISTER_LIMIT_CLIENT=1000/1m",
		// No load balancer takes the endpoint out during the delay; keep it short.
		"BOOKSTORE_SHUTDOWN_DELAY=1s",
	}
	for _, svc := range serviceNames {
		db := "bookstore_" + svc
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
			t.Fatalf("drop %s: %v", db, err)
		}
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
			t.Fatalf("create %s: %v", db, err)
		}
		env := append(append([]string{}, common...), "BOOKSTORE_DATABASE_URL="+s.dbURL(svc), "BOOKSTORE_HTTP_ADDR="+strings.TrimPrefix(url(svc), "http://"))
		// Its own Kafka user (hack/servers.sh made it and its ACLs).
		env = append(env, "BOOKSTORE_KAFKA_SASL_USERNAME="+svc,
			"BOOKSTORE_KAFKA_SASL_PASSWORD="+os.Getenv("BOOKSTORE_TEST_KAFKA_"+strings.ToUpper(svc)+"_PASSWORD"))
		if svc == "user" {
			env = append(env, "BOOKSTORE_JWT_PRIVATE_KEY_FILE="+priv)
		}
		p := &proc{name: svc, bin: filepath.Join(binDir, svc), url: url(svc), readyPath: "/readyz", env: env,
			logPath: filepath.Join(s.logDir, svc+".log")}
		mig := exec.CommandContext(ctx, p.bin, "migrate")
		mig.Env = append(os.Environ(), env...)
		if out, err := mig.CombinedOutput(); err != nil {
			t.Fatalf("%s migrate: %v\n%s", svc, err, out)
		}
		s.procs[svc] = p
		pool, err := pgxpool.New(ctx, s.dbURL(svc))
		if err != nil {
			t.Fatalf("pool %s: %v", svc, err)
		}
		s.dbs[svc] = pool
	}
	s.procs["gateway"] = &proc{name: "gateway", bin: filepath.Join(binDir, "gateway"), url: url("gateway"), readyPath: "/",
		logPath: filepath.Join(s.logDir, "gateway.log"), env: []string{
			"BOOKSTORE_HTTP_ADDR=127.0.0.1:" + fmt.Sprint(ports["gateway"]),
			"BOOKSTORE_GATEWAY_USER_URL=" + url("user"), "BOOKSTORE_GATEWAY_TOKEN_URL=" + url("token"),
			"BOOKSTORE_GATEWAY_INVENTORY_URL=" + url("inventory"), "BOOKSTORE_GATEWAY_ORDER_URL=" + url("order"),
		}}
	s.gateway = url("gateway")
	t.Cleanup(func() {
		for _, p := range s.procs {
			if p.alive() {
				_ = p.cmd.Process.Kill()
			}
		}
		for _, db := range s.dbs {
			db.Close()
		}
	})
	for _, name := range append(append([]string{}, serviceNames...), "gateway") {
		s.procs[name].start(t)
	}
	for _, name := range append(append([]string{}, serviceNames...), "gateway") {
		if err := s.procs[name].waitReady(ctx, 90*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// jwtKeys writes an Ed25519 key pair (PKCS#8 / PKIX PEM) and returns the paths.
func jwtKeys(t *testing.T) (priv, pub string) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	skDER, err := x509.MarshalPKCS8PrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	pkDER, err := x509.MarshalPKIXPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "private.pem"), filepath.Join(dir, "public.pem")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: skDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}
