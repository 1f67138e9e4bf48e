package auth_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bookstore-platform/bookstore/internal/platform/auth"
	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// redisPersistence is how every deployment path runs Redis (hack/servers.sh,
// docker-compose.yml, the operator's managed Redis): AOF, fsync every second.
var redisPersistence = []string{"--save", "", "--appendonly", "yes", "--appendfsync", "everysec"}

// TestRevocationsSurviveRedisKill: a token revoked before Redis is killed
// with SIGKILL is still revoked once Redis is restarted on the same
// directory; while Redis is down the answer is an error (callers fail
// closed), never "not revoked".
func TestRevocationsSurviveRedisKill(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not installed")
		}
		t.Skip("redis-server not installed")
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	start := func() *exec.Cmd {
		args := append([]string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", dir}, redisPersistence...)
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
	defer rdb.Close()
	revs := auth.NewRedisRevocations(rdb)
	ctx := context.Background()
	up := func() {
		testenv.Eventually(t, "redis answers", 10*time.Second, func() bool { return rdb.Ping(ctx).Err() == nil })
	}

	srv := start()
	up()
	if err := revs.Revoke(ctx, "jti-before-crash", time.Now().Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.Wait()
	if revoked, err := revs.IsRevoked(ctx, "jti-before-crash"); err == nil {
		t.Fatalf("Redis down: IsRevoked = %v without an error; callers could not fail closed", revoked)
	}
	start()
	up()
	revoked, err := revs.IsRevoked(ctx, "jti-before-crash")
	if err != nil || !revoked {
		t.Fatalf("after the restart IsRevoked = %v, %v; the revocation was lost", revoked, err)
	}
	if revoked, err := revs.IsRevoked(ctx, "never-revoked"); err != nil || revoked {
		t.Fatalf("unrelated jti: %v, %v", revoked, err)
	}
}
