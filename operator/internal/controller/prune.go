package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// prune deletes the objects of the owned kinds that are labelled for this
// Bookstore and controlled by it but that this reconcile did not produce.
// Generated Secrets are never pruned.
func (r *BookstoreReconciler) prune(ctx context.Context, p *pass) error {
	b := p.b
	for _, k := range r.kinds() {
		list := k.list.DeepCopyObject().(client.ObjectList)
		if err := r.Client.List(ctx, list, client.InNamespace(b.Namespace), client.MatchingLabels{render.InstanceLabel: b.Name}); err != nil {
			return fmt.Errorf("list %T: %w", list, err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return fmt.Errorf("list %T: %w", list, err)
		}
		for _, item := range items {
			obj, ok := item.(client.Object)
			if !ok || !prunable(obj, b) {
				continue
			}
			gvk, err := apiutil.GVKForObject(obj, r.Scheme)
			if err != nil {
				return fmt.Errorf("kind of %T: %w", obj, err)
			}
			if p.desired[objectKey{GVK: gvk, Name: obj.GetName()}] {
				continue
			}
			if err := r.Client.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("delete %s %s: %w", gvk.Kind, obj.GetName(), err)
			}
			r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, "Pruned", "Delete", "deleted %s %s, no longer part of the spec", gvk.Kind, obj.GetName())
		}
	}
	return nil
}

// prunable: controlled by owner, not generated, not already being deleted.
func prunable(obj client.Object, owner metav1.Object) bool {
	return obj.GetLabels()[GeneratedLabel] != "true" && metav1.IsControlledBy(obj, owner) && obj.GetDeletionTimestamp() == nil
}
