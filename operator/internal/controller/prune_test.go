package controller

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// testPrune: turning the Ingress off and moving PostgreSQL out deletes the
// objects the operator made for them; generated Secrets stay.
func testPrune(t *testing.T, h *harness) {
	b := &v1alpha1.Bookstore{
		ObjectMeta: metav1.ObjectMeta{Name: "pr", Namespace: h.ns},
		Spec:       v1alpha1.BookstoreSpec{Version: "1.0.0", Ingress: v1alpha1.IngressSpec{Enabled: true}},
	}
	if err := h.c.Create(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	n := render.Names{Bookstore: b.Name}
	h.bringUp(b.Name)
	h.waitExists(&networkingv1.Ingress{}, b.Name)
	h.waitExists(&networkingv1.Ingress{}, b.Name+"-docs")
	h.waitExists(&networkingv1.NetworkPolicy{}, n.Postgres())

	if err := h.c.Create(h.ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "ext-pg", Namespace: h.ns},
		StringData: map[string]string{"user": "postgres://u@db/u", "token": "postgres://t@db/t", "inventory": "postgres://i@db/i", "order": "postgres://o@db/o"},
	}); err != nil {
		t.Fatal(err)
	}
	live := h.bookstore(b.Name)
	live.Spec.Ingress.Enabled = false
	live.Spec.Postgres = v1alpha1.PostgresSpec{External: &v1alpha1.ExternalPostgres{SecretName: "ext-pg"}}
	if err := h.c.Update(h.ctx, live); err != nil {
		t.Fatal(err)
	}
	gone := []struct {
		obj  client.Object
		name string
	}{
		{&networkingv1.Ingress{}, b.Name},
		{&networkingv1.Ingress{}, b.Name + "-docs"},
		{&appsv1.StatefulSet{}, n.Postgres()},
		{&corev1.Service{}, n.Postgres()},
		{&corev1.Service{}, n.PostgresRW()},
		{&corev1.ConfigMap{}, n.Postgres() + "-init"},
		{&corev1.Secret{}, n.DatabaseSecret("order")},
		{&networkingv1.NetworkPolicy{}, n.Postgres()},
	}
	for _, g := range gone {
		eventually(t, fmt.Sprintf("%T %s pruned", g.obj, g.name), func() error {
			err := h.exists(g.obj, g.name)
			if apierrors.IsNotFound(err) {
				return nil
			}
			if err == nil && g.obj.GetDeletionTimestamp() != nil {
				return nil // deleting (no garbage collector in envtest to finish foreground deletions)
			}
			return fmt.Errorf("still there (err %w)", err)
		})
	}
	for _, keep := range []string{n.Credentials(), n.JWT(), n.Admin(), n.RedisURLSecret()} {
		if err := h.exists(&corev1.Secret{}, keep); err != nil {
			t.Errorf("Secret %s: %v", keep, err)
		}
	}
	// Another database: the migrations run again, there, before the services move.
	live = h.bookstore(b.Name)
	for _, svc := range render.Services() {
		if n.MigrationJob(svc, &live.Spec) == n.MigrationJob(svc, &b.Spec) {
			t.Fatalf("%s: same migration Job for another database", svc)
		}
	}
	h.bringUp(b.Name)
	d := &appsv1.Deployment{}
	_ = h.exists(d, n.Service("inventory"))
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "BOOKSTORE_DATABASE_URL" && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != "ext-pg") {
			t.Errorf("inventory BOOKSTORE_DATABASE_URL = %+v after the switch", e)
		}
	}
}

func TestPrunable(t *testing.T) {
	owner := &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "demo", UID: "u1"}}
	other := &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "demo", UID: "u2"}}
	now := metav1.Now()
	for _, tc := range []struct {
		name string
		obj  func(*corev1.Secret)
		want bool
	}{
		{"controlled", func(*corev1.Secret) {}, true},
		{"generated", func(s *corev1.Secret) { s.Labels = map[string]string{GeneratedLabel: "true"} }, false},
		{"another owner", func(s *corev1.Secret) { s.OwnerReferences = []metav1.OwnerReference{ownerRef(other)} }, false},
		{"not owned (retained credentials)", func(s *corev1.Secret) { s.OwnerReferences = nil }, false},
		{"being deleted", func(s *corev1.Secret) { s.DeletionTimestamp = &now }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "x", OwnerReferences: []metav1.OwnerReference{ownerRef(owner)}}}
			tc.obj(s)
			if got := prunable(s, owner); got != tc.want {
				t.Errorf("prunable = %v, want %v", got, tc.want)
			}
		})
	}
}
