package controller

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/internal/testenv/kubeenv"
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
	env, cfg := kubeenv.KubeEnv(t, filepath.Join(root, "manifests", "crd"))
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
		Cache:                  cache.Options{ByObject: SecretCacheOptions()},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &BookstoreReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Scheme: scheme, Recorder: mgr.GetEventRecorder("bookstore-operator"), MigrationRetry: testRetry}
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
	t.Run("jwt key rotation on request", func(t *testing.T) {
		testJWTRotation(t, newHarness(t, "jwtrotation"))
	})
	t.Run("credentials of an older operator completed", func(t *testing.T) {
		testCredentialsCompleted(t, newHarness(t, "olderoperator"))
	})
	t.Run("crd validation", func(t *testing.T) {
		testValidation(t, newHarness(t, "validation"))
	})
	t.Run("gateway API routes without the CRDs", func(t *testing.T) {
		installed, err := GatewayAPIInstalled(cfg)
		if err != nil {
			t.Fatal(err)
		}
		testRoutesWithoutCRDs(t, newHarness(t, "nogatewayapi"), r, installed)
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
