package deploy_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bookstore-platform/bookstore/internal/testenv"
)

// runTiltfile executes the Tiltfile with Tilt's config args; helm() renders
// with the real helm binary (charts staged with hack/helm-deps.sh).
func runTiltfile(t *testing.T, args, env map[string]string) *tilt {
	t.Helper()
	root := testenv.RepoRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "Tiltfile"))
	if err != nil {
		t.Fatal(err)
	}
	tl := newTilt(t, root, args, env)
	var staged string
	tl.helm = func(chart, name, namespace string, values, set []string) string {
		helm := testenv.Tool(t, "helm")
		if staged == "" {
			staged = filepath.Join(t.TempDir(), "charts")
			if out, err := exec.Command("cp", "-rL", filepath.Join(root, "charts"), staged).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v\n%s", err, out)
			}
			if out, err := exec.Command(filepath.Join(root, "hack", "helm-deps.sh"), staged).CombinedOutput(); err != nil {
				t.Fatalf("helm-deps.sh: %v\n%s", err, out)
			}
		}
		rel, err := filepath.Rel("charts", chart)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("helm(%q): the Tiltfile renders charts under charts/", chart)
		}
		cmd := []string{"template", name, filepath.Join(staged, rel)}
		if namespace != "" {
			cmd = append(cmd, "--namespace", namespace)
		}
		for _, v := range values {
			cmd = append(cmd, "--values", filepath.Join(root, v))
		}
		for _, s := range set {
			cmd = append(cmd, "--set", s)
		}
		c := exec.Command(helm, cmd...)
		c.Env = append(os.Environ(), "HELM="+helm)
		out, err := c.Output()
		if err != nil {
			var stderr []byte
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				stderr = ee.Stderr
			}
			t.Fatalf("helm %v: %v\n%s", cmd, err, stderr)
		}
		return string(out)
	}
	if err := tl.exec(src); err != nil {
		t.Fatalf("Tiltfile: %v", err)
	}
	return tl
}

func TestTiltfile(t *testing.T) {
	for _, tc := range []struct {
		name string
		args map[string]string
		env  map[string]string
	}{
		{"helm mode (default)", nil, nil},
		{"operator mode", map[string]string{"deploy": "operator"}, nil},
		{"operator mode from the environment", nil, map[string]string{"BOOKSTORE_TILT_DEPLOY": "operator"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := runTiltfile(t, tc.args, tc.env)
			tl.checkPaths(t)
			tl.checkResources(t)
			tl.checkImagesAreDeployed(t)
			operator := tc.args["deploy"] == "operator" || tc.env["BOOKSTORE_TILT_DEPLOY"] == "operator"
			if operator {
				tl.checkOperatorMode(t)
			} else {
				tl.checkLiveUpdate(t)
			}
			// Unit tests of every service run as local resources on change.
			for _, svc := range services {
				r := tl.resource("test-" + svc)
				if r == nil || !r.local || !strings.Contains(r.cmd, "go test ./services/"+svc) {
					t.Errorf("no local resource running the %s unit tests: %+v", svc, r)
				}
			}
			if !slices.Contains(tl.contexts, "kind-bookstore") {
				t.Errorf("allow_k8s_contexts %v does not allow the kind cluster of kind-config.yaml", tl.contexts)
			}
		})
	}
	t.Run("unknown mode fails", func(t *testing.T) {
		root := testenv.RepoRoot(t)
		src, _ := os.ReadFile(filepath.Join(root, "Tiltfile"))
		tl := newTilt(t, root, map[string]string{"deploy": "kustomize"}, nil)
		tl.helm = func(string, string, string, []string, []string) string { return "" }
		if err := tl.exec(src); err == nil || !strings.Contains(err.Error(), "--deploy") {
			t.Errorf("err = %v, want the Tiltfile to reject --deploy=kustomize", err)
		}
	})
}

func (tl *tilt) resource(name string) *resource {
	for _, r := range tl.resources {
		if r.name == name {
			return r
		}
	}
	return nil
}

// generated reports whether p is an output of a command the Tiltfile runs
// (compile.sh writes bin/tilt, a local() call creates bin/tilt/jwt).
func (tl *tilt) generated(p string) bool {
	var texts []string
	texts = append(texts, tl.local...)
	for _, r := range tl.resources {
		if !r.local {
			continue
		}
		texts = append(texts, r.cmd)
		if f := strings.Fields(r.cmd); len(f) > 0 {
			if data, err := os.ReadFile(filepath.Join(tl.root, f[0])); err == nil {
				texts = append(texts, string(data))
			}
		}
	}
	for dir := filepath.Dir(p); dir != "." && dir != "/"; dir = filepath.Dir(dir) {
		for _, s := range texts {
			if strings.Contains(s, dir) && (strings.Contains(s, "out="+dir) || strings.Contains(s, "mkdir -p "+dir)) {
				return true
			}
		}
	}
	return false
}

