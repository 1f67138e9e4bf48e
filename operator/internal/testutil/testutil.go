// Package testutil holds the test helpers the operator's packages share:
// envtest users and RBAC, polling, and rendering a chart with the helm binary.
package testutil

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// OperatorNamespace is the namespace the operator runs in (manifests/).
const OperatorNamespace = "bookstore-system"

// OperatorServiceAccount is the user the operator runs as in the cluster.
var OperatorServiceAccount = envtest.User{
	Name:   "system:serviceaccount:" + OperatorNamespace + ":bookstore-operator",
	Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + OperatorNamespace, "system:authenticated"},
}

// Scheme knows the built-in kinds and the Bookstore.
func Scheme(t testing.TB) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := gatewayv1.Install(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Eventually retries f until it returns nil, failing the test when timeout passes first.
func Eventually(t testing.TB, what string, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(150 * time.Millisecond)
	}
	t.Fatalf("%s: still not true after %v: %v", what, timeout, err)
}

// AddUser adds u to the envtest control plane.
func AddUser(t testing.TB, env *envtest.Environment, u envtest.User) *envtest.AuthenticatedUser {
	t.Helper()
	user, err := env.AddUser(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return user
}

// Kubeconfig writes a kubeconfig of user to a file of the test and returns its path.
func Kubeconfig(t testing.TB, user *envtest.AuthenticatedUser) string {
	t.Helper()
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

// InstallManifests creates the operator's namespace and the objects of the
// given files of manifests/ (e.g. "rbac/role.yaml").
func InstallManifests(t testing.TB, c client.Client, root string, files ...string) {
	t.Helper()
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: OperatorNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, "manifests", f))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := render.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, o := range objs {
			if err := c.Create(ctx, o); err != nil {
				t.Fatalf("create %s/%s from %s: %v", o.GetKind(), o.GetName(), f, err)
			}
		}
	}
}

// HelmTemplate renders charts/<chart> with the helm binary (not the
// operator's Go code), its file:// dependencies vendored into a copy the way
// `helm dependency build` would. Objects without a namespace get namespace.
func HelmTemplate(t testing.TB, chart, release, namespace string, values map[string]any) []*unstructured.Unstructured {
	t.Helper()
	helm := testenv.Tool(t, "helm")
	root := testenv.RepoRoot(t)
	dir := t.TempDir()
	vendorChart(t, filepath.Join(root, "charts"), chart, filepath.Join(dir, chart))
	vals, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	vf := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(vf, vals, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helm, "template", release, filepath.Join(dir, chart), "--namespace", namespace, "-f", vf)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+dir, "HELM_CONFIG_HOME="+dir, "HELM_DATA_HOME="+dir)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("helm template %s: %v\n%s", chart, err, stderr)
	}
	objs, err := render.Parse(out)
	if err != nil {
		t.Fatalf("parse helm template %s: %v", chart, err)
	}
	for _, o := range objs {
		if o.GetNamespace() == "" {
			o.SetNamespace(namespace)
		}
	}
	return objs
}

// vendorChart copies charts/<name> to dst and its file:// dependencies into dst/charts/.
func vendorChart(t testing.TB, chartsDir, name, dst string) {
	t.Helper()
	src := filepath.Join(chartsDir, name)
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatalf("copy chart %s: %v", name, err)
	}
	data, err := os.ReadFile(filepath.Join(src, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Dependencies []struct {
			Name string `json:"name"`
		} `json:"dependencies"`
	}
	if err := yaml.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	_ = os.RemoveAll(filepath.Join(dst, "charts"))
	_ = os.Remove(filepath.Join(dst, "Chart.lock"))
	for _, d := range meta.Dependencies {
		vendorChart(t, chartsDir, d.Name, filepath.Join(dst, "charts", d.Name))
	}
}

// SkipOrFail skips the test because of what is missing, or fails it with CI=true.
func SkipOrFail(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %s", what)
	}
	t.Skip(what)
}
