package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// rotation is what the JWT key step saw, for the status (jwtstatus.go).
type rotation struct {
	request      string // the Bookstore's RotateJWTKeyAnnotation
	userSupplied string // the Secret of spec.auth.jwtSecretName: never rotated by the operator
	state        render.JWTRotation
	signing      string   // kid of the signing key
	verify       []string // kids of the verification set
	waiting      []string // services not rolled out with the current keys
}

// rotating reports whether a rotation is in progress.
func (r rotation) rotating() bool { return r.state.Phase != render.RotationIdle }

// rotationRequestChanged passes Bookstore updates that change the rotation
// request (an annotation: the generation stays the same).
func rotationRequestChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetAnnotations()[render.RotateJWTKeyAnnotation] != e.ObjectNew.GetAnnotations()[render.RotateJWTKeyAnnotation]
	}}
}

// reconcileJWTKeys is step 1b: one step of a JWT key rotation when one is
// requested or in progress. The phases (render.NextRotationStep) never let a
// pod reject a valid token: the new public key reaches every service before
// the new key signs, and the old one leaves the verification set only after
// the last token it signed expired. p.jwtKeys is what the pods must run.
func (r *BookstoreReconciler) reconcileJWTKeys(ctx context.Context, p *pass) error {
	b := p.b
	request := b.Annotations[render.RotateJWTKeyAnnotation]
	if !b.GeneratesJWTSecret() {
		p.obs.rotation = rotation{request: request, userSupplied: b.JWTSecretName()}
		if request != "" && reasonOf(b, v1alpha1.ConditionJWTKeyRotated) != reasonUserSupplied {
			r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, "JWTKeyRotationRefused", "RotateJWTKey",
				"the JWT keys come from Secret %s (spec.auth.jwtSecretName): the operator does not rotate them", b.JWTSecretName())
		}
		return nil
	}
	s, keys, st, err := r.readJWTKeys(ctx, b, r.Client)
	if err != nil {
		return err
	}
	if st.Phase != render.RotationIdle || (request != "" && request != st.Handled) {
		// during a rotation the cache may lag behind the last step's patch:
		// the pods must get the annotation of the keys as they are
		if s, keys, st, err = r.readJWTKeys(ctx, b, r.secrets()); err != nil {
			return err
		}
	}
	waiting, err := r.notRolledOut(ctx, b, keys)
	if err != nil {
		return err
	}
	now := time.Now()
	step, requeue := render.NextRotationStep(request, st, len(waiting) == 0, now)
	if requeue > 0 {
		p.requeueIn(requeue)
	}
	next, nst, msg := keys, st, ""
	switch step {
	case render.RotationNone, render.RotationWait:
	case render.RotationStart:
		k, err := newSigningKey()
		if err != nil {
			return err
		}
		next, nst = keys.AddNext(k), render.JWTRotation{Handled: request, Phase: render.RotationAddingKey, Lifetime: render.TokenLifetime(b)}
		msg = fmt.Sprintf("key %s joins the verification set; %s signs until every service runs with both", render.KeyID(next.Verify[len(next.Verify)-1]), keys.SigningKID())
	case render.RotationSwitch:
		if keys.Next == nil {
			return fmt.Errorf("secret %s: phase %s without %s", s.Name, st.Phase, render.JWTNextKey)
		}
		next, nst.Phase = keys.SwitchSigner(), render.RotationSwitchingSigner
		msg = fmt.Sprintf("every service verifies with the new key: %s signs, the private key of %s is deleted", next.SigningKID(), keys.SigningKID())
	case render.RotationScheduleRetire:
		lifetime := st.RetireWait(b)
		// annotations hold whole seconds: round up, never early
		nst.Phase, nst.RetireAfter = render.RotationRetiringOldKey, now.Add(lifetime).Truncate(time.Second).Add(time.Second)
		p.requeueIn(nst.RetireAfter.Sub(now))
		msg = fmt.Sprintf("no pod signs with the old key any more; it verifies until %s (token TTL + leeway: %s)", nst.RetireAfter.Format(time.RFC3339), lifetime)
	case render.RotationRetire:
		next, nst.Phase, nst.RetireAfter, nst.Lifetime = keys.RetireOld(), render.RotationRemovingOldKey, time.Time{}, 0
		msg = fmt.Sprintf("the old key's last token expired: only %s verifies", next.SigningKID())
	case render.RotationFinish:
		nst.Phase = render.RotationIdle
		msg = fmt.Sprintf("done: every service runs with key %s only", keys.SigningKID())
	}
	if msg != "" {
		if err := r.writeJWTKeys(ctx, s, next, nst); err != nil {
			return err
		}
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, "JWTKeyRotation"+string(step), "RotateJWTKey", "rotation %q: %s", nst.Handled, msg)
		if waiting, err = r.notRolledOut(ctx, b, next); err != nil {
			return err
		}
	}
	if nst.Queued(request) && !strings.Contains(messageOf(b, v1alpha1.ConditionJWTKeyRotated), queuedNote(request)) {
		r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, "JWTKeyRotationQueued", "RotateJWTKey",
			"rotation %q waits for rotation %q (phase %s) to finish", request, nst.Handled, nst.Phase)
	}
	p.jwtKeys = &next
	p.obs.rotation = rotation{request: request, state: nst, signing: next.SigningKID(), verify: next.VerifyKIDs(), waiting: waiting}
	return nil
}

