package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bookstore-platform/bookstore/internal/testenv"
)

var services = []string{"user", "token", "inventory", "order"}

// loadCompose loads a compose file the way `docker compose` does (compose-go,
// schema validation, interpolation, normalization, resolved paths), with an
// environment of env ("NAME=value") only, so the file's own defaults apply.
func loadCompose(t *testing.T, file string, env ...string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithWorkingDirectory(testenv.RepoRoot(t)),
		cli.WithEnv(env),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

func TestComposeFile(t *testing.T) {
	root := testenv.RepoRoot(t)
	p, err := loadCompose(t, filepath.Join(root, "docker-compose.yml"), "BOOKSTORE_ADMIN_PASSWORD=from-the-environment")
	if err != nil {
		t.Fatalf("docker compose would refuse docker-compose.yml: %v", err)
	}
	want := []string{"gateway", "jwt-keys", "kafka", "kafka-users", "postgres", "redis"}
	for _, s := range services {
		want = append(want, s, s+"-migrate")
	}
	slices.Sort(want)
	if got := p.ServiceNames(); !slices.Equal(got, want) {
		t.Fatalf("services = %v, want %v", got, want)
	}

	t.Run("infrastructure", func(t *testing.T) {
		if img := p.Services["postgres"].Image; !strings.HasPrefix(img, "postgres:"+pinned(t, "POSTGRES_MAJOR")) {
			t.Errorf("postgres image %q, want major %s (hack/versions.env)", img, pinned(t, "POSTGRES_MAJOR"))
		}
		kafka := p.Services["kafka"]
		if kafka.Image != "apache/kafka:"+pinned(t, "KAFKA_VERSION") {
			t.Errorf("kafka image %q, want apache/kafka:%s", kafka.Image, pinned(t, "KAFKA_VERSION"))
		}
		// The operator's start script (TestComposeKafkaFiles keeps the copy current) with an
		// authenticating, authorizing configuration.
		props, err := os.ReadFile(filepath.Join(root, "deploy", "compose", "kafka", "server.properties"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{"process.roles=broker,controller", "listener.security.protocol.map=BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
			"allow.everyone.if.no.acl.found=false", "super.users=User:admin"} {
			if !strings.Contains(string(props), line+"\n") {
				t.Errorf("deploy/compose/kafka/server.properties lacks %s", line)
			}
		}
		if !slices.Equal(kafka.Entrypoint, types.ShellCommand{"sh", "/etc/bookstore/kafka/start.sh"}) {
			t.Errorf("kafka entrypoint %v, want the operator's start.sh", kafka.Entrypoint)
		}
		for name := range p.Services {
			if strings.Contains(name, "zookeeper") {
				t.Errorf("service %s: KRaft mode needs no ZooKeeper", name)
			}
		}
		// One database per service, created by the init script.
		initdb, err := os.ReadFile(filepath.Join(root, "deploy", "compose", "initdb", "10-databases.sql"))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range services {
			if !strings.Contains(string(initdb), "CREATE DATABASE bookstore_"+s+";") {
				t.Errorf("init script does not create bookstore_%s", s)
			}
		}
	})

	bins := imageBinaries(t)
	contract := contractVars(t)
	for _, s := range services {
		t.Run(s, func(t *testing.T) {
			svc, mig := p.Services[s], p.Services[s+"-migrate"]
			if svc.Image != mig.Image || svc.Image != p.Services["gateway"].Image || !strings.HasPrefix(svc.Image, "bookstore:") {
				t.Errorf("images: service %q, migration %q, gateway %q: want the one bookstore image", svc.Image, mig.Image, p.Services["gateway"].Image)
			}
			if !bins[s] || !slices.Equal(svc.Command, types.ShellCommand{"/usr/local/bin/" + s}) {
				t.Errorf("command %v (image binaries %v)", svc.Command, bins)
			}
			if !slices.Equal(mig.Command, types.ShellCommand{"/usr/local/bin/" + s, "migrate"}) {
				t.Errorf("migration command %v, want the Job's `%s migrate`", mig.Command, s)
			}
			if db := svc.Environment["BOOKSTORE_DATABASE_URL"]; db == nil || mig.Environment["BOOKSTORE_DATABASE_URL"] == nil ||
				*db != *mig.Environment["BOOKSTORE_DATABASE_URL"] || !strings.Contains(*db, "/bookstore_"+s+"?") {
				t.Errorf("database URL %v (migration %v): want the same bookstore_%s database", deref(db), deref(mig.Environment["BOOKSTORE_DATABASE_URL"]), s)
			}
			if hc := svc.HealthCheck; hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Test[0] != "CMD" || hc.Test[1] != "/usr/local/bin/"+s {
				t.Errorf("healthcheck %+v: want the service's own binary probing itself (the image has no shell)", hc)
			}
			deps := map[string]string{}
			for name, d := range svc.DependsOn {
				deps[name] = d.Condition
			}
			for name, cond := range map[string]string{
				"postgres": types.ServiceConditionHealthy, "redis": types.ServiceConditionHealthy, "kafka": types.ServiceConditionHealthy,
				"jwt-keys": types.ServiceConditionCompletedSuccessfully, s + "-migrate": types.ServiceConditionCompletedSuccessfully,
			} {
				if deps[name] != cond {
					t.Errorf("depends_on %s: %q, want %q", name, deps[name], cond)
				}
			}
			if mig.DependsOn["postgres"].Condition != types.ServiceConditionHealthy {
				t.Errorf("migration does not wait for a healthy postgres")
			}
			// Its own Kafka user, with only its own password mounted.
			if u := svc.Environment["BOOKSTORE_KAFKA_SASL_USERNAME"]; u == nil || *u != s {
				t.Errorf("Kafka user %v, want %s", deref(u), s)
			}
			own := false
			for _, v := range svc.Volumes {
				if v.Source == "kafka-users" {
					own = v.Volume != nil && v.Volume.Subpath == s && v.ReadOnly && v.Target == "/etc/bookstore/kafka"
				}
			}
			if !own || deref(svc.Environment["BOOKSTORE_KAFKA_SASL_PASSWORD_FILE"]) != "/etc/bookstore/kafka/password" {
				t.Errorf("volumes %+v: want only kafka-users/%s mounted read-only as the password file", svc.Volumes, s)
			}
			for name := range svc.Environment {
				if strings.HasPrefix(name, "BOOKSTORE_") && !contract[name] {
					t.Errorf("env %s is not in the runtime contract of docs/architecture.md", name)
				}
			}
		})
	}

	t.Run("gateway", func(t *testing.T) {
		gw := p.Services["gateway"]
		if !bins["gateway"] || !slices.Equal(gw.Command, types.ShellCommand{"/usr/local/bin/gateway"}) {
			t.Errorf("command %v", gw.Command)
		}
		if len(gw.Ports) != 1 || gw.Ports[0].Target != 8080 || gw.Ports[0].Published != "8080" || gw.Ports[0].HostIP != "127.0.0.1" {
			t.Errorf("ports %+v, want 127.0.0.1:8080:8080", gw.Ports)
		}
		if pw := p.Services["user"].Environment["BOOKSTORE_ADMIN_PASSWORD"]; pw == nil || *pw != "from-the-environment" {
			t.Errorf("admin password %v, want the one from the environment", deref(pw))
		}
		for _, s := range services {
			key := "BOOKSTORE_GATEWAY_" + strings.ToUpper(s) + "_URL"
			if u := gw.Environment[key]; u == nil || *u != "http://"+s+":8080" {
				t.Errorf("%s = %v, want http://%s:8080", key, deref(u), s)
			}
			if gw.DependsOn[s].Condition != types.ServiceConditionHealthy {
				t.Errorf("gateway does not wait for a healthy %s", s)
			}
		}
		if gw.HealthCheck == nil || len(gw.HealthCheck.Test) == 0 {
			t.Errorf("gateway has no healthcheck")
		}
	})

	t.Run("every long-running service has a healthcheck", func(t *testing.T) {
		for name, svc := range p.Services {
			oneShot := name == "jwt-keys" || name == "kafka-users" || strings.HasSuffix(name, "-migrate")
			if !oneShot && (svc.HealthCheck == nil || svc.HealthCheck.Disable || len(svc.HealthCheck.Test) == 0) {
				t.Errorf("%s has no healthcheck, so nothing can wait for it", name)
			}
		}
	})

	t.Run("referenced files exist", func(t *testing.T) {
		for name, svc := range p.Services {
			if svc.Build != nil {
				mustExist(t, name+" build context", svc.Build.Context)
				mustExist(t, name+" Dockerfile", filepath.Join(svc.Build.Context, svc.Build.Dockerfile))
			}
			for _, v := range svc.Volumes {
				if v.Type == types.VolumeTypeBind {
					mustExist(t, name+" bind mount", v.Source)
				} else if _, ok := p.Volumes[v.Source]; v.Type == types.VolumeTypeVolume && !ok {
					t.Errorf("%s mounts undeclared volume %q", name, v.Source)
				}
			}
		}
		if p.Networks != nil {
			for name, n := range p.Networks {
				if bool(n.External) {
					t.Errorf("network %s is external: `docker compose up` must need no manual network creation", name)
				}
			}
		}
	})
}

// Without BOOKSTORE_ADMIN_PASSWORD compose refuses to start, naming it.
func TestComposeRequiresTheAdminPassword(t *testing.T) {
	_, err := loadCompose(t, filepath.Join(testenv.RepoRoot(t), "docker-compose.yml"))
	if err == nil || !strings.Contains(err.Error(), "set BOOKSTORE_ADMIN_PASSWORD") {
		t.Fatalf("loaded without the admin password: %v", err)
	}
}

// The loader really validates: a file docker compose would reject is rejected here.
func TestComposeLoaderRejectsInvalidFiles(t *testing.T) {
	for _, tc := range []struct{ name, yaml string }{
		{"unknown service key", "services:\n  a:\n    image: x\n    helthcheck: {test: [CMD, true]}\n"},
		{"bad depends_on condition", "services:\n  a:\n    image: x\n    depends_on: {b: {condition: service_happy}}\n  b:\n    image: x\n"},
		{"depends on a missing service", "services:\n  a:\n    image: x\n    depends_on: {b: {condition: service_healthy}}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "compose.yaml")
			if err := os.WriteFile(f, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := loadCompose(t, f); err == nil {
				t.Errorf("loaded without error")
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}
