package controller

import (
	"errors"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// testFailedMigration: a spec.version change runs the new migrations before
// any Deployment rolls; a failed one blocks only its service.
func testFailedMigration(t *testing.T, h *harness, name string, jwt *corev1.Secret) {
	n := render.Names{Bookstore: name}
	before := map[string]*appsv1.Deployment{}
	for _, svc := range render.Services() {
		d := &appsv1.Deployment{}
		_ = h.exists(d, n.Service(svc))
		before[svc] = d
	}
	live := h.bookstore(name)
	oldSpec := live.Spec.DeepCopy()
	live.Spec.Version = "0.2.0"
	if err := h.c.Update(h.ctx, live); err != nil {
		t.Fatal(err)
	}
	for _, svc := range render.Services() {
		h.waitExists(&batchv1.Job{}, n.MigrationJob(svc, &live.Spec))
	}
	eventually(t, "old migration jobs pruned", func() error {
		for _, svc := range render.Services() {
			if err := h.exists(&batchv1.Job{}, n.MigrationJob(svc, oldSpec)); !apierrors.IsNotFound(err) {
				return errors.New("old job " + n.MigrationJob(svc, oldSpec) + " still there")
			}
		}
		return nil
	})
	h.waitCond(name, v1alpha1.ConditionMigrationsSucceeded, "False/MigrationsRunning")
	h.waitCond(name, v1alpha1.ConditionReady, "False")
	for _, svc := range render.Services() {
		d := &appsv1.Deployment{}
		_ = h.exists(d, n.Service(svc))
		if d.Spec.Template.Spec.Containers[0].Image != "bookstore:0.1.0" || d.Generation != before[svc].Generation {
			t.Errorf("%s rolled before its migration ran: image %s", svc, d.Spec.Template.Spec.Containers[0].Image)
		}
	}
	for _, svc := range []string{"user", "token", "order"} {
		h.finishJob(n.MigrationJob(svc, &live.Spec), true)
	}
	inventoryJob := &batchv1.Job{}
	_ = h.exists(inventoryJob, n.MigrationJob("inventory", &live.Spec))
	h.finishJob(n.MigrationJob("inventory", &live.Spec), false)
	waitRetrying(t, h, name, n.MigrationJob("inventory", &live.Spec))
	for _, svc := range []string{"user", "token", "order"} {
		eventually(t, svc+" rolled to 0.2.0", func() error {
			d := &appsv1.Deployment{}
			if err := h.exists(d, n.Service(svc)); err != nil {
				return err
			}
			if img := d.Spec.Template.Spec.Containers[0].Image; img != "bookstore:0.2.0" {
				return errors.New("image " + img)
			}
			return nil
		})
	}
	d := &appsv1.Deployment{}
	_ = h.exists(d, n.Service("inventory"))
	if d.Spec.Template.Spec.Containers[0].Image != "bookstore:0.1.0" || d.Generation != before["inventory"].Generation {
		t.Errorf("inventory was touched although its migration failed: image %s generation %d→%d",
			d.Spec.Template.Spec.Containers[0].Image, before["inventory"].Generation, d.Generation)
	}
	// Generated Secrets are never rotated: same keys after all of this.
	now := &corev1.Secret{}
	if err := h.exists(now, n.JWT()); err != nil || !reflect.DeepEqual(now.Data, jwt.Data) {
		t.Errorf("generated JWT Secret changed (err %v)", err)
	}
	testMigrationRetry(t, h, name, inventoryJob.UID)
}
