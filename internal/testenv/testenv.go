// Package testenv gives integration tests real servers: PostgreSQL, Redis, Kafka and a
// Kubernetes control plane (kube-apiserver + etcd through controller-runtime's envtest).
//
// Endpoints are found in this order:
//  1. environment variables, which `make test` sets after starting local processes
//     (hack/servers.sh): BOOKSTORE_TEST_POSTGRES_URL, BOOKSTORE_TEST_REDIS_ADDR,
//     BOOKSTORE_TEST_KAFKA_BROKERS, KUBEBUILDER_ASSETS;
//  2. containers started with testcontainers-go when a Docker engine answers
//     (PostgreSQL, Redis, Kafka; once per test binary);
//  3. otherwise the test is skipped with a message saying how to provide the server.
//
// With CI=true a missing server fails the test instead of skipping it.
package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables read by this package.
const (
	EnvPostgres = "BOOKSTORE_TEST_POSTGRES_URL"
	EnvRedis    = "BOOKSTORE_TEST_REDIS_ADDR"
	EnvKafka    = "BOOKSTORE_TEST_KAFKA_BROKERS"
	EnvAssets   = "KUBEBUILDER_ASSETS"
)

const howTo = "run `make test`, or `bash hack/servers.sh start && source .cache/testservers.env`, or start a Docker engine"

// missing skips the test, or fails it when CI=true: in CI every server must be there.
func missing(t testing.TB, what, why string) {
	t.Helper()
	msg := fmt.Sprintf("%s is not available (%s): %s", what, why, howTo)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %s", msg)
	}
	t.Skip(msg)
}

// Name returns a name unique to this test run: prefix, a slug of the test name and
// random hex, lower case, usable for topics, consumer groups and databases.
func Name(t testing.TB, prefix string) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random name: %v", err)
	}
	slug := strings.Trim(nonWord.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_")
	if len(slug) > 24 {
		slug = slug[len(slug)-24:]
	}
	return fmt.Sprintf("%s_%s_%s", prefix, slug, hex.EncodeToString(b))
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// RepoRoot returns the absolute path of the repository root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// pinned reads one version from hack/versions.env, the single place versions are pinned.
func pinned(root, key string) (string, error) {
	f, err := os.Open(filepath.Join(root, "hack", "versions.env"))
	if err != nil {
		return "", fmt.Errorf("reading pinned versions: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(s.Text()), "="); ok && k == key {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s not pinned in hack/versions.env", key)
}

// kubeAssets is the directory with kube-apiserver, etcd and kubectl: $KUBEBUILDER_ASSETS,
// else the cache hack/install-k8s.sh fills.
func kubeAssets() string {
	if dir := os.Getenv(EnvAssets); dir != "" {
		return dir
	}
	root, err := repoRoot()
	if err != nil {
		return ""
	}
	v, err := pinned(root, "KUBERNETES_VERSION")
	if err != nil {
		return ""
	}
	return filepath.Join(root, ".cache", "k8s", v)
}

// Tool returns the path of a command-line tool the tests drive: <root>/bin/<name>
// (helm, controller-gen), the envtest assets (kubectl, kube-apiserver, etcd), else PATH.
func Tool(t testing.TB, name string) string {
	t.Helper()
	candidates := []string{filepath.Join(RepoRoot(t), "bin", name)}
	if dir := kubeAssets(); dir != "" {
		candidates = append(candidates, filepath.Join(dir, name))
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return c
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	missing(t, "tool "+name, "not in bin/, the envtest assets or PATH; hack/install-tools.sh and hack/install-k8s.sh install them")
	return ""
}

// shared starts something once per test binary and remembers the result or the error.
type shared[T any] struct {
	once sync.Once
	val  T
	err  error
}

func (s *shared[T]) get(start func(context.Context) (T, error)) (T, error) {
	s.once.Do(func() { s.val, s.err = start(context.Background()) })
	return s.val, s.err
}

// Eventually polls cond every 25ms until it holds, failing the test when it
// does not within timeout.
func Eventually(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Missing is what a test does when a server or tool it needs is absent:
// skip, or fail with CI=true (for package kubeenv).
func Missing(t testing.TB, what, why string) { t.Helper(); missing(t, what, why) }

// Pinned returns the value of key in hack/versions.env under root.
func Pinned(root, key string) (string, error) { return pinned(root, key) }

// KubeAssets is the directory of the envtest binaries ($KUBEBUILDER_ASSETS
// or .cache/k8s/<version>).
func KubeAssets() string { return kubeAssets() }
