//go:build e2e

package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBookstoreOnTheCluster runs the scenarios against the sample Bookstore
// in the order a user lives them; the last one deletes it.
func TestBookstoreOnTheCluster(t *testing.T) {
	baseURL(t)
	steps := []struct {
		name string
		run  func(*testing.T)
	}{
		{"seed walkthrough through the Ingress", testSeedWalkthrough},
		{"seed walkthrough through the operator's Gateway and HTTPRoutes", testHTTPRouteWalkthrough},
		{"scale a service through the spec", testScaleThroughSpec},
		{"version bump under traffic: zero failed requests", testVersionBump},
		{"rotate the JWT signing key: valid tokens keep working, logins switch kid", testJWTKeyRotation},
		{"delete a service, the Kafka and the PostgreSQL pod under traffic", testPodDeletions},
		{"the HPA scales the order service on CPU (metrics-server)", testHPAScalesOnCPU},
		{"delete the Bookstore: owned objects collected, PVCs as reclaimPolicy says, created again on them", testDeleteCollectsEverything},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.Fatalf("step %q failed; the later steps depend on it", s.name)
		}
	}
}

// testScaleThroughSpec: spec.services.user.replicas 1 → 2 → 1 changes the
// Deployment and the pods that serve.
func testScaleThroughSpec(t *testing.T) {
	dep := bookstore + "-user"
	for _, n := range []int{2, 1} {
		kubectl(t, "-n", namespace, "patch", "bookstore", bookstore, "--type=merge",
			"-p", fmt.Sprintf(`{"spec":{"services":{"user":{"replicas":%d}}}}`, n))
		eventually(t, fmt.Sprintf("%s at %d ready replicas", dep, n), 3*time.Minute, func() bool {
			out := kubectl(t, "-n", namespace, "get", "deployment", dep,
				"-o", "jsonpath={.spec.replicas} {.status.readyReplicas} {.status.replicas}")
			return out == fmt.Sprintf("%d %d %d", n, n, n)
		})
		pods := strings.Fields(kubectl(t, "-n", namespace, "get", "pods", "-l", "app.kubernetes.io/instance="+bookstore+",app.kubernetes.io/name=user",
			"--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].metadata.name}"))
		if len(pods) < n {
			t.Errorf("running user pods %v, want at least %d", pods, n)
		}
	}
	kubectl(t, "wait", "--for=condition=Ready", "bookstore/"+bookstore, "-n", namespace, "--timeout=3m")
}

// testDeleteCollectsEverything: kubectl delete bookstore removes every object
// the operator made (owner references, garbage collector); the PVCs of the
// managed PostgreSQL and Kafka and the generated credentials Secret stay
// because the sample's reclaimPolicy is Retain (the default); then it is
// created again on them (testRecreateOnRetainedVolumes).
func testDeleteCollectsEverything(t *testing.T) {
	a := newAPI(t)
	book := a.createBook(t, a.admin(t), 1, 5)
	sel := "app.kubernetes.io/instance=" + bookstore
	pvcs := strings.Fields(kubectl(t, "-n", namespace, "get", "pvc", "-o", "jsonpath={.items[*].metadata.name}"))
	if len(pvcs) == 0 {
		t.Fatal("no PVCs before the delete: the managed PostgreSQL and Kafka should have claimed volumes")
	}
	kubectl(t, "-n", namespace, "delete", "bookstore", bookstore, "--timeout=3m")
	kinds := "deployments,statefulsets,services,configmaps,secrets,jobs,ingresses,gateways,httproutes,horizontalpodautoscalers,pods"
	eventually(t, "every object of "+bookstore+" collected", 3*time.Minute, func() bool {
		out, err := kubectlErr(t, "-n", namespace, "get", kinds, "-l", sel, "-o", "name")
		return err == nil && strings.TrimSpace(out) == ""
	})
	// with Retain the generated credentials stay, unowned, so the retained
	// PostgreSQL data keeps matching its passwords (docs/operator.md)
	kept := "secret/" + bookstore + "-credentials"
	if _, err := kubectlErr(t, "-n", namespace, "get", kept); err != nil {
		t.Errorf("%s is gone after the delete, want it kept with the PVCs (reclaimPolicy Retain): %v", kept, err)
	}
	for _, kind := range []string{"deployment", "statefulset", "service", "secret"} {
		out := kubectl(t, "-n", namespace, "get", kind, "-o", "name")
		for _, name := range strings.Fields(out) {
			if strings.Contains(name, "/"+bookstore+"-") && name != kept {
				t.Errorf("%s still exists after the delete", name)
			}
		}
	}
	after := strings.Fields(kubectl(t, "-n", namespace, "get", "pvc", "-o", "jsonpath={.items[*].metadata.name}"))
	if len(after) != len(pvcs) {
		t.Errorf("PVCs after the delete %v, want all of %v kept (reclaimPolicy Retain)", after, pvcs)
	}
	t.Run("create it again: Ready on the retained volumes, data kept, the saga runs", func(t *testing.T) { testRecreateOnRetainedVolumes(t, book) })
}
