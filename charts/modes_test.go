package charts_test

import (
	"slices"
	"strings"
	"testing"
)

// The values the operator (and a Helm user) pass select what is rendered.
func TestServiceValueModes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values string
		want   []string // kind/name of every rendered object
		check  func(t *testing.T, objs []object)
	}{
		{
			name: "autoscaling: HPA owns the replica count",
			values: `
autoscaling: {enabled: true, minReplicas: 2, maxReplicas: 7, targetCPUUtilizationPercentage: 65}
replicaCount: 4`,
			want: []string{"Deployment/bs-inventory", "HorizontalPodAutoscaler/bs-inventory", "Job/bs-inventory-migrate", "Service/bs-inventory"},
			check: func(t *testing.T, objs []object) {
				if r := get(find(objs, "Deployment", ""), "spec", "replicas"); r != nil {
					t.Errorf("Deployment sets replicas=%v although the HPA owns them", r)
				}
				hpa := find(objs, "HorizontalPodAutoscaler", "")
				if get(hpa, "spec", "minReplicas") != float64(2) || get(hpa, "spec", "maxReplicas") != float64(7) ||
					get(hpa, "spec", "metrics", "0", "resource", "target", "averageUtilization") != float64(65) ||
					str(hpa, "spec", "scaleTargetRef", "name") != "bs-inventory" {
					t.Errorf("HPA spec = %v", get(hpa, "spec"))
				}
			},
		},
		{
			name:   "fixed replicas and a PDB",
			values: `{replicaCount: 3, pdb: {enabled: true, minAvailable: 2}}`,
			want:   []string{"Deployment/bs-inventory", "Job/bs-inventory-migrate", "PodDisruptionBudget/bs-inventory", "Service/bs-inventory"},
			check: func(t *testing.T, objs []object) {
				if r := get(find(objs, "Deployment", ""), "spec", "replicas"); r != float64(3) {
					t.Errorf("replicas = %v, want 3", r)
				}
				if m := get(find(objs, "PodDisruptionBudget", ""), "spec", "minAvailable"); m != float64(2) {
					t.Errorf("PDB minAvailable = %v", m)
				}
			},
		},
		{
			name: "operator: plain migration Job with a version suffix, named objects, own labels",
			values: `
fullnameOverride: demo-inventory
commonLabels: {bookstore.dev/name: demo}
managedBy: bookstore-operator
image: {repository: example.com/bookstore, tag: "2.0.0", pullPolicy: Always}
migration: {hook: false, nameSuffix: migrate-2-0-0-abcdef}`,
			want: []string{"Deployment/demo-inventory", "Job/demo-inventory-migrate-2-0-0-abcdef", "Service/demo-inventory"},
			check: func(t *testing.T, objs []object) {
				for _, o := range objs {
					if str(o, "metadata", "labels", "bookstore.dev/name") != "demo" ||
						str(o, "metadata", "labels", "app.kubernetes.io/managed-by") != "bookstore-operator" {
						t.Errorf("%s/%s labels = %v", o.kind(), o.name(), get(o, "metadata", "labels"))
					}
				}
				job := find(objs, "Job", "")
				if a := get(job, "metadata", "annotations"); a != nil {
					t.Errorf("plain Job carries annotations %v", a)
				}
				if img := str(job, "spec", "template", "spec", "containers", "0", "image"); img != "example.com/bookstore:2.0.0" {
					t.Errorf("Job image = %q", img)
				}
			},
		},
		{
			name:   "operator: only the migration Job",
			values: `{deployment: {enabled: false}, migration: {hook: false, nameSuffix: migrate-v1}}`,
			want:   []string{"Job/bs-inventory-migrate-v1"},
		},
		{
			name:   "operator: the Deployment without the Job",
			values: `{migration: {enabled: false}, autoscaling: {enabled: true}, pdb: {enabled: true}}`,
			want:   []string{"Deployment/bs-inventory", "HorizontalPodAutoscaler/bs-inventory", "PodDisruptionBudget/bs-inventory", "Service/bs-inventory"},
		},
		{
			name: "connections as plain values, SASL from a Secret, extra env",
			values: `
database: {url: "postgres://i:p@db:5432/inventory"}
redis: {url: "redis://redis:6379/0"}
kafka:
  brokers: "k1:9092,k2:9092"
  securityProtocol: SASL_SSL
  sasl: {mechanism: PLAIN, existingSecret: {name: kafka-creds}}
env: [{name: EXTRA, value: "yes"}]`,
			want: []string{"Deployment/bs-inventory", "Job/bs-inventory-migrate", "Service/bs-inventory"},
			check: func(t *testing.T, objs []object) {
				e := env(get(find(objs, "Deployment", ""), "spec", "template", "spec", "containers", "0"))
				for k, v := range map[string]string{
					"BOOKSTORE_DATABASE_URL":            "postgres://i:p@db:5432/inventory",
					"BOOKSTORE_REDIS_URL":               "redis://redis:6379/0",
					"BOOKSTORE_KAFKA_BROKERS":           "k1:9092,k2:9092",
					"BOOKSTORE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
					"BOOKSTORE_KAFKA_SASL_MECHANISM":    "PLAIN",
					"BOOKSTORE_KAFKA_SASL_USERNAME":     "secret:kafka-creds/username",
					"BOOKSTORE_KAFKA_SASL_PASSWORD":     "secret:kafka-creds/password",
					"EXTRA":                             "yes",
				} {
					if e[k] != v {
						t.Errorf("env %s = %q, want %q", k, e[k], v)
					}
				}
			},
		},
		{
			// Server-side apply (the operator, Helm 4) refuses a container
			// naming a variable twice: the extra env replaces the chart's.
			name:   "extra env overrides the chart's variable of the same name",
			values: `env: [{name: BOOKSTORE_LOG_LEVEL, value: debug}, {name: EXTRA, value: "yes"}]`,
			want:   []string{"Deployment/bs-inventory", "Job/bs-inventory-migrate", "Service/bs-inventory"},
			check: func(t *testing.T, objs []object) {
				for _, kind := range []string{"Deployment", "Job"} {
					ctr := get(find(objs, kind, ""), "spec", "template", "spec", "containers", "0")
					seen := map[string]int{}
					for _, e := range get(ctr, "env").([]any) {
						seen[str(e, "name")]++
					}
					for n, c := range seen {
						if c != 1 {
							t.Errorf("%s: %s set %d times", kind, n, c)
						}
					}
					if e := env(ctr); e["BOOKSTORE_LOG_LEVEL"] != "debug" || e["EXTRA"] != "yes" || e["BOOKSTORE_HTTP_ADDR"] != ":8080" {
						t.Errorf("%s env = %v", kind, e)
					}
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := mustRender(t, "inventory", yamlValues(t, tc.values))
			if got := kinds(objs); !slices.Equal(got, tc.want) {
				t.Fatalf("objects = %v, want %v", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, objs)
			}
		})
	}
}

