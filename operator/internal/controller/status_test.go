package controller

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

// services builds an observation of the four services for computeStatus.
func services(m migrationState, available bool) ([]migration, []serviceState) {
	var ms []migration
	var ss []serviceState
	for _, svc := range []string{"user", "token", "inventory", "order"} {
		ms = append(ms, migration{service: svc, job: "demo-" + svc + "-migrate-x", state: m, message: string(m)})
		ss = append(ss, serviceState{service: svc, name: "demo-" + svc, exists: available, available: available})
	}
	return ms, ss
}

func infra(ready bool) []v1alpha1.ComponentStatus {
	msg := ""
	if !ready {
		msg = "0 of 1 pods ready"
	}
	return []v1alpha1.ComponentStatus{{Name: "postgres", Ready: ready, Message: msg}, {Name: "redis", Ready: true}, {Name: "kafka", Ready: true}}
}

// TestComputeStatus: every phase and the conditions that go with it, from
// what a reconcile observed; no API server.
func TestComputeStatus(t *testing.T) {
	waiting, absent := services(migrationWaiting, false)
	running, _ := services(migrationRunning, false)
	done, notYet := services(migrationSucceeded, false)
	_, avail := services(migrationSucceeded, true)
	oneFailed, oneFailedSvcs := services(migrationSucceeded, true)
	oneFailed[2] = migration{service: "inventory", job: "demo-inventory-migrate-x", state: migrationFailed, reason: "BackoffLimitExceeded", message: "Job demo-inventory-migrate-x failed"}
	oneFailedSvcs[2].available, oneFailedSvcs[2].message = false, "runs bookstore:0.1.0, not bookstore:0.2.0"
	oneRetrying := slices.Clone(oneFailed)
	oneRetrying[2].reason, oneRetrying[2].retrying = "MigrationRetrying", true

	for _, tc := range []struct {
		name  string
		obs   observed
		phase v1alpha1.Phase
		// condition type → "Status/Reason"
		want map[string]string
	}{
		{"provisioning", observed{components: infra(false), migrations: waiting, services: absent}, v1alpha1.PhaseProvisioning, map[string]string{
			"Ready": "False/Provisioning", "InfrastructureReady": "False/Provisioning", "MigrationsSucceeded": "False/WaitingForInfrastructure",
			"ServicesAvailable": "False/WaitingForMigrations", "Degraded": "False/AsExpected",
		}},
		{"pending on a user Secret", observed{components: append(infra(true), v1alpha1.ComponentStatus{Name: "auth", Message: "Secret keys not found"}), waitExternal: true, migrations: waiting, services: absent},
			v1alpha1.PhasePending, map[string]string{"Ready": "False/WaitingForSecrets", "InfrastructureReady": "False/Provisioning"}},
		{"migrating", observed{components: infra(true), infraReady: true, migrations: running, services: absent}, v1alpha1.PhaseMigrating, map[string]string{
			"Ready": "False/Migrating", "InfrastructureReady": "True/InfrastructureReady", "MigrationsSucceeded": "False/MigrationsRunning",
		}},
		{"deploying", observed{components: infra(true), infraReady: true, migrations: done, services: notYet}, v1alpha1.PhaseDeploying, map[string]string{
			"Ready": "False/Deploying", "MigrationsSucceeded": "True/MigrationsSucceeded", "ServicesAvailable": "False/RollingOut",
		}},
		{"ready", observed{components: infra(true), infraReady: true, migrations: done, services: avail, url: "http://shop/"}, v1alpha1.PhaseReady, map[string]string{
			"Ready": "True/Ready", "InfrastructureReady": "True/InfrastructureReady", "MigrationsSucceeded": "True/MigrationsSucceeded",
			"ServicesAvailable": "True/ServicesAvailable", "Degraded": "False/AsExpected",
		}},
		{"failed migration", observed{components: infra(true), infraReady: true, migrations: oneFailed, services: oneFailedSvcs}, v1alpha1.PhaseFailed, map[string]string{
			"Ready": "False/MigrationFailed", "MigrationsSucceeded": "False/BackoffLimitExceeded", "Degraded": "True/MigrationFailed",
			"ServicesAvailable": "False/WaitingForMigrations",
		}},
		{"failed migration, a retry scheduled", observed{components: infra(true), infraReady: true, migrations: oneRetrying, services: oneFailedSvcs}, v1alpha1.PhaseMigrating, map[string]string{
			"Ready": "False/MigrationRetrying", "MigrationsSucceeded": "False/MigrationRetrying", "Degraded": "True/MigrationFailed",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "demo", Generation: 4}, Spec: v1alpha1.BookstoreSpec{Version: "0.2.0"}}
			st := computeStatus(b, tc.obs)
			if st.Phase != tc.phase || st.ObservedGeneration != 4 || st.URL != tc.obs.url {
				t.Errorf("phase %s observedGeneration %d url %q, want %s 4 %q", st.Phase, st.ObservedGeneration, st.URL, tc.phase, tc.obs.url)
			}
			if len(st.Conditions) != 5 {
				t.Errorf("%d conditions, want 5", len(st.Conditions))
			}
			for typ, want := range tc.want {
				c := meta.FindStatusCondition(st.Conditions, typ)
				if c == nil || string(c.Status)+"/"+c.Reason != want || c.ObservedGeneration != 4 {
					t.Errorf("%s = %+v, want %s", typ, c, want)
				}
			}
			if b.Status.Phase != "" || len(b.Status.Conditions) != 0 {
				t.Errorf("computeStatus changed its input: %+v", b.Status)
			}
		})
	}
}

