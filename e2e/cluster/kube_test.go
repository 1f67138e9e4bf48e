//go:build e2e

package cluster

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// applyStdin runs kubectl apply -f - with manifest.
func applyStdin(t *testing.T, manifest string) {
	t.Helper()
	bin := os.Getenv("KUBECTL")
	if bin == "" {
		bin = "kubectl"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v: %s", err, out)
	}
}
