package controller

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// testCredentialsCompleted: a credentials Secret from an operator that knew
// fewer keys (no Kafka users yet) gets the missing ones, through the
// operator's own RBAC (patch, no update), and keeps the values it had.
func testCredentialsCompleted(t *testing.T, h *harness) {
	n := render.Names{Bookstore: "older"}
	old := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: n.Credentials(), Namespace: h.ns, Labels: map[string]string{
			render.InstanceLabel: "older", GeneratedLabel: "true",
		}},
		Data: map[string][]byte{render.PostgresPasswordKey: []byte("kept-superuser"), render.RedisPasswordKey: []byte("kept-redis")},
	}
	if err := h.c.Create(h.ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := h.c.Create(h.ctx, &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "older", Namespace: h.ns}, Spec: v1alpha1.BookstoreSpec{Version: "1.0.0"}}); err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{}
	eventually(t, "the credentials completed", func() error {
		if err := h.exists(s, n.Credentials()); err != nil {
			return err
		}
		for _, k := range render.CredentialKeys() {
			if len(s.Data[k]) == 0 {
				return fmt.Errorf("no key %s", k)
			}
		}
		return nil
	})
	if string(s.Data[render.PostgresPasswordKey]) != "kept-superuser" || string(s.Data[render.RedisPasswordKey]) != "kept-redis" {
		t.Error("existing passwords changed")
	}
	waitEvent(t, h, "older", "SecretCompleted", n.Credentials())
}
