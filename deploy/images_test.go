package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// TestInfraImagesPinned: compose and Tilt run the PostgreSQL, Redis and Kafka
// images pinned in hack/versions.env, the operator's defaults (checked in
// operator/api/v1alpha1).
func TestInfraImagesPinned(t *testing.T) {
	root := testenv.RepoRoot(t)
	p, err := loadCompose(t, filepath.Join(root, "docker-compose.yml"), "BOOKSTORE_ADMIN_PASSWORD=from-the-environment")
	if err != nil {
		t.Fatal(err)
	}
	tilt, err := os.ReadFile(filepath.Join(root, "deploy", "tilt", "infra.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for svc, key := range map[string]string{"postgres": "POSTGRES_IMAGE", "redis": "REDIS_IMAGE", "kafka": "KAFKA_IMAGE"} {
		want := pinned(t, key)
		if got := p.Services[svc].Image; got != want {
			t.Errorf("docker-compose.yml %s image %q, want %s=%s", svc, got, key, want)
		}
		if !strings.Contains(string(tilt), "image: "+want+"\n") {
			t.Errorf("deploy/tilt/infra.yaml does not run %s (%s)", want, key)
		}
	}
}
