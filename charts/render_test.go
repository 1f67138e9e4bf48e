package charts_test

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	cutil "helm.sh/helm/v4/pkg/chart/common/util"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	"sigs.k8s.io/yaml"

	"github.com/bookstore-platform/bookstore/charts/chartload"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// object is one rendered Kubernetes object.
type object map[string]any

func (o object) kind() string { return str(o, "kind") }
func (o object) name() string { return str(o, "metadata", "name") }

// get walks maps and list indexes ("0") of o (testenv.Lookup, taking an object too).
func get(o any, path ...string) any {
	if ob, ok := o.(object); ok {
		o = map[string]any(ob)
	}
	return testenv.Lookup(o, path...)
}

func str(o any, path ...string) string {
	s, _ := get(o, path...).(string)
	return s
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// render renders chart name with the Helm Go engine the way `helm template`
// does (dependencies' conditions, coalesced values, schema validation) and
// returns the objects of every template, hooks included, in a stable order.
func render(t *testing.T, name string, vals map[string]any) ([]object, error) {
	t.Helper()
	c, err := chartload.Load(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	if vals == nil {
		vals = map[string]any{}
	}
	if err := chartutil.ProcessDependencies(c, vals); err != nil {
		return nil, err
	}
	rv, err := cutil.ToRenderValues(c, vals, common.ReleaseOptions{Name: "bs", Namespace: "shop", IsInstall: true}, nil)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(c, rv)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var objs []object
	for _, n := range names {
		if strings.HasSuffix(n, "NOTES.txt") || !strings.HasSuffix(n, ".yaml") {
			continue
		}
		for _, doc := range docSep.Split(files[n], -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var o object
			if err := yaml.UnmarshalStrict([]byte(doc), &o); err != nil {
				t.Fatalf("%s: %v\n%s", n, err, doc)
			}
			if o != nil {
				objs = append(objs, o)
			}
		}
	}
	return objs, nil
}

func mustRender(t *testing.T, name string, vals map[string]any) []object {
	t.Helper()
	objs, err := render(t, name, vals)
	if err != nil {
		t.Fatalf("render %s: %v", name, err)
	}
	return objs
}

func find(objs []object, kind, name string) object {
	for _, o := range objs {
		if o.kind() == kind && (name == "" || o.name() == name) {
			return o
		}
	}
	return nil
}

func kinds(objs []object) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, o.kind()+"/"+o.name())
	}
	sort.Strings(ks)
	return ks
}

// env returns a container's environment as name -> value, or "secret:<name>/<key>".
func env(c any) map[string]string {
	m := map[string]string{}
	list, _ := get(c, "env").([]any)
	for _, e := range list {
		n := str(e, "name")
		if ref := get(e, "valueFrom", "secretKeyRef"); ref != nil {
			m[n] = "secret:" + str(ref, "name") + "/" + str(ref, "key")
		} else {
			m[n] = str(e, "value")
		}
	}
	return m
}

// yamlValues parses a YAML literal into a values map.
func yamlValues(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}
