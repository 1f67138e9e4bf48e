//go:build e2e

package cluster

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testHPAScalesOnCPU: the sample autoscales the order service (1..4 pods at
// 75% of its 50m CPU request). With metrics-server on the node
// (hack/cluster/metrics-server.sh) the HPA the operator made reads the pods'
// CPU (ScalingActive), and a burst of reads of /api/orders through the entry
// point makes it add pods; the operator leaves that count alone. Once the
// burst is over the HPA removes pods again, and no request fails meanwhile.
func testHPAScalesOnCPU(t *testing.T) {
	hpa, dep := bookstore+"-order", bookstore+"-order"
	if _, err := kubectlErr(t, "get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes"); err != nil {
		// make cluster-up fails when it cannot start metrics-server, unless told not to
		t.Skipf("metrics.k8s.io is not served (CLUSTER_METRICS_SERVER=0?): %v", err)
	}
	eventually(t, "the HPA "+hpa+" reading CPU metrics", 3*time.Minute, func() bool {
		out, err := kubectlErr(t, "-n", namespace, "get", "hpa", hpa, "-o",
			`jsonpath={.status.conditions[?(@.type=="ScalingActive")].status} {.status.currentMetrics[0].resource.current.averageUtilization}`)
		f := strings.Fields(out)
		return err == nil && len(f) == 2 && f[0] == "True"
	})
	replicas := func() int {
		n, _ := strconv.Atoi(kubectl(t, "-n", namespace, "get", "deployment", dep, "-o", "jsonpath={.spec.replicas}"))
		return n
	}
	start := replicas()

	a := newAPI(t)
	token := a.user(t, "burst")
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, _, _ = a.call(ctx, http.MethodGet, "/api/orders", token, nil)
			}
		}()
	}
	eventually(t, "the HPA scaling "+dep+" above "+strconv.Itoa(start)+" under load", 4*time.Minute, func() bool {
		return replicas() > start
	})
	cancel()
	wg.Wait()
	t.Logf("%s: %d → %d replicas; HPA: %s", dep, start, replicas(), kubectl(t, "-n", namespace, "get", "hpa", hpa, "--no-headers"))
	// The operator does not own spec.replicas with autoscaling: the reconciles the
	// Deployment's scale-up triggered (the operator watches it) keep the HPA's count.
	time.Sleep(10 * time.Second)
	peak := replicas()
	if peak <= start {
		t.Errorf("%s back at %d replicas right after the scale-up: something other than the HPA sets the count", dep, peak)
	}

	// Scale-in under a light stream of orders and reads: the HPA removes pods
	// once the CPU is low (the local cluster's controller manager waits 30 s,
	// --horizontal-pod-autoscaler-downscale-stabilization, instead of 5 min),
	// and the pods it removes drain without failing a request.
	tr := startTraffic(t, a, a.admin(t), 300*time.Millisecond)
	eventually(t, "the HPA scaling "+dep+" in below "+strconv.Itoa(peak)+" once idle", 4*time.Minute, func() bool {
		return replicas() < peak
	})
	ready := func() bool {
		out := kubectl(t, "-n", namespace, "get", "deployment", dep, "-o", "jsonpath={.spec.replicas} {.status.replicas}")
		f := strings.Fields(out)
		return len(f) == 2 && f[0] == f[1]
	}
	eventually(t, dep+" down to its new count (old pods gone)", 2*time.Minute, ready)
	time.Sleep(5 * time.Second)
	failed, placed, reads := tr.stop()
	t.Logf("%s: %d → %d replicas after the load; during the scale-in %d orders placed, %d reads, %d failed requests",
		dep, peak, replicas(), len(placed), reads, len(failed))
	if len(failed) > 0 {
		t.Errorf("requests failed while the HPA removed pods: %v", failed)
	}
}
