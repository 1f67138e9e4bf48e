// Package controller reconciles Bookstore resources into the running system.
package controller

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// retryError asks for a quick retry after a race with the cache (an object
// created or changed meanwhile); it is not a failure.
type retryError struct{ reason string }

func (e retryError) Error() string { return "retry: " + e.reason }

// waitExternal is how long the operator waits before looking again at an
// external Secret it does not watch.
const waitExternal = 30 * time.Second

// BookstoreReconciler reconciles a Bookstore into Secrets, the managed
// infrastructure, per-version migration Jobs, the services rendered from the
// Helm charts and an Ingress.
type BookstoreReconciler struct {
	Client   client.Client
	Scheme   *runtime.Scheme
	Recorder events.EventRecorder
}

// +kubebuilder:rbac:groups=bookstore.dev,resources=bookstores,verbs=get;list;watch
// +kubebuilder:rbac:groups=bookstore.dev,resources=bookstores/status,verbs=get;patch
// +kubebuilder:rbac:groups=bookstore.dev,resources=bookstores/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets;services;configmaps,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// SetupWithManager registers the controller and its watches on every kind it owns.
func (r *BookstoreReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Bookstore{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&corev1.Secret{}).
		Owns(&corev1.ConfigMap{}).
		Owns(&corev1.Service{}).
		Owns(&appsv1.Deployment{}).
		Owns(&appsv1.StatefulSet{}).
		Owns(&batchv1.Job{}).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Owns(&networkingv1.Ingress{}).
		Named("bookstore").
		Complete(r)
}

// pass collects what one reconcile found and did.
type pass struct {
	b          *v1alpha1.Bookstore
	desired    map[objectKey]bool
	components []v1alpha1.ComponentStatus
	// waitExternal: something the operator does not watch is missing
	waitExternal bool
}

