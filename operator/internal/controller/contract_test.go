package controller

import (
	"context"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/bookstore-platform/bookstore/internal/platform/config"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// TestServiceConfigContract plays the kubelet for every container the
// operator runs a service binary in (the Deployments and the migration Jobs):
// it resolves the environment from the Secrets the operator generates and
// derives, materialises the mounted Secret volumes in a directory, and loads
// the configuration exactly as the service does at start
// (internal/platform/config: Load, and RequireServe for the servers). A
// variable, a key, a mount path or a value the service rejects (admin
// password length, URL schemes, broker addresses) fails here rather than in a
// CrashLoopBackOff on a cluster. The probes must hit the port the service listens on.
func TestServiceConfigContract(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kafka v1alpha1.KafkaSpec
	}{
		{"kafka1", v1alpha1.KafkaSpec{Managed: &v1alpha1.ManagedKafka{Replicas: 1}}},
		{"kafka3", v1alpha1.KafkaSpec{Managed: &v1alpha1.ManagedKafka{Replicas: 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &v1alpha1.Bookstore{
				ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "default", UID: "6f1c3a52-9d0e-4d7b-a1a8-0c9f1e2d3b4a"},
				Spec: v1alpha1.BookstoreSpec{
					Version:  "0.1.0",
					Postgres: v1alpha1.PostgresSpec{Managed: &v1alpha1.ManagedPostgres{}},
					Redis:    v1alpha1.RedisSpec{Managed: &v1alpha1.ManagedRedis{}},
					Kafka:    tc.kafka,
				},
			}
			n := render.Names{Bookstore: b.Name}
			secrets := map[string]map[string][]byte{}
			for name, gen := range map[string]func() (map[string][]byte, error){
				n.Credentials(): genCredentials, n.JWT(): genJWT, n.Admin(): genAdmin,
			} {
				data, err := gen()
				if err != nil {
					t.Fatal(err)
				}
				secrets[name] = data
			}
			for _, o := range render.DerivedSecrets(b, &corev1.Secret{Data: secrets[n.Credentials()]}) {
				s := o.(*corev1.Secret)
				secrets[s.Name] = s.Data
			}

			for _, svc := range render.Services() {
				values, err := render.ServiceValues(b, svc)
				if err != nil {
					t.Fatal(err)
				}
				objs, err := render.Chart(context.Background(), svc, b.Name, b.Namespace, values)
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range objs {
					switch u.GetKind() {
					case "Deployment":
						d := &appsv1.Deployment{}
						if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d); err != nil {
							t.Fatal(err)
						}
						cfg := loadContainerConfig(t, svc, d.Spec.Template.Spec, secrets)
						if err := cfg.RequireServe(); err != nil {
							t.Errorf("%s: the server would not start: %v", d.Name, err)
						}
						checkProbes(t, d.Name, d.Spec.Template.Spec.Containers[0], cfg.HTTPAddr)
						if svc == "user" && (cfg.AdminEmail == "" || cfg.AdminPassword == "") {
							t.Errorf("%s: no admin account", d.Name)
						}
						if svc == "order" && !strings.HasPrefix(cfg.InventoryURL, "http://"+n.Service("inventory")+":") {
							t.Errorf("%s: inventory URL %q", d.Name, cfg.InventoryURL)
						}
						// Its own Kafka user, with the password the managed broker's SCRAM user has.
						if k := cfg.Kafka; k.SASLUsername != svc || k.SASLPassword != string(secrets[n.Credentials()][render.KafkaPasswordKey(svc)]) ||
							k.SecurityProtocol != "SASL_PLAINTEXT" || k.SASLMechanism != "SCRAM-SHA-512" {
							t.Errorf("%s: Kafka user %q (%s %s), want %s with its generated password", d.Name, k.SASLUsername, k.SecurityProtocol, k.SASLMechanism, svc)
						}
						if got, want := cfg.Kafka.TopicReplication, int(b.Spec.Kafka.ManagedSpec().Nodes()); got != want {
							t.Errorf("%s: topic replication %d with %d Kafka nodes", d.Name, got, want)
						}
					case "Job":
						j := &batchv1.Job{}
						if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, j); err != nil {
							t.Fatal(err)
						}
						if args := j.Spec.Template.Spec.Containers[0].Command; len(args) != 2 || args[1] != "migrate" || path.Base(args[0]) != svc {
							t.Errorf("%s: command %v, want [/usr/local/bin/%s migrate]", j.Name, args, svc)
						}
						loadContainerConfig(t, svc, j.Spec.Template.Spec, secrets)
					}
				}
			}
		})
	}
}

// loadContainerConfig resolves the pod's one container's environment and
// Secret volumes the way the kubelet would and loads the service configuration.
func loadContainerConfig(t testing.TB, svc string, pod corev1.PodSpec, secrets map[string]map[string][]byte) config.Config {
	t.Helper()
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	ctr := pod.Containers[0]
	root := t.TempDir()
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range ctr.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			t.Fatalf("mount %s: no volume", m.Name)
		}
		dir := filepath.Join(root, m.MountPath)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if v.Secret == nil {
			continue
		}
		data, ok := secrets[v.Secret.SecretName]
		if !ok {
			t.Fatalf("volume %s: Secret %s does not exist", v.Name, v.Secret.SecretName)
		}
		items := v.Secret.Items
		if len(items) == 0 {
			for k := range data {
				items = append(items, corev1.KeyToPath{Key: k, Path: k})
			}
		}
		for _, it := range items {
			val, ok := data[it.Key]
			if !ok {
				t.Fatalf("volume %s: Secret %s has no key %s (the pod would not start)", v.Name, v.Secret.SecretName, it.Key)
			}
			if err := os.WriteFile(filepath.Join(dir, it.Path), val, 0o400); err != nil {
				t.Fatal(err)
			}
		}
	}
	env := map[string]string{}
	for _, e := range ctr.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			val, ok := secrets[ref.Name][ref.Key]
			if !ok && !ptr.Deref(ref.Optional, false) {
				t.Fatalf("%s: Secret %s key %s does not exist (CreateContainerConfigError)", e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = string(val)
		default:
			t.Fatalf("%s: unexpected source %+v", e.Name, e.ValueFrom)
		}
	}
	getenv := func(name string) string {
		v := env[name]
		if strings.HasSuffix(name, "_FILE") && v != "" {
			return filepath.Join(root, v) // the mounted file, under the test's root
		}
		return v
	}
	cfg, err := config.Load(svc, getenv)
	if err != nil {
		t.Fatalf("%s would exit at start: %v", svc, err)
	}
	return cfg
}

// checkProbes: the probes hit /healthz and /readyz on the port the service listens on.
func checkProbes(t *testing.T, name string, ctr corev1.Container, addr string) {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	portOf := func(p intstr.IntOrString) string {
		if p.Type == intstr.Int {
			return strconv.Itoa(p.IntValue())
		}
		for _, cp := range ctr.Ports {
			if cp.Name == p.StrVal {
				return strconv.Itoa(int(cp.ContainerPort))
			}
		}
		return "no container port " + p.StrVal
	}
	for what, p := range map[string]*corev1.Probe{"startup": ctr.StartupProbe, "liveness": ctr.LivenessProbe, "readiness": ctr.ReadinessProbe} {
		want := "/healthz"
		if what == "readiness" {
			want = "/readyz"
		}
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want || portOf(p.HTTPGet.Port) != port {
			t.Errorf("%s: %s probe %+v, want GET %s on port %s", name, what, p, want, port)
		}
	}
}
