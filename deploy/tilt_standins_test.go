package deploy_test

// Recording stand-ins for the Tilt built-ins the Tiltfile calls, with the
// parameter names, defaults and kinds of Tilt's API reference
// (https://docs.tilt.dev/api.html, generated from tilt-dev/tilt
// internal/tiltfile/api/__init__.py). Unknown keyword arguments and wrong
// positional counts fail exactly as in Tilt, since starlark.UnpackArgs
// enforces the declared parameters.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
	"sigs.k8s.io/yaml"
)

// blob is Tilt's Blob: a string meant as content, not as a path.
type blob string

func (b blob) String() string        { return string(b) }
func (b blob) Type() string          { return "blob" }
func (b blob) Freeze()               {}
func (b blob) Truth() starlark.Bool  { return len(b) > 0 }
func (b blob) Hash() (uint32, error) { return starlark.String(b).Hash() }

// step is a live_update step.
type step struct {
	kind   string // sync, run, restart_container, fall_back_on, initial_sync
	local  string
	remote string
	cmd    []string
}

func (s *step) String() string        { return fmt.Sprintf("%s(%s %s %v)", s.kind, s.local, s.remote, s.cmd) }
func (s *step) Type() string          { return "live_update_" + s.kind + "_step" }
func (s *step) Freeze()               {}
func (s *step) Truth() starlark.Bool  { return true }
func (s *step) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable") }

// opaque is a value of one of Tilt's small types (PortForward, Link, TriggerMode).
type opaque struct {
	typ    string
	fields map[string]string
}

func (o *opaque) String() string        { return o.typ }
func (o *opaque) Type() string          { return o.typ }
func (o *opaque) Freeze()               {}
func (o *opaque) Truth() starlark.Bool  { return true }
func (o *opaque) Hash() (uint32, error) { return starlark.String(o.typ).Hash() }

type image struct {
	ref, context, dockerfile, dockerfileContents, target string
	only, ignore, entrypoint                             []string
	liveUpdate                                           []*step
}

type resource struct {
	name, workload string
	objects        []string
	deps           []string
	labels         []string
	ports          []string
	local          bool
	cmd            string
}

type kindSpec struct {
	kind, apiVersion string
	imageObject      map[string]string
}

// tilt records what a Tiltfile asks Tilt to do.
type tilt struct {
	t         *testing.T
	root      string
	args      map[string]string // tilt up -- --name=value
	env       map[string]string
	helm      func(chart, name, namespace string, values, set []string) string
	images    []*image
	yaml      []map[string]any // every object given to k8s_yaml
	resources []*resource      // k8s_resource and local_resource calls
	kinds     []kindSpec
	local     []string // local() commands
	paths     map[string]string
	contexts  []string
	defined   map[string]bool
}

func newTilt(t *testing.T, root string, args, env map[string]string) *tilt {
	return &tilt{t: t, root: root, args: args, env: env, paths: map[string]string{}, defined: map[string]bool{}}
}

// path notes a path the Tiltfile names, to be checked once the run is over.
func (tl *tilt) path(what, p string) {
	if p != "" {
		tl.paths[filepath.Clean(p)] = what
	}
}

func strs(v starlark.Value) []string {
	switch v := v.(type) {
	case nil, starlark.NoneType:
		return nil
	case starlark.String:
		if v == "" {
			return nil
		}
		return []string{string(v)}
	case blob:
		return []string{string(v)}
	case starlark.Indexable:
		var out []string
		for i := 0; i < v.Len(); i++ {
			out = append(out, strs(v.Index(i))...)
		}
		return out
	default:
		return []string{v.String()}
	}
}

func (tl *tilt) builtin(name string, fn func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return fn(args, kwargs)
	})
}

func (tl *tilt) addYAML(src starlark.Value) error {
	var docs []string
	switch v := src.(type) {
	case blob:
		docs = append(docs, string(v))
	default:
		for _, p := range strs(v) {
			tl.path("k8s_yaml", p)
			data, err := os.ReadFile(filepath.Join(tl.root, p))
			if err != nil {
				return err
			}
			docs = append(docs, string(data))
		}
	}
	for _, d := range docs {
		for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(d, -1) {
			var o map[string]any
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				return fmt.Errorf("k8s_yaml: %w", err)
			}
			if o != nil {
				tl.yaml = append(tl.yaml, o)
			}
		}
	}
	return nil
}

