//go:build e2e

package cluster

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// testVersionBump: spec.version changes while orders and reads flow; a new
// migration Job runs, every service Deployment rolls to the new image, no
// request fails and every order placed completes.
func testVersionBump(t *testing.T) {
	next := os.Getenv("BOOKSTORE_NEXT_VERSION")
	if next == "" {
		t.Fatal("BOOKSTORE_NEXT_VERSION is not set (.cache/cluster/env: the service image tagged for the bump)")
	}
	a := newAPI(t)
	sel := "app.kubernetes.io/instance=" + bookstore
	jobsBefore := names(kubectl(t, "-n", namespace, "get", "jobs", "-l", sel, "-o", "name"))
	tr := startTraffic(t, a, a.admin(t), 250*time.Millisecond)
	time.Sleep(5 * time.Second)

	kubectl(t, "-n", namespace, "patch", "bookstore", bookstore, "--type=merge", "-p", fmt.Sprintf(`{"spec":{"version":%q}}`, next))
	eventually(t, "a migration Job of the new version", 2*time.Minute, func() bool {
		for j := range names(kubectl(t, "-n", namespace, "get", "jobs", "-l", sel, "-o", "name")) {
			if !jobsBefore[j] {
				return true
			}
		}
		return false
	})
	for _, svc := range []string{"user", "token", "inventory", "order"} {
		dep := bookstore + "-" + svc
		eventually(t, dep+" on "+next, 3*time.Minute, func() bool {
			img := kubectl(t, "-n", namespace, "get", "deployment", dep, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
			return strings.HasSuffix(img, ":"+next)
		})
		kubectl(t, "-n", namespace, "rollout", "status", "deployment/"+dep, "--timeout=5m")
	}
	kubectl(t, "-n", namespace, "wait", "--for=condition=Ready", "bookstore/"+bookstore, "--timeout=5m")
	time.Sleep(5 * time.Second)

	failed, orders, reads := tr.stop()
	t.Logf("during the bump: %d orders placed, %d reads, %d failed requests", len(orders), reads, len(failed))
	for _, f := range failed {
		t.Errorf("failed request during the version bump: %s", f)
	}
	if len(orders) == 0 {
		t.Fatal("no order was placed during the bump")
	}
	allCompleted(t, a, tr.token, orders)
}

func names(out string) map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(out) {
		m[n] = true
	}
	return m
}
