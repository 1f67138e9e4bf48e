package controller

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

// observed is everything a reconcile saw that the status reports.
type observed struct {
	components   []v1alpha1.ComponentStatus
	infraReady   bool
	waitExternal bool // a user-provided Secret is missing or incomplete
	migrations   []migration
	services     []serviceState
	routes       routeState
	rotation     rotation
	url          string
}

// infraComponents are the components InfrastructureReady covers.
var infraComponents = []string{"postgres", "redis", "kafka", "auth"}

// computeStatus is the status of b given what a reconcile observed: a pure
// function (no API server), the conditions' transition times kept from b.
func computeStatus(b *v1alpha1.Bookstore, o observed) v1alpha1.BookstoreStatus {
	st := *b.Status.DeepCopy()
	gen := b.Generation
	set := func(t string, ok bool, reason, msg string) {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen})
	}
	image := b.Spec.ServiceImage()

	var notReady []string
	for _, c := range o.components {
		if !c.Ready && slices.Contains(infraComponents, c.Name) {
			notReady = append(notReady, c.Name+": "+c.Message)
		}
	}
	if o.infraReady {
		set(v1alpha1.ConditionInfrastructureReady, true, "InfrastructureReady", "PostgreSQL, Redis and Kafka are ready")
	} else {
		set(v1alpha1.ConditionInfrastructureReady, false, "Provisioning", strings.Join(notReady, "; "))
	}

	var failed, running []string
	failReason, retrying := "", true
	for _, m := range o.migrations {
		switch m.state {
		case migrationFailed:
			failed = append(failed, m.message)
			retrying = retrying && m.retrying
			if failReason == "" || !m.retrying {
				failReason = m.reason
			}
		case migrationRunning, migrationWaiting:
			running = append(running, m.service+": "+m.message)
		case migrationSucceeded:
		}
	}
	migrationsOK := len(failed) == 0 && len(running) == 0
	switch {
	case len(failed) > 0:
		if failReason == "" {
			failReason = "JobFailed"
		}
		set(v1alpha1.ConditionMigrationsSucceeded, false, failReason, strings.Join(failed, "; "))
	case !o.infraReady && len(running) == len(o.migrations):
		set(v1alpha1.ConditionMigrationsSucceeded, false, "WaitingForInfrastructure", strings.Join(running, "; "))
	case len(running) > 0:
		set(v1alpha1.ConditionMigrationsSucceeded, false, "MigrationsRunning", strings.Join(running, "; "))
	default:
		set(v1alpha1.ConditionMigrationsSucceeded, true, "MigrationsSucceeded", "migrations for "+image+" succeeded")
	}

	var unavailable []string
	for _, s := range o.services {
		if !s.available {
			msg := s.message
			if !s.exists && msg == "" {
				msg = "not created yet"
			}
			unavailable = append(unavailable, s.service+": "+msg)
		}
	}
	servicesOK := len(unavailable) == 0
	switch {
	case servicesOK:
		set(v1alpha1.ConditionServicesAvailable, true, "ServicesAvailable", "all services run "+image+" and are available")
	case !migrationsOK:
		set(v1alpha1.ConditionServicesAvailable, false, "WaitingForMigrations", strings.Join(unavailable, "; "))
	default:
		set(v1alpha1.ConditionServicesAvailable, false, "RollingOut", strings.Join(unavailable, "; "))
	}

	if len(failed) > 0 {
		set(v1alpha1.ConditionDegraded, true, "MigrationFailed", "rollout of "+image+" blocked: "+strings.Join(failed, "; "))
	} else {
		set(v1alpha1.ConditionDegraded, false, "AsExpected", "nothing is failing")
	}

	switch {
	case o.infraReady && migrationsOK && servicesOK:
		set(v1alpha1.ConditionReady, true, "Ready", "Bookstore "+b.Spec.Version+" is ready")
		st.Phase = v1alpha1.PhaseReady
	case len(failed) > 0 && retrying:
		set(v1alpha1.ConditionReady, false, "MigrationRetrying", "a migration failed and is retried")
		st.Phase = v1alpha1.PhaseMigrating
	case len(failed) > 0:
		set(v1alpha1.ConditionReady, false, "MigrationFailed", "a migration failed")
		st.Phase = v1alpha1.PhaseFailed
	case !o.infraReady && o.waitExternal:
		set(v1alpha1.ConditionReady, false, "WaitingForSecrets", "waiting for Secrets named in the spec: "+strings.Join(notReady, "; "))
		st.Phase = v1alpha1.PhasePending
	case !o.infraReady:
		set(v1alpha1.ConditionReady, false, "Provisioning", "waiting for the infrastructure")
		st.Phase = v1alpha1.PhaseProvisioning
	case !migrationsOK:
		set(v1alpha1.ConditionReady, false, "Migrating", "waiting for the migrations")
		st.Phase = v1alpha1.PhaseMigrating
	default:
		set(v1alpha1.ConditionReady, false, "Deploying", "waiting for the services")
		st.Phase = v1alpha1.PhaseDeploying
	}

	setRoutesCondition(&st, gen, o.routes)
	setRotationCondition(&st, gen, o.rotation)
	st.ObservedGeneration = gen
	st.Components = o.components
	st.URL = o.url
	return st
}

