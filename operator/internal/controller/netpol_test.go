package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// admits reports whether a same-namespace pod with podLabels is a peer of the
// policy's ingress rules (and on which ports): what an enforcer would let in.
func admits(t *testing.T, np *networkingv1.NetworkPolicy, podLabels map[string]string) (bool, []string) {
	t.Helper()
	for _, r := range np.Spec.Ingress {
		for _, p := range r.From {
			if p.PodSelector == nil || p.NamespaceSelector != nil || p.IPBlock != nil {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(p.PodSelector)
			if err != nil {
				t.Fatalf("%s: %v", np.Name, err)
			}
			if sel.Matches(labels.Set(podLabels)) {
				var ports []string
				for _, port := range r.Ports {
					ports = append(ports, port.Port.String())
				}
				return true, ports
			}
		}
	}
	return false, nil
}

func selects(t *testing.T, np *networkingv1.NetworkPolicy, podLabels map[string]string) bool {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		t.Fatalf("%s: %v", np.Name, err)
	}
	return sel.Matches(labels.Set(podLabels))
}

// checkNetworkPolicies: on a running Bookstore with managed infrastructure,
// every pod is under the default deny; a service's policy selects its pods and
// admits (same namespace) only its callers on the http port; each component's
// policy admits the services, their migration Jobs and its own pods, no one else.
func checkNetworkPolicies(t *testing.T, h *harness, b *v1alpha1.Bookstore) {
	t.Helper()
	n := render.Names{Bookstore: b.Name}
	pods := map[string]map[string]string{} // who -> pod labels
	for _, svc := range render.Services() {
		d := &appsv1.Deployment{}
		h.waitExists(d, n.Service(svc))
		pods[svc] = d.Spec.Template.Labels
		j := &batchv1.Job{}
		h.waitExists(j, n.MigrationJob(svc, &b.Spec))
		pods[svc+"-migrate"] = j.Spec.Template.Labels
	}
	for comp, name := range map[string]string{"postgres": n.Postgres(), "kafka": n.Kafka()} {
		s := &appsv1.StatefulSet{}
		h.waitExists(s, name)
		pods[comp] = s.Spec.Template.Labels
	}
	r := &appsv1.Deployment{}
	h.waitExists(r, n.Redis())
	pods["redis"] = r.Spec.Template.Labels
	pods["stranger"] = map[string]string{"app.kubernetes.io/name": "debug", "app.kubernetes.io/instance": "other"}

	deny := &networkingv1.NetworkPolicy{}
	h.waitExists(deny, b.Name+"-default-deny")
	for who, l := range pods {
		if who != "stranger" && !selects(t, deny, l) {
			t.Errorf("default deny does not cover %s", who)
		}
	}
	for _, svc := range render.Services() {
		np := &networkingv1.NetworkPolicy{}
		h.waitExists(np, n.Service(svc))
		if !selects(t, np, pods[svc]) || selects(t, np, pods[svc+"-migrate"]) {
			t.Errorf("%s policy selector %v", svc, np.Spec.PodSelector)
		}
		for who, l := range pods {
			ok, ports := admits(t, np, l)
			want := svc == "inventory" && who == "order"
			if ok != want || (ok && (len(ports) != 1 || ports[0] != "http")) {
				t.Errorf("%s policy admits %s: %v on %v, want %v on [http]", svc, who, ok, ports, want)
			}
		}
		if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) < 2 {
			t.Errorf("%s policy lacks the entry point and monitoring peers: %+v", svc, np.Spec.Ingress)
		}
	}
	for _, comp := range []string{"postgres", "redis", "kafka"} {
		np := &networkingv1.NetworkPolicy{}
		h.waitExists(np, b.Name+"-"+comp)
		if !selects(t, np, pods[comp]) {
			t.Errorf("%s policy does not select its pods: %v", comp, np.Spec.PodSelector)
		}
		for who, l := range pods {
			ok, _ := admits(t, np, l)
			infra := who == "postgres" || who == "redis" || who == "kafka"
			want := who == comp || (!infra && who != "stranger")
			if ok != want {
				t.Errorf("%s policy admits %s: %v, want %v", comp, who, ok, want)
			}
		}
	}
}
