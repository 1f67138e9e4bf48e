package controller

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// testRetry is the backoff TestOperator gives its reconciler: two runs, 1 s apart.
var testRetry = MigrationRetry{Attempts: 2, Base: 3 * time.Second, Max: 3 * time.Second}

// waitRetrying waits for the status of a failed migration Job with a retry
// scheduled: MigrationsSucceeded False/MigrationRetrying with the Job's name
// and message, Degraded True, phase Migrating (one read: the retry comes soon).
func waitRetrying(t *testing.T, h *harness, name, job string) {
	t.Helper()
	eventually(t, name+" retrying "+job, func() error {
		b := h.bookstore(name)
		c := meta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionMigrationsSucceeded)
		d := meta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionDegraded)
		if c == nil || d == nil || c.Reason != "MigrationRetrying" {
			return fmt.Errorf("MigrationsSucceeded %+v", c)
		}
		if !strings.Contains(c.Message, job) || !strings.Contains(c.Message, "Job has reached the specified backoff limit") ||
			d.Reason != "MigrationFailed" || b.Status.Phase != v1alpha1.PhaseMigrating {
			t.Errorf("retrying: MigrationsSucceeded %q, Degraded %s, phase %s", c.Message, d.Reason, b.Status.Phase)
		}
		return nil
	})
}

// testMigrationRetry follows testFailedMigration (the inventory's Job of
// version 0.2.0 failed once, uid first): the operator deletes and recreates
// the Job after the backoff (run 2, an Event); when that fails too it gives up
// with MigrationFailed, the Job's message, the way out and an Event; deleting
// the Job as that message says runs it again, and its success rolls the inventory.
func testMigrationRetry(t *testing.T, h *harness, name string, first types.UID) {
	live := h.bookstore(name)
	job := render.Names{Bookstore: name}.MigrationJob("inventory", &live.Spec)

	rerun := func(attempt string, old types.UID) types.UID {
		j := &batchv1.Job{}
		eventually(t, "migration Job "+job+" run "+attempt, func() error {
			if err := h.exists(j, job); err != nil {
				return err
			}
			if j.UID == old || j.Annotations[MigrationAttemptAnnotation] != attempt {
				return fmt.Errorf("uid %s, attempt %q", j.UID, j.Annotations[MigrationAttemptAnnotation])
			}
			return nil
		})
		return j.UID
	}
	second := rerun("2", first)
	waitEvent(t, h, name, "MigrationRetry", job)
	h.waitCond(name, v1alpha1.ConditionMigrationsSucceeded, "False/MigrationsRunning")

	h.finishJob(job, false)
	h.waitCond(name, v1alpha1.ConditionMigrationsSucceeded, "False/MigrationFailed")
	h.waitCond(name, v1alpha1.ConditionDegraded, "True/MigrationFailed")
	h.waitCond(name, v1alpha1.ConditionReady, "False/MigrationFailed")
	waitEvent(t, h, name, "MigrationFailed", job)
	b := h.bookstore(name)
	c := meta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionMigrationsSucceeded)
	if b.Status.Phase != v1alpha1.PhaseFailed || !strings.Contains(c.Message, "kubectl delete job "+job) || !strings.Contains(c.Message, "backoff limit") {
		t.Errorf("given up: phase %s, message %q: want Failed with the Job's message and the way out", b.Status.Phase, c.Message)
	}
	j := &batchv1.Job{}
	if err := h.exists(j, job); err != nil || j.UID != second {
		t.Errorf("the operator touched the Job after the last run (err %v, uid %s, want %s)", err, j.UID, second)
	}

	// The way out: delete the Job (after fixing the cause); the operator runs it anew.
	if err := h.c.Delete(h.ctx, j, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil { // as kubectl delete does
		t.Fatal(err)
	}
	rerun("", second)
	h.finishJob(job, true)
	h.waitCond(name, v1alpha1.ConditionMigrationsSucceeded, "True")
	h.waitCond(name, v1alpha1.ConditionDegraded, "False")
	eventually(t, "inventory rolled to 0.2.0", func() error {
		d := &appsv1.Deployment{}
		if err := h.exists(d, render.Names{Bookstore: name}.Service("inventory")); err != nil {
			return err
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "bookstore:0.2.0" {
			return errors.New("image " + img)
		}
		return nil
	})
}

// waitEvent waits for an Event of reason about Bookstore name that mentions what.
func waitEvent(t *testing.T, h *harness, name, reason, what string) {
	t.Helper()
	eventually(t, reason+" event", func() error {
		notes, err := h.eventNotes(name, reason)
		if err != nil {
			return err
		}
		for _, n := range notes {
			if strings.Contains(n, what) {
				return nil
			}
		}
		return errors.New("none yet")
	})
}

// eventNotes lists the notes of the Events of reason about Bookstore name.
func (h *harness) eventNotes(name, reason string) ([]string, error) {
	var l eventsv1.EventList
	if err := h.c.List(h.ctx, &l, client.InNamespace(h.ns)); err != nil {
		return nil, err
	}
	var out []string
	for _, e := range l.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			out = append(out, e.Note)
		}
	}
	return out, nil
}
