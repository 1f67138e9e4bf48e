// Package controller reconciles Bookstore resources into the running system.
// One file per reconcile step, as CloudNativePG lays out its controller:
// bookstore_controller.go (the reconciler, its RBAC and watches, the
// sequence), secrets.go, jwtrotation.go, infrastructure.go, rollout.go,
// routes.go, prune.go, status.go,
// and apply.go (server-side apply without writes in steady state).
package controller

import (
	"context"
	"errors"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// BookstoreReconciler reconciles a Bookstore into Secrets, the managed
// infrastructure, per-version migration Jobs, the services rendered from the
// Helm charts and an Ingress.
type BookstoreReconciler struct {
	Client client.Client
	// APIReader reads what the cache does not hold: Secrets without
	// InstanceLabel (user-supplied, see SecretCacheOptions). Client when nil.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  events.EventRecorder
	// GatewayAPI: the cluster serves the Gateway API (GatewayAPIInstalled);
	// only then are HTTPRoutes and Gateways watched and created.
	GatewayAPI bool
	// MigrationRetry bounds the retries of failed migration Jobs (DefaultMigrationRetry when zero).
	MigrationRetry MigrationRetry
}

// +kubebuilder:rbac:groups=bookstore.dev,resources=bookstores,verbs=get;list;watch
// +kubebuilder:rbac:groups=bookstore.dev,resources=bookstores/status,verbs=get;patch
// +kubebuilder:rbac:groups=bookstore.dev,resources=bookstores/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets;services;configmaps,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses;networkpolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SecretCacheOptions scopes the manager's Secret informer to the Secrets the
// operator creates (all carry InstanceLabel): user-supplied Secrets are read
// through APIReader, never cached.
func SecretCacheOptions() map[client.Object]cache.ByObject {
	sel, _ := labels.Parse(render.InstanceLabel)
	return map[client.Object]cache.ByObject{&corev1.Secret{}: {Label: sel}}
}

// secrets is the reader for Secrets: APIReader, else Client.
func (r *BookstoreReconciler) secrets() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}

// ownedKind is a kind the operator creates: watched (Owns), pruned, and
// covered by the RBAC markers above (TestRBACCoversOwnedKinds).
type ownedKind struct {
	object client.Object
	list   client.ObjectList
}

// ownedKinds is the one table of the kinds a Bookstore owns.
func ownedKinds() []ownedKind {
	return []ownedKind{
		{&corev1.Secret{}, &corev1.SecretList{}},
		{&corev1.ConfigMap{}, &corev1.ConfigMapList{}},
		{&corev1.Service{}, &corev1.ServiceList{}},
		{&appsv1.Deployment{}, &appsv1.DeploymentList{}},
		{&appsv1.StatefulSet{}, &appsv1.StatefulSetList{}},
		{&batchv1.Job{}, &batchv1.JobList{}},
		{&autoscalingv2.HorizontalPodAutoscaler{}, &autoscalingv2.HorizontalPodAutoscalerList{}},
		{&policyv1.PodDisruptionBudget{}, &policyv1.PodDisruptionBudgetList{}},
		{&networkingv1.Ingress{}, &networkingv1.IngressList{}},
		{&networkingv1.NetworkPolicy{}, &networkingv1.NetworkPolicyList{}},
	}
}

// SetupWithManager registers the controller and its watches on every kind it owns.
func (r *BookstoreReconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Bookstore{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, rotationRequestChanged())))
	for _, k := range r.kinds() {
		b = b.Owns(k.object)
	}
	return b.Named("bookstore").Complete(r)
}

// retryError asks for a quick retry after a race with the cache (an object
// created or changed meanwhile); it is not a failure.
type retryError struct{ reason string }

func (e retryError) Error() string { return "retry: " + e.reason }

// waitExternal is how long the operator waits before looking again at an
// external Secret it does not watch.
const waitExternal = 30 * time.Second

// pass collects what one reconcile found and did.
type pass struct {
	b       *v1alpha1.Bookstore
	desired map[objectKey]bool
	obs     observed
	requeue time.Duration   // look again after this long (0: only on a change)
	jwtKeys *render.JWTKeys // the operator's JWT keys the pods must run (nil: user-supplied)
}

// requeueIn asks for another reconcile within d.
func (p *pass) requeueIn(d time.Duration) {
	if p.requeue == 0 || d < p.requeue {
		p.requeue = d
	}
}

func (p *pass) component(name string, ready bool, version, msg string) {
	p.obs.components = append(p.obs.components, v1alpha1.ComponentStatus{Name: name, Ready: ready, Version: version, Message: msg})
}

// Reconcile drives one Bookstore one step towards its spec.
func (r *BookstoreReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	b := &v1alpha1.Bookstore{}
	if err := r.Client.Get(ctx, req.NamespacedName, b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !b.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // the garbage collector removes the dependents
	}
	p := &pass{b: b, desired: map[objectKey]bool{}}
	res, err := r.reconcile(ctx, p)
	if errors.As(err, new(retryError)) {
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	if err != nil && ctx.Err() != nil {
		return ctrl.Result{}, err // shutting down
	}
	if err != nil {
		log.Error(err, "reconcile failed")
		r.Recorder.Eventf(b, nil, corev1.EventTypeWarning, "ReconcileError", "Reconcile", "%s", err.Error())
		return ctrl.Result{}, err
	}
	return res, nil
}

// reconcile runs the steps in order; each step records what it observed in
// p.obs, from which the status is computed at the end.
func (r *BookstoreReconciler) reconcile(ctx context.Context, p *pass) (ctrl.Result, error) {
	// 1. Generated Secrets (created once, never rotated but the JWT keys on
	// request), the managed infrastructure and the Secrets derived from the
	// credentials.
	creds, err := r.ensureSecrets(ctx, p.b)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.reconcileJWTKeys(ctx, p); err != nil {
		return ctrl.Result{}, err
	}
	for _, obj := range render.Infrastructure(p.b, creds) {
		if _, err := r.applyOwned(ctx, p, obj); err != nil {
			return ctrl.Result{}, err
		}
	}

	// 2. Infrastructure readiness.
	g, err := r.observeInfrastructure(ctx, p)
	if err != nil {
		return ctrl.Result{}, err
	}

	// 3. Services: migration Job first, the Deployment only after it succeeded.
	for _, svc := range render.Services() {
		if err := r.reconcileService(ctx, p, svc, g); err != nil {
			return ctrl.Result{}, err
		}
	}

	// 4. Ingress and NetworkPolicies, from the umbrella chart.
	ingObjs, err := render.Chart(ctx, "bookstore", p.b.Name, p.b.Namespace, render.IngressValues(p.b))
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, u := range ingObjs {
		if _, err := r.applyOwned(ctx, p, u); err != nil {
			return ctrl.Result{}, err
		}
	}

	// 4b. Gateway API HTTPRoutes (and a Gateway), where the CRDs exist.
	if err := r.reconcileRoutes(ctx, p); err != nil {
		return ctrl.Result{}, err
	}

	// 5. Delete what this Bookstore owns and no longer wants (an HPA after
	// autoscaling was turned off, old migration Jobs, a disabled Ingress...).
	if err := r.prune(ctx, p); err != nil {
		return ctrl.Result{}, err
	}

	// 6. Status.
	if p.obs.url, err = r.entryURL(ctx, p.b); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.writeStatus(ctx, p.b, computeStatus(p.b, p.obs)); err != nil {
		return ctrl.Result{}, err
	}
	if p.obs.waitExternal {
		p.requeueIn(waitExternal)
	}
	return ctrl.Result{RequeueAfter: p.requeue}, nil
}
