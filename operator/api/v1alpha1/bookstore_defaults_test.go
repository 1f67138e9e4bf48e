package v1alpha1_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
)

// goDefaults is what the Go accessors return for an unset field, by the
// field's path in the CRD schema (services.* stands for each service).
func goDefaults() map[string]string {
	spec := &v1alpha1.BookstoreSpec{}
	var as v1alpha1.AutoscalingSpec
	var st v1alpha1.StorageSpec
	size := st.SizeOrDefault()
	d := map[string]string{
		"spec.image.repository":                   spec.ImageRepository(),
		"spec.imagePullPolicy":                    string(spec.PullPolicy()),
		"spec.logLevel":                           spec.Logging(),
		"spec.services.*.autoscaling.minReplicas": fmt.Sprint(as.Min()),
		"spec.services.*.autoscaling.targetCPUUtilizationPercentage": fmt.Sprint(as.TargetCPU()),
		"spec.postgres.managed.image":                                v1alpha1.ManagedPostgres{}.ImageOrDefault(),
		"spec.redis.managed.image":                                   v1alpha1.ManagedRedis{}.ImageOrDefault(),
		"spec.kafka.managed.image":                                   v1alpha1.ManagedKafka{}.ImageOrDefault(),
		"spec.kafka.managed.replicas":                                fmt.Sprint(v1alpha1.ManagedKafka{}.Nodes()),
		"spec.docs.enabled":                                          fmt.Sprint(v1alpha1.DocsSpec{}.DocsOn()),
		"spec.gatewayAPI.port":                                       fmt.Sprint(v1alpha1.GatewayAPISpec{}.ListenerPort()),
	}
	for _, c := range []string{"postgres", "kafka"} {
		d["spec."+c+".managed.storage.size"] = size.String()
		d["spec."+c+".managed.storage.reclaimPolicy"] = string(st.Reclaim())
	}
	return d
}

// crdDefaults walks the generated CRD's schema and returns every default by path.
func crdDefaults(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "manifests", "crd", "bookstore.dev_bookstores.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd map[string]any
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	schema := testenv.Lookup(crd, "spec", "versions")
	versions, ok := schema.([]any)
	if !ok || len(versions) != 1 {
		t.Fatalf("CRD versions: %v", schema)
	}
	root := testenv.Lookup(versions[0], "schema", "openAPIV3Schema")
	out := map[string]string{}
	services := regexp.MustCompile(`^spec\.services\.(user|token|inventory|order)\.`)
	var walk func(path string, node any)
	walk = func(path string, node any) {
		m, ok := node.(map[string]any)
		if !ok {
			return
		}
		// Lists hold Kubernetes' own types (env, imagePullSecrets), whose defaults are theirs.
		if d, ok := m["default"]; ok && !strings.Contains(path, "[]") {
			out[services.ReplaceAllString(path, "spec.services.*.")] = fmt.Sprint(d)
		}
		if props, ok := m["properties"].(map[string]any); ok {
			for k, v := range props {
				walk(strings.TrimPrefix(path+"."+k, "."), v)
			}
		}
		if items, ok := m["items"]; ok {
			walk(path+"[]", items)
		}
	}
	walk("", root)
	return out
}

// TestCRDDefaultsMatchGo: every +kubebuilder:default in the CRD is what the
// Go accessor returns for the unset field, and every Go default is in the CRD.
func TestCRDDefaultsMatchGo(t *testing.T) {
	crd, goD := crdDefaults(t), goDefaults()
	var paths []string
	for p := range crd {
		paths = append(paths, p)
	}
	for p := range goD {
		if _, ok := crd[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	for _, p := range paths {
		c, inCRD := crd[p]
		g, inGo := goD[p]
		switch {
		case !inGo:
			t.Errorf("%s: CRD default %q has no Go default (bookstore_defaults.go, goDefaults)", p, c)
		case !inCRD:
			t.Errorf("%s: Go default %q is not a +kubebuilder:default in the CRD", p, g)
		case c != g:
			t.Errorf("%s: CRD default %q, Go default %q", p, c, g)
		}
	}
}

// TestInfraImagesPinned: the operator's infrastructure images are the ones
// pinned in hack/versions.env (which compose and Tilt are checked against too).
func TestInfraImagesPinned(t *testing.T) {
	pins := versionsEnv(t)
	for key, got := range map[string]string{
		"POSTGRES_IMAGE": v1alpha1.DefaultPostgresImage,
		"REDIS_IMAGE":    v1alpha1.DefaultRedisImage,
		"KAFKA_IMAGE":    v1alpha1.DefaultKafkaImage,
	} {
		if pins[key] != got {
			t.Errorf("%s=%q in hack/versions.env, the operator's default is %q", key, pins[key], got)
		}
	}
	if want := "apache/kafka:" + pins["KAFKA_VERSION"]; pins["KAFKA_IMAGE"] != want {
		t.Errorf("KAFKA_IMAGE=%q, want %s (KAFKA_VERSION)", pins["KAFKA_IMAGE"], want)
	}
	if want := "postgres:" + pins["POSTGRES_MAJOR"] + "-"; !strings.HasPrefix(pins["POSTGRES_IMAGE"], want) {
		t.Errorf("POSTGRES_IMAGE=%q, want %s* (POSTGRES_MAJOR)", pins["POSTGRES_IMAGE"], want)
	}
}

func versionsEnv(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.RepoRoot(t), "hack", "versions.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(s.Text()), "="); ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out
}
