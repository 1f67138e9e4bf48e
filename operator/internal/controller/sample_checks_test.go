package controller

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
	"github.com/bookstore-platform/bookstore/operator/internal/testutil"
)

// checkSampleReady checks the ready sample as a user would: kubectl, events,
// the objects against helm template, owner references, and no writes in
// steady state.
func checkSampleReady(t *testing.T, h *harness, r *BookstoreReconciler, counter *writeCounter, name string) {
	n := render.Names{Bookstore: name}
	t.Run("kubectl get and wait", func(t *testing.T) {
		kubectl := testenv.Tool(t, "kubectl")
		out, err := runCmd(kubectl, "--kubeconfig", h.kubeconfig, "-n", h.ns, "wait", "--for=condition=Ready", "bookstore/"+name, "--timeout=20s")
		if err != nil {
			t.Fatalf("kubectl wait --for=condition=Ready: %v\n%s", err, out)
		}
		out, err = runCmd(kubectl, "--kubeconfig", h.kubeconfig, "-n", h.ns, "get", "bs")
		if err != nil {
			t.Fatalf("kubectl get bs: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !reflect.DeepEqual(strings.Fields(lines[0]), []string{"NAME", "READY", "PHASE", "VERSION", "URL", "AGE"}) {
			t.Fatalf("kubectl get bs:\n%s", out)
		}
		if row := strings.Fields(lines[1]); len(row) != 6 || !reflect.DeepEqual(row[:5], []string{name, "True", "Ready", "0.1.0", "http://bookstore.localtest.me/"}) {
			t.Errorf("kubectl get bs row: %q", lines[1])
		}
	})

	t.Run("events", func(t *testing.T) {
		// the event recorder sends asynchronously
		eventually(t, "events for the transitions", func() error {
			var l eventsv1.EventList
			if err := h.c.List(h.ctx, &l, client.InNamespace(h.ns)); err != nil {
				return err
			}
			reasons := map[string]bool{}
			for _, e := range l.Items {
				if e.Regarding.Kind == v1alpha1.Kind && e.Regarding.Name == name {
					reasons[e.Reason] = true
				}
			}
			for _, want := range []string{"SecretGenerated", "MigrationStarted", "InfrastructureReady", "MigrationsSucceeded", "Ready"} {
				if !reasons[want] {
					return fmt.Errorf("no %s event; got %v", want, slices.Collect(mapsKeys(reasons)))
				}
			}
			return nil
		})
	})

	t.Run("objects are the chart's", func(t *testing.T) {
		live := h.bookstore(name)
		for _, svc := range render.Services() {
			values, err := render.ServiceValues(live, svc)
			if err != nil {
				t.Fatal(err)
			}
			fromHelm := testutil.HelmTemplate(t, svc, name, h.ns, values)
			if len(fromHelm) < 4 { // Job, Service, Deployment, PDB (+HPA)
				t.Errorf("helm template %s rendered only %v", svc, sortedKeys(fromHelm))
			}
			for _, want := range fromHelm {
				got := &unstructured.Unstructured{}
				got.SetGroupVersionKind(want.GroupVersionKind())
				if err := h.c.Get(h.ctx, h.key(want.GetName()), got); err != nil {
					t.Errorf("%s from helm template: %v", objKey(want), err)
					continue
				}
				if !subset(want.Object, got.Object) {
					t.Errorf("%s in the cluster differs from `helm template` of charts/%s", objKey(want), svc)
				}
			}
		}
	})

	t.Run("owner references", func(t *testing.T) {
		live := h.bookstore(name)
		count := 0
		for _, k := range ownedKinds() {
			list := k.list
			if err := h.c.List(h.ctx, list, client.InNamespace(h.ns), client.MatchingLabels{render.InstanceLabel: name}); err != nil {
				t.Fatal(err)
			}
			items, _ := meta.ExtractList(list)
			for _, it := range items {
				o := it.(client.Object)
				count++
				if o.GetName() == n.Credentials() {
					// reclaimPolicy Retain: the passwords stay with the retained volumes
					if len(o.GetOwnerReferences()) != 0 {
						t.Errorf("credentials Secret has owner references under reclaimPolicy Retain")
					}
					continue
				}
				if !metav1.IsControlledBy(o, live) {
					t.Errorf("%T %s is not controlled by the Bookstore: %v", o, o.GetName(), o.GetOwnerReferences())
				}
			}
		}
		if count < 25 {
			t.Errorf("only %d labelled objects found", count)
		}
	})

	t.Run("steady state writes nothing", func(t *testing.T) {
		time.Sleep(2 * time.Second) // let the manager settle on the last status change
		counter.reset()
		for range 3 {
			if _, err := r.Reconcile(h.ctx, ctrl.Request{NamespacedName: h.key(name)}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Second)
		if w := counter.get(); len(w) != 0 {
			t.Errorf("reconciles of an unchanged, ready Bookstore wrote %d times: %v", len(w), w)
		}
	})

}