func (p *pass) component(name string, ready bool, version, msg string) {
	p.components = append(p.components, v1alpha1.ComponentStatus{Name: name, Ready: ready, Version: version, Message: msg})
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

func (r *BookstoreReconciler) reconcile(ctx context.Context, p *pass) (ctrl.Result, error) {
	b := p.b

	// 1. Generated Secrets (created once, never rotated), the managed
	// infrastructure and the Secrets derived from the credentials.
	creds, err := r.ensureSecrets(ctx, b)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.applyInfrastructure(ctx, p, creds); err != nil {
		return ctrl.Result{}, err
	}

	// 2. Infrastructure readiness.
	var g gates
	if g.postgres, err = r.postgresReady(ctx, p); err != nil {
		return ctrl.Result{}, err
	}
	redisReady, err := r.redisReady(ctx, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	kafkaReady, err := r.kafkaReady(ctx, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	if g.authMsg, err = r.authReady(ctx, b); err != nil {
		return ctrl.Result{}, err
	}
	if g.authMsg != "" {
		p.waitExternal = true
		p.component("auth", false, "", g.authMsg)
	}
	g.infra = g.postgres && redisReady && kafkaReady && g.authMsg == ""

	// 3. Services: migration Job first, the Deployment only after it succeeded.
	var migrations []migration
	var services []serviceState
	for _, svc := range render.Services() {
		m, st, err := r.reconcileService(ctx, p, svc, g)
		if err != nil {
			return ctrl.Result{}, err
		}
		migrations = append(migrations, m)
		services = append(services, st)
		p.component(st.service, st.available, st.version, st.message)
	}

	// 4. Ingress, from the umbrella chart.
	ingObjs, err := render.Chart(ctx, "bookstore", b.Name, b.Namespace, render.IngressValues(b))
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, u := range ingObjs {
		if _, err := r.applyOwned(ctx, p, u); err != nil {
			return ctrl.Result{}, err
		}
	}

	// 5. Delete what this Bookstore owns and no longer wants (an HPA after
	// autoscaling was turned off, old migration Jobs, a disabled Ingress...).
	if err := r.prune(ctx, p); err != nil {
		return ctrl.Result{}, err
	}

	// 6. Status.
	url, err := r.entryURL(ctx, b)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.updateStatus(ctx, p, g.infra, migrations, services, url); err != nil {
		return ctrl.Result{}, err
	}
	if p.waitExternal {
		return ctrl.Result{RequeueAfter: waitExternal}, nil
	}
	return ctrl.Result{}, nil
}

// gates are the readiness facts the rollout of a service waits for.
type gates struct {
	postgres bool   // migrations may run
	infra    bool   // services may run
	authMsg  string // what is wrong with user-provided auth Secrets
}

// ensureSecrets creates the generated Secrets that do not exist yet and
// returns the infrastructure credentials (nil when nothing is managed).
func (r *BookstoreReconciler) ensureSecrets(ctx context.Context, b *v1alpha1.Bookstore) (*corev1.Secret, error) {
	spec := &b.Spec
	names := render.Names{Bookstore: b.Name}
	type generated struct {
		name, what string
		owned      bool
		gen        func() (map[string][]byte, error)
	}
	var want []generated
	var creds *corev1.Secret
	if spec.Postgres.External == nil || spec.Redis.External == nil {
		// The passwords follow the PostgreSQL data: kept with retained volumes.
		owned := spec.Postgres.External != nil || (spec.Postgres.Managed != nil && spec.Postgres.Managed.Storage.ReclaimPolicy == v1alpha1.ReclaimDelete)
		want = append(want, generated{names.Credentials(), "the infrastructure passwords", owned, genCredentials})
	}
	if spec.Auth.JWTSecretName == "" {
		want = append(want, generated{names.JWT(), "an Ed25519 key pair", true, genJWT})
	}
	if spec.Auth.AdminSecretName == "" {
		want = append(want, generated{names.Admin(), "the admin account", true, genAdmin})
	}
	for _, g := range want {
		s, created, err := r.ensureGenerated(ctx, b, g.name, g.owned, g.gen)
		if err != nil {
			return nil, err
		}
		if created {
			r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, "SecretGenerated", "Generate", "generated Secret %s with %s", g.name, g.what)
		}
		if g.name == names.Credentials() {
			creds = s
		}
	}
	return creds, nil
}

// applyInfrastructure applies the managed PostgreSQL, Redis and Kafka and the
// Secrets derived from the credentials.
func (r *BookstoreReconciler) applyInfrastructure(ctx context.Context, p *pass, creds *corev1.Secret) error {
	b := p.b
	var builders []func() ([]*unstructured.Unstructured, error)
	if b.Spec.Postgres.External == nil {
		builders = append(builders, func() ([]*unstructured.Unstructured, error) { return managedPostgres(b) })
	}
	if b.Spec.Redis.External == nil {
		builders = append(builders, func() ([]*unstructured.Unstructured, error) { return managedRedis(b) })
	}
	if b.Spec.Kafka.External == nil {
		builders = append(builders, func() ([]*unstructured.Unstructured, error) { return managedKafka(b) })
	}
	if creds != nil {
		builders = append(builders, func() ([]*unstructured.Unstructured, error) { return managedSecrets(b, creds) })
	}
	for _, build := range builders {
		objs, err := build()
		if err != nil {
			return err
		}
		for _, u := range objs {
			if _, err := r.applyOwned(ctx, p, u); err != nil {
				return err
			}
		}
	}
	return nil
}

// reconcileService renders a service's chart and applies its objects: the
// Service, PDB and HPA at once, the migration Job once PostgreSQL is ready,
// the Deployment only after that Job succeeded. While the migration of a new
// image runs or after it failed, the running Deployment is left untouched.
func (r *BookstoreReconciler) reconcileService(ctx context.Context, p *pass, svc string, g gates) (migration, serviceState, error) {
	b := p.b
	image := render.Image(&b.Spec)
	values, err := render.ServiceValues(b, svc)
	if err != nil {
		return migration{}, serviceState{}, err
	}
	objs, err := render.Chart(ctx, svc, b.Name, b.Namespace, values)
	if err != nil {
		return migration{}, serviceState{}, err
	}
	var job, deploy *unstructured.Unstructured
	for _, u := range objs {
		p.desired[keyOf(u)] = true // applied now or later, never pruned
		switch u.GetKind() {
		case "Job":
			job = u
		case "Deployment":
			deploy = u
		default:
			if _, err := r.applyOwned(ctx, p, u); err != nil {
				return migration{}, serviceState{}, err
			}
		}
	}
	if job == nil || deploy == nil {
		return migration{}, serviceState{}, fmt.Errorf("chart %s rendered no migration Job or no Deployment", svc)
	}

	m := migration{service: svc, job: job.GetName(), state: "Waiting", message: "waiting for PostgreSQL"}
	if g.postgres && g.authMsg == "" {
		wrote, err := r.applyOwned(ctx, p, job)
		if err != nil {
			return migration{}, serviceState{}, err
		}
		if wrote {
			r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, "MigrationStarted", "Migrate", "migration Job %s for %s started", job.GetName(), image)
		}
		if err := r.jobState(ctx, b.Namespace, &m); err != nil {
			return migration{}, serviceState{}, err
		}
	}

	st := serviceState{service: svc, name: deploy.GetName()}
	if m.state == "Succeeded" && g.infra {
		wrote, err := r.applyOwned(ctx, p, deploy)
		if err != nil {
			return migration{}, serviceState{}, err
		}
		if wrote {
			logf.FromContext(ctx).Info("applied deployment", "deployment", deploy.GetName(), "image", image)
		}
	}
	if err := r.deploymentState(ctx, b.Namespace, image, &st); err != nil {
		return migration{}, serviceState{}, err
	}
	if m.state != "Succeeded" && st.message == "" {
		st.message = "waiting for migration " + m.job
	}
	return m, st, nil
}

// applyOwned sets b as controller of u, records u as desired and applies it.
func (r *BookstoreReconciler) applyOwned(ctx context.Context, p *pass, u *unstructured.Unstructured) (bool, error) {
	u = u.DeepCopy()
	if u.GetNamespace() == "" {
		u.SetNamespace(p.b.Namespace)
	}
	setOwner(u, p.b)
	p.desired[keyOf(u)] = true
	return r.apply(ctx, u)
}

// podCount is how many pods of a workload are in a state (ready, updated, ...).
type podCount struct {
	n     int32
	state string
}

// rolledOut reports whether a workload's controller has seen its latest
// generation and each count reaches the wanted replicas (1 when unset).
func rolledOut(generation, observed int64, replicas *int32, counts ...podCount) (bool, string) {
	want := ptr.Deref(replicas, 1)
	if observed < generation {
		return false, "rollout in progress"
	}
	for _, c := range counts {
		if c.n < want {
			return false, fmt.Sprintf("%d of %d pods %s", c.n, want, c.state)
		}
	}
	return true, ""
}

func statefulSetReady(s *appsv1.StatefulSet) (bool, string) {
	return rolledOut(s.Generation, s.Status.ObservedGeneration, s.Spec.Replicas, podCount{s.Status.ReadyReplicas, "ready"})
}

func (r *BookstoreReconciler) postgresReady(ctx context.Context, p *pass) (bool, error) {
	b := p.b
	if ext := b.Spec.Postgres.External; ext != nil {
		return r.externalComponent(ctx, p, "postgres", ext.SecretName, render.Services()...)
	}
	s := &appsv1.StatefulSet{}
	return r.workloadComponent(ctx, p, "postgres", "StatefulSet", render.Names{Bookstore: b.Name}.Postgres(), s, func() (bool, string) { return statefulSetReady(s) })
}

func (r *BookstoreReconciler) kafkaReady(ctx context.Context, p *pass) (bool, error) {
	b := p.b
	if ext := b.Spec.Kafka.External; ext != nil {
		keys := []string{"brokers"}
		if ext.SASLMechanism != "" {
			keys = append(keys, "username", "password")
		}
		return r.externalComponent(ctx, p, "kafka", ext.SecretName, keys...)
	}
	s := &appsv1.StatefulSet{}
	return r.workloadComponent(ctx, p, "kafka", "StatefulSet", render.Names{Bookstore: b.Name}.Kafka(), s, func() (bool, string) { return statefulSetReady(s) })
}

func (r *BookstoreReconciler) redisReady(ctx context.Context, p *pass) (bool, error) {
	b := p.b
	if ext := b.Spec.Redis.External; ext != nil {
		return r.externalComponent(ctx, p, "redis", ext.SecretName, "url")
	}
	d := &appsv1.Deployment{}
	return r.workloadComponent(ctx, p, "redis", "Deployment", render.Names{Bookstore: b.Name}.Redis(), d, func() (bool, string) { return deploymentReady(d) })
}

// externalComponent records an external component as ready when its Secret
// has the keys, and asks for another look later when it does not.
func (r *BookstoreReconciler) externalComponent(ctx context.Context, p *pass, component, secret string, keys ...string) (bool, error) {
	msg, err := r.checkSecret(ctx, p.b.Namespace, secret, keys...)
	if err != nil {
		return false, err
	}
	p.waitExternal = p.waitExternal || msg != ""
	p.component(component, msg == "", "", msg)
	return msg == "", nil
}

// workloadComponent reads the managed workload obj (a StatefulSet or a
// Deployment) of that kind and name and records its readiness as ready reports it.
func (r *BookstoreReconciler) workloadComponent(ctx context.Context, p *pass, component, kind, name string, obj client.Object, ready func() (bool, string)) (bool, error) {
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: p.b.Namespace, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			p.component(component, false, "", kind+" "+name+" not created yet")
			return false, nil
		}
		return false, fmt.Errorf("get %s %s: %w", strings.ToLower(kind), name, err)
	}
	ok, msg := ready()
	p.component(component, ok, "", msg)
	return ok, nil
}

