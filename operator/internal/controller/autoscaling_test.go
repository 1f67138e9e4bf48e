package controller

import (
	"errors"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

func testAutoscaling(t *testing.T, h *harness, r *BookstoreReconciler) {
	b := &v1alpha1.Bookstore{
		ObjectMeta: metav1.ObjectMeta{Name: "scaly", Namespace: h.ns},
		Spec:       v1alpha1.BookstoreSpec{Version: "1.0.0", Services: v1alpha1.ServicesSpec{User: v1alpha1.ServiceSpec{Replicas: ptr.To(int32(3))}}},
	}
	if err := h.c.Create(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	n := render.Names{Bookstore: b.Name}
	h.bringUp(b.Name)
	if err := h.exists(&autoscalingv2.HorizontalPodAutoscaler{}, n.Service("user")); !apierrors.IsNotFound(err) {
		t.Fatalf("HPA without autoscaling: %v", err)
	}

	// on
	live := h.bookstore(b.Name)
	live.Spec.Services.User = v1alpha1.ServiceSpec{Autoscaling: &v1alpha1.AutoscalingSpec{MinReplicas: 2, MaxReplicas: 6, TargetCPUUtilizationPercentage: 70}}
	if err := h.c.Update(h.ctx, live); err != nil {
		t.Fatal(err)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	h.waitExists(hpa, n.Service("user"))
	if ptr.Deref(hpa.Spec.MinReplicas, 0) != 2 || hpa.Spec.MaxReplicas != 6 || hpa.Spec.ScaleTargetRef.Name != n.Service("user") ||
		ptr.Deref(hpa.Spec.Metrics[0].Resource.Target.AverageUtilization, 0) != 70 {
		t.Errorf("hpa spec %+v", hpa.Spec)
	}
	d := &appsv1.Deployment{}
	// scaleAs sets the replicas through the scale subresource, as owner
	// (the HPA's controller, kubectl) does.
	scaleAs := func(owner string, replicas int32) {
		t.Helper()
		scale := &autoscalingv1.Scale{}
		if err := h.c.SubResource("scale").Get(h.ctx, d, scale); err != nil {
			t.Fatal(err)
		}
		scale.Spec.Replicas = replicas
		if err := h.c.SubResource("scale").Update(h.ctx, d, client.WithSubResourceBody(scale), client.FieldOwner(owner)); err != nil {
			t.Fatal(err)
		}
	}
	replicasAre := func(want int32) func() error {
		return func() error {
			if err := h.exists(d, n.Service("user")); err != nil {
				return err
			}
			if ptr.Deref(d.Spec.Replicas, 0) != want {
				return fmt.Errorf("replicas not %d", want)
			}
			return nil
		}
	}
	eventually(t, "operator releases spec.replicas", func() error {
		if err := h.exists(d, n.Service("user")); err != nil {
			return err
		}
		if ownsField(d, "f:spec", "f:replicas") {
			return errors.New("operator still owns spec.replicas")
		}
		return nil
	})
	if got := ptr.Deref(d.Spec.Replicas, 0); got != 3 {
		t.Errorf("replicas = %d after turning autoscaling on, want the 3 it had (not reset)", got)
	}
	// The HPA scales the Deployment (through the scale subresource, as its controller does).
	scaleAs("horizontal-pod-autoscaler", 5)
	h.markDeploymentReady(n.Service("user"))
	time.Sleep(time.Second)
	for range 2 {
		if _, err := r.Reconcile(h.ctx, ctrl.Request{NamespacedName: h.key(b.Name)}); err != nil {
			t.Fatal(err)
		}
	}
	_ = h.exists(d, n.Service("user"))
	if ptr.Deref(d.Spec.Replicas, 0) != 5 {
		t.Errorf("replicas = %v after the HPA set 5: the operator wrote replicas", d.Spec.Replicas)
	}

	// off
	live = h.bookstore(b.Name)
	live.Spec.Services.User = v1alpha1.ServiceSpec{Replicas: ptr.To(int32(3))}
	if err := h.c.Update(h.ctx, live); err != nil {
		t.Fatal(err)
	}
	eventually(t, "HPA deleted", func() error {
		err := h.exists(&autoscalingv2.HorizontalPodAutoscaler{}, n.Service("user"))
		if apierrors.IsNotFound(err) {
			return nil
		}
		return errors.New("HPA still there")
	})
	eventually(t, "replicas set to 3", replicasAre(3))

	// Drift: someone scales by hand; the operator owns replicas again and restores them.
	scaleAs("kubectl", 7)
	eventually(t, "manual scale reverted to 3", replicasAre(3))
}
