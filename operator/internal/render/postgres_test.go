package render_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bookstore-platform/bookstore/operator/api/v1alpha1"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
	"github.com/bookstore-platform/bookstore/operator/internal/testutil"
)

// TestPostgresStartScript runs the managed PostgreSQL exactly as its pod
// does — the operator's start.sh from the rendered ConfigMap, with the
// rendered postgresql.conf and pg_hba.conf and the credentials as mounted
// files — against Debian's postgresql-15 binaries (the image contract: initdb,
// pg_ctl, postgres, psql on the PATH). Only the port and the listen address
// are changed, to a free loopback port. It checks what the services rely
// on: each DSN the operator derives connects as the service's own role to its
// own database, passwords are enforced, max_connections is the one sized
// with the pools; a restart keeps the data and skips the initialisation, and
// an initialisation interrupted earlier starts over.
func TestPostgresStartScript(t *testing.T) {
	bin := "/usr/lib/postgresql/15/bin"
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		testutil.SkipOrFail(t, "PostgreSQL 15 binaries not found in "+bin)
	}
	b := &v1alpha1.Bookstore{ObjectMeta: metav1.ObjectMeta{Name: "pg", Namespace: "ns"}, Spec: v1alpha1.BookstoreSpec{
		Version:  "1",
		Services: v1alpha1.ServicesSpec{Order: v1alpha1.ServiceSpec{Autoscaling: &v1alpha1.AutoscalingSpec{MaxReplicas: 5}}},
	}}
	var cm *corev1.ConfigMap
	for _, o := range render.ManagedPostgres(b) {
		if c, ok := o.(*corev1.ConfigMap); ok {
			cm = c
		}
	}
	creds := &corev1.Secret{Data: map[string][]byte{}}
	for i, k := range render.CredentialKeys() {
		creds.Data[k] = []byte(fmt.Sprintf("pw%d%x", i, time.Now().UnixNano()))
	}

	dir := t.TempDir()
	uid, gid := serverUser(t)
	port := freePort(t)
	files := map[string]string{}
	for k, v := range cm.Data {
		files["config/"+k] = v
	}
	files["config/postgresql.conf"] = strings.Replace(files["config/postgresql.conf"], "listen_addresses = '*'\nport = 5432",
		fmt.Sprintf("listen_addresses = '127.0.0.1'\nport = %d", port), 1)
	for k, v := range creds.Data {
		files["creds/"+k] = string(v)
	}
	for _, d := range []string{"config", "creds", "run", "data", "data/pgdata.init"} {
		mkdirOwned(t, filepath.Join(dir, d), uid, gid)
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o440); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	// debris of an initialisation killed half-way
	if err := os.WriteFile(filepath.Join(dir, "data/pgdata.init/PG_VERSION"), []byte("15"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command("sh", filepath.Join(dir, "config", "start.sh"))
		cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + dir, "LANG=C",
			"PGDATA=" + filepath.Join(dir, "data", "pgdata"),
			"BOOKSTORE_POSTGRES_CONFIG=" + filepath.Join(dir, "config"),
			"BOOKSTORE_CREDENTIALS_DIR=" + filepath.Join(dir, "creds"),
			"BOOKSTORE_POSTGRES_SOCKET=" + filepath.Join(dir, "run")}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		log, err := os.Create(filepath.Join(t.TempDir(), "postgres.log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stopServer(cmd) })
		return cmd
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	first := start()
	dsns := map[string]string{}
	for _, o := range render.DerivedSecrets(b, creds) {
		s := o.(*corev1.Secret)
		for _, svc := range render.Services() {
			if s.Name == (render.Names{Bookstore: b.Name}).DatabaseSecret(svc) {
				dsns[svc] = localDSN(t, string(s.Data["url"]), port)
			}
		}
	}
	waitConnect(ctx, t, dsns["user"], first)
	for svc, dsn := range dsns {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("%s: connect with the derived DSN: %v", svc, err)
		}
		var who, db string
		var maxConns int
		if err := c.QueryRow(ctx, "SELECT current_user, current_database(), current_setting('max_connections')::int").Scan(&who, &db, &maxConns); err != nil {
			t.Fatal(err)
		}
		if who != render.PostgresDatabase(svc) || db != render.PostgresDatabase(svc) || maxConns != render.PostgresMaxConnections(&b.Spec) {
			t.Errorf("%s: connected as %s to %s, max_connections %d (want %d)", svc, who, db, maxConns, render.PostgresMaxConnections(&b.Spec))
		}
		if _, err := c.Exec(ctx, "CREATE TABLE owned (id int)"); err != nil {
			t.Errorf("%s cannot create tables in its own database: %v", svc, err)
		}
		_ = c.Close(ctx)
	}
	wrong, _ := url.Parse(dsns["token"])
	wrong.User = url.UserPassword(wrong.User.Username(), "wrong")
	if c, err := pgx.Connect(ctx, wrong.String()); err == nil {
		_ = c.Close(ctx)
		t.Error("a wrong password was accepted")
	}
	if want := 8 + 8*(3*(1+2)+(5+2)); render.PostgresMaxConnections(&b.Spec) != want {
		t.Errorf("max_connections %d, want %d (pools of 8: 1 pod + surge + Job for 3 services, 5 + surge + Job for order, 8 reserved)", render.PostgresMaxConnections(&b.Spec), want)
	}

	// A restart (a new pod on the same volume): no initialisation, data kept.
	stopServer(first)
	second := start()
	waitConnect(ctx, t, dsns["order"], second)
	c, err := pgx.Connect(ctx, dsns["order"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "INSERT INTO owned VALUES (1)"); err != nil {
		t.Errorf("the table created before the restart: %v", err)
	}
}

// serverUser is the user PostgreSQL runs as: postgres when the test runs as root.
func serverUser(t *testing.T) (int, int) {
	if os.Geteuid() != 0 {
		return os.Getuid(), os.Getgid()
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		testutil.SkipOrFail(t, "running as root without a postgres user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

func mkdirOwned(t *testing.T, dir string, uid, gid int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for d := dir; strings.HasPrefix(d, os.TempDir()) && len(d) > len(os.TempDir()); d = filepath.Dir(d) {
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// localDSN points a derived in-cluster DSN at the local server.
func localDSN(t *testing.T, dsn string, port int) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		t.Fatalf("derived DSN %q: %v", dsn, err)
	}
	u.Host = fmt.Sprintf("127.0.0.1:%d", port)
	q := u.Query()
	if q.Get("pool_max_conns") != strconv.Itoa(render.PoolSizePerPod) {
		t.Errorf("DSN pool_max_conns=%q, want %d (max_connections is sized with it)", q.Get("pool_max_conns"), render.PoolSizePerPod)
	}
	q.Del("pool_max_conns") // a pgxpool setting; pgx.Connect would send it to the server
	u.RawQuery = q.Encode()
	return u.String()
}

func waitConnect(ctx context.Context, t *testing.T, dsn string, cmd *exec.Cmd) {
	t.Helper()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	for {
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			_ = c.Close(ctx)
			return
		}
		select {
		case <-exited:
			out := ""
			if f, ok := cmd.Stdout.(*os.File); ok {
				data, _ := os.ReadFile(f.Name())
				out = string(data)
			}
			t.Fatalf("start.sh exited: %v\n%s", cmd.ProcessState, out)
		case <-ctx.Done():
			t.Fatalf("PostgreSQL did not accept the service's DSN: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stopServer sends SIGINT (the images' stop signal: a fast shutdown) and waits.
func stopServer(cmd *exec.Cmd) {
	if cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && cmd.Process.Signal(syscall.Signal(0)) == nil {
		time.Sleep(100 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
}
