//go:build e2e

package cluster

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestNodeRunsPodsThatReachServicesByName: a pod of the service image starts
// on the node, resolves Services by name through the cluster DNS (short and
// fully qualified) and connects to the API server through its ClusterIP, as
// every Bookstore pod does with its databases and Kafka.
func TestNodeRunsPodsThatReachServicesByName(t *testing.T) {
	image := os.Getenv("BOOKSTORE_IMAGE")
	if image == "" {
		t.Fatal("BOOKSTORE_IMAGE is not set (.cache/cluster/env)")
	}
	name := fmt.Sprintf("e2e-dns-%d", time.Now().UnixNano()%100000)
	script := strings.Join([]string{
		"getent hosts kubernetes.default.svc.cluster.local",
		"getent hosts kube-dns.kube-system",
		"exec 3<>/dev/tcp/kubernetes.default/443 && echo api-reachable",
		"if getent hosts example.com; then echo leaked; exit 1; fi",
	}, " && ")
	pod := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, namespace: default}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 65532}
  containers:
  - name: probe
    image: %s
    imagePullPolicy: IfNotPresent
    command: ["/bin/bash", "-c", %q]
`, name, image, script)
	applyStdin(t, pod)
	t.Cleanup(func() { _, _ = kubectlErr(t, "delete", "pod", name, "--wait=false") })

	eventually(t, "pod "+name+" to finish", 2*time.Minute, func() bool {
		phase := kubectl(t, "get", "pod", name, "-o", "jsonpath={.status.phase}")
		return phase == "Succeeded" || phase == "Failed"
	})
	logs := kubectl(t, "logs", name)
	if phase := kubectl(t, "get", "pod", name, "-o", "jsonpath={.status.phase}"); phase != "Succeeded" {
		t.Fatalf("pod %s %s; logs:\n%s", name, phase, logs)
	}
	for _, want := range []string{"10.96.0.1", "10.96.0.10", "api-reachable"} {
		if !strings.Contains(logs, want) {
			t.Errorf("pod output lacks %q:\n%s", want, logs)
		}
	}
}
