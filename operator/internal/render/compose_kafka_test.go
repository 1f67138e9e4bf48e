package render_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bookstore-platform/bookstore/internal/testenv"
	"github.com/bookstore-platform/bookstore/operator/internal/render"
)

// TestComposeKafkaFiles: docker-compose.yml's Kafka runs the managed Kafka's
// start.sh and acls, copied to deploy/compose/kafka by make generate
// (hack/generate.sh sets BOOKSTORE_UPDATE_GENERATED to the output root,
// which this test then writes instead of comparing).
func TestComposeKafkaFiles(t *testing.T) {
	root := testenv.RepoRoot(t)
	if out := os.Getenv("BOOKSTORE_UPDATE_GENERATED"); out != "" {
		root = out
	}
	for name, want := range map[string]string{"start.sh": render.KafkaStartScript, "acls": render.KafkaACLs()} {
		p := filepath.Join(root, "deploy", "compose", "kafka", name)
		if os.Getenv("BOOKSTORE_UPDATE_GENERATED") != "" {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != want {
			t.Errorf("%s is not the operator's %s (%v): run make generate", p, name, err)
		}
	}
}
