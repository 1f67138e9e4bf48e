package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
	"github.com/bookstore-platform/bookstore/operator/internal/testutil"
)

// writeCounter counts the requests that change something (every verb but
// GET, and no watches) going through a rest.Config's transport.
type writeCounter struct {
	mu     sync.Mutex
	writes []string
}

func (c *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead && req.Method != http.MethodOptions {
			c.mu.Lock()
			c.writes = append(c.writes, req.Method+" "+req.URL.Path)
			c.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

func (c *writeCounter) reset() {
	c.mu.Lock()
	c.writes = nil
	c.mu.Unlock()
}

func (c *writeCounter) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.writes...)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// eventually retries f until it returns nil or 90s pass.
func eventually(t testing.TB, what string, f func() error) {
	t.Helper()
	testutil.Eventually(t, what, 90*time.Second, f)
}

// harness is the test's own view of the cluster: it plays kubelet and the
// workload controllers by writing status.
type harness struct {
	t          testing.TB
	ctx        context.Context
	c          client.Client
	ns         string
	kubeconfig string // of a cluster admin, for kubectl
}

func (h *harness) key(name string) client.ObjectKey {
	return client.ObjectKey{Namespace: h.ns, Name: name}
}

func (h *harness) bookstore(name string) *v1alpha1.Bookstore {
	h.t.Helper()
	b := &v1alpha1.Bookstore{}
	if err := h.c.Get(h.ctx, h.key(name), b); err != nil {
		h.t.Fatalf("get bookstore %s: %v", name, err)
	}
	return b
}

// cond returns "<status>/<reason>" of a condition of Bookstore name.
func (h *harness) cond(name, typ string) string {
	b := &v1alpha1.Bookstore{}
	if err := h.c.Get(h.ctx, h.key(name), b); err != nil {
		return "error: " + err.Error()
	}
	c := meta.FindStatusCondition(b.Status.Conditions, typ)
	if c == nil {
		return "absent"
	}
	if c.ObservedGeneration != b.Generation {
		return "stale"
	}
	return string(c.Status) + "/" + c.Reason
}

func (h *harness) waitCond(name, typ, want string) {
	h.t.Helper()
	eventually(h.t, fmt.Sprintf("%s %s=%s", name, typ, want), func() error {
		if got := h.cond(name, typ); !strings.HasPrefix(got, want) {
			return fmt.Errorf("%s is %s", typ, got)
		}
		return nil
	})
}

func (h *harness) exists(obj client.Object, name string) error {
	return h.c.Get(h.ctx, h.key(name), obj)
}

func (h *harness) waitExists(obj client.Object, name string) {
	h.t.Helper()
	eventually(h.t, fmt.Sprintf("%T %s exists", obj, name), func() error { return h.exists(obj, name) })
}

// setStatus waits for obj name to exist, then writes the status set gives it
// (again on a conflict) as the workload's controller would.
func (h *harness) setStatus(obj client.Object, name, what string, set func()) {
	h.t.Helper()
	h.waitExists(obj, name)
	eventually(h.t, what, func() error {
		if err := h.exists(obj, name); err != nil {
			return err
		}
		set()
		return h.c.Status().Update(h.ctx, obj)
	})
}

func (h *harness) markStatefulSetReady(name string) {
	h.t.Helper()
	s := &appsv1.StatefulSet{}
	h.setStatus(s, name, "statefulset "+name+" ready", func() {
		n := *s.Spec.Replicas
		s.Status = appsv1.StatefulSetStatus{
			ObservedGeneration: s.Generation, Replicas: n, ReadyReplicas: n, CurrentReplicas: n,
			UpdatedReplicas: n, AvailableReplicas: n,
		}
	})
}

func (h *harness) markDeploymentReady(name string) {
	h.t.Helper()
	d := &appsv1.Deployment{}
	h.setStatus(d, name, "deployment "+name+" ready", func() {
		n := ptr.Deref(d.Spec.Replicas, 1)
		d.Status = appsv1.DeploymentStatus{
			ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"}},
		}
	})
}

// finishJob marks a Job succeeded or failed the way the Job controller does
// (the API server validates the sequence of conditions).
func (h *harness) finishJob(name string, succeed bool) {
	h.t.Helper()
	j := &batchv1.Job{}
	h.setStatus(j, name, "job "+name+" finished", func() {
		now := metav1.Now()
		start := metav1.NewTime(now.Add(-time.Minute))
		if succeed {
			j.Status = batchv1.JobStatus{
				StartTime: &start, CompletionTime: &now, Succeeded: 1,
				Conditions: []batchv1.JobCondition{
					{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", Message: "Reached expected number of succeeded pods", LastTransitionTime: now},
					{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", Message: "Reached expected number of succeeded pods", LastTransitionTime: now},
				},
			}
		} else {
			j.Status = batchv1.JobStatus{
				StartTime: &start, Failed: 4,
				Conditions: []batchv1.JobCondition{
					{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
					{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit", LastTransitionTime: now},
				},
			}
		}
	})
}

// jobs lists the migration Jobs of Bookstore name by service.
func (h *harness) jobs(name string) map[string]batchv1.Job {
	h.t.Helper()
	var l batchv1.JobList
	if err := h.c.List(h.ctx, &l, client.InNamespace(h.ns), client.MatchingLabels{render.InstanceLabel: name}); err != nil {
		h.t.Fatal(err)
	}
	out := map[string]batchv1.Job{}
	for _, j := range l.Items {
		if j.DeletionTimestamp == nil {
			out[j.Labels["app.kubernetes.io/name"]+"/"+j.Name] = j
		}
	}
	return out
}

func objKey(u *unstructured.Unstructured) string {
	return u.GetKind() + "/" + u.GetName()
}

func sortedKeys(objs []*unstructured.Unstructured) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, objKey(o))
	}
	sort.Strings(ks)
	return ks
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

func runCmd(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
