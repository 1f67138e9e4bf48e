package render_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
	"github.com/bookstore-platform/bookstore/operator/internal/testutil"
)

// TestKafkaStartScript runs the managed Kafka's start.sh as its pod does,
// with the rendered server.properties and the pod's environment, against the
// Kafka jars `make test` fetched, laid out as the image contract says
// (/opt/kafka/bin/kafka-storage.sh and kafka-server-start.sh, here thin
// wrappers calling the same main classes as Kafka's own scripts), with the
// passwords as the credentials Secret mounts them. Only the two listener
// ports (and the advertised address) are moved to free loopback ports. The
// node formats its storage with the cluster id derived from the Bookstore
// and the SCRAM users, forms its KRaft quorum, serves, adds the ACLs and
// turns ready: the token service's user then writes its payments topic but
// not the orders topic, and a client without credentials nothing; a restart
// on the same volume keeps the formatted storage.
func TestKafkaStartScript(t *testing.T) {
	libs := filepath.Join(testenv.RepoRoot(t), ".cache", "kafka", pinnedKafka(t), "libs")
	if _, err := os.Stat(libs); err != nil {
		testutil.SkipOrFail(t, "Kafka jars not in "+libs+" (hack/install-servers.sh)")
	}
	if _, err := exec.LookPath("java"); err != nil {
		testutil.SkipOrFail(t, "java not on PATH")
	}
	b := &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "ns", UID: "6f1c3a52-9d0e-4d7b-a1a8-0c9f1e2d3b4a"}, Spec: v1alpha1.BookstoreSpec{Version: "1"}}
	var cm *corev1.ConfigMap
	var env []string
	for _, o := range render.ManagedKafka(b) {
		switch o := o.(type) {
		case *corev1.ConfigMap:
			cm = o
		case *appsv1.StatefulSet:
			for _, e := range o.Spec.Template.Spec.Containers[0].Env {
				env = append(env, e.Name+"="+e.Value)
			}
		}
	}
	dir := t.TempDir()
	broker, controller := freePort(t), freePort(t)
	props := strings.NewReplacer(
		"listeners=BROKER://:9092,CONTROLLER://:9093", fmt.Sprintf("listeners=BROKER://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d", broker, controller),
		"demo-kafka-0.demo-kafka-headless.ns.svc:9093", fmt.Sprintf("127.0.0.1:%d", controller),
	).Replace(cm.Data["server.properties"])
	home := filepath.Join(dir, "opt-kafka")
	for name, content := range map[string]string{
		"config/server.properties":       props,
		"config/start.sh":                cm.Data["start.sh"],
		"config/acls":                    cm.Data["acls"],
		"opt-kafka/bin/kafka-storage.sh": "#!/bin/sh\nexec java -cp '" + libs + "/*' kafka.tools.StorageTool \"$@\"\n",
		"opt-kafka/bin/kafka-acls.sh":    "#!/bin/sh\nexec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '" + libs + "/*' org.apache.kafka.tools.AclCommand \"$@\"\n",
		// like Kafka's script: $KAFKA_HEAP_OPTS, and log4j2 from the installation's config/ to the console
		"opt-kafka/bin/kafka-server-start.sh": "#!/bin/sh\nexec java $KAFKA_HEAP_OPTS -XX:TieredStopAtLevel=1 -Dlog4j2.configurationFile=" + home + "/config/log4j2.properties -cp '" + libs + "/*' kafka.Kafka \"$@\"\n",
		"opt-kafka/config/log4j2.properties":  "rootLogger.level=INFO\nrootLogger.appenderRef.out.ref=out\nappender.out.type=Console\nappender.out.name=out\nappender.out.layout.type=PatternLayout\nappender.out.layout.pattern=[%d] %p %m (%c)%n\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	passwords := map[string]string{"admin": "admin-pw", "controller": "controller-pw"}
	for _, svc := range render.Services() {
		passwords[svc] = svc + "-pw"
	}
	for user, pw := range passwords {
		p := filepath.Join(dir, "users", user, "password")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(pw), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	run := func(home string, extra ...string) (*exec.Cmd, *os.File) {
		cmd := exec.Command("sh", filepath.Join(dir, "config", "start.sh"))
		cmd.Env = append(append(env, extra...), "PATH="+os.Getenv("PATH"), "HOSTNAME=demo-kafka-0", "KAFKA_HOME="+home,
			"BOOKSTORE_KAFKA_CONFIG="+filepath.Join(dir, "config"),
			"BOOKSTORE_KAFKA_DATA="+filepath.Join(dir, "data"),
			"BOOKSTORE_KAFKA_RUN="+filepath.Join(dir, "run"),
			"BOOKSTORE_KAFKA_USERS="+filepath.Join(dir, "users"),
			fmt.Sprintf("BOOKSTORE_KAFKA_ADVERTISED=127.0.0.1:%d", broker),
			fmt.Sprintf("BOOKSTORE_KAFKA_LOCAL=127.0.0.1:%d", broker))
		log, err := os.Create(filepath.Join(t.TempDir(), "kafka.log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stopKafka(cmd) })
		return cmd, log
	}
	cmd, log := run(home)
	began := time.Now()
	waitLog(t, cmd, log.Name(), "Kafka Server started", 2*time.Minute)
	t.Logf("serving after %s", time.Since(began).Round(time.Millisecond))
	waitLog(t, cmd, log.Name(), "ACLs in place, node ready", 4*time.Minute)
	t.Logf("ready (ACLs added) after %s", time.Since(began).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(dir, "run", "ready")); err != nil {
		t.Fatalf("no readiness mark after the ACLs: %v", err)
	}
	checkFormatted(t, dir, b)
	checkAuthorization(t, fmt.Sprintf("127.0.0.1:%d", broker), passwords)
	stopKafka(cmd)

	// A restart on the same volume: the storage is formatted already and must
	// stay as it is, also when the pod's CLUSTER_ID differs (the Bookstore was
	// deleted with reclaimPolicy Retain and created again: a new UID); the script goes on to start the broker and, since the
	// volume holds this ACL set already, only waits for the broker to answer
	// (stand-ins for the broker and kafka-acls.sh here, which log their
	// arguments, to spare a second JVM broker).
	fake := filepath.Join(dir, "opt-kafka-restart")
	if err := os.MkdirAll(filepath.Join(fake, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(home, "bin", "kafka-storage.sh"), filepath.Join(fake, "bin", "kafka-storage.sh")); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"kafka-server-start.sh": "#!/bin/sh\necho broker started with \"$@\"\nsleep 30\n",
		"kafka-acls.sh":         "#!/bin/sh\necho \"$*\" >>'" + filepath.Join(fake, "calls") + "'\n",
	} {
		if err := os.WriteFile(filepath.Join(fake, "bin", name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd, log = run(fake, "CLUSTER_ID="+render.KafkaClusterID(&v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{UID: "0a2b4c6d-8e0f-4a1b-9c3d-5e7f9a1b3c5d"}}))
	waitLog(t, cmd, log.Name(), "broker started with "+filepath.Join(dir, "run", "server.properties"), time.Minute)
	waitLog(t, cmd, log.Name(), "ACLs in place, node ready", time.Minute)
	checkFormatted(t, dir, b)
	calls, _ := os.ReadFile(filepath.Join(fake, "calls"))
	if lines := strings.Split(strings.TrimSpace(string(calls)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "--list") {
		t.Errorf("the restart ran kafka-acls.sh %q, want only the --list that waits for the broker (the volume holds this ACL set)", lines)
	}
	if out, _ := os.ReadFile(log.Name()); strings.Contains(string(out), "ACLs added") {
		t.Errorf("the restart added the ACLs again: %s", out)
	}
}

func checkFormatted(t *testing.T, dir string, b *v1alpha1.Bookstore) {
	t.Helper()
	meta, err := os.ReadFile(filepath.Join(dir, "data", "logs", "meta.properties"))
	if err != nil || !strings.Contains(string(meta), "cluster.id="+render.KafkaClusterID(b)) || !strings.Contains(string(meta), "node.id=0") {
		t.Fatalf("meta.properties %q (%v): not formatted with the Bookstore's cluster id and node 0", meta, err)
	}
}

func pinnedKafka(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "hack", "versions.env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "KAFKA_VERSION="); ok {
			return v
		}
	}
	t.Fatal("KAFKA_VERSION not in hack/versions.env")
	return ""
}

func waitLog(t *testing.T, cmd *exec.Cmd, log, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(log)
		if strings.Contains(string(data), want) {
			return
		}
		if cmd.ProcessState != nil || cmd.Process.Signal(syscall.Signal(0)) != nil {
			data, _ = os.ReadFile(log)
			if strings.Contains(string(data), want) {
				return
			}
			t.Fatalf("start.sh exited:\n%s", data)
		}
		time.Sleep(250 * time.Millisecond)
	}
	data, _ := os.ReadFile(log)
	t.Fatalf("no %q within %s:\n%s", want, timeout, data)
}

func stopKafka(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}