// Values that cannot work are refused at render time, not at run time.
func TestServiceRejectsBadValues(t *testing.T) {
	for _, tc := range []struct{ name, values, wantErr string }{
		{"no database at all", `{database: {url: "", existingSecret: {name: ""}}}`, "database"},
		{"typo in a key", `{replicas: 3}`, "replicas"},
		{"negative replicas", `{replicaCount: -1}`, "replicaCount"},
		{"unknown pull policy", `{image: {pullPolicy: Sometimes}}`, "pullPolicy"},
		{"bad Kafka protocol", `{kafka: {securityProtocol: TLS}}`, "securityProtocol"},
		{"Job suffix not a DNS label", `{migration: {nameSuffix: "Migrate_1"}}`, "nameSuffix"},
		{"grace period inside the shutdown budget", `{shutdownDelay: 10s, shutdownTimeout: 1m, terminationGracePeriodSeconds: 60}`, "terminationGracePeriodSeconds"},
		{"bad shutdown delay", `{shutdownDelay: soon}`, "shutdownDelay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, "token", yamlValues(t, tc.values))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestUmbrella(t *testing.T) {
	t.Run("defaults: four services and the Ingress routes", func(t *testing.T) {
		objs := mustRender(t, "bookstore", nil)
		for _, svc := range []string{"user", "token", "inventory", "order"} {
			if find(objs, "Deployment", "bs-"+svc) == nil || find(objs, "Service", "bs-"+svc) == nil || find(objs, "Job", "bs-"+svc+"-migrate") == nil {
				t.Errorf("no Deployment, Service and migration Job for %s in %v", svc, kinds(objs))
			}
		}
		routes := map[string]string{}
		for _, p := range get(find(objs, "Ingress", "bs-bookstore"), "spec", "rules", "0", "http", "paths").([]any) {
			routes[str(p, "path")] = str(p, "backend", "service", "name") + "/" + str(p, "pathType")
		}
		want := map[string]string{"/api/users": "bs-user/Prefix", "/api/tokens": "bs-token/Prefix", "/api/books": "bs-inventory/Prefix", "/api/orders": "bs-order/Prefix"}
		for p, b := range want {
			if routes[p] != b {
				t.Errorf("route %s -> %q, want %q (all: %v)", p, routes[p], b, routes)
			}
		}
		docs := find(objs, "Ingress", "bs-bookstore-docs")
		if got := str(docs, "spec", "rules", "0", "http", "paths", "0", "path"); got != "/docs/user/swagger" {
			t.Errorf("docs path = %q", got)
		}
		if find(objs, "HTTPRoute", "") != nil || find(objs, "Gateway", "") != nil {
			t.Errorf("Gateway API objects rendered by default: %v", kinds(objs))
		}
	})
	t.Run("Gateway API: routes attach to existing Gateways and the one created", func(t *testing.T) {
		objs := mustRender(t, "bookstore", yamlValues(t, `
ingress: {enabled: false}
gatewayAPI: {enabled: true, hostnames: [books.example.com], parentRefs: [{name: shared, namespace: infra, sectionName: web}], gateway: {className: eg, port: 8000}}`))
		if find(objs, "Ingress", "") != nil {
			t.Errorf("Ingress disabled but rendered")
		}
		gw := find(objs, "Gateway", "bs-bookstore")
		if str(gw, "spec", "gatewayClassName") != "eg" || get(gw, "spec", "listeners", "0", "port") != float64(8000) ||
			str(gw, "spec", "listeners", "0", "hostname") != "books.example.com" {
			t.Errorf("Gateway spec = %v", get(gw, "spec"))
		}
		for _, name := range []string{"bs-bookstore", "bs-bookstore-docs"} {
			hr := find(objs, "HTTPRoute", name)
			parents := get(hr, "spec", "parentRefs").([]any)
			if len(parents) != 2 || str(parents[0], "name") != "shared" || str(parents[0], "namespace") != "infra" ||
				str(parents[0], "sectionName") != "web" || str(parents[1], "name") != "bs-bookstore" ||
				str(hr, "spec", "hostnames", "0") != "books.example.com" {
				t.Errorf("HTTPRoute %s: parentRefs %v, hostnames %v", name, parents, get(hr, "spec", "hostnames"))
			}
		}
		if _, err := render(t, "bookstore", yamlValues(t, `gatewayAPI: {enabled: true}`)); err == nil || !strings.Contains(err.Error(), "parentRefs or gatewayAPI.gateway.className") {
			t.Errorf("routes with no parent: err = %v", err)
		}
	})
	t.Run("global values reach every service; host and TLS", func(t *testing.T) {
		objs := mustRender(t, "bookstore", yamlValues(t, `
global: {bookstore: {image: {repository: example.com/bs, tag: "9.9.9"}, redis: {url: "redis://r:6379"}, jwt: {existingSecret: my-jwt}}}
order: {enabled: false}
docs: {enabled: false}
ingress: {host: books.example.com, tlsSecretName: books-tls}`))
		for _, svc := range []string{"user", "token", "inventory"} {
			dep := find(objs, "Deployment", "bs-"+svc)
			ctr := get(dep, "spec", "template", "spec", "containers", "0")
			if str(ctr, "image") != "example.com/bs:9.9.9" || env(ctr)["BOOKSTORE_REDIS_URL"] != "redis://r:6379" ||
				str(dep, "spec", "template", "spec", "volumes", "0", "secret", "secretName") != "my-jwt" {
				t.Errorf("%s: image %q, redis %q, jwt %v", svc, str(ctr, "image"), env(ctr)["BOOKSTORE_REDIS_URL"], get(dep, "spec", "template", "spec", "volumes", "0"))
			}
		}
		if find(objs, "Deployment", "bs-order") != nil {
			t.Errorf("order disabled but rendered")
		}
		if find(objs, "Ingress", "bs-bookstore-docs") != nil {
			t.Errorf("docs Ingress disabled but rendered")
		}
		ing := find(objs, "Ingress", "bs-bookstore")
		if str(ing, "spec", "rules", "0", "host") != "books.example.com" || str(ing, "spec", "tls", "0", "secretName") != "books-tls" ||
			str(ing, "spec", "tls", "0", "hosts", "0") != "books.example.com" {
			t.Errorf("Ingress spec = %v", get(ing, "spec"))
		}
	})
	t.Run("an empty global entry leaves the service's own value", func(t *testing.T) {
		objs := mustRender(t, "bookstore", yamlValues(t, `
global: {bookstore: {image: {repository: "", tag: ""}}}
user: {image: {repository: bookstore-user, tag: dev}}`))
		if img := str(find(objs, "Deployment", "bs-user"), "spec", "template", "spec", "containers", "0", "image"); img != "bookstore-user:dev" {
			t.Errorf("user image = %q, want bookstore-user:dev", img)
		}
		if img := str(find(objs, "Deployment", "bs-token"), "spec", "template", "spec", "containers", "0", "image"); img != "bookstore:0.1.0" {
			t.Errorf("token image = %q, want the chart default bookstore:0.1.0", img)
		}
	})
	t.Run("operator: only the Ingress, for services named <name>-<service>", func(t *testing.T) {
		objs := mustRender(t, "bookstore", yamlValues(t, `
user: {enabled: false, fullnameOverride: demo-user}
token: {enabled: false, fullnameOverride: demo-token}
inventory: {enabled: false, fullnameOverride: demo-inventory}
order: {enabled: false, fullnameOverride: demo-order}
fullnameOverride: demo
networkPolicy: {enabled: false}
docs: {enabled: false}`))
		if got := kinds(objs); !slices.Equal(got, []string{"Ingress/demo"}) {
			t.Fatalf("objects = %v", got)
		}
		if b := str(find(objs, "Ingress", "demo"), "spec", "rules", "0", "http", "paths", "4", "backend", "service", "name"); b != "demo-inventory" {
			t.Errorf("/api/books backend = %q", b)
		}
	})
}