// kubectlCreate emulates `kubectl create configmap|secret generic NAME --from-file=... --dry-run=client -o yaml`.
func (tl *tilt) kubectlCreate(cmd string) (blob, bool) {
	f := strings.Fields(cmd)
	if len(f) < 4 || f[0] != "kubectl" || f[1] != "create" {
		return "", false
	}
	kind, rest := f[2], f[3:]
	if kind == "secret" {
		rest = rest[1:]
	}
	for _, a := range rest {
		if p, ok := strings.CutPrefix(a, "--from-file="); ok {
			if _, src, ok := strings.Cut(p, "="); ok {
				p = src
			}
			tl.path("kubectl create --from-file", p)
		}
	}
	k := map[string]string{"configmap": "ConfigMap", "secret": "Secret"}[kind]
	return blob(fmt.Sprintf("apiVersion: v1\nkind: %s\nmetadata:\n  name: %s\n", k, rest[0])), true
}

func (tl *tilt) predeclared() starlark.StringDict {
	d := starlark.StringDict{
		"TRIGGER_MODE_AUTO":   &opaque{typ: "TriggerMode", fields: map[string]string{"mode": "auto"}},
		"TRIGGER_MODE_MANUAL": &opaque{typ: "TriggerMode", fields: map[string]string{"mode": "manual"}},
	}
	d["fail"] = tl.builtin("fail", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var msg string
		if err := starlark.UnpackArgs("fail", args, kwargs, "msg", &msg); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("fail: %s", msg)
	})
	d["docker_build"] = tl.builtin("docker_build", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		ref, context, dockerfile, target, network, platform := "", "", "Dockerfile", "", "", ""
		var buildArgs, dockerfileContents, liveUpdate, ignore, only, entrypoint, ssh, secret, extraTag, containerArgs, cacheFrom, extraHosts starlark.Value
		var matchInEnv, pull bool
		if err := starlark.UnpackArgs("docker_build", args, kwargs,
			"ref", &ref, "context", &context, "build_args?", &buildArgs, "dockerfile?", &dockerfile,
			"dockerfile_contents?", &dockerfileContents, "live_update?", &liveUpdate, "match_in_env_vars?", &matchInEnv,
			"ignore?", &ignore, "only?", &only, "entrypoint?", &entrypoint, "target?", &target, "ssh?", &ssh,
			"network?", &network, "secret?", &secret, "extra_tag?", &extraTag, "container_args?", &containerArgs,
			"cache_from?", &cacheFrom, "pull?", &pull, "platform?", &platform, "extra_hosts?", &extraHosts); err != nil {
			return nil, err
		}
		img := &image{ref: ref, context: context, target: target, only: strs(only), ignore: strs(ignore), entrypoint: strs(entrypoint)}
		if dockerfileContents != nil && dockerfileContents != starlark.None && strs(dockerfileContents) != nil {
			if _, set := kwargsHas(kwargs, "dockerfile"); set {
				return nil, fmt.Errorf("docker_build: cannot set both dockerfile and dockerfile_contents")
			}
			img.dockerfileContents = strings.Join(strs(dockerfileContents), "")
		} else {
			img.dockerfile = dockerfile
			tl.path("docker_build dockerfile", dockerfile)
		}
		tl.path("docker_build context", context)
		if liveUpdate != nil {
			l, ok := liveUpdate.(*starlark.List)
			if !ok {
				return nil, fmt.Errorf("docker_build: live_update must be a list, got %s", liveUpdate.Type())
			}
			for i := 0; i < l.Len(); i++ {
				s, ok := l.Index(i).(*step)
				if !ok {
					return nil, fmt.Errorf("docker_build: live_update[%d] is a %s, not a live update step", i, l.Index(i).Type())
				}
				img.liveUpdate = append(img.liveUpdate, s)
			}
		}
		tl.images = append(tl.images, img)
		return starlark.None, nil
	})
	d["sync"] = tl.builtin("sync", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var local, remote string
		if err := starlark.UnpackArgs("sync", args, kwargs, "local_path", &local, "remote_path", &remote); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(remote, "/") {
			return nil, fmt.Errorf("sync: remote_path %q must be absolute", remote)
		}
		return &step{kind: "sync", local: local, remote: remote}, nil
	})
	d["run"] = tl.builtin("run", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var cmd, trigger starlark.Value
		var echoOff bool
		if err := starlark.UnpackArgs("run", args, kwargs, "cmd", &cmd, "trigger?", &trigger, "echo_off?", &echoOff); err != nil {
			return nil, err
		}
		return &step{kind: "run", cmd: strs(cmd)}, nil
	})
	// live_update steps without arguments
	for _, kind := range []string{"restart_container", "initial_sync"} {
		d[kind] = tl.builtin(kind, func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs(kind, args, kwargs); err != nil {
				return nil, err
			}
			return &step{kind: kind}, nil
		})
	}
	d["fall_back_on"] = tl.builtin("fall_back_on", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var files starlark.Value
		if err := starlark.UnpackArgs("fall_back_on", args, kwargs, "files", &files); err != nil {
			return nil, err
		}
		for _, f := range strs(files) {
			tl.path("fall_back_on", f)
		}
		return &step{kind: "fall_back_on"}, nil
	})
	d["k8s_yaml"] = tl.builtin("k8s_yaml", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var src starlark.Value
		var dup bool
		if err := starlark.UnpackArgs("k8s_yaml", args, kwargs, "yaml", &src, "allow_duplicates?", &dup); err != nil {
			return nil, err
		}
		return starlark.None, tl.addYAML(src)
	})
	d["helm"] = tl.builtin("helm", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var chart, name, namespace, kubeVersion string
		var values, set starlark.Value
		var skipCRDs bool
		if err := starlark.UnpackArgs("helm", args, kwargs, "pathToChartDir", &chart, "name?", &name, "namespace?", &namespace,
			"values?", &values, "set?", &set, "kube_version?", &kubeVersion, "skip_crds?", &skipCRDs); err != nil {
			return nil, err
		}
		tl.path("helm chart", chart)
		for _, v := range strs(values) {
			tl.path("helm values", v)
		}
		return blob(tl.helm(chart, name, namespace, strs(values), strs(set))), nil
	})
	d["kustomize"] = tl.builtin("kustomize", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var dir string
		var bin, flags starlark.Value
		if err := starlark.UnpackArgs("kustomize", args, kwargs, "pathToDir", &dir, "kustomize_bin?", &bin, "flags?", &flags); err != nil {
			return nil, err
		}
		// The kustomizations here only list resources: concatenate them.
		data, err := os.ReadFile(filepath.Join(tl.root, dir, "kustomization.yaml"))
		if err != nil {
			return nil, err
		}
		var k struct {
			Resources []string `json:"resources"`
		}
		if err := yaml.Unmarshal(data, &k); err != nil {
			return nil, err
		}
		var out []string
		for _, r := range k.Resources {
			tl.path("kustomize resource", filepath.Join(dir, r))
			b, err := os.ReadFile(filepath.Join(tl.root, dir, r))
			if err != nil {
				continue // reported by the path check
			}
			out = append(out, string(b))
		}
		return blob(strings.Join(out, "\n---\n")), nil
	})
	d["k8s_resource"] = tl.builtin("k8s_resource", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var workload, newName, podReadiness, discovery string
		var portForwards, extraSel, trigger, deps, objects, links, labels starlark.Value
		autoInit := true
		if err := starlark.UnpackArgs("k8s_resource", args, kwargs, "workload?", &workload, "new_name?", &newName,
			"port_forwards?", &portForwards, "extra_pod_selectors?", &extraSel, "trigger_mode?", &trigger,
			"resource_deps?", &deps, "objects?", &objects, "auto_init?", &autoInit, "pod_readiness?", &podReadiness,
			"links?", &links, "labels?", &labels, "discovery_strategy?", &discovery); err != nil {
			return nil, err
		}
		if workload == "" && (newName == "" || strs(objects) == nil) {
			return nil, fmt.Errorf("k8s_resource: give workload, or new_name and objects")
		}
		r := &resource{name: workload, workload: workload, objects: strs(objects), deps: strs(deps), labels: strs(labels)}
		if newName != "" {
			r.name = newName
		}
		if l, ok := portForwards.(*starlark.List); ok {
			for i := 0; i < l.Len(); i++ {
				if pf, ok := l.Index(i).(*opaque); ok {
					r.ports = append(r.ports, pf.fields["local_port"])
				} else {
					r.ports = append(r.ports, strings.Split(l.Index(i).String(), ":")[0])
				}
			}
		}
		tl.resources = append(tl.resources, r)
		return starlark.None, nil
	})
	d["k8s_kind"] = tl.builtin("k8s_kind", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) > 2 {
			return nil, fmt.Errorf("k8s_kind: image_json_path, image_object and pod_readiness are keyword-only")
		}
		var kind, podReadiness string
		var apiVersion, jsonPath, imageObject starlark.Value
		if err := starlark.UnpackArgs("k8s_kind", args, kwargs, "kind", &kind, "api_version?", &apiVersion,
			"image_json_path?", &jsonPath, "image_object?", &imageObject, "pod_readiness?", &podReadiness); err != nil {
			return nil, err
		}
		ks := kindSpec{kind: kind, apiVersion: strings.Join(strs(apiVersion), "")}
		if dict, ok := imageObject.(*starlark.Dict); ok {
			ks.imageObject = map[string]string{}
			for _, item := range dict.Items() {
				ks.imageObject[strings.Trim(item[0].String(), `"`)] = strings.Trim(item[1].String(), `"`)
			}
		}
		tl.kinds = append(tl.kinds, ks)
		return starlark.None, nil
	})
	d["local_resource"] = tl.builtin("local_resource", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var name, dir, serveDir string
		var cmd, deps, trigger, rdeps, ignore, serveCmd, cmdBat, serveCmdBat, links, labels, env, serveEnv, probe starlark.Value
		autoInit, parallel := true, false
		if err := starlark.UnpackArgs("local_resource", args, kwargs, "name", &name, "cmd", &cmd, "deps?", &deps,
			"trigger_mode?", &trigger, "resource_deps?", &rdeps, "ignore?", &ignore, "auto_init?", &autoInit,
			"serve_cmd?", &serveCmd, "cmd_bat?", &cmdBat, "serve_cmd_bat?", &serveCmdBat, "allow_parallel?", &parallel,
			"links?", &links, "labels?", &labels, "env?", &env, "serve_env?", &serveEnv, "readiness_probe?", &probe,
			"dir?", &dir, "serve_dir?", &serveDir); err != nil {
			return nil, err
		}
		for _, p := range strs(deps) {
			tl.path("local_resource "+name+" deps", p)
		}
		c := strings.Join(strs(cmd), " ")
		tl.resources = append(tl.resources, &resource{name: name, deps: strs(rdeps), labels: strs(labels), local: true, cmd: c})
		return starlark.None, nil
	})
	d["local"] = tl.builtin("local", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var command, commandBat, env, stdin starlark.Value
		var quiet, echoOff bool
		var dir string
		if err := starlark.UnpackArgs("local", args, kwargs, "command", &command, "quiet?", &quiet, "command_bat?", &commandBat,
			"echo_off?", &echoOff, "env?", &env, "dir?", &dir, "stdin?", &stdin); err != nil {
			return nil, err
		}
		c := strings.Join(strs(command), " ")
		tl.local = append(tl.local, c)
		if b, ok := tl.kubectlCreate(c); ok {
			return b, nil
		}
		return blob(""), nil
	})
	d["watch_file"] = tl.builtin("watch_file", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var p string
		if err := starlark.UnpackArgs("watch_file", args, kwargs, "file_path", &p); err != nil {
			return nil, err
		}
		tl.path("watch_file", p)
		return starlark.None, nil
	})
	d["watch_settings"] = tl.builtin("watch_settings", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var ignore starlark.Value
		return starlark.None, starlark.UnpackArgs("watch_settings", args, kwargs, "ignore", &ignore)
	})
	d["read_file"] = tl.builtin("read_file", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var p string
		var def starlark.Value
		if err := starlark.UnpackArgs("read_file", args, kwargs, "file_path", &p, "default?", &def); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(filepath.Join(tl.root, p))
		if err != nil {
			return nil, err
		}
		return blob(data), nil
	})
	d["allow_k8s_contexts"] = tl.builtin("allow_k8s_contexts", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var c starlark.Value
		if err := starlark.UnpackArgs("allow_k8s_contexts", args, kwargs, "contexts", &c); err != nil {
			return nil, err
		}
		tl.contexts = append(tl.contexts, strs(c)...)
		return starlark.None, nil
	})
	d["port_forward"] = tl.builtin("port_forward", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var local int
		var container, name, linkPath, host starlark.Value
		if err := starlark.UnpackArgs("port_forward", args, kwargs, "local_port", &local, "container_port?", &container,
			"name?", &name, "link_path?", &linkPath, "host?", &host); err != nil {
			return nil, err
		}
		return &opaque{typ: "PortForward", fields: map[string]string{"local_port": fmt.Sprint(local)}}, nil
	})
	d["link"] = tl.builtin("link", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var url string
		var name starlark.Value
		if err := starlark.UnpackArgs("link", args, kwargs, "url", &url, "name?", &name); err != nil {
			return nil, err
		}
		return &opaque{typ: "Link", fields: map[string]string{"url": url}}, nil
	})

	parsed := false
	config := &starlarkstruct.Module{Name: "config", Members: starlark.StringDict{
		"main_dir":        starlark.String(tl.root),
		"main_path":       starlark.String(filepath.Join(tl.root, "Tiltfile")),
		"tilt_subcommand": starlark.String("up"),
	}}
	for _, def := range []string{"define_string", "define_bool", "define_string_list"} {
		config.Members[def] = tl.builtin("config."+def, func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var name, usage string
			var positional bool
			if err := starlark.UnpackArgs(def, args, kwargs, "name", &name, "args?", &positional, "usage?", &usage); err != nil {
				return nil, err
			}
			if parsed {
				return nil, fmt.Errorf("config.%s(%q) after config.parse()", def, name)
			}
			tl.defined[name] = true
			return starlark.None, nil
		})
	}
	config.Members["parse"] = tl.builtin("config.parse", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs("parse", args, kwargs); err != nil {
			return nil, err
		}
		parsed = true
		out := starlark.NewDict(len(tl.args))
		for k, v := range tl.args {
			if !tl.defined[k] {
				return nil, fmt.Errorf("unknown flag --%s (Tilt rejects undefined config settings)", k)
			}
			_ = out.SetKey(starlark.String(k), starlark.String(v))
		}
		return out, nil
	})
	d["config"] = config

	osPath := &starlarkstruct.Module{Name: "os.path", Members: starlark.StringDict{
		"exists": tl.builtin("os.path.exists", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var p string
			if err := starlark.UnpackArgs("exists", args, kwargs, "path", &p); err != nil {
				return nil, err
			}
			_, err := os.Stat(filepath.Join(tl.root, p))
			return starlark.Bool(err == nil), nil
		}),
		"join": tl.builtin("os.path.join", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return starlark.String(filepath.Join(strs(args)...)), nil
		}),
	}}
	d["os"] = &starlarkstruct.Module{Name: "os", Members: starlark.StringDict{
		"name": starlark.String("posix"),
		"path": osPath,
		"getenv": tl.builtin("os.getenv", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var key string
			var def starlark.Value = starlark.None
			if err := starlark.UnpackArgs("getenv", args, kwargs, "key", &key, "default?", &def); err != nil {
				return nil, err
			}
			if v, ok := tl.env[key]; ok {
				return starlark.String(v), nil
			}
			return def, nil
		}),
	}}
	return d
}

