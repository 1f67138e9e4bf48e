package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
	"github.com/bookstore-platform/bookstore/operator/internal/testutil"
)

// TestOperator runs the operator's manager against a real kube-apiserver +
// etcd (envtest; no kubelet, no controllers: the test plays them by writing
// workload status) and checks what a user of `kubectl apply -f bookstore.yaml`
// would check. The subtests share the control plane; each uses its own namespace.
func TestOperator(t *testing.T) {
	root := testenv.RepoRoot(t)
	env, cfg := testenv.KubeEnv(t, filepath.Join(root, "manifests", "crd"))
	scheme := testutil.Scheme(t)
	// controller-runtime logs through one process-wide logger: warnings and errors to stderr.
	ctrl.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))

	// The manager runs as the operator's ServiceAccount with exactly the RBAC
	// of manifests/: the ClusterRole generated from the markers and its binding.
	admin, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	testutil.InstallManifests(t, admin, root, "rbac/role.yaml", "operator/role_binding.yaml")
	operator := testutil.AddUser(t, env, testutil.OperatorServiceAccount)
	counter := &writeCounter{}
	mcfg := rest.CopyConfig(operator.Config())
	mcfg.Wrap(counter.wrap)
	mgr, err := ctrl.NewManager(mcfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &BookstoreReconciler{Client: mgr.GetClient(), Scheme: scheme, Recorder: mgr.GetEventRecorder("bookstore-operator")}
	if err := r.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	c := admin
	kubeconfig := testutil.Kubeconfig(t, testutil.AddUser(t, env, envtest.User{Name: "admin", Groups: []string{"system:masters"}}))
	newHarness := func(t *testing.T, ns string) *harness {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
		return &harness{t: t, ctx: ctx, c: c, ns: ns, kubeconfig: kubeconfig}
	}

	t.Run("sample lifecycle then upgrade with a failed migration", func(t *testing.T) {
		h := newHarness(t, "sample")
		testSample(t, h, r, counter)
	})
	t.Run("autoscaling on and off", func(t *testing.T) {
		testAutoscaling(t, newHarness(t, "autoscaling"), r)
	})
	t.Run("prune what the spec no longer wants", func(t *testing.T) {
		testPrune(t, newHarness(t, "prune"))
	})
	t.Run("external postgres", func(t *testing.T) {
		testExternalPostgres(t, newHarness(t, "external"))
	})
	t.Run("external infrastructure sample", func(t *testing.T) {
		testExternalSample(t, newHarness(t, "extsample"), root)
	})
	t.Run("spec env overrides the chart's variables", func(t *testing.T) {
		testEnvOverride(t, newHarness(t, "envoverride"))
	})
	t.Run("crd validation", func(t *testing.T) {
		testValidation(t, newHarness(t, "validation"))
	})
	t.Run("manifests dry-run", func(t *testing.T) {
		testManifests(t, c, root, kubeconfig)
	})
}