// TestComputeStatusMessages: the messages name what a user must look at.
func TestComputeStatusMessages(t *testing.T) {
	ms, ss := services(migrationSucceeded, true)
	ms[1] = migration{service: "token", job: "demo-token-migrate-x", state: migrationFailed, message: "Job demo-token-migrate-x failed: DeadlineExceeded: too slow"}
	b := &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "demo"}, Spec: v1alpha1.BookstoreSpec{Version: "0.3.0"}}
	st := computeStatus(b, observed{components: infra(false), migrations: ms, services: ss})
	if c := meta.FindStatusCondition(st.Conditions, "InfrastructureReady"); !strings.Contains(c.Message, "postgres: 0 of 1 pods ready") {
		t.Errorf("InfrastructureReady message %q", c.Message)
	}
	c := meta.FindStatusCondition(st.Conditions, "MigrationsSucceeded")
	if c.Reason != "JobFailed" || !strings.Contains(c.Message, "demo-token-migrate-x") {
		t.Errorf("MigrationsSucceeded %s: %q", c.Reason, c.Message)
	}
	if d := meta.FindStatusCondition(st.Conditions, "Degraded"); !strings.Contains(d.Message, "bookstore:0.3.0") {
		t.Errorf("Degraded message %q", d.Message)
	}
}

// TestComputeStatusKeepsTransitionTimes: an unchanged condition keeps its
// lastTransitionTime, so a steady state computes an equal status (no write).
func TestComputeStatusKeepsTransitionTimes(t *testing.T) {
	ms, ss := services(migrationSucceeded, true)
	obs := observed{components: infra(true), infraReady: true, migrations: ms, services: ss}
	b := &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "demo", Generation: 1}, Spec: v1alpha1.BookstoreSpec{Version: "1"}}
	b.Status = computeStatus(b, obs)
	for i := range b.Status.Conditions {
		b.Status.Conditions[i].LastTransitionTime = metav1.Unix(1000, 0)
	}
	again := computeStatus(b, obs)
	for _, c := range again.Conditions {
		if !c.LastTransitionTime.Equal(&metav1.Time{Time: metav1.Unix(1000, 0).Time}) {
			t.Errorf("%s: transition time moved to %v", c.Type, c.LastTransitionTime)
		}
	}
}
