package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// migrationState is where the migration Job of a service for the current
// image and database is.
type migrationState string

const (
	// migrationWaiting: the Job is not created yet (PostgreSQL or the auth Secrets are not ready).
	migrationWaiting migrationState = "Waiting"
	// migrationRunning: the Job exists and has not finished.
	migrationRunning migrationState = "Running"
	// migrationSucceeded: the Job completed; the Deployment may roll.
	migrationSucceeded migrationState = "Succeeded"
	// migrationFailed: the Job failed; the Deployment is left as it is.
	migrationFailed migrationState = "Failed"
)

// migration is the state of one service's migration Job for the current version.
type migration struct {
	service, job    string
	state           migrationState
	reason, message string
	retrying        bool // failed, and a retry is scheduled (retry.go)
}

// serviceState is the state of one service's Deployment.
type serviceState struct {
	service, name    string
	exists           bool
	available        bool
	version, message string
}

// reconcileService renders a service's chart and applies its objects: the
// Service, PDB and HPA at once, the migration Job once PostgreSQL is ready,
// the Deployment only after that Job succeeded. While the migration of a new
// image runs or after it failed, the running Deployment is left untouched.
func (r *BookstoreReconciler) reconcileService(ctx context.Context, p *pass, svc string, g gates) error {
	b := p.b
	image := b.Spec.ServiceImage()
	values, err := render.ServiceValues(b, svc)
	if err != nil {
		return err
	}
	if p.jwtKeys != nil {
		p.jwtKeys.AnnotatePods(values, svc)
	}
	objs, err := render.Chart(ctx, svc, b.Name, b.Namespace, values)
	if err != nil {
		return err
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
				return err
			}
		}
	}
	if job == nil || deploy == nil {
		return fmt.Errorf("chart %s rendered no migration Job or no Deployment", svc)
	}

	m := migration{service: svc, job: job.GetName(), state: migrationWaiting, message: "waiting for PostgreSQL"}
	if g.postgres && g.authMsg == "" {
		wrote, err := r.applyOwned(ctx, p, job)
		if err != nil {
			return err
		}
		if wrote {
			r.Recorder.Eventf(b, nil, corev1.EventTypeNormal, "MigrationStarted", "Migrate", "migration Job %s for %s started", job.GetName(), image)
		}
		live, err := r.jobState(ctx, b.Namespace, &m)
		if err != nil {
			return err
		}
		if m.state == migrationFailed {
			if err := r.retryMigration(ctx, p, job, live, &m); err != nil {
				return err
			}
		}
	}

	st := serviceState{service: svc, name: deploy.GetName()}
	if m.state == migrationSucceeded && g.infra {
		wrote, err := r.applyOwned(ctx, p, deploy)
		if err != nil {
			return err
		}
		if wrote {
			logf.FromContext(ctx).Info("applied deployment", "deployment", deploy.GetName(), "image", image)
		}
	}
	if err := r.deploymentState(ctx, b.Namespace, image, p.obs.rotation.rotating(), &st); err != nil {
		return err
	}
	if m.state != migrationSucceeded && st.message == "" {
		st.message = "waiting for migration " + m.job
	}
	p.obs.migrations = append(p.obs.migrations, m)
	p.obs.services = append(p.obs.services, st)
	p.component(st.service, st.available, st.version, st.message)
	return nil
}

// jobState reads the migration Job (nil while the cache does not hold it yet) into m.
func (r *BookstoreReconciler) jobState(ctx context.Context, namespace string, m *migration) (*batchv1.Job, error) {
	j := &batchv1.Job{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: m.job}, j); err != nil {
		if apierrors.IsNotFound(err) {
			m.state, m.message = migrationRunning, "Job "+m.job+" created"
			return nil, nil
		}
		return nil, fmt.Errorf("get job %s: %w", m.job, err)
	}
	jobResult(j, m)
	return j, nil
}

// jobResult reads a migration's state from its Job's conditions.
func jobResult(j *batchv1.Job, m *migration) {
	m.state, m.message = migrationRunning, "Job "+m.job+" running"
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			m.state, m.message = migrationSucceeded, ""
			return
		case batchv1.JobFailed:
			m.state, m.reason = migrationFailed, c.Reason
			m.message = fmt.Sprintf("Job %s failed: %s: %s", m.job, c.Reason, c.Message)
			return
		}
	}
}

func (r *BookstoreReconciler) deploymentState(ctx context.Context, namespace, image string, rotating bool, st *serviceState) error {
	d := &appsv1.Deployment{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: st.name}, d); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("get deployment %s: %w", st.name, err)
	}
	deploymentResult(d, image, rotating, st)
	return nil
}

// deploymentResult reads a service's state from its Deployment: available
// only when it runs image and has rolled out. While a JWT key rotation rolls
// the services, one that keeps every replica available (maxUnavailable 0)
// stays available: the rotation waits for the rollouts, Ready does not flap.
func deploymentResult(d *appsv1.Deployment, image string, rotating bool, st *serviceState) {
	st.exists = true
	running := ""
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == st.service {
			running = c.Image
		}
	}
	st.version = d.Labels["app.kubernetes.io/version"]
	if running != image {
		st.available, st.message = false, fmt.Sprintf("runs %s, not %s", running, image)
		return
	}
	st.available, st.message = deploymentReady(d)
	if !st.available && rotating && keepsServing(d) {
		st.available, st.message = true, ""
	}
}

// keepsServing: all replicas available and the rollout not stuck.
func keepsServing(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return false
		}
	}
	return d.Status.AvailableReplicas >= ptr.Deref(d.Spec.Replicas, 1)
}
