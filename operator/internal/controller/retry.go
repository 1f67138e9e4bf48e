package controller

import (
	"context"
	"fmt"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

// MigrationAttemptAnnotation counts the runs of a migration Job: absent on the
// first, n on the n-th, which the operator creates after the (n-1)-th failed.
const MigrationAttemptAnnotation = "bookstore.dev/migration-attempt"

// MigrationRetry bounds the retries of a failed migration Job: Attempts runs
// in all; the n-th retry starts Base*2^(n-1) (at most Max) after the failure.
type MigrationRetry struct {
	Attempts  int
	Base, Max time.Duration
}

// DefaultMigrationRetry: 4 runs, retried 30 s, 1 min and 2 min after each failure.
var DefaultMigrationRetry = MigrationRetry{Attempts: 4, Base: 30 * time.Second, Max: 5 * time.Minute}

func (c MigrationRetry) or() MigrationRetry {
	if c.Attempts < 1 || c.Base <= 0 {
		return DefaultMigrationRetry
	}
	return c
}

// delay is the wait after the failure of run attempt (1-based) before the next.
func (c MigrationRetry) delay(attempt int) time.Duration {
	d := c.Base
	for i := 1; i < attempt && d < c.Max; i++ {
		d *= 2
	}
	return min(d, c.Max)
}

// attemptOf is the run number of a migration Job.
func attemptOf(j *batchv1.Job) int {
	if n, err := strconv.Atoi(j.Annotations[MigrationAttemptAnnotation]); err == nil && n > 0 {
		return n
	}
	return 1
}

// retryMigration handles a failed migration Job: while runs are left, it waits
// out the backoff (asking for a requeue) and then deletes the Job and creates
// it again with the next attempt number; afterwards m says MigrationFailed with
// the way out. The Job's failure reason and message stay in m either way.
func (r *BookstoreReconciler) retryMigration(ctx context.Context, p *pass, rendered *unstructured.Unstructured, j *batchv1.Job, m *migration) error {
	cfg := r.MigrationRetry.or()
	attempt := attemptOf(j)
	failedAt := j.CreationTimestamp.Time
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			failedAt = c.LastTransitionTime.Time
		}
	}
	jobReason := m.reason
	if attempt >= cfg.Attempts {
		if c := meta.FindStatusCondition(p.b.Status.Conditions, v1alpha1.ConditionMigrationsSucceeded); c == nil || c.Reason != "MigrationFailed" {
			r.Recorder.Eventf(p.b, nil, corev1.EventTypeWarning, "MigrationFailed", "Migrate", "migration Job %s failed %d times (%s), no retry left", m.job, attempt, jobReason)
		}
		m.reason = "MigrationFailed"
		m.message = fmt.Sprintf("%s (run %d of %d, no retry left): fix the cause, then `kubectl delete job %s` to run it again, or change spec.version",
			m.message, attempt, cfg.Attempts, m.job)
		return nil
	}
	wait := time.Until(failedAt.Add(cfg.delay(attempt)))
	m.reason, m.retrying = "MigrationRetrying", true
	if wait > 0 {
		m.message = fmt.Sprintf("%s (run %d of %d); retrying in %s", m.message, attempt, cfg.Attempts, wait.Round(time.Second))
		p.requeueIn(wait)
		return nil
	}
	uid := j.UID
	err := r.Client.Delete(ctx, j, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &uid})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return retryError{reason: "migration Job " + m.job + " changed meanwhile"}
	}
	if err != nil {
		return fmt.Errorf("delete failed migration Job %s: %w", m.job, err)
	}
	next := rendered.DeepCopy()
	ann := next.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[MigrationAttemptAnnotation] = strconv.Itoa(attempt + 1)
	next.SetAnnotations(ann)
	if next.GetNamespace() == "" {
		next.SetNamespace(p.b.Namespace)
	}
	setOwner(next, p.b)
	if err := r.Client.Create(ctx, next, client.FieldOwner(FieldOwner)); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return retryError{reason: "migration Job " + m.job + " is still being deleted"}
		}
		return fmt.Errorf("recreate migration Job %s: %w", m.job, err)
	}
	r.Recorder.Eventf(p.b, nil, corev1.EventTypeWarning, "MigrationRetry", "Migrate", "migration Job %s failed (%s); run %d of %d started",
		m.job, jobReason, attempt+1, cfg.Attempts)
	m.state, m.retrying = migrationRunning, false
	m.message = fmt.Sprintf("Job %s running (run %d of %d after a failure)", m.job, attempt+1, cfg.Attempts)
	return nil
}
