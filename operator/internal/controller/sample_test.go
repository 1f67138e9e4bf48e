package controller

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

func testSample(t *testing.T, h *harness, r *BookstoreReconciler, counter *writeCounter) {
	root := testenv.RepoRoot(t)
	b := loadSample(t, root, h.ns)
	if err := h.c.Create(h.ctx, b); err != nil {
		t.Fatalf("apply the sample: %v", err)
	}
	name := b.Name
	n := render.Names{Bookstore: name}

	// Secrets, infrastructure and the services' Services/PDBs/HPA/Ingress appear at once.
	for _, s := range []string{n.Credentials(), n.JWT(), n.Admin(), n.RedisURLSecret(), n.DatabaseSecret("user")} {
		h.waitExists(&corev1.Secret{}, s)
	}
	jwt := &corev1.Secret{}
	h.waitExists(jwt, n.JWT())
	if !strings.Contains(string(jwt.Data["private.pem"]), "PRIVATE KEY") || !strings.Contains(string(jwt.Data["public.pem"]), "PUBLIC KEY") {
		t.Errorf("generated JWT secret lacks PEM keys: %v", slices.Collect(mapsKeys(jwt.Data)))
	}
	pg := &appsv1.StatefulSet{}
	h.waitExists(pg, n.Postgres())
	if got := pg.Spec.PersistentVolumeClaimRetentionPolicy; got == nil || got.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		t.Errorf("postgres PVC retention = %+v, want WhenDeleted=Retain (sample reclaimPolicy)", got)
	}
	if sz := pg.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]; sz.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("postgres volume size = %s, want 1Gi", sz.String())
	}
	kafka := &appsv1.StatefulSet{}
	h.waitExists(kafka, n.Kafka())
	if *kafka.Spec.Replicas != 1 || kafka.Spec.ServiceName != n.KafkaHeadless() {
		t.Errorf("kafka: replicas %d serviceName %q", *kafka.Spec.Replicas, kafka.Spec.ServiceName)
	}
	headless := &corev1.Service{}
	h.waitExists(headless, n.KafkaHeadless())
	if headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("kafka service is not headless: clusterIP %q", headless.Spec.ClusterIP)
	}
	h.waitExists(&appsv1.Deployment{}, n.Redis())
	for _, svc := range render.Services() {
		h.waitExists(&corev1.Service{}, n.Service(svc))
		h.waitExists(&policyv1.PodDisruptionBudget{}, n.Service(svc))
	}
	h.waitExists(&autoscalingv2.HorizontalPodAutoscaler{}, n.Service("order"))
	ing := &networkingv1.Ingress{}
	h.waitExists(ing, name)
	paths := map[string]string{}
	for _, p := range ing.Spec.Rules[0].HTTP.Paths {
		paths[p.Path] = p.Backend.Service.Name
	}
	wantPaths := map[string]string{"/api/users": n.Service("user"), "/": n.Service("user"), "/assets": n.Service("user"), "/api/tokens": n.Service("token"), "/api/books": n.Service("inventory"), "/api/orders": n.Service("order")}
	if !reflect.DeepEqual(paths, wantPaths) || ing.Spec.Rules[0].Host != "bookstore.localtest.me" || ptr.Deref(ing.Spec.IngressClassName, "") != "haproxy" {
		t.Errorf("ingress: host %q class %v paths %v, want %v", ing.Spec.Rules[0].Host, ing.Spec.IngressClassName, paths, wantPaths)
	}

	// Nothing migrates before PostgreSQL is ready.
	h.waitCond(name, v1alpha1.ConditionInfrastructureReady, "False/Provisioning")
	if got := h.bookstore(name).Status.Phase; got != v1alpha1.PhaseProvisioning {
		t.Errorf("phase = %s, want Provisioning", got)
	}
	if js := h.jobs(name); len(js) != 0 {
		t.Errorf("migration jobs before PostgreSQL is ready: %v", slices.Collect(mapsKeys(js)))
	}

	h.markStatefulSetReady(n.Postgres())
	for _, svc := range render.Services() {
		j := &batchv1.Job{}
		h.waitExists(j, n.MigrationJob(svc, &b.Spec))
		ctr := j.Spec.Template.Spec.Containers[0]
		if want := []string{"/usr/local/bin/" + svc, "migrate"}; !reflect.DeepEqual(ctr.Command, want) || ctr.Image != "bookstore:0.1.0" {
			t.Errorf("job %s: command %v image %s", j.Name, ctr.Command, ctr.Image)
		}
		if _, hook := j.Annotations["helm.sh/hook"]; hook {
			t.Errorf("job %s is a Helm hook; the operator runs plain Jobs", j.Name)
		}
	}
	// Still no service Deployment: the migrations have not run.
	for _, svc := range render.Services() {
		if err := h.exists(&appsv1.Deployment{}, n.Service(svc)); !apierrors.IsNotFound(err) {
			t.Errorf("deployment %s exists before its migration succeeded (err %v)", svc, err)
		}
	}
	h.markStatefulSetReady(n.Kafka())
	h.markDeploymentReady(n.Redis())
	h.waitCond(name, v1alpha1.ConditionInfrastructureReady, "True")
	h.waitCond(name, v1alpha1.ConditionMigrationsSucceeded, "False/MigrationsRunning")
	if got := h.bookstore(name).Status.Phase; got != v1alpha1.PhaseMigrating {
		t.Errorf("phase = %s, want Migrating", got)
	}

	for _, svc := range render.Services() {
		h.finishJob(n.MigrationJob(svc, &b.Spec), true)
	}
	h.waitCond(name, v1alpha1.ConditionMigrationsSucceeded, "True")
	for _, svc := range render.Services() {
		d := &appsv1.Deployment{}
		h.waitExists(d, n.Service(svc))
		checkServiceDeployment(t, d, svc, name, "bookstore:0.1.0")
	}
	checkNetworkPolicies(t, h, b)
	inv := &appsv1.Deployment{}
	_ = h.exists(inv, n.Service("inventory"))
	if ptr.Deref(inv.Spec.Replicas, 0) != 2 {
		t.Errorf("inventory replicas = %v, want 2", inv.Spec.Replicas)
	}
	order := &appsv1.Deployment{}
	_ = h.exists(order, n.Service("order"))
	if ownsField(order, "f:spec", "f:replicas") {
		t.Errorf("the operator owns spec.replicas of the autoscaled order Deployment")
	}
	h.waitCond(name, v1alpha1.ConditionServicesAvailable, "False")

	for _, svc := range render.Services() {
		h.markDeploymentReady(n.Service(svc))
	}
	h.waitCond(name, v1alpha1.ConditionServicesAvailable, "True")
	h.waitCond(name, v1alpha1.ConditionReady, "True/Ready")
	h.waitCond(name, v1alpha1.ConditionDegraded, "False")
	st := h.bookstore(name).Status
	if st.Phase != v1alpha1.PhaseReady || st.URL != "http://bookstore.localtest.me/" || st.ObservedGeneration != h.bookstore(name).Generation {
		t.Errorf("status: phase %s url %q observedGeneration %d", st.Phase, st.URL, st.ObservedGeneration)
	}
	for _, comp := range st.Components {
		if !comp.Ready {
			t.Errorf("component %s not ready: %s", comp.Name, comp.Message)
		}
	}

	checkSampleReady(t, h, r, counter, name)
	t.Run("version change migrates first and a failed migration blocks its rollout", func(t *testing.T) {
		testFailedMigration(t, h, name, jwt)
	})
}
