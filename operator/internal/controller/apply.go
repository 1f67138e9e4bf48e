package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

const (
	// FieldOwner is the server-side apply field manager of the operator.
	FieldOwner = "bookstore-operator"
	// AppliedHashAnnotation holds the hash of the configuration the operator last applied to an object.
	AppliedHashAnnotation = "bookstore.dev/applied-hash"
)

// objectKey identifies a desired object.
type objectKey struct {
	GVK  schema.GroupVersionKind
	Name string
}

func keyOf(u *unstructured.Unstructured) objectKey {
	return objectKey{GVK: u.GroupVersionKind(), Name: u.GetName()}
}

// ownerRef is the controller reference every dependent of b carries.
func ownerRef(b *v1alpha1.Bookstore) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         v1alpha1.GroupVersion().String(),
		Kind:               v1alpha1.Kind,
		Name:               b.Name,
		UID:                b.UID,
		Controller:         ptr.To(true),
		BlockOwnerDeletion: ptr.To(true),
	}
}

// setOwner makes b the controller of u.
func setOwner(u *unstructured.Unstructured, b *v1alpha1.Bookstore) {
	u.SetOwnerReferences([]metav1.OwnerReference{ownerRef(b)})
}

// apply server-side applies u (with field owner FieldOwner, forcing
// conflicts) unless the live object already carries exactly this
// configuration: same applied hash and every desired field equal. That check
// reads the informer cache only, so a reconcile of an unchanged system sends
// no request at all. It reports whether it wrote.
func (r *BookstoreReconciler) apply(ctx context.Context, u *unstructured.Unstructured) (bool, error) {
	u = u.DeepCopy()
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	live, err := r.getLive(ctx, u)
	if err != nil {
		return false, err
	}
	if live != nil && u.GetKind() == "StatefulSet" {
		// volumeClaimTemplates are immutable: a changed storage size or class
		// applies to new StatefulSets only (docs/operator.md).
		if vct, found, _ := unstructured.NestedSlice(live.Object, "spec", "volumeClaimTemplates"); found {
			for _, c := range vct {
				if m, ok := c.(map[string]any); ok {
					delete(m, "status")
					dropNulls(m)
				}
			}
			if err := unstructured.SetNestedSlice(u.Object, vct, "spec", "volumeClaimTemplates"); err != nil {
				return false, fmt.Errorf("statefulset %s: %w", u.GetName(), err)
			}
		}
	}
	hash, err := hashObject(u)
	if err != nil {
		return false, err
	}
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AppliedHashAnnotation] = hash
	u.SetAnnotations(ann)
	if live != nil && live.GetAnnotations()[AppliedHashAnnotation] == hash && subset(u.Object, live.Object) {
		return false, nil
	}
	if live != nil && u.GetKind() == "Job" {
		// A Job's template is immutable and a migration runs once per image and database:
		// this Job exists, whatever other configuration it ran with.
		return false, nil
	}
	if err := r.handOverReplicas(ctx, u, live); err != nil {
		return false, err
	}
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return false, fmt.Errorf("apply %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return true, nil
}

// HandoverFieldOwner co-owns a Deployment's replicas while the operator lets go
// of them (autoscaling turned on), so that the count stays where it is.
const HandoverFieldOwner = "bookstore-operator-handover"

// handOverReplicas: a Deployment the operator applies without spec.replicas
// (an HPA owns the count) would have the field removed, and so reset to 1, if
// the operator was its only owner. First applying the live count under a
// second field manager keeps it: the documented way of transferring ownership
// to an HPA. Only runs when the Deployment is about to be applied anyway.
func (r *BookstoreReconciler) handOverReplicas(ctx context.Context, u, live *unstructured.Unstructured) error {
	if live == nil || u.GetKind() != "Deployment" {
		return nil
	}
	if _, has, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "replicas"); has {
		return nil
	}
	replicas, has, _ := unstructured.NestedInt64(live.Object, "spec", "replicas")
	if !has {
		return nil
	}
	h := &unstructured.Unstructured{}
	h.SetAPIVersion(u.GetAPIVersion())
	h.SetKind(u.GetKind())
	h.SetNamespace(u.GetNamespace())
	h.SetName(u.GetName())
	if err := unstructured.SetNestedField(h.Object, replicas, "spec", "replicas"); err != nil {
		return fmt.Errorf("hand over replicas of %s: %w", u.GetName(), err)
	}
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(h), client.FieldOwner(HandoverFieldOwner)); err != nil {
		return fmt.Errorf("hand over replicas of %s: %w", u.GetName(), err)
	}
	return nil
}

// getLive reads the object u describes from the cache as a typed object
// (sharing the informers of the controller's watches), converted to
// unstructured; nil when it does not exist.
func (r *BookstoreReconciler) getLive(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	obj, err := r.Scheme.New(u.GroupVersionKind())
	if err != nil {
		return nil, fmt.Errorf("kind %s is not in the operator's scheme: %w", u.GroupVersionKind(), err)
	}
	co, ok := obj.(client.Object)
	if !ok {
		return nil, fmt.Errorf("kind %s is not an object", u.GroupVersionKind())
	}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: u.GetNamespace(), Name: u.GetName()}, co); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("get %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(co)
	if err != nil {
		return nil, fmt.Errorf("convert %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// applyOwned sets b as controller of obj (typed, or unstructured from a
// chart), records it as desired and applies it. Typed objects are converted
// to unstructured here, the one place where objects are applied.
func (r *BookstoreReconciler) applyOwned(ctx context.Context, p *pass, obj client.Object) (bool, error) {
	u, err := toUnstructured(obj)
	if err != nil {
		return false, err
	}
	if u.GetNamespace() == "" {
		u.SetNamespace(p.b.Namespace)
	}
	setOwner(u, p.b)
	p.desired[keyOf(u)] = true
	return r.apply(ctx, u)
}