func loadSample(t *testing.T, root, ns string) *v1alpha1.Bookstore {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "manifests", "samples", "bookstore.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Parse(data)
	if err != nil || len(objs) != 1 {
		t.Fatalf("sample: %d objects, %v", len(objs), err)
	}
	b := &v1alpha1.Bookstore{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(objs[0].Object, b); err != nil {
		t.Fatal(err)
	}
	b.Namespace = ns
	return b
}

// bringUp plays kubelet until Bookstore name is Ready.
func (h *harness) bringUp(name string) {
	h.t.Helper()
	n := render.Names{Bookstore: name}
	b := h.bookstore(name)
	if b.Spec.Postgres.External == nil {
		h.markStatefulSetReady(n.Postgres())
	}
	if b.Spec.Kafka.External == nil {
		h.markStatefulSetReady(n.Kafka())
	}
	if b.Spec.Redis.External == nil {
		h.markDeploymentReady(n.Redis())
	}
	for _, svc := range render.Services() {
		h.finishJob(n.MigrationJob(svc, &b.Spec), true)
	}
	// Like a Deployment controller: whatever generation the operator applies
	// (it may roll again after the Jobs finished), it becomes available.
	eventually(h.t, name+" Ready", func() error {
		for _, svc := range render.Services() {
			d := &appsv1.Deployment{}
			if err := h.exists(d, n.Service(svc)); err != nil {
				return err
			}
			if d.Status.ObservedGeneration != d.Generation {
				h.markDeploymentReady(n.Service(svc))
			}
		}
		if got := h.cond(name, v1alpha1.ConditionReady); !strings.HasPrefix(got, "True") {
			return errors.New("Ready is " + got)
		}
		return nil
	})
}

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
	wantPaths := map[string]string{"/api/users": n.Service("user"), "/api/tokens": n.Service("token"), "/api/books": n.Service("inventory"), "/api/orders": n.Service("order")}
	if !reflect.DeepEqual(paths, wantPaths) || ing.Spec.Rules[0].Host != "bookstore.localtest.me" || ptr.Deref(ing.Spec.IngressClassName, "") != "nginx" {
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

	t.Run("kubectl get and wait", func(t *testing.T) {
		kubectl := testenv.Tool(t, "kubectl")
		out, err := runCmd(kubectl, "--kubeconfig", h.kubeconfig, "-n", h.ns, "wait", "--for=condition=Ready", "bookstore/"+name, "--timeout=20s")
		if err != nil {
			t.Fatalf("kubectl wait --for=condition=Ready: %v\n%s", err, out)
		}
		out, err = runCmd(kubectl, "--kubeconfig", h.kubeconfig, "-n", h.ns, "get", "bs")
		if err != nil {
			t.Fatalf("kubectl get bs: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !reflect.DeepEqual(strings.Fields(lines[0]), []string{"NAME", "READY", "PHASE", "VERSION", "URL", "AGE"}) {
			t.Fatalf("kubectl get bs:\n%s", out)
		}
		if row := strings.Fields(lines[1]); len(row) != 6 || !reflect.DeepEqual(row[:5], []string{name, "True", "Ready", "0.1.0", "http://bookstore.localtest.me/"}) {
			t.Errorf("kubectl get bs row: %q", lines[1])
		}
	})

	t.Run("events", func(t *testing.T) {
		// the event recorder sends asynchronously
		eventually(t, "events for the transitions", func() error {
			var l eventsv1.EventList
			if err := h.c.List(h.ctx, &l, client.InNamespace(h.ns)); err != nil {
				return err
			}
			reasons := map[string]bool{}
			for _, e := range l.Items {
				if e.Regarding.Kind == v1alpha1.Kind && e.Regarding.Name == name {
					reasons[e.Reason] = true
				}
			}
			for _, want := range []string{"SecretGenerated", "MigrationStarted", "InfrastructureReady", "MigrationsSucceeded", "Ready"} {
				if !reasons[want] {
					return fmt.Errorf("no %s event; got %v", want, slices.Collect(mapsKeys(reasons)))
				}
			}
			return nil
		})
	})

	t.Run("objects are the chart's", func(t *testing.T) {
		live := h.bookstore(name)
		for _, svc := range render.Services() {
			values, err := render.ServiceValues(live, svc)
			if err != nil {
				t.Fatal(err)
			}
			fromHelm := testutil.HelmTemplate(t, svc, name, h.ns, values)
			if len(fromHelm) < 4 { // Job, Service, Deployment, PDB (+HPA)
				t.Errorf("helm template %s rendered only %v", svc, sortedKeys(fromHelm))
			}
			for _, want := range fromHelm {
				got := &unstructured.Unstructured{}
				got.SetGroupVersionKind(want.GroupVersionKind())
				if err := h.c.Get(h.ctx, h.key(want.GetName()), got); err != nil {
					t.Errorf("%s from helm template: %v", objKey(want), err)
					continue
				}
				if !subset(want.Object, got.Object) {
					t.Errorf("%s in the cluster differs from `helm template` of charts/%s", objKey(want), svc)
				}
			}
		}
	})

	t.Run("owner references", func(t *testing.T) {
		live := h.bookstore(name)
		count := 0
		for _, list := range ownedLists() {
			if err := h.c.List(h.ctx, list, client.InNamespace(h.ns), client.MatchingLabels{render.InstanceLabel: name}); err != nil {
				t.Fatal(err)
			}
			items, _ := meta.ExtractList(list)
			for _, it := range items {
				o := it.(client.Object)
				count++
				if o.GetName() == n.Credentials() {
					// reclaimPolicy Retain: the passwords stay with the retained volumes
					if len(o.GetOwnerReferences()) != 0 {
						t.Errorf("credentials Secret has owner references under reclaimPolicy Retain")
					}
					continue
				}
				if !metav1.IsControlledBy(o, live) {
					t.Errorf("%T %s is not controlled by the Bookstore: %v", o, o.GetName(), o.GetOwnerReferences())
				}
			}
		}
		if count < 25 {
			t.Errorf("only %d labelled objects found", count)
		}
	})

	t.Run("steady state writes nothing", func(t *testing.T) {
		time.Sleep(2 * time.Second) // let the manager settle on the last status change
		counter.reset()
		for range 3 {
			if _, err := r.Reconcile(h.ctx, ctrl.Request{NamespacedName: h.key(name)}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Second)
		if w := counter.get(); len(w) != 0 {
			t.Errorf("reconciles of an unchanged, ready Bookstore wrote %d times: %v", len(w), w)
		}
	})

	t.Run("version change migrates first and a failed migration blocks its rollout", func(t *testing.T) {
		before := map[string]*appsv1.Deployment{}
		for _, svc := range render.Services() {
			d := &appsv1.Deployment{}
			_ = h.exists(d, n.Service(svc))
			before[svc] = d
		}
		live := h.bookstore(name)
		oldSpec := live.Spec.DeepCopy()
		live.Spec.Version = "0.2.0"
		if err := h.c.Update(h.ctx, live); err != nil {
			t.Fatal(err)
		}
		for _, svc := range render.Services() {
			h.waitExists(&batchv1.Job{}, n.MigrationJob(svc, &live.Spec))
		}
		eventually(t, "old migration jobs pruned", func() error {
			for _, svc := range render.Services() {
				if err := h.exists(&batchv1.Job{}, n.MigrationJob(svc, oldSpec)); !apierrors.IsNotFound(err) {
					return errors.New("old job " + n.MigrationJob(svc, oldSpec) + " still there")
				}
			}
			return nil
		})
		h.waitCond(name, v1alpha1.ConditionMigrationsSucceeded, "False/MigrationsRunning")
		h.waitCond(name, v1alpha1.ConditionReady, "False")
		for _, svc := range render.Services() {
			d := &appsv1.Deployment{}
			_ = h.exists(d, n.Service(svc))
			if d.Spec.Template.Spec.Containers[0].Image != "bookstore:0.1.0" || d.Generation != before[svc].Generation {
				t.Errorf("%s rolled before its migration ran: image %s", svc, d.Spec.Template.Spec.Containers[0].Image)
			}
		}
		for _, svc := range []string{"user", "token", "order"} {
			h.finishJob(n.MigrationJob(svc, &live.Spec), true)
		}
		h.finishJob(n.MigrationJob("inventory", &live.Spec), false)
		h.waitCond(name, v1alpha1.ConditionMigrationsSucceeded, "False/BackoffLimitExceeded")
		h.waitCond(name, v1alpha1.ConditionDegraded, "True/MigrationFailed")
		for _, svc := range []string{"user", "token", "order"} {
			eventually(t, svc+" rolled to 0.2.0", func() error {
				d := &appsv1.Deployment{}
				if err := h.exists(d, n.Service(svc)); err != nil {
					return err
				}
				if img := d.Spec.Template.Spec.Containers[0].Image; img != "bookstore:0.2.0" {
					return errors.New("image " + img)
				}
				return nil
			})
		}
		d := &appsv1.Deployment{}
		_ = h.exists(d, n.Service("inventory"))
		if d.Spec.Template.Spec.Containers[0].Image != "bookstore:0.1.0" || d.Generation != before["inventory"].Generation {
			t.Errorf("inventory was touched although its migration failed: image %s generation %d→%d",
				d.Spec.Template.Spec.Containers[0].Image, before["inventory"].Generation, d.Generation)
		}
		// Generated Secrets are never rotated: same keys after all of this.
		now := &corev1.Secret{}
		if err := h.exists(now, n.JWT()); err != nil || !reflect.DeepEqual(now.Data, jwt.Data) {
			t.Errorf("generated JWT Secret changed (err %v)", err)
		}
		b := h.bookstore(name)
		c := meta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionMigrationsSucceeded)
		if !strings.Contains(c.Message, n.MigrationJob("inventory", &live.Spec)) || b.Status.Phase != v1alpha1.PhaseFailed {
			t.Errorf("failed migration: phase %s message %q", b.Status.Phase, c.Message)
		}
	})
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// ownsField reports whether the operator's field manager owns a field path.
func ownsField(obj client.Object, path ...string) bool {
	for _, mf := range obj.GetManagedFields() {
		if mf.Manager != FieldOwner || mf.FieldsV1 == nil {
			continue
		}
		var m map[string]any
		if err := jsonUnmarshal(mf.FieldsV1.Raw, &m); err != nil {
			continue
		}
		cur := any(m)
		found := true
		for _, p := range path {
			mm, ok := cur.(map[string]any)
			if !ok {
				found = false
				break
			}
			if cur, ok = mm[p]; !ok {
				found = false
				break
			}
		}
		if found {
			return true
		}
	}
	return false
}

func checkServiceDeployment(t *testing.T, d *appsv1.Deployment, svc, bookstore, image string) {
	t.Helper()
	n := render.Names{Bookstore: bookstore}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers", d.Name, len(pod.Containers))
	}
	ctr := pod.Containers[0]
	if ctr.Image != image || !reflect.DeepEqual(ctr.Command, []string{"/usr/local/bin/" + svc}) {
		t.Errorf("%s: image %s command %v", d.Name, ctr.Image, ctr.Command)
	}
	if ctr.ReadinessProbe == nil || ctr.ReadinessProbe.HTTPGet == nil || ctr.ReadinessProbe.HTTPGet.Path != "/readyz" ||
		ctr.LivenessProbe == nil || ctr.LivenessProbe.HTTPGet == nil || ctr.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("%s: probes %+v / %+v", d.Name, ctr.ReadinessProbe, ctr.LivenessProbe)
	}
	if pod.SecurityContext == nil || !ptr.Deref(pod.SecurityContext.RunAsNonRoot, false) || pod.TerminationGracePeriodSeconds == nil {
		t.Errorf("%s: pod security context %+v, grace %v", d.Name, pod.SecurityContext, pod.TerminationGracePeriodSeconds)
	}
	if ctr.Resources.Requests.Cpu().IsZero() {
		t.Errorf("%s: no cpu request", d.Name)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range ctr.Env {
		env[e.Name] = e
	}
	db := env["BOOKSTORE_DATABASE_URL"]
	if db.ValueFrom == nil || db.ValueFrom.SecretKeyRef == nil || db.ValueFrom.SecretKeyRef.Name != n.DatabaseSecret(svc) {
		t.Errorf("%s: BOOKSTORE_DATABASE_URL = %+v, want from Secret %s", d.Name, db, n.DatabaseSecret(svc))
	}
	if r := env["BOOKSTORE_REDIS_URL"]; r.ValueFrom == nil || r.ValueFrom.SecretKeyRef.Name != n.RedisURLSecret() {
		t.Errorf("%s: BOOKSTORE_REDIS_URL = %+v", d.Name, r)
	}
	if k := env["BOOKSTORE_KAFKA_BROKERS"]; !strings.Contains(k.Value, n.Kafka()+"-0."+n.KafkaHeadless()) {
		t.Errorf("%s: BOOKSTORE_KAFKA_BROKERS = %+v", d.Name, k)
	}
	if _, ok := env["BOOKSTORE_JWT_PUBLIC_KEY_FILE"]; !ok {
		t.Errorf("%s: no BOOKSTORE_JWT_PUBLIC_KEY_FILE", d.Name)
	}
	if _, ok := env["BOOKSTORE_JWT_PRIVATE_KEY_FILE"]; ok != (svc == "user") {
		t.Errorf("%s: private key mounted = %v, want only for user", d.Name, ok)
	}
	if svc == "order" {
		if u := env["BOOKSTORE_INVENTORY_URL"]; u.Value != "http://"+n.Service("inventory")+":8080" {
			t.Errorf("order: BOOKSTORE_INVENTORY_URL = %q", u.Value)
		}
	}
	if d.Labels[render.InstanceLabel] != bookstore || d.Labels["app.kubernetes.io/managed-by"] != render.ManagedBy {
		t.Errorf("%s: labels %v", d.Name, d.Labels)
	}
}

func testAutoscaling(t *testing.T, h *harness, r *BookstoreReconciler) {
	b := &v1alpha1.Bookstore{
		ObjectMeta: metav1.ObjectMeta{Name: "scaly", Namespace: h.ns},
		Spec:       v1alpha1.BookstoreSpec{Version: "1.0.0", Services: v1alpha1.ServicesSpec{User: v1alpha1.ServiceSpec{Replicas: ptr.To(int32(3))}}},
	}
	if err := h.c.Create(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	n := render.Names{Bookstore: b.Name}
	h.bringUp(b.Name)
	if err := h.exists(&autoscalingv2.HorizontalPodAutoscaler{}, n.Service("user")); !apierrors.IsNotFound(err) {
		t.Fatalf("HPA without autoscaling: %v", err)
	}

	// on
	live := h.bookstore(b.Name)
	live.Spec.Services.User = v1alpha1.ServiceSpec{Autoscaling: &v1alpha1.AutoscalingSpec{MinReplicas: 2, MaxReplicas: 6, TargetCPUUtilizationPercentage: 70}}
	if err := h.c.Update(h.ctx, live); err != nil {
		t.Fatal(err)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{}
	h.waitExists(hpa, n.Service("user"))
	if ptr.Deref(hpa.Spec.MinReplicas, 0) != 2 || hpa.Spec.MaxReplicas != 6 || hpa.Spec.ScaleTargetRef.Name != n.Service("user") ||
		ptr.Deref(hpa.Spec.Metrics[0].Resource.Target.AverageUtilization, 0) != 70 {
		t.Errorf("hpa spec %+v", hpa.Spec)
	}
	d := &appsv1.Deployment{}
	// scaleAs sets the replicas through the scale subresource, as owner
	// (the HPA's controller, kubectl) does.
	scaleAs := func(owner string, replicas int32) {
		t.Helper()
		scale := &autoscalingv1.Scale{}
		if err := h.c.SubResource("scale").Get(h.ctx, d, scale); err != nil {
			t.Fatal(err)
		}
		scale.Spec.Replicas = replicas
		if err := h.c.SubResource("scale").Update(h.ctx, d, client.WithSubResourceBody(scale), client.FieldOwner(owner)); err != nil {
			t.Fatal(err)
		}
	}
	replicasAre := func(want int32) func() error {
		return func() error {
			if err := h.exists(d, n.Service("user")); err != nil {
				return err
			}
			if ptr.Deref(d.Spec.Replicas, 0) != want {
				return fmt.Errorf("replicas not %d", want)
			}
			return nil
		}
	}
	eventually(t, "operator releases spec.replicas", func() error {
		if err := h.exists(d, n.Service("user")); err != nil {
			return err
		}
		if ownsField(d, "f:spec", "f:replicas") {
			return errors.New("operator still owns spec.replicas")
		}
		return nil
	})
	if got := ptr.Deref(d.Spec.Replicas, 0); got != 3 {
		t.Errorf("replicas = %d after turning autoscaling on, want the 3 it had (not reset)", got)
	}
	// The HPA scales the Deployment (through the scale subresource, as its controller does).
	scaleAs("horizontal-pod-autoscaler", 5)
	h.markDeploymentReady(n.Service("user"))
	time.Sleep(time.Second)
	for range 2 {
		if _, err := r.Reconcile(h.ctx, ctrl.Request{NamespacedName: h.key(b.Name)}); err != nil {
			t.Fatal(err)
		}
	}
	_ = h.exists(d, n.Service("user"))
	if ptr.Deref(d.Spec.Replicas, 0) != 5 {
		t.Errorf("replicas = %v after the HPA set 5: the operator wrote replicas", d.Spec.Replicas)
	}

	// off
	live = h.bookstore(b.Name)
	live.Spec.Services.User = v1alpha1.ServiceSpec{Replicas: ptr.To(int32(3))}
	if err := h.c.Update(h.ctx, live); err != nil {
		t.Fatal(err)
	}
	eventually(t, "HPA deleted", func() error {
		err := h.exists(&autoscalingv2.HorizontalPodAutoscaler{}, n.Service("user"))
		if apierrors.IsNotFound(err) {
			return nil
		}
		return errors.New("HPA still there")
	})
	eventually(t, "replicas set to 3", replicasAre(3))

	// Drift: someone scales by hand; the operator owns replicas again and restores them.
	scaleAs("kubectl", 7)
	eventually(t, "manual scale reverted to 3", replicasAre(3))
}

func testExternalPostgres(t *testing.T, h *harness) {
	b := &v1alpha1.Bookstore{
		ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: h.ns},
		Spec: v1alpha1.BookstoreSpec{
			Version:  "2.0.0",
			Postgres: v1alpha1.PostgresSpec{External: &v1alpha1.ExternalPostgres{SecretName: "shared-pg"}},
		},
	}
	if err := h.c.Create(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	n := render.Names{Bookstore: b.Name}
	h.markStatefulSetReady(n.Kafka())
	h.markDeploymentReady(n.Redis())
	eventually(t, "InfrastructureReady=False names the missing Secret", func() error {
		c := meta.FindStatusCondition(h.bookstore(b.Name).Status.Conditions, v1alpha1.ConditionInfrastructureReady)
		if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "Secret shared-pg not found") {
			return errors.New("condition " + h.cond(b.Name, v1alpha1.ConditionInfrastructureReady))
		}
		return nil
	})
	if err := h.exists(&appsv1.StatefulSet{}, n.Postgres()); !apierrors.IsNotFound(err) {
		t.Errorf("managed postgres StatefulSet with an external PostgreSQL: %v", err)
	}
	if err := h.exists(&corev1.Secret{}, n.DatabaseSecret("user")); !apierrors.IsNotFound(err) {
		t.Errorf("derived DSN Secret with an external PostgreSQL: %v", err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shared-pg", Namespace: h.ns}, StringData: map[string]string{}}
	for _, svc := range render.Services() {
		secret.StringData[svc] = "postgres://" + svc + ":pw@db.example:5432/" + svc + "?sslmode=require"
	}
	if err := h.c.Create(h.ctx, secret); err != nil {
		t.Fatal(err)
	}
	h.waitCond(b.Name, v1alpha1.ConditionInfrastructureReady, "True") // within the 30 s requeue
	for _, svc := range render.Services() {
		j := &batchv1.Job{}
		h.waitExists(j, n.MigrationJob(svc, &b.Spec))
		var db *corev1.EnvVar
		for i, e := range j.Spec.Template.Spec.Containers[0].Env {
			if e.Name == "BOOKSTORE_DATABASE_URL" {
				db = &j.Spec.Template.Spec.Containers[0].Env[i]
			}
		}
		if db == nil || db.ValueFrom == nil || db.ValueFrom.SecretKeyRef.Name != "shared-pg" || db.ValueFrom.SecretKeyRef.Key != svc {
			t.Errorf("%s migration: BOOKSTORE_DATABASE_URL = %+v, want Secret shared-pg key %s", svc, db, svc)
		}
	}
	h.bringUp(b.Name)
	d := &appsv1.Deployment{}
	h.waitExists(d, n.Service("token"))
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "BOOKSTORE_DATABASE_URL" && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != "shared-pg" || e.ValueFrom.SecretKeyRef.Key != "token") {
			t.Errorf("token deployment: BOOKSTORE_DATABASE_URL = %+v", e)
		}
	}
}

func testValidation(t *testing.T, h *harness) {
	valid := func() *v1alpha1.Bookstore {
		return &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, GenerateName: "v-"}, Spec: v1alpha1.BookstoreSpec{Version: "1.0.0"}}
	}
	q := resource.MustParse("1Gi")
	cases := []struct {
		name    string
		mutate  func(b *v1alpha1.Bookstore)
		wantErr string // "" means accepted
	}{
		{"minimal spec", func(*v1alpha1.Bookstore) {}, ""},
		{"full spec", func(b *v1alpha1.Bookstore) {
			b.Spec.Services.Order.Autoscaling = &v1alpha1.AutoscalingSpec{MinReplicas: 1, MaxReplicas: 3}
			b.Spec.Services.User.Replicas = ptr.To(int32(0))
			b.Spec.Postgres.Managed = &v1alpha1.ManagedPostgres{Storage: v1alpha1.StorageSpec{Size: &q}}
			b.Spec.Kafka.Managed = &v1alpha1.ManagedKafka{Replicas: 3}
			b.Spec.Ingress = v1alpha1.IngressSpec{Enabled: true, Host: "shop.example.com", TLSSecretName: "tls"}
		}, ""},
		{"negative replicas", func(b *v1alpha1.Bookstore) { b.Spec.Services.User.Replicas = ptr.To(int32(-1)) }, "spec.services.user.replicas"},
		{"min above max", func(b *v1alpha1.Bookstore) {
			b.Spec.Services.Token.Autoscaling = &v1alpha1.AutoscalingSpec{MinReplicas: 5, MaxReplicas: 2}
		}, "minReplicas must not exceed maxReplicas"},
		{"replicas and autoscaling", func(b *v1alpha1.Bookstore) {
			b.Spec.Services.Token.Replicas = ptr.To(int32(2))
			b.Spec.Services.Token.Autoscaling = &v1alpha1.AutoscalingSpec{MaxReplicas: 2}
		}, "set either replicas or autoscaling"},
		{"managed and external postgres", func(b *v1alpha1.Bookstore) {
			b.Spec.Postgres = v1alpha1.PostgresSpec{Managed: &v1alpha1.ManagedPostgres{}, External: &v1alpha1.ExternalPostgres{SecretName: "x"}}
		}, "postgres: managed and external are mutually exclusive"},
		{"managed and external kafka", func(b *v1alpha1.Bookstore) {
			b.Spec.Kafka = v1alpha1.KafkaSpec{Managed: &v1alpha1.ManagedKafka{}, External: &v1alpha1.ExternalKafka{SecretName: "x"}}
		}, "kafka: managed and external are mutually exclusive"},
		{"two kafka nodes", func(b *v1alpha1.Bookstore) { b.Spec.Kafka.Managed = &v1alpha1.ManagedKafka{Replicas: 2} }, "spec.kafka.managed.replicas"},
		{"empty version", func(b *v1alpha1.Bookstore) { b.Spec.Version = "" }, "spec.version"},
		{"an env variable twice", func(b *v1alpha1.Bookstore) {
			b.Spec.Services.Order.Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}}
		}, "spec.services.order.env[1]"},
		{"tls without host", func(b *v1alpha1.Bookstore) {
			b.Spec.Ingress = v1alpha1.IngressSpec{Enabled: true, TLSSecretName: "tls"}
		}, "tlsSecretName needs a host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := valid()
			tc.mutate(b)
			err := h.c.Create(h.ctx, b, client.DryRunAll)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("valid spec rejected: %v", err)
				}
				return
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an Invalid error mentioning %q", err, tc.wantErr)
			}
		})
	}
	// A bad quantity never reaches the typed client: send raw YAML.
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore",
		"metadata": map[string]any{"name": "badq", "namespace": h.ns},
		"spec":     map[string]any{"version": "1", "postgres": map[string]any{"managed": map[string]any{"storage": map[string]any{"size": "ten gigs"}}}},
	}}
	if err := h.c.Create(h.ctx, u, client.DryRunAll); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.postgres.managed.storage.size") {
		t.Errorf("bad quantity: got %v, want Invalid on spec.postgres.managed.storage.size", err)
	}
}