// Every path the Tiltfile names exists, or is produced by a command it runs.
func (tl *tilt) checkPaths(t *testing.T) {
	t.Helper()
	for p, what := range tl.paths {
		if _, err := os.Stat(filepath.Join(tl.root, p)); err != nil && !tl.generated(p) {
			t.Errorf("%s names %s, which does not exist and nothing generates", what, p)
		}
	}
	for _, r := range tl.resources {
		if !r.local {
			continue
		}
		f := strings.Fields(r.cmd)
		switch {
		case len(f) == 0:
			t.Errorf("local resource %s has no command", r.name)
		case f[0] == "go" && len(f) > 2 && f[1] == "test":
			for _, pkg := range f[2:] {
				mustExist(t, "local resource "+r.name+" package", strings.TrimSuffix(strings.TrimPrefix(pkg, "./"), "/..."))
			}
		case strings.Contains(f[0], "/"):
			mustExist(t, "local resource "+r.name+" script", f[0])
		}
	}
	for _, c := range tl.local {
		if f := strings.Fields(c); len(f) > 0 && strings.Contains(f[0], "/") {
			mustExist(t, "local() script", f[0])
		}
	}
}

var workloadKinds = []string{"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}

func (tl *tilt) objectKinds() map[string][]string {
	byName := map[string][]string{}
	for _, o := range tl.yaml {
		name := testenv.LookupString(o, "metadata", "name")
		byName[name] = append(byName[name], testenv.LookupString(o, "kind"))
	}
	return byName
}

func (tl *tilt) isWorkload(kind string) bool {
	if slices.Contains(workloadKinds, kind) {
		return true
	}
	for _, k := range tl.kinds {
		if strings.EqualFold(k.kind, kind) {
			return true
		}
	}
	return false
}

// Every k8s_resource names a workload or objects that were loaded, every
// resource_dep a resource, every resource is grouped by a label, and no
// two port-forwards share a local port.
func (tl *tilt) checkResources(t *testing.T) {
	t.Helper()
	objs := tl.objectKinds()
	names := map[string]bool{}
	for name, kinds := range objs {
		for _, k := range kinds {
			if tl.isWorkload(k) {
				names[name] = true
			}
		}
	}
	for _, r := range tl.resources {
		if r.local {
			names[r.name] = true
		}
	}
	ports := map[string]string{}
	for _, r := range tl.resources {
		if !r.local && r.workload != "" {
			found := false
			for _, k := range objs[r.workload] {
				found = found || tl.isWorkload(k)
			}
			if !found {
				t.Errorf("k8s_resource(%q): no such workload among the loaded YAML", r.workload)
			}
			delete(names, r.workload)
		}
		for _, sel := range r.objects {
			parts := strings.Split(sel, ":")
			n := 0
			for _, k := range objs[parts[0]] {
				if len(parts) < 2 || strings.EqualFold(k, parts[1]) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("k8s_resource(%q): object selector %q matches %d loaded objects, want 1", r.name, sel, n)
			}
		}
		names[r.name] = true
		if len(r.labels) == 0 {
			t.Errorf("resource %s has no label (resources are grouped by service)", r.name)
		}
		for _, p := range r.ports {
			if other, dup := ports[p]; dup {
				t.Errorf("port %s forwarded by both %s and %s", p, other, r.name)
			}
			ports[p] = r.name
		}
	}
	for _, r := range tl.resources {
		for _, d := range r.deps {
			if !names[d] {
				t.Errorf("resource %s depends on %q, which is no resource (have %v)", r.name, d, names)
			}
		}
	}
}

// imagesUsed are the image repositories referenced by loaded objects
// (containers, and Custom Resources through k8s_kind's image_object).
func (tl *tilt) imagesUsed() map[string]bool {
	used := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if img, ok := v["image"].(string); ok {
				used[repoOf(img)] = true
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	for _, o := range tl.yaml {
		walk(o)
		for _, k := range tl.kinds {
			if k.imageObject != nil && strings.EqualFold(k.kind, testenv.LookupString(o, "kind")) {
				path := strings.Split(strings.Trim(k.imageObject["json_path"], "{}."), ".")
				if repo := testenv.LookupString(testenv.Lookup(o, path...), k.imageObject["repo_field"]); repo != "" {
					used[repo] = true
				}
			}
		}
	}
	for _, img := range tl.images {
		for _, line := range strings.Split(img.dockerfileContents, "\n") {
			if f := strings.Fields(line); len(f) >= 2 && strings.EqualFold(f[0], "FROM") {
				used[repoOf(f[1])] = true
			}
		}
	}
	return used
}

func repoOf(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

// Tilt only builds images something deploys; an unused build is a mistake.
func (tl *tilt) checkImagesAreDeployed(t *testing.T) {
	t.Helper()
	used := tl.imagesUsed()
	if len(tl.images) == 0 {
		t.Fatal("the Tiltfile builds no image")
	}
	for _, img := range tl.images {
		if !used[img.ref] {
			t.Errorf("image %s is built but no loaded object uses it (used: %v)", img.ref, used)
		}
		if img.target != "" && img.dockerfile != "" {
			data, err := os.ReadFile(filepath.Join(tl.root, img.dockerfile))
			if err == nil && !strings.Contains(strings.ToLower(string(data)), " as "+img.target+"\n") {
				t.Errorf("image %s: %s has no stage %q", img.ref, img.dockerfile, img.target)
			}
		}
	}
}

// Helm mode: an image per service whose live update syncs the rebuilt binary
// into the path the process runs from and then restarts the process.
func (tl *tilt) checkLiveUpdate(t *testing.T) {
	t.Helper()
	bins := imageBinaries(t)
	for _, svc := range services {
		ref := "bookstore-" + svc
		var img *image
		for _, i := range tl.images {
			if i.ref == ref {
				img = i
			}
		}
		if img == nil {
			t.Errorf("no image %s", ref)
			continue
		}
		if len(img.liveUpdate) == 0 {
			t.Errorf("%s has no live update", ref)
			continue
		}
		var syncs []*step
		restarts := false
		for _, s := range img.liveUpdate {
			switch s.kind {
			case "sync":
				syncs = append(syncs, s)
			case "restart_container":
				restarts = true
			case "run":
				restarts = restarts || strings.Contains(strings.Join(s.cmd, " "), ".restart-proc")
			}
		}
		if !restarts {
			t.Errorf("%s: the live update does not restart the process: %v", ref, img.liveUpdate)
		}
		entry := img.entrypoint[len(img.entrypoint)-1]
		synced := false
		for _, s := range syncs {
			if s.remote == entry && filepath.Base(s.local) == svc && bins[svc] &&
				filepath.Clean(filepath.Dir(s.local)) == filepath.Clean(img.context) {
				synced = true
			}
		}
		if !synced {
			t.Errorf("%s: no sync of the compiled %s binary (context %s) to the entrypoint %s: %v", ref, svc, img.context, entry, syncs)
		}
		if !slices.Equal(img.only, []string{svc}) {
			t.Errorf("%s: only = %v, want just its binary", ref, img.only)
		}
		// The chart runs the image's entrypoint (the restart wrapper), and the
		// migration Job finds the binary where the release image has it.
		for _, o := range tl.yaml {
			if testenv.LookupString(o, "kind") == "Deployment" && testenv.LookupString(o, "metadata", "name") == "bookstore-"+svc {
				if c := testenv.Lookup(o, "spec", "template", "spec", "containers", "0", "command"); c != nil {
					t.Errorf("Deployment bookstore-%s sets command %v, which would bypass the restart wrapper", svc, c)
				}
			}
			if testenv.LookupString(o, "kind") == "Job" && testenv.LookupString(o, "metadata", "name") == "bookstore-"+svc+"-migrate" {
				if c := testenv.LookupString(o, "spec", "template", "spec", "containers", "0", "command", "0"); c != entry {
					t.Errorf("migration Job runs %q, the image has %q", c, entry)
				}
			}
		}
		if r := tl.resource(svc); r == nil || !slices.Contains(r.labels, svc) || len(r.ports) == 0 {
			t.Errorf("resource %s: %+v, want it labelled %q with a port-forward", svc, r, svc)
		}
	}
	if r := tl.resource("compile"); r == nil || !strings.Contains(r.cmd, "compile.sh") {
		t.Errorf("no compile local resource: %+v", r)
	}
}

func (tl *tilt) checkOperatorMode(t *testing.T) {
	t.Helper()
	refs := map[string]*image{}
	for _, i := range tl.images {
		refs[i.ref] = i
	}
	if refs["bookstore"] == nil || refs["bookstore-operator"] == nil || refs["bookstore-operator"].target != "operator" {
		t.Errorf("operator mode builds %v, want bookstore and bookstore-operator (target operator)", refs)
	}
	found := false
	for _, o := range tl.yaml {
		if testenv.LookupString(o, "kind") == "Bookstore" {
			found = true
		}
	}
	if !found {
		t.Errorf("operator mode applies no Bookstore")
	}
}
