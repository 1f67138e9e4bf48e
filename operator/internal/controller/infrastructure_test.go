package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"
)

func TestStatefulSetReady(t *testing.T) {
	for _, tc := range []struct {
		name            string
		gen, observed   int64
		replicas, ready int32
		ok              bool
		msg             string
	}{
		{"ready", 2, 2, 3, 3, true, ""},
		{"controller behind", 3, 2, 3, 3, false, "rollout in progress"},
		{"pods missing", 2, 2, 3, 1, false, "1 of 3 pods ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(tc.replicas)}, Status: appsv1.StatefulSetStatus{ObservedGeneration: tc.observed, ReadyReplicas: tc.ready}}
			s.Generation = tc.gen
			if ok, msg := statefulSetReady(s); ok != tc.ok || msg != tc.msg {
				t.Errorf("(%v, %q), want (%v, %q)", ok, msg, tc.ok, tc.msg)
			}
		})
	}
}

func TestDeploymentReady(t *testing.T) {
	stuck := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded", Message: "ReplicaSet has timed out"}
	for _, tc := range []struct {
		name               string
		replicas           *int32
		updated, available int32
		conds              []appsv1.DeploymentCondition
		ok                 bool
		msg                string
	}{
		{"ready, replicas unset means 1", nil, 1, 1, nil, true, ""},
		{"old pods still serving", ptr.To(int32(2)), 1, 2, nil, false, "1 of 2 pods updated"},
		{"new pods not available", ptr.To(int32(2)), 2, 1, nil, false, "1 of 2 pods available"},
		{"stuck", ptr.To(int32(1)), 1, 1, []appsv1.DeploymentCondition{stuck}, false, "rollout stuck: ReplicaSet has timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: tc.replicas}, Status: appsv1.DeploymentStatus{
				UpdatedReplicas: tc.updated, AvailableReplicas: tc.available, Conditions: tc.conds,
			}}
			if ok, msg := deploymentReady(d); ok != tc.ok || msg != tc.msg {
				t.Errorf("(%v, %q), want (%v, %q)", ok, msg, tc.ok, tc.msg)
			}
		})
	}
}
