//go:build e2e

package cluster

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// testRecreateOnRetainedVolumes: the Bookstore deleted with reclaimPolicy
// Retain is created again under the same name, as a user does after a
// mistaken delete. It turns Ready on the retained volumes (the managed Kafka
// formatted under the first resource's UID keeps that cluster id, the
// PostgreSQL data its passwords), the book created before the delete is
// there with its stock, and an order placed now completes: the saga runs
// over the retained Kafka log, its SCRAM users and ACLs.
func testRecreateOnRetainedVolumes(t *testing.T, book string) {
	sample := os.Getenv("BOOKSTORE_SAMPLE")
	if sample == "" {
		t.Fatal("BOOKSTORE_SAMPLE is not set: run make e2e, or make cluster-up and source .cache/cluster/env")
	}
	kubectl(t, "apply", "-f", sample)
	if _, err := kubectlErr(t, "-n", namespace, "wait", "--for=condition=Ready", "bookstore/"+bookstore, "--timeout=170s"); err != nil {
		pods, _ := kubectlErr(t, "-n", namespace, "get", "pods", "-o", "wide")
		kafka, _ := kubectlErr(t, "-n", namespace, "logs", bookstore+"-kafka-0", "--tail=5")
		t.Fatalf("the re-created Bookstore is not Ready on its retained volumes: %v\n%s\n%s", err, pods, kafka)
	}
	a := newAPI(t)
	admin := a.admin(t)
	eventually(t, "GET /api/books/"+book+" through the entry point", 2*time.Minute, func() bool {
		code, _, err := a.call(t.Context(), http.MethodGet, "/api/books/"+book, admin, nil)
		return err == nil && code == http.StatusOK
	})
	if got := a.stock(t, admin, book); got != 5 {
		t.Errorf("the book created before the delete has stock %d, want 5 (kept on the retained PostgreSQL volume)", got)
	}
	u := a.user(t, "recreated")
	a.must(t, http.MethodPost, "/api/tokens/add", u, map[string]int{"amount": 10}, http.StatusOK, nil)
	if o := a.final(t, u, a.order(t, u, book)); o.Status != "Completed" {
		t.Errorf("an order after the re-creation = %+v, want Completed", o)
	}
	if got := a.stock(t, admin, book); got != 4 {
		t.Errorf("stock after one completed order = %d, want 4", got)
	}
	if logs := kubectl(t, "-n", namespace, "logs", bookstore+"-kafka-0"); strings.Contains(logs, "Invalid cluster.id") {
		t.Errorf("Kafka refused its retained volume: %s", logs)
	}
}
