package deploy_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// pinned reads a version from hack/versions.env, the one place versions live.
func pinned(t *testing.T, key string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.RepoRoot(t), "hack", "versions.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(s.Text()), "="); ok && k == key {
			return v
		}
	}
	t.Fatalf("%s not pinned in hack/versions.env", key)
	return ""
}

// mustExist fails unless path (relative to the repository root, or absolute) exists.
func mustExist(t *testing.T, what, path string) {
	t.Helper()
	if !filepath.IsAbs(path) {
		path = filepath.Join(testenv.RepoRoot(t), path)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// imageBinaries are the programs hack/build.sh puts into the bookstore image
// (its ./cmd/<name> arguments), each of which must exist as a package.
func imageBinaries(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "hack", "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	bins := map[string]bool{}
	for _, m := range regexp.MustCompile(`\./cmd/([a-z-]+)`).FindAllStringSubmatch(string(data), -1) {
		bins[m[1]] = true
	}
	if len(bins) == 0 {
		t.Fatal("hack/build.sh builds no ./cmd/ programs")
	}
	return bins
}

// contractVars are the BOOKSTORE_* variables of the runtime contract: those
// docs/architecture.md documents and those the configuration code reads
// (internal/platform/config), so a misspelt variable is caught.
func contractVars(t *testing.T) map[string]bool {
	t.Helper()
	root := testenv.RepoRoot(t)
	files := []string{filepath.Join(root, "docs", "architecture.md")}
	code, _ := filepath.Glob(filepath.Join(root, "internal", "platform", "config", "*.go"))
	files = append(files, code...)
	vars := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile("[`\"](BOOKSTORE_[A-Z_]+)[`\"]").FindAllStringSubmatch(string(data), -1) {
			vars[m[1]] = true
		}
	}
	return vars
}

// readSample decodes manifests/samples/bookstore.yaml into v.
func readSample(t *testing.T, root string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "manifests", "samples", "bookstore.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}
