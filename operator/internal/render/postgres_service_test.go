package render_test

import (
	"net/url"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// TestPostgresDSNsUseAVirtualIP: the services' DSNs name a ClusterIP Service
// of the managed PostgreSQL that selects its pod, never the headless one,
// whose DNS record keeps a replaced pod's IP for up to its TTL (a database
// outage stretched by connects to an address that is gone).
func TestPostgresDSNsUseAVirtualIP(t *testing.T) {
	b := &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "pg", Namespace: "ns"}, Spec: v1alpha1.BookstoreSpec{Version: "1"}}
	services := map[string]*corev1.Service{}
	var sts *appsv1.StatefulSet
	for _, o := range render.ManagedPostgres(b) {
		switch o := o.(type) {
		case *corev1.Service:
			services[o.Name+".ns.svc"] = o
		case *appsv1.StatefulSet:
			sts = o
		}
	}
	if sts == nil || services[sts.Spec.ServiceName+".ns.svc"] == nil || services[sts.Spec.ServiceName+".ns.svc"].Spec.ClusterIP != corev1.ClusterIPNone {
		t.Fatalf("the StatefulSet must be governed by a headless Service of its own: %+v", services)
	}
	creds := &corev1.Secret{Data: map[string][]byte{}}
	for _, k := range render.CredentialKeys() {
		creds.Data[k] = []byte("pw")
	}
	n := 0
	for _, o := range render.DerivedSecrets(b, creds) {
		s := o.(*corev1.Secret)
		u, err := url.Parse(string(s.Data["url"]))
		if err != nil || u.Scheme != "postgres" {
			continue
		}
		n++
		svc := services[u.Hostname()]
		switch {
		case svc == nil:
			t.Errorf("%s: host %s is not a Service of the managed PostgreSQL", s.Name, u.Hostname())
		case svc.Spec.ClusterIP == corev1.ClusterIPNone:
			t.Errorf("%s: host %s is a headless Service", s.Name, u.Hostname())
		case !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(sts.Spec.Template.Labels)) || len(svc.Spec.Selector) == 0:
			t.Errorf("%s: Service %s selects %v, not the PostgreSQL pod %v", s.Name, svc.Name, svc.Spec.Selector, sts.Spec.Template.Labels)
		case u.Port() != "5432" || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 5432:
			t.Errorf("%s: port %s, Service ports %+v", s.Name, u.Port(), svc.Spec.Ports)
		}
	}
	if n != len(render.Services()) {
		t.Errorf("%d DSNs, want one per service (%d)", n, len(render.Services()))
	}
}