// readJWTKeys reads the generated JWT Secret through reader (the cache, or
// the API server), falling back to the API server for a Secret made by hand
// without InstanceLabel (never cached).
func (r *BookstoreReconciler) readJWTKeys(ctx context.Context, b *v1alpha1.Bookstore, reader client.Reader) (*corev1.Secret, render.JWTKeys, render.JWTRotation, error) {
	key := client.ObjectKey{Namespace: b.Namespace, Name: b.GeneratedJWTSecretName()}
	s := &corev1.Secret{}
	err := reader.Get(ctx, key, s)
	if apierrors.IsNotFound(err) {
		err = r.secrets().Get(ctx, key, s)
	}
	if err != nil {
		return nil, render.JWTKeys{}, render.JWTRotation{}, fmt.Errorf("get secret %s: %w", key.Name, err)
	}
	keys, err := render.ParseJWTKeys(s.Data)
	if err != nil {
		return nil, render.JWTKeys{}, render.JWTRotation{}, fmt.Errorf("secret %s: %w", key.Name, err)
	}
	st, err := render.RotationFromAnnotations(s.Annotations)
	if err != nil {
		return nil, render.JWTKeys{}, render.JWTRotation{}, fmt.Errorf("secret %s: %w", key.Name, err)
	}
	return s, keys, st, nil
}

// writeJWTKeys updates the JWT Secret with keys and rotation state in one
// merge patch carrying the resourceVersion it read (optimistic: a conflict
// retries the whole step).
func (r *BookstoreReconciler) writeJWTKeys(ctx context.Context, s *corev1.Secret, keys render.JWTKeys, st render.JWTRotation) error {
	data, err := keys.Data()
	if err != nil {
		return err
	}
	orig := s
	s = s.DeepCopy()
	s.Data = data
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	st.SetAnnotations(s.Annotations)
	patch := client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})
	if err := r.Client.Patch(ctx, s, patch, client.FieldOwner(FieldOwner)); err != nil {
		if apierrors.IsConflict(err) {
			return retryError{reason: "Secret " + s.Name + " changed meanwhile"}
		}
		return fmt.Errorf("update secret %s: %w", s.Name, err)
	}
	return nil
}

// notRolledOut lists the services whose Deployment does not run keys yet
// with every pod: the template carries their annotation, the controller saw
// it, all replicas are updated and available, no old pod is left or
// terminating. A Deployment not created yet is waited for too.
func (r *BookstoreReconciler) notRolledOut(ctx context.Context, b *v1alpha1.Bookstore, keys render.JWTKeys) ([]string, error) {
	n := render.Names{Bookstore: b.Name}
	var waiting []string
	for _, svc := range render.Services() {
		d := &appsv1.Deployment{}
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: n.Service(svc)}, d); err != nil {
			if !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("get deployment %s: %w", n.Service(svc), err)
			}
			waiting = append(waiting, svc)
			continue
		}
		want := ptr.Deref(d.Spec.Replicas, 1)
		st := d.Status
		if d.Spec.Template.Annotations[render.JWTKeysAnnotation] != keys.PodAnnotation(svc) || st.ObservedGeneration < d.Generation ||
			st.UpdatedReplicas != want || st.Replicas != want || st.AvailableReplicas < want || ptr.Deref(st.TerminatingReplicas, 0) > 0 {
			waiting = append(waiting, svc)
		}
	}
	return waiting, nil
}

func queuedNote(request string) string { return fmt.Sprintf("request %q queued", request) }

func messageOf(b *v1alpha1.Bookstore, typ string) string {
	if c := meta.FindStatusCondition(b.Status.Conditions, typ); c != nil {
		return c.Message
	}
	return ""
}

func reasonOf(b *v1alpha1.Bookstore, typ string) string {
	if c := meta.FindStatusCondition(b.Status.Conditions, typ); c != nil {
		return c.Reason
	}
	return ""
}
