package controller

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/internal/testenv/kubeenv"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/testutil"
)

// routedBookstore asks for HTTPRoutes on a Gateway of class haproxy.
func routedBookstore(ns string) *v1alpha1.Bookstore {
	return &v1alpha1.Bookstore{
		ObjectMeta: metav1.ObjectMeta{Name: "routed", Namespace: ns},
		Spec: v1alpha1.BookstoreSpec{Version: "1.0.0", GatewayAPI: v1alpha1.GatewayAPISpec{
			Enabled: true, GatewayClassName: "haproxy", Hostnames: []string{"shop.example.com"},
		}},
	}
}

// testRoutesWithoutCRDs (TestOperator: its API server has no Gateway API):
// a Bookstore asking for HTTPRoutes turns Ready anyway, says why it has no
// route, and the operator keeps reconciling.
func testRoutesWithoutCRDs(t *testing.T, h *harness, r *BookstoreReconciler, cfgInstalled bool) {
	if cfgInstalled || r.GatewayAPI {
		t.Fatal("the API server of TestOperator serves the Gateway API; this test needs one without")
	}
	b := routedBookstore(h.ns)
	if err := h.c.Create(h.ctx, b); err != nil {
		t.Fatal(err)
	}
	h.bringUp(b.Name)
	h.waitCond(b.Name, v1alpha1.ConditionRoutesAccepted, "False/GatewayAPIMissing")
}

// TestGatewayAPIRoutes: on an API server with the Gateway API CRDs, the
// operator (with exactly its RBAC) creates the Gateway and HTTPRoutes it owns,
// reports their Accepted/ResolvedRefs in RoutesAccepted without making Ready
// wait for them, and prunes them when the spec turns them off.
func TestGatewayAPIRoutes(t *testing.T) {
	root := testenv.RepoRoot(t)
	env, cfg := kubeenv.KubeEnv(t, filepath.Join(root, "manifests", "crd"), kubeenv.GatewayAPICRDs(t))
	scheme := testutil.Scheme(t)
	admin, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	testutil.InstallManifests(t, admin, root, "rbac/role.yaml", "operator/role_binding.yaml")
	installed, err := GatewayAPIInstalled(cfg)
	if err != nil || !installed {
		t.Fatalf("GatewayAPIInstalled = %v, %v with the CRDs installed", installed, err)
	}
	operator := testutil.AddUser(t, env, testutil.OperatorServiceAccount)
	mgr, err := ctrl.NewManager(operator.Config(), ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &BookstoreReconciler{Client: mgr.GetClient(), Scheme: scheme, Recorder: mgr.GetEventRecorder("bookstore-operator"), GatewayAPI: true}
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
	kubeconfig := testutil.Kubeconfig(t, testutil.AddUser(t, env, envtest.User{Name: "admin", Groups: []string{"system:masters"}}))
	if err := admin.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "routes"}}); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ctx: ctx, c: admin, ns: "routes", kubeconfig: kubeconfig}
	b := routedBookstore(h.ns)
	if err := admin.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	route, gw := &gatewayv1.HTTPRoute{}, &gatewayv1.Gateway{}
	eventually(t, "the HTTPRoutes and the Gateway", func() error {
		for _, o := range []struct {
			obj  client.Object
			name string
		}{{route, b.Name}, {&gatewayv1.HTTPRoute{}, b.Name + "-docs"}, {gw, b.Name}} {
			if err := h.exists(o.obj, o.name); err != nil {
				return err
			}
		}
		return nil
	})
	live := h.bookstore(b.Name)
	if !metav1.IsControlledBy(route, live) || !metav1.IsControlledBy(gw, live) || string(gw.Spec.GatewayClassName) != "haproxy" ||
		len(route.Spec.Hostnames) != 1 || route.Spec.Hostnames[0] != "shop.example.com" {
		t.Errorf("HTTPRoute %+v / Gateway %+v: want both controlled by the Bookstore, class haproxy, host shop.example.com", route.Spec, gw.Spec)
	}
	// haproxy-ingress writes no route status: Ready must not wait for one.
	h.bringUp(b.Name)
	h.waitCond(b.Name, v1alpha1.ConditionRoutesAccepted, "Unknown/NoRouteStatus")
	// Creating a route is no failure: a pass that reads back a route it has
	// just created (not in the cache yet) must not end in a ReconcileError,
	// which delayed the status by a few passes on a real cluster.
	if errs, err := h.eventNotes(b.Name, "ReconcileError"); err != nil || len(errs) > 0 {
		t.Errorf("ReconcileError events while creating the routes: %q (%v)", errs, err)
	}

	setStatus := func(resolved metav1.ConditionStatus) {
		t.Helper()
		eventually(t, "route status written", func() error {
			if err := h.exists(route, b.Name); err != nil {
				return err
			}
			ps := gatewayv1.RouteParentStatus{ParentRef: gatewayv1.ParentReference{Name: gatewayv1.ObjectName(b.Name)}, ControllerName: "example.com/gateway"}
			for typ, st := range map[string]metav1.ConditionStatus{"Accepted": metav1.ConditionTrue, "ResolvedRefs": resolved} {
				meta.SetStatusCondition(&ps.Conditions, metav1.Condition{Type: typ, Status: st, Reason: map[bool]string{true: typ, false: "BackendNotFound"}[st == metav1.ConditionTrue], ObservedGeneration: route.Generation})
			}
			route.Status.Parents = []gatewayv1.RouteParentStatus{ps}
			return admin.Status().Update(ctx, route)
		})
		// A status change is no generation change: nudge a reconcile.
		live := h.bookstore(b.Name)
		live.Annotations = map[string]string{"test/nudge": string(resolved)}
		if err := admin.Update(ctx, live); err != nil {
			t.Fatal(err)
		}
	}
	setStatus(metav1.ConditionFalse)
	h.waitCond(b.Name, v1alpha1.ConditionRoutesAccepted, "False/RouteRefused")
	if c := meta.FindStatusCondition(h.bookstore(b.Name).Status.Conditions, v1alpha1.ConditionRoutesAccepted); !strings.Contains(c.Message, "BackendNotFound") {
		t.Errorf("RoutesAccepted message %q does not say why", c.Message)
	}
	setStatus(metav1.ConditionTrue)
	h.waitCond(b.Name, v1alpha1.ConditionRoutesAccepted, "True/Accepted")

	live = h.bookstore(b.Name)
	live.Spec.GatewayAPI.Enabled = false
	if err := admin.Update(ctx, live); err != nil {
		t.Fatal(err)
	}
	eventually(t, "routes pruned", func() error {
		if err := h.exists(&gatewayv1.HTTPRoute{}, b.Name); err == nil {
			return errString("HTTPRoute still there")
		}
		if err := h.exists(&gatewayv1.Gateway{}, b.Name); err == nil {
			return errString("Gateway still there")
		}
		if got := h.cond(b.Name, v1alpha1.ConditionRoutesAccepted); got != "absent" {
			return errString("RoutesAccepted is " + got)
		}
		return nil
	})
}

type errString string

func (e errString) Error() string { return string(e) }
