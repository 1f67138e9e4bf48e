package controller

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/operator/internal/testutil"
)

// TestRBACCoversOwnedKinds: the ClusterRole generated from the RBAC markers
// grants every verb the controller uses on every kind of ownedKinds (watch
// for Owns, list and delete for pruning, get/create/patch for apply).
func TestRBACCoversOwnedKinds(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "manifests", "rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &role); err != nil {
		t.Fatal(err)
	}
	allowed := func(group, resource, verb string) bool {
		for _, r := range role.Rules {
			if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
				return true
			}
		}
		return false
	}
	scheme := testutil.Scheme(t)
	kinds := ownedKinds()
	if len(kinds) < 9 {
		t.Fatalf("only %d owned kinds", len(kinds))
	}
	for _, k := range kinds {
		gvk, err := apiutil.GVKForObject(k.object, scheme)
		if err != nil {
			t.Fatal(err)
		}
		listGVK, err := apiutil.GVKForObject(k.list, scheme)
		if err != nil || listGVK.Kind != gvk.Kind+"List" || listGVK.GroupVersion() != gvk.GroupVersion() {
			t.Errorf("%s: list %v (%v) is not its list kind", gvk.Kind, listGVK, err)
		}
		plural, _ := meta.UnsafeGuessKindToResource(gvk)
		for _, verb := range []string{"get", "list", "watch", "create", "patch", "delete"} {
			if !allowed(gvk.Group, plural.Resource, verb) {
				t.Errorf("manifests/rbac/role.yaml does not allow %s on %s.%s (add it to the +kubebuilder:rbac markers)", verb, plural.Resource, gvk.Group)
			}
		}
	}
}
