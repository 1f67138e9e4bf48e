package charts_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/bookstore-platform/bookstore/charts"
	"github.com/bookstore-platform/bookstore/charts/chartload"
)

func TestEveryChartLoadsFromTheEmbeddedFS(t *testing.T) {
	for _, name := range append([]string{"bookstore-lib", "bookstore"}, charts.Services()...) {
		c, err := chartload.Load(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if len(c.Dependencies()) != len(c.Metadata.Dependencies) {
			t.Errorf("%s: %d dependencies attached, Chart.yaml lists %d", name, len(c.Dependencies()), len(c.Metadata.Dependencies))
		}
	}
}

// The service Deployment and migration Job with default values follow the
// runtime contract of docs/architecture.md.
func TestServiceDefaults(t *testing.T) {
	for _, svc := range charts.Services() {
		t.Run(svc, func(t *testing.T) {
			objs := mustRender(t, svc, nil)
			full := "bs-" + svc
			want := []string{"Deployment/" + full, "Job/" + full + "-migrate", "Service/" + full}
			if got := kinds(objs); !slices.Equal(got, want) {
				t.Fatalf("objects = %v, want %v", got, want)
			}
			dep := find(objs, "Deployment", full)
			if got := get(dep, "spec", "replicas"); got != float64(1) {
				t.Errorf("replicas = %v, want 1", got)
			}
			ctr := get(dep, "spec", "template", "spec", "containers", "0")
			if got := get(ctr, "command", "0"); got != "/usr/local/bin/"+svc {
				t.Errorf("command = %v", got)
			}
			if got := str(ctr, "image"); got != "bookstore:0.1.0" {
				t.Errorf("image = %q", got)
			}
			for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"} {
				if got := str(ctr, probe, "httpGet", "path"); got != path {
					t.Errorf("%s path = %q, want %q", probe, got, path)
				}
			}
			if get(dep, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true ||
				get(ctr, "securityContext", "readOnlyRootFilesystem") != true ||
				get(ctr, "securityContext", "allowPrivilegeEscalation") != false {
				t.Errorf("not locked down: pod %v, container %v", get(dep, "spec", "template", "spec", "securityContext"), get(ctr, "securityContext"))
			}
			// Rolling upgrades drop nothing only if the kubelet waits for the
			// whole drain: 5 s serving while unready + 20 s drain < grace.
			if g := get(dep, "spec", "template", "spec", "terminationGracePeriodSeconds"); g != float64(30) {
				t.Errorf("terminationGracePeriodSeconds = %v, want 30 (> 5s delay + 20s shutdown budget)", g)
			}
			if get(ctr, "resources", "requests", "cpu") == nil {
				t.Errorf("no CPU request (the HPA needs it)")
			}
			e := env(ctr)
			for k, v := range map[string]string{
				"BOOKSTORE_HTTP_ADDR":           ":8080",
				"BOOKSTORE_DATABASE_URL":        "secret:bookstore-" + svc + "-database/url",
				"BOOKSTORE_REDIS_URL":           "secret:bookstore-redis/url",
				"BOOKSTORE_KAFKA_BROKERS":       "secret:bookstore-kafka/brokers",
				"BOOKSTORE_JWT_PUBLIC_KEY_FILE": "/etc/bookstore/jwt/public.pem",
				"BOOKSTORE_SHUTDOWN_DELAY":      "5s",
				"BOOKSTORE_SHUTDOWN_TIMEOUT":    "20s",
			} {
				if e[k] != v {
					t.Errorf("env %s = %q, want %q", k, e[k], v)
				}
			}
			_, signs := e["BOOKSTORE_JWT_PRIVATE_KEY_FILE"]
			_, admin := e["BOOKSTORE_ADMIN_PASSWORD"]
			if signs != (svc == "user") || admin != (svc == "user") {
				t.Errorf("private key env %v, admin env %v: only the user service signs tokens and ensures the admin", signs, admin)
			}
			items := get(dep, "spec", "template", "spec", "volumes", "0", "secret", "items").([]any)
			if (len(items) == 2) != (svc == "user") {
				t.Errorf("jwt Secret items %v: the private key is mounted only into user", items)
			}
			if inv, ok := e["BOOKSTORE_INVENTORY_URL"]; ok != (svc == "order") || (ok && inv != "http://bs-inventory:8080") {
				t.Errorf("BOOKSTORE_INVENTORY_URL = %q (set: %v); only order needs it", inv, ok)
			}

			job := find(objs, "Job", "")
			if got := str(job, "metadata", "annotations", "helm.sh/hook"); got != "pre-install,pre-upgrade" {
				t.Errorf("migration hook = %q", got)
			}
			jc := get(job, "spec", "template", "spec", "containers", "0")
			if got := strings.Join([]string{str(jc, "command", "0"), str(jc, "command", "1")}, " "); got != "/usr/local/bin/"+svc+" migrate" {
				t.Errorf("migration command = %q", got)
			}
			if env(jc)["BOOKSTORE_DATABASE_URL"] != e["BOOKSTORE_DATABASE_URL"] {
				t.Errorf("migration and service use different databases")
			}
			// The Service must not select the migration pods.
			sel := get(find(objs, "Service", full), "spec", "selector").(map[string]any)
			jobLabels := get(job, "spec", "template", "metadata", "labels").(map[string]any)
			matches := true
			for k, v := range sel {
				if jobLabels[k] != v {
					matches = false
				}
			}
			if matches {
				t.Errorf("Service selector %v selects migration pods %v", sel, jobLabels)
			}
			podLabels := get(dep, "spec", "template", "metadata", "labels").(map[string]any)
			for k, v := range sel {
				if podLabels[k] != v {
					t.Errorf("Service selector %s=%v does not match the Deployment's pods", k, v)
				}
			}
		})
	}
}
