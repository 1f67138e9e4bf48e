package controller

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// gates are the readiness facts the rollout of a service waits for.
type gates struct {
	postgres bool   // migrations may run
	infra    bool   // services may run
	authMsg  string // what is wrong with user-provided auth Secrets
}

// observeInfrastructure reads the readiness of PostgreSQL, Redis, Kafka and
// the user-provided auth Secrets into p.obs and returns the rollout gates.
func (r *BookstoreReconciler) observeInfrastructure(ctx context.Context, p *pass) (gates, error) {
	var g gates
	var err error
	if g.postgres, err = r.postgresReady(ctx, p); err != nil {
		return g, err
	}
	redisReady, err := r.redisReady(ctx, p)
	if err != nil {
		return g, err
	}
	kafkaReady, err := r.kafkaReady(ctx, p)
	if err != nil {
		return g, err
	}
	if g.authMsg, err = r.authReady(ctx, p); err != nil {
		return g, err
	}
	if g.authMsg != "" {
		p.obs.waitExternal = true
		p.component("auth", false, "", g.authMsg)
	}
	g.infra = g.postgres && redisReady && kafkaReady && g.authMsg == ""
	p.obs.infraReady = g.infra
	return g, nil
}

func (r *BookstoreReconciler) postgresReady(ctx context.Context, p *pass) (bool, error) {
	if ext := p.b.Spec.Postgres.External; ext != nil {
		return r.externalComponent(ctx, p, "postgres", ext.SecretName, render.Services()...)
	}
	s := &appsv1.StatefulSet{}
	return r.workloadComponent(ctx, p, "postgres", "StatefulSet", render.Names{Bookstore: p.b.Name}.Postgres(), s, func() (bool, string) { return statefulSetReady(s) })
}

func (r *BookstoreReconciler) kafkaReady(ctx context.Context, p *pass) (bool, error) {
	if ext := p.b.Spec.Kafka.External; ext != nil {
		keys := []string{"brokers"}
		if ext.SASLMechanism != "" {
			keys = append(keys, "username", "password")
		}
		return r.externalComponent(ctx, p, "kafka", ext.SecretName, keys...)
	}
	s := &appsv1.StatefulSet{}
	return r.workloadComponent(ctx, p, "kafka", "StatefulSet", render.Names{Bookstore: p.b.Name}.Kafka(), s, func() (bool, string) { return statefulSetReady(s) })
}

func (r *BookstoreReconciler) redisReady(ctx context.Context, p *pass) (bool, error) {
	if ext := p.b.Spec.Redis.External; ext != nil {
		return r.externalComponent(ctx, p, "redis", ext.SecretName, "url")
	}
	d := &appsv1.Deployment{}
	return r.workloadComponent(ctx, p, "redis", "Deployment", render.Names{Bookstore: p.b.Name}.Redis(), d, func() (bool, string) { return deploymentReady(d) })
}

// externalComponent records an external component as ready when its Secret
// has the keys, and asks for another look later when it does not.
func (r *BookstoreReconciler) externalComponent(ctx context.Context, p *pass, component, secret string, keys ...string) (bool, error) {
	msg, err := r.checkSecret(ctx, p.b.Namespace, secret, keys...)
	if err != nil {
		return false, err
	}
	p.obs.waitExternal = p.obs.waitExternal || msg != ""
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
func (r *BookstoreReconciler) authReady(ctx context.Context, p *pass) (string, error) {
	b := p.b
	if !b.GeneratesJWTSecret() {
		if msg, err := r.checkSecret(ctx, b.Namespace, b.JWTSecretName(), "private.pem", "public.pem"); err != nil || msg != "" {
			return msg, err
		}
	}
	if !b.GeneratesAdminSecret() {
		return r.checkSecret(ctx, b.Namespace, b.AdminSecretName(), "email", "password")
	}
	return "", nil
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
