//go:build e2e

package cluster

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// testPodDeletions: a service pod, the Kafka pod and the PostgreSQL pod are
// deleted while orders flow. Requests may fail while a pod is away, but every
// order the order service recorded ends Completed, and tokens and stock are
// conserved: the user paid exactly one token and the book lost exactly one
// copy per completed order.
func testPodDeletions(t *testing.T) {
	a := newAPI(t)
	tr := startTraffic(t, a, a.admin(t), 300*time.Millisecond)
	victims := []struct {
		sel string
		// maxStop, when set, bounds how long the deleted pod may take to
		// go away. PostgreSQL stops at once on SIGINT (a fast shutdown, the
		// upstream image's STOPSIGNAL); on SIGTERM it waits for every
		// pooled client to disconnect, i.e. for the kill at the end of the
		// 60 s grace period, and then starts with crash recovery.
		maxStop time.Duration
	}{
		{sel: "app.kubernetes.io/instance=" + bookstore + ",app.kubernetes.io/name=order,app.kubernetes.io/component=api"},
		{sel: "app.kubernetes.io/instance=" + bookstore + ",app.kubernetes.io/component=kafka"},
		{sel: "app.kubernetes.io/instance=" + bookstore + ",app.kubernetes.io/component=postgres", maxStop: 30 * time.Second},
	}
	for _, v := range victims {
		sel := v.sel
		time.Sleep(5 * time.Second)
		pods := strings.Fields(kubectl(t, "-n", namespace, "get", "pods", "-l", sel, "-o", "jsonpath={.items[*].metadata.name}"))
		if len(pods) == 0 {
			t.Fatalf("no pod matches %s", sel)
		}
		uid := kubectl(t, "-n", namespace, "get", "pod", pods[0], "-o", "jsonpath={.metadata.uid}")
		t.Logf("deleting pod %s", pods[0])
		deleted := time.Now()
		kubectl(t, "-n", namespace, "delete", "pod", pods[0], "--wait=false")
		var gone time.Duration
		eventually(t, "a new pod of "+sel+" Ready", 5*time.Minute, func() bool {
			out, err := kubectlErr(t, "-n", namespace, "get", "pods", "-l", sel, "-o",
				`jsonpath={range .items[*]}{.metadata.uid}={.status.conditions[?(@.type=="Ready")].status} {end}`)
			if err == nil && gone == 0 && !strings.Contains(out, uid) {
				gone = time.Since(deleted)
			}
			return err == nil && !strings.Contains(out, uid) && strings.Contains(out, "=True")
		})
		t.Logf("pod %s gone %s after its deletion, its successor Ready after %s", pods[0], gone.Round(time.Second), time.Since(deleted).Round(time.Second))
		if v.maxStop > 0 && gone > v.maxStop {
			t.Errorf("pod %s took %s to stop, more than %s: it waited to be killed instead of shutting down", pods[0], gone.Round(time.Second), v.maxStop)
		}
	}
	kubectl(t, "-n", namespace, "wait", "--for=condition=Ready", "bookstore/"+bookstore, "--timeout=5m")
	// The Bookstore's Ready condition can still be the one from before the
	// last deletion: wait until the entry point serves the order service.
	eventually(t, "GET /api/orders through the entry point", 3*time.Minute, func() bool {
		code, _, err := a.call(t.Context(), http.MethodGet, "/api/orders?limit=1", tr.token, nil)
		return err == nil && code == http.StatusOK
	})
	failed, placed, reads := tr.stop()
	t.Logf("during the deletions: %d orders acknowledged, %d reads, %d failed requests", len(placed), reads, len(failed))

	all := a.allOrders(t, tr.token)
	if len(all) < len(placed) {
		t.Errorf("the order service lists %d orders, fewer than the %d acknowledged", len(all), len(placed))
	}
	completed := 0
	for _, id := range all {
		if o := a.final(t, tr.token, id); o.Status == "Completed" {
			completed++
		} else {
			t.Errorf("order %s = %+v, want Completed", id, o)
		}
	}
	eventually(t, "balance and stock to match the completed orders", time.Minute, func() bool {
		return a.balance(t, tr.token) == 100000-completed && a.stock(t, tr.token, tr.book) == 100000-completed
	})
}

// allOrders lists the ids of every order of token's user (all pages).
func (a *api) allOrders(t *testing.T, token string) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for {
		var page struct {
			Items      []orderView `json:"items"`
			NextCursor *string     `json:"nextCursor"`
		}
		path := "/api/orders?limit=100"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		a.must(t, http.MethodGet, path, token, nil, http.StatusOK, &page)
		for _, o := range page.Items {
			ids = append(ids, o.ID)
		}
		if page.NextCursor == nil || *page.NextCursor == "" {
			return ids
		}
		cursor = *page.NextCursor
		if len(ids) > 100000 {
			t.Fatalf("more than %d orders: paging does not end", len(ids))
		}
	}
}