func kwargsHas(kwargs []starlark.Tuple, name string) (starlark.Value, bool) {
	for _, kv := range kwargs {
		if string(kv[0].(starlark.String)) == name {
			return kv[1], true
		}
	}
	return nil, false
}

// restartProcessExt mirrors tilt-dev/tilt-extensions restart_process/Tiltfile:
// the same signature and the same calls to docker_build (a base image, then
// the image with tilt-restart-wrapper as entrypoint and a run step that
// touches the restart file appended to the live update).
const restartProcessExt = `
def docker_build_with_restart(ref, context, entrypoint, live_update, base_suffix='-base', restart_file='/.restart-proc', **kwargs):
    if len(live_update) == 0:
        fail('docker_build_with_restart requires at least one live_update step')
    for s in live_update:
        if type(s) == 'live_update_restart_container_step':
            fail('docker_build_with_restart is not compatible with restart_container()')
    base_ref = '{}{}'.format(ref, base_suffix)
    docker_build(base_ref, context, **kwargs)
    df = 'FROM tiltdev/restart-helper:2020-04-27 as restart-helper\nFROM {}\nRUN ["touch", "{}"]\n'.format(base_ref, restart_file)
    cleaned = {k: v for k, v in kwargs.items() if k not in ['dockerfile', 'dockerfile_contents', 'target']}
    if type(entrypoint) == type(''):
        wrapped = ['/tilt-restart-wrapper', '--watch_file={}'.format(restart_file), 'sh', '-c', entrypoint]
    else:
        wrapped = ['/tilt-restart-wrapper', '--watch_file={}'.format(restart_file)] + entrypoint
    docker_build(ref, context, entrypoint=wrapped, dockerfile_contents=df,
                 live_update=live_update + [run('date > {}'.format(restart_file))], **cleaned)
`

// exec runs the Tiltfile with the stand-ins; load('ext://restart_process') gets the mirror above.
func (tl *tilt) exec(src []byte) error {
	pre := tl.predeclared()
	opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
	thread := &starlark.Thread{Name: "Tiltfile", Print: func(_ *starlark.Thread, msg string) { tl.t.Log(msg) }}
	thread.Load = func(th *starlark.Thread, module string) (starlark.StringDict, error) {
		if module != "ext://restart_process" {
			return nil, fmt.Errorf("load(%q): no stand-in for this module", module)
		}
		return starlark.ExecFileOptions(opts, th, module, restartProcessExt, pre)
	}
	_, err := starlark.ExecFileOptions(opts, thread, "Tiltfile", src, pre)
	return err
}
