package render_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
	"github.com/bookstore-platform/bookstore/operator/internal/testutil"
)

// TestRedisStartScript runs the managed Redis's start.sh with the rendered
// redis.conf and the password as a mounted file against Debian's
// redis-server (the image contract: redis-server on the PATH), on a free
// loopback port: the Redis URL the operator derives authenticates, no
// password is refused, and the password appears in no process argument.
func TestRedisStartScript(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		testutil.SkipOrFail(t, "redis-server not on PATH")
	}
	b := &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "ns"}, Spec: v1alpha1.BookstoreSpec{Version: "1"}}
	var cm *corev1.ConfigMap
	for _, o := range render.ManagedRedis(b) {
		if c, ok := o.(*corev1.ConfigMap); ok {
			cm = c
		}
	}
	password := fmt.Sprintf("r%x", time.Now().UnixNano())
	dir := t.TempDir()
	port := freePort(t)
	for name, content := range map[string]string{
		"config/redis.conf": strings.NewReplacer("port 6379", fmt.Sprintf("port %d", port), "bind * -::*", "bind 127.0.0.1",
			"dir /data", "dir "+filepath.Join(dir, "data")).Replace(cm.Data["redis.conf"]),
		"config/start.sh":                  cm.Data["start.sh"],
		"creds/" + render.RedisPasswordKey: password,
		"data/.keep":                       "",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", filepath.Join(dir, "config", "start.sh"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "BOOKSTORE_REDIS_CONFIG=" + filepath.Join(dir, "config"),
		"BOOKSTORE_CREDENTIALS_DIR=" + filepath.Join(dir, "creds"), "BOOKSTORE_REDIS_DATA=" + filepath.Join(dir, "data")}
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var url string
	for _, o := range render.DerivedSecrets(b, &corev1.Secret{Data: map[string][]byte{render.RedisPasswordKey: []byte(password)}}) {
		if s := o.(*corev1.Secret); s.Name == (render.Names{Bookstore: b.Name}).RedisURLSecret() {
			url = strings.Replace(string(s.Data["url"]), "demo-redis.ns.svc:6379", fmt.Sprintf("127.0.0.1:%d", port), 1)
		}
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	for c.Ping(ctx).Err() != nil {
		if ctx.Err() != nil {
			t.Fatalf("redis with the derived URL: %v\n%s", c.Ping(context.Background()).Err(), out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	anon := redis.NewClient(&redis.Options{Addr: opts.Addr})
	defer anon.Close()
	if err := anon.Set(ctx, "k", "v", 0).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("without a password: %v, want NOAUTH", err)
	}
	args, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid))
	if strings.Contains(string(args), password) {
		t.Errorf("the password is in redis-server's arguments: %q", args)
	}
}