// testManifests applies everything in manifests/ (and the kustomize build)
// with --dry-run=server: real schema validation by the API server.
func testManifests(t *testing.T, c client.Client, root, kubeconfig string) {
	kubectl := testenv.Tool(t, "kubectl")
	// Namespaced objects cannot be dry-run into a namespace that only exists in the same dry run.
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bookstore-system"}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	var files []string
	err := filepath.WalkDir(filepath.Join(root, "manifests"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".yaml") && filepath.Base(p) != "kustomization.yaml" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 7 {
		t.Fatalf("only %d manifests found: %v", len(files), files)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) {
			out, err := runCmd(kubectl, "--kubeconfig", kubeconfig, "apply", "--dry-run=server", "-f", f)
			if err != nil {
				t.Fatalf("kubectl apply --dry-run=server -f %s: %v\n%s", rel, err, out)
			}
		})
	}
	t.Run("kustomize", func(t *testing.T) {
		built, err := runCmd(kubectl, "kustomize", filepath.Join(root, "manifests"))
		if err != nil {
			t.Fatalf("kubectl kustomize manifests/: %v\n%s", err, built)
		}
		for _, want := range []string{"kind: CustomResourceDefinition", "kind: ClusterRole\n", "kind: Deployment", "kind: Namespace"} {
			if !strings.Contains(built, want) {
				t.Errorf("kustomize build lacks %q", want)
			}
		}
		p := filepath.Join(t.TempDir(), "built.yaml")
		if err := os.WriteFile(p, []byte(built), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := runCmd(kubectl, "--kubeconfig", kubeconfig, "apply", "--dry-run=server", "-f", p); err != nil {
			t.Fatalf("kubectl apply --dry-run=server of the kustomize build: %v\n%s", err, out)
		}
	})
}

