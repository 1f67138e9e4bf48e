//go:build e2e

package cluster

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The sample Bookstore of manifests/samples/bookstore.yaml.
const (
	namespace = "default"
	bookstore = "demo"
)

// kubectl runs the cluster's kubectl with args and returns its stdout; the
// test fails on a non-zero exit.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := kubectlErr(t, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// kubectlErr is kubectl returning the error (with stderr) instead of failing.
func kubectlErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := os.Getenv("KUBECTL")
	if bin == "" {
		bin = "kubectl"
	}
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal("KUBECONFIG is not set: run make e2e, or make cluster-up and source .cache/cluster/env")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &kubectlError{err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return stdout.String(), nil
}

type kubectlError struct {
	err    error
	stderr string
}

func (e *kubectlError) Error() string { return e.err.Error() + ": " + e.stderr }
func (e *kubectlError) Unwrap() error { return e.err }

// baseURL is the entry point of the Bookstore (BOOKSTORE_URL); tests that go
// through it skip when the cluster has no entry point.
func baseURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("BOOKSTORE_URL")
	if u == "" {
		t.Skip("BOOKSTORE_URL is not set: the cluster has no entry point (see docs/e2e.md)")
	}
	return strings.TrimRight(u, "/")
}

// eventually polls cond every 500 ms until it holds or timeout passes.
func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
