package render_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// TestPostgresInitScript runs the managed PostgreSQL's init script against a
// real PostgreSQL (the one of `make test`) and connects with the DSNs the
// operator derives: each service gets a role and a database it owns.
func TestPostgresInitScript(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		psql = "/usr/lib/postgresql/15/bin/psql"
		if _, err := os.Stat(psql); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("psql not found")
			}
			t.Skip("psql not found")
		}
	}
	dsn, err := url.Parse(testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	b := &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "pg", Namespace: "ns"}}
	data := map[string][]byte{}
	for i, k := range render.CredentialKeys() {
		data[k] = []byte(fmt.Sprintf("pw-%d-%d", i, time.Now().UnixNano()))
	}
	creds := &corev1.Secret{Data: data}
	dir := t.TempDir()
	for k, v := range data {
		if err := os.WriteFile(filepath.Join(dir, k), v, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(dir, "init.sh")
	if err := os.WriteFile(script, []byte(render.PostgresInitScript()), 0o700); err != nil {
		t.Fatal(err)
	}

	admin := *dsn
	admin.Path = "/postgres"
	dropAll := func() {
		c, err := pgx.Connect(context.Background(), admin.String())
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer c.Close(context.Background())
		for _, svc := range render.Services() {
			id := pgx.Identifier{render.PostgresDatabase(svc)}.Sanitize()
			if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+id+" WITH (FORCE)"); err != nil {
				t.Errorf("cleanup: %v", err)
			}
			if _, err := c.Exec(context.Background(), "DROP ROLE IF EXISTS "+id); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	}
	dropAll() // a previous run killed before its cleanup
	t.Cleanup(dropAll)

	pw, _ := dsn.User.Password()
	cmd := exec.CommandContext(ctx, "sh", script)
	cmd.Env = append(os.Environ(),
		"PATH="+filepath.Dir(psql)+":"+os.Getenv("PATH"),
		"POSTGRES_USER="+dsn.User.Username(), "PGPASSWORD="+pw,
		"PGHOST="+dsn.Hostname(), "PGPORT="+dsn.Port(),
		"BOOKSTORE_CREDENTIALS_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init script: %v\n%s", err, out)
	}

	secrets := render.DerivedSecrets(b, creds)
	n := render.Names{Bookstore: b.Name}
	for _, svc := range render.Services() {
		var derived string
		for _, s := range secrets {
			if s.GetName() == n.DatabaseSecret(svc) {
				derived = string(s.(*corev1.Secret).Data["url"])
			}
		}
		u, err := url.Parse(derived)
		if err != nil || derived == "" {
			t.Fatalf("%s: derived DSN %q: %v", svc, derived, err)
		}
		if want := fmt.Sprintf("%s.%s.svc:5432", n.Postgres(), b.Namespace); u.Host != want {
			t.Errorf("%s: DSN host %s, want %s", svc, u.Host, want)
		}
		u.Host = dsn.Host // the test server instead of the in-cluster Service
		c, err := pgx.Connect(ctx, u.String())
		if err != nil {
			t.Fatalf("%s: connect with the derived DSN: %v", svc, err)
		}
		var user, db string
		if err := c.QueryRow(ctx, "SELECT current_user, current_database()").Scan(&user, &db); err != nil {
			t.Fatal(err)
		}
		if user != render.PostgresDatabase(svc) || db != render.PostgresDatabase(svc) {
			t.Errorf("%s: connected as %s to %s", svc, user, db)
		}
		if _, err := c.Exec(ctx, "CREATE TABLE owned (id int)"); err != nil {
			t.Errorf("%s cannot create tables in its own database: %v", svc, err)
		}
		_ = c.Close(ctx)
	}
}

// TestManagedKafka checks the KRaft settings for 1 and 3 nodes.
func TestManagedKafka(t *testing.T) {
	for _, tc := range []struct {
		replicas    int32
		voters      int
		minISR, rf  string
		brokerCount int
	}{
		{1, 1, "1", "1", 1},
		{3, 3, "2", "3", 3},
	} {
		t.Run(fmt.Sprint(tc.replicas), func(t *testing.T) {
			b := &v1alpha1.Bookstore{
				ObjectMeta: metav1.ObjectMeta{Name: "k", Namespace: "ns", UID: "6f1c3a52-9d0e-4d7b-a1a8-0c9f1e2d3b4a"},
				Spec:       v1alpha1.BookstoreSpec{Version: "1", Kafka: v1alpha1.KafkaSpec{Managed: &v1alpha1.ManagedKafka{Replicas: tc.replicas}}},
			}
			objs := render.ManagedKafka(b)
			sts := &appsv1.StatefulSet{}
			svc := &corev1.Service{}
			for _, o := range objs {
				switch o := o.(type) {
				case *appsv1.StatefulSet:
					sts = o
				case *corev1.Service:
					svc = o
				}
			}
			if *sts.Spec.Replicas != tc.replicas || sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement || sts.Spec.ServiceName != svc.Name {
				t.Errorf("statefulset: replicas %d policy %s serviceName %s", *sts.Spec.Replicas, sts.Spec.PodManagementPolicy, sts.Spec.ServiceName)
			}
			if svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses {
				t.Errorf("service: clusterIP %q publishNotReady %v", svc.Spec.ClusterIP, svc.Spec.PublishNotReadyAddresses)
			}
			env := map[string]string{}
			for _, e := range sts.Spec.Template.Spec.Containers[0].Env {
				env[e.Name] = e.Value
			}
			if got := len(strings.Split(env["KAFKA_CONTROLLER_QUORUM_VOTERS"], ",")); got != tc.voters {
				t.Errorf("%d voters, want %d: %s", got, tc.voters, env["KAFKA_CONTROLLER_QUORUM_VOTERS"])
			}
			if env["KAFKA_MIN_INSYNC_REPLICAS"] != tc.minISR || env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] != tc.rf ||
				env["KAFKA_PROCESS_ROLES"] != "broker,controller" || env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] != "false" {
				t.Errorf("kafka env %v", env)
			}
			if id := env["CLUSTER_ID"]; len(id) != 22 {
				t.Errorf("CLUSTER_ID %q is not 22 characters of base64", id)
			}
			brokers := render.Names{Bookstore: b.Name}.KafkaBrokers(b.Namespace, b.Spec.Kafka.ManagedSpec().Nodes())
			if got := len(strings.Split(brokers, ",")); got != tc.brokerCount {
				t.Errorf("brokers %q", brokers)
			}
			vals, err := render.ServiceValues(b, "order")
			if err != nil {
				t.Fatal(err)
			}
			if k := vals["kafka"].(map[string]any); k["brokers"] != brokers || fmt.Sprint(k["topicReplication"]) != tc.rf {
				t.Errorf("service kafka values %v", k)
			}
		})
	}
}
