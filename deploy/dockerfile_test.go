package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bookstore-platform/bookstore/internal/testenv"
)

type stage struct{ base, name string }

// dockerStages returns a Dockerfile's FROM lines (build args substituted with their defaults).
func dockerStages(t *testing.T, path string) ([]stage, string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), path))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	args := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^ARG\s+(\w+)=(\S+)`).FindAllStringSubmatch(text, -1) {
		args[m[1]] = m[2]
	}
	var stages []stage
	for _, m := range regexp.MustCompile(`(?mi)^FROM\s+(\S+)(?:\s+AS\s+(\S+))?`).FindAllStringSubmatch(text, -1) {
		base := regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(m[1], func(s string) string {
			return args[strings.Trim(s, "${}")]
		})
		stages = append(stages, stage{base: base, name: m[2]})
	}
	return stages, text
}

// The release Dockerfile builds with hack/build.sh in a glibc builder and runs
// on the same Debian release's glibc, as non-root; the default target is the
// services image and the operator has its own target.
func TestDockerfile(t *testing.T) {
	stages, text := dockerStages(t, "Dockerfile")
	if len(stages) == 0 {
		t.Fatal("no FROM")
	}
	last := stages[len(stages)-1]
	if !strings.HasPrefix(last.base, "gcr.io/distroless/base-debian12") || !strings.HasSuffix(last.base, ":nonroot") {
		t.Errorf("default (last) stage runs on %s, want gcr.io/distroless/base-debian12:nonroot (glibc for the cgo binaries)", last.base)
	}
	var names []string
	for _, s := range stages {
		names = append(names, s.name)
		if strings.HasPrefix(s.base, "golang:") && !strings.HasSuffix(s.base, "-bookworm") {
			t.Errorf("builder %s is not Debian 12 (bookworm), the runtime's release", s.base)
		}
		if strings.Contains(s.base, "alpine") {
			t.Errorf("stage %s uses musl (%s): the bundled librdkafka needs glibc", s.name, s.base)
		}
	}
	if !slices.Contains(names, "operator") {
		t.Errorf("no operator target among stages %v (hack/images.sh builds --target operator)", names)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(readFile(t, "go.mod"))
	if goVersion == nil || !strings.Contains(text, "ARG GO_VERSION="+goVersion[1]) {
		t.Errorf("the builder's Go version is not go.mod's %v", goVersion)
	}
	for _, want := range []string{"hack/build.sh /out services", "hack/build.sh /out operator", "USER 65532:65532", "COPY --from=build /out/ /usr/local/bin/"} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}

	// What hack/build.sh compiles must reach the build context.
	var ignored []string
	for _, line := range strings.Split(readFile(t, ".dockerignore"), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ignored = append(ignored, line)
		}
	}
	for _, need := range []string{"go.mod", "go.sum", "hack", "cmd", "internal", "services", "migrations", "operator", "charts", "manifests"} {
		if slices.Contains(ignored, need) || slices.Contains(ignored, need+"/") {
			t.Errorf(".dockerignore excludes %s, which the build needs", need)
		}
	}

	// Tilt's dev image runs binaries compiled in golang:<go>-bookworm: same glibc.
	tiltStages, _ := dockerStages(t, "deploy/tilt/Dockerfile")
	if len(tiltStages) != 1 || !strings.HasPrefix(tiltStages[0].base, "debian:bookworm") {
		t.Errorf("deploy/tilt/Dockerfile runs on %v, want debian:bookworm (the compile image's glibc)", tiltStages)
	}
	if !strings.Contains(readFile(t, "deploy/tilt/compile.sh"), `golang:${go_version}-bookworm`) {
		t.Errorf("deploy/tilt/compile.sh does not compile in golang:<go>-bookworm")
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), p))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