// authReady checks the user-provided auth Secrets ("" when fine).
func (r *BookstoreReconciler) authReady(ctx context.Context, b *v1alpha1.Bookstore) (string, error) {
	if n := b.Spec.Auth.JWTSecretName; n != "" {
		if msg, err := r.checkSecret(ctx, b.Namespace, n, "private.pem", "public.pem"); err != nil || msg != "" {
			return msg, err
		}
	}
	if n := b.Spec.Auth.AdminSecretName; n != "" {
		return r.checkSecret(ctx, b.Namespace, n, "email", "password")
	}
	return "", nil
}

func deploymentReady(d *appsv1.Deployment) (bool, string) {
	if ok, msg := rolledOut(d.Generation, d.Status.ObservedGeneration, d.Spec.Replicas,
		podCount{d.Status.UpdatedReplicas, "updated"}, podCount{d.Status.AvailableReplicas, "available"}); !ok {
		return false, msg
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return false, "rollout stuck: " + c.Message
		}
	}
	return true, ""
}

// migration is the state of one service's migration Job for the current version.
type migration struct {
	service, job string
	// state: Waiting, Running, Succeeded, Failed
	state, reason, message string
}

func (r *BookstoreReconciler) jobState(ctx context.Context, namespace string, m *migration) error {
	j := &batchv1.Job{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: m.job}, j); err != nil {
		if apierrors.IsNotFound(err) {
			m.state, m.message = "Running", "Job "+m.job+" created"
			return nil
		}
		return fmt.Errorf("get job %s: %w", m.job, err)
	}
	m.state, m.message = "Running", "Job "+m.job+" running"
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			m.state, m.message = "Succeeded", ""
			return nil
		case batchv1.JobFailed:
			m.state, m.reason = "Failed", c.Reason
			m.message = fmt.Sprintf("Job %s failed: %s: %s", m.job, c.Reason, c.Message)
			return nil
		}
	}
	return nil
}

