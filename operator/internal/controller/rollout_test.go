package controller

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestJobResult(t *testing.T) {
	cond := func(typ batchv1.JobConditionType, status corev1.ConditionStatus, reason string) batchv1.JobCondition {
		return batchv1.JobCondition{Type: typ, Status: status, Reason: reason, Message: "m"}
	}
	for _, tc := range []struct {
		name   string
		conds  []batchv1.JobCondition
		state  migrationState
		reason string
	}{
		{"running", nil, migrationRunning, ""},
		{"complete", []batchv1.JobCondition{cond(batchv1.JobSuccessCriteriaMet, corev1.ConditionTrue, "CompletionsReached"), cond(batchv1.JobComplete, corev1.ConditionTrue, "CompletionsReached")}, migrationSucceeded, ""},
		{"failed", []batchv1.JobCondition{cond(batchv1.JobFailureTarget, corev1.ConditionTrue, "BackoffLimitExceeded"), cond(batchv1.JobFailed, corev1.ConditionTrue, "BackoffLimitExceeded")}, migrationFailed, "BackoffLimitExceeded"},
		{"a false condition is not a result", []batchv1.JobCondition{cond(batchv1.JobFailed, corev1.ConditionFalse, "")}, migrationRunning, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := migration{service: "user", job: "demo-user-migrate-x"}
			jobResult(&batchv1.Job{Status: batchv1.JobStatus{Conditions: tc.conds}}, &m)
			if m.state != tc.state || m.reason != tc.reason {
				t.Errorf("state %s reason %q, want %s %q", m.state, m.reason, tc.state, tc.reason)
			}
			if m.state == migrationFailed && !strings.Contains(m.message, m.job) {
				t.Errorf("message %q does not name the Job", m.message)
			}
		})
	}
}

func TestDeploymentResult(t *testing.T) {
	deploy := func(image string, available int32) *appsv1.Deployment {
		d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(1))}}
		d.Labels = map[string]string{"app.kubernetes.io/version": "0.1.0"}
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "user", Image: image}}
		d.Status = appsv1.DeploymentStatus{UpdatedReplicas: 1, AvailableReplicas: available}
		return d
	}
	rolling := func(available int32, stuck bool) *appsv1.Deployment {
		d := deploy("bookstore:0.2.0", available)
		d.Generation, d.Status.ObservedGeneration, d.Status.UpdatedReplicas = 3, 2, 0
		if stuck {
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded", Message: "too slow"}}
		}
		return d
	}
	for _, tc := range []struct {
		name      string
		d         *appsv1.Deployment
		rotating  bool
		available bool
		msg       string
	}{
		{"current and available", deploy("bookstore:0.2.0", 1), false, true, ""},
		{"old image", deploy("bookstore:0.1.0", 1), false, false, "runs bookstore:0.1.0, not bookstore:0.2.0"},
		{"not available", deploy("bookstore:0.2.0", 0), false, false, "0 of 1 pods available"},
		{"rolling", rolling(1, false), false, false, "rollout in progress"},
		// a JWT key rotation rolls the services: Ready must not flap
		{"rolling for a key rotation, all replicas serving", rolling(1, false), true, true, ""},
		{"rolling for a key rotation, a replica missing", rolling(0, false), true, false, "rollout in progress"},
		{"rolling for a key rotation, stuck", rolling(1, true), true, false, "rollout in progress"},
		{"old image during a key rotation", deploy("bookstore:0.1.0", 1), true, false, "runs bookstore:0.1.0, not bookstore:0.2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := serviceState{service: "user", name: "demo-user"}
			deploymentResult(tc.d, "bookstore:0.2.0", tc.rotating, &st)
			if !st.exists || st.available != tc.available || st.message != tc.msg || st.version != "0.1.0" {
				t.Errorf("%+v, want available %v message %q", st, tc.available, tc.msg)
			}
		})
	}
}