// writeStatus patches b's status to st when it differs and records an event
// for each condition transition.
func (r *BookstoreReconciler) writeStatus(ctx context.Context, b *v1alpha1.Bookstore, st v1alpha1.BookstoreStatus) error {
	if reflect.DeepEqual(b.Status, st) {
		return nil
	}
	orig := b.DeepCopy()
	b.Status = st
	if err := r.Client.Status().Patch(ctx, b, client.MergeFrom(orig), client.FieldOwner(FieldOwner)); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			return retryError{reason: "the Bookstore changed meanwhile: " + err.Error()}
		}
		return fmt.Errorf("update status: %w", err)
	}
	r.emitTransitions(orig, b)
	return nil
}

// emitTransitions records an event for each condition whose status changed.
func (r *BookstoreReconciler) emitTransitions(before, after *v1alpha1.Bookstore) {
	for _, c := range after.Status.Conditions {
		old := meta.FindStatusCondition(before.Status.Conditions, c.Type)
		if old != nil && old.Status == c.Status {
			continue
		}
		if old == nil && c.Status == metav1.ConditionFalse {
			continue // the initial False of everything is no news
		}
		if c.Type == v1alpha1.ConditionJWTKeyRotated {
			continue // each rotation step records its own event (jwtrotation.go)
		}
		typ := corev1.EventTypeNormal
		if good := (c.Status == metav1.ConditionTrue) != (c.Type == v1alpha1.ConditionDegraded); !good {
			typ = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(after, nil, typ, c.Reason, "StatusChange", "%s=%s: %s", c.Type, c.Status, c.Message)
	}
}

// entryURL is the Ingress URL when an Ingress is enabled: its host, else the
// address its controller published; "" otherwise.
func (r *BookstoreReconciler) entryURL(ctx context.Context, b *v1alpha1.Bookstore) (string, error) {
	ing := b.Spec.Ingress
	if !ing.Enabled {
		return "", nil
	}
	scheme := "http"
	if ing.TLSSecretName != "" {
		scheme = "https"
	}
	if ing.Host != "" {
		return scheme + "://" + ing.Host + "/", nil
	}
	live := &networkingv1.Ingress{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: b.Name}, live); err != nil {
		return "", client.IgnoreNotFound(err)
	}
	for _, lb := range live.Status.LoadBalancer.Ingress {
		if lb.Hostname != "" {
			return scheme + "://" + lb.Hostname + "/", nil
		}
		if lb.IP != "" {
			return scheme + "://" + lb.IP + "/", nil
		}
	}
	return "", nil
}