// serviceState is the state of one service's Deployment.
type serviceState struct {
	service, name    string
	exists           bool
	available        bool
	version, message string
}

func (r *BookstoreReconciler) deploymentState(ctx context.Context, namespace, image string, st *serviceState) error {
	d := &appsv1.Deployment{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: st.name}, d); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("get deployment %s: %w", st.name, err)
	}
	st.exists = true
	running := ""
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == st.service {
			running = c.Image
		}
	}
	st.version = d.Labels["app.kubernetes.io/version"]
	ok, msg := deploymentReady(d)
	if running != image {
		st.available, st.message = false, fmt.Sprintf("runs %s, not %s", running, image)
		return nil
	}
	st.available, st.message = ok, msg
	return nil
}

// ownedLists are the kinds the operator creates and may prune.
func ownedLists() []client.ObjectList {
	return []client.ObjectList{
		&appsv1.DeploymentList{}, &appsv1.StatefulSetList{}, &corev1.ServiceList{}, &corev1.ConfigMapList{},
		&corev1.SecretList{}, &batchv1.JobList{}, &autoscalingv2.HorizontalPodAutoscalerList{},
		&policyv1.PodDisruptionBudgetList{}, &networkingv1.IngressList{},
	}
}

func (r *BookstoreReconciler) prune(ctx context.Context, p *pass) error {
	b := p.b
	for _, list := range ownedLists() {
		if err := r.Client.List(ctx, list, client.InNamespace(b.Namespace), client.MatchingLabels{render.InstanceLabel: b.Name}); err != nil {
			return fmt.Errorf("list %T: %w", list, err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return fmt.Errorf("list %T: %w", list, err)
		}
		for _, item := range items {
			obj, ok := item.(client.Object)
			if !ok || obj.GetLabels()[GeneratedLabel] == "true" || !metav1.IsControlledBy(obj, b) || obj.GetDeletionTimestamp() != nil {
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

// entryURL is the Ingress URL when an Ingress is enabled.
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

func (r *BookstoreReconciler) updateStatus(ctx context.Context, p *pass, infraReady bool, migrations []migration, services []serviceState, url string) error {
	b := p.b
	orig := b.DeepCopy()
	st := &b.Status
	gen := b.Generation
	set := func(t string, ok bool, reason, msg string) {
		s := metav1.ConditionFalse
		if ok {
			s = metav1.ConditionTrue
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen})
	}

	var notReady []string
	for _, c := range p.components {
		if !c.Ready && slices.Contains([]string{"postgres", "redis", "kafka", "auth"}, c.Name) {
			notReady = append(notReady, c.Name+": "+c.Message)
		}
	}
	if infraReady {
		set(v1alpha1.ConditionInfrastructureReady, true, "InfrastructureReady", "PostgreSQL, Redis and Kafka are ready")
	} else {
		set(v1alpha1.ConditionInfrastructureReady, false, "Provisioning", strings.Join(notReady, "; "))
	}

	image := render.Image(&b.Spec)
	var failed, running []string
	failReason := ""
	for _, m := range migrations {
		switch m.state {
		case "Failed":
			failed = append(failed, m.message)
			if failReason == "" {
				failReason = m.reason
			}
		case "Running", "Waiting":
			running = append(running, m.service+": "+m.message)
		}
	}
	migrationsOK := len(failed) == 0 && len(running) == 0
	switch {
	case len(failed) > 0:
		if failReason == "" {
			failReason = "JobFailed"
		}
		set(v1alpha1.ConditionMigrationsSucceeded, false, failReason, strings.Join(failed, "; "))
	case !infraReady && len(running) == len(migrations):
		set(v1alpha1.ConditionMigrationsSucceeded, false, "WaitingForInfrastructure", strings.Join(running, "; "))
	case len(running) > 0:
		set(v1alpha1.ConditionMigrationsSucceeded, false, "MigrationsRunning", strings.Join(running, "; "))
	default:
		set(v1alpha1.ConditionMigrationsSucceeded, true, "MigrationsSucceeded", "migrations for "+image+" succeeded")
	}

	var unavailable []string
	for _, s := range services {
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

	ready := infraReady && migrationsOK && servicesOK
	switch {
	case ready:
		set(v1alpha1.ConditionReady, true, "Ready", "Bookstore "+b.Spec.Version+" is ready")
		st.Phase = v1alpha1.PhaseReady
	case len(failed) > 0:
		set(v1alpha1.ConditionReady, false, "MigrationFailed", "a migration failed")
		st.Phase = v1alpha1.PhaseFailed
	case !infraReady:
		set(v1alpha1.ConditionReady, false, "Provisioning", "waiting for the infrastructure")
		st.Phase = v1alpha1.PhaseProvisioning
	case !migrationsOK:
		set(v1alpha1.ConditionReady, false, "Migrating", "waiting for the migrations")
		st.Phase = v1alpha1.PhaseMigrating
	default:
		set(v1alpha1.ConditionReady, false, "Deploying", "waiting for the services")
		st.Phase = v1alpha1.PhaseDeploying
	}

	st.ObservedGeneration = gen
	st.Components = p.components
	st.URL = url
	if reflect.DeepEqual(orig.Status, b.Status) {
		return nil
	}
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
		good := (c.Status == metav1.ConditionTrue) != (c.Type == v1alpha1.ConditionDegraded)
		typ := corev1.EventTypeNormal
		if !good {
			typ = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(after, nil, typ, c.Reason, "StatusChange", "%s=%s: %s", c.Type, c.Status, c.Message)
	}
}