// testExternalSample applies manifests/samples/bookstore-external.yaml: with
// everything external the operator runs no infrastructure and wires the
// services to the referenced Secrets.
func testExternalSample(t *testing.T, h *harness, root string) {
	data, err := os.ReadFile(filepath.Join(root, "manifests", "samples", "bookstore-external.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := render.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	name := ""
	for _, o := range objs {
		o.SetNamespace(h.ns)
		if o.GetKind() == v1alpha1.Kind {
			name = o.GetName()
		}
		if err := h.c.Create(h.ctx, o); err != nil {
			t.Fatalf("create %s: %v", objKey(o), err)
		}
	}
	h.waitCond(name, v1alpha1.ConditionInfrastructureReady, "True")
	h.bringUp(name)
	n := render.Names{Bookstore: name}
	var sets appsv1.StatefulSetList
	if err := h.c.List(h.ctx, &sets, client.InNamespace(h.ns)); err != nil || len(sets.Items) != 0 {
		t.Errorf("StatefulSets with external infrastructure: %d (%v)", len(sets.Items), err)
	}
	if err := h.exists(&appsv1.Deployment{}, n.Redis()); !apierrors.IsNotFound(err) {
		t.Errorf("managed Redis with an external one: %v", err)
	}
	if err := h.exists(&corev1.Secret{}, n.Credentials()); !apierrors.IsNotFound(err) {
		t.Errorf("generated credentials with nothing managed: %v", err)
	}
	d := &appsv1.Deployment{}
	h.waitExists(d, n.Service("order"))
	env := map[string]corev1.EnvVar{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	for envName, want := range map[string]string{
		"BOOKSTORE_DATABASE_URL":        "shop-postgres/order",
		"BOOKSTORE_REDIS_URL":           "shop-redis/url",
		"BOOKSTORE_KAFKA_BROKERS":       "shop-kafka/brokers",
		"BOOKSTORE_KAFKA_SASL_USERNAME": "shop-kafka/username",
		"BOOKSTORE_KAFKA_SASL_PASSWORD": "shop-kafka/password",
	} {
		e := env[envName]
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key != want {
			t.Errorf("%s = %+v, want from Secret %s", envName, e, want)
		}
	}
	if env["BOOKSTORE_KAFKA_SECURITY_PROTOCOL"].Value != "SASL_SSL" || env["BOOKSTORE_KAFKA_SASL_MECHANISM"].Value != "SCRAM-SHA-512" ||
		env["BOOKSTORE_KAFKA_TOPIC_REPLICATION"].Value != "3" {
		t.Errorf("kafka settings: %v %v %v", env["BOOKSTORE_KAFKA_SECURITY_PROTOCOL"], env["BOOKSTORE_KAFKA_SASL_MECHANISM"], env["BOOKSTORE_KAFKA_TOPIC_REPLICATION"])
	}
	if got := h.bookstore(name).Status.URL; got != "https://shop.example.com/" {
		t.Errorf("url %q", got)
	}
}

// testPrune: turning the Ingress off and moving PostgreSQL out deletes the
// objects the operator made for them; generated Secrets stay.
func testPrune(t *testing.T, h *harness) {
	b := &v1alpha1.Bookstore{
		ObjectMeta: metav1.ObjectMeta{Name: "pr", Namespace: h.ns},
		Spec:       v1alpha1.BookstoreSpec{Version: "1.0.0", Ingress: v1alpha1.IngressSpec{Enabled: true}},
	}
	if err := h.c.Create(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	n := render.Names{Bookstore: b.Name}
	h.bringUp(b.Name)
	h.waitExists(&networkingv1.Ingress{}, b.Name)
	h.waitExists(&networkingv1.Ingress{}, b.Name+"-docs")

	if err := h.c.Create(h.ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "ext-pg", Namespace: h.ns},
		StringData: map[string]string{"user": "postgres://u@db/u", "token": "postgres://t@db/t", "inventory": "postgres://i@db/i", "order": "postgres://o@db/o"},
	}); err != nil {
		t.Fatal(err)
	}
	live := h.bookstore(b.Name)
	live.Spec.Ingress.Enabled = false
	live.Spec.Postgres = v1alpha1.PostgresSpec{External: &v1alpha1.ExternalPostgres{SecretName: "ext-pg"}}
	if err := h.c.Update(h.ctx, live); err != nil {
		t.Fatal(err)
	}
	gone := []struct {
		obj  client.Object
		name string
	}{
		{&networkingv1.Ingress{}, b.Name},
		{&networkingv1.Ingress{}, b.Name + "-docs"},
		{&appsv1.StatefulSet{}, n.Postgres()},
		{&corev1.Service{}, n.Postgres()},
		{&corev1.ConfigMap{}, n.Postgres() + "-init"},
		{&corev1.Secret{}, n.DatabaseSecret("order")},
	}
	for _, g := range gone {
		eventually(t, fmt.Sprintf("%T %s pruned", g.obj, g.name), func() error {
			err := h.exists(g.obj, g.name)
			if apierrors.IsNotFound(err) {
				return nil
			}
			if err == nil && g.obj.GetDeletionTimestamp() != nil {
				return nil // deleting (no garbage collector in envtest to finish foreground deletions)
			}
			return fmt.Errorf("still there (err %v)", err)
		})
	}
	for _, keep := range []string{n.Credentials(), n.JWT(), n.Admin(), n.RedisURLSecret()} {
		if err := h.exists(&corev1.Secret{}, keep); err != nil {
			t.Errorf("Secret %s: %v", keep, err)
		}
	}
	// Another database: the migrations run again, there, before the services move.
	live = h.bookstore(b.Name)
	for _, svc := range render.Services() {
		if n.MigrationJob(svc, &live.Spec) == n.MigrationJob(svc, &b.Spec) {
			t.Fatalf("%s: same migration Job for another database", svc)
		}
	}
	h.bringUp(b.Name)
	d := &appsv1.Deployment{}
	_ = h.exists(d, n.Service("inventory"))
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "BOOKSTORE_DATABASE_URL" && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != "ext-pg") {
			t.Errorf("inventory BOOKSTORE_DATABASE_URL = %+v after the switch", e)
		}
	}
}
