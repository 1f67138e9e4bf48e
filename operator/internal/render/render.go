// Package render turns a Bookstore into Kubernetes objects by rendering the
// Helm charts of charts/ (embedded as charts.FS) with Helm's Go engine: the
// operator and a Helm user go through the same templates. Only the values
// differ, and ServiceValues / IngressValues derive them from the spec.
package render

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	commonutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/bookstore-platform/bookstore/charts/chartload"
)

// Chart renders one embedded chart (with its dependencies attached) as release
// name in namespace, with values overriding the chart's defaults, and returns
// the objects sorted by file name then position (NOTES.txt is skipped).
func Chart(ctx context.Context, name, release, namespace string, values map[string]any) ([]*unstructured.Unstructured, error) {
	c, err := chartload.Load(name)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", name, err)
	}
	return Loaded(ctx, c, release, namespace, values)
}

// Loaded renders an already loaded chart; see Chart.
func Loaded(ctx context.Context, c *chart.Chart, release, namespace string, values map[string]any) ([]*unstructured.Unstructured, error) {
	if err := chartutil.ProcessDependencies(c, values); err != nil {
		return nil, fmt.Errorf("chart %s: dependencies: %w", c.Name(), err)
	}
	opts := common.ReleaseOptions{Name: release, Namespace: namespace, Revision: 1, IsInstall: true}
	top, err := commonutil.ToRenderValues(c, values, opts, common.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("chart %s: values: %w", c.Name(), err)
	}
	files, err := engine.Engine{Strict: false}.RenderWithContext(ctx, c, top)
	if err != nil {
		return nil, fmt.Errorf("chart %s: render: %w", c.Name(), err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		base := path.Base(n)
		if strings.HasPrefix(base, "_") || base == "NOTES.txt" {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var out []*unstructured.Unstructured
	for _, n := range names {
		objs, err := Parse([]byte(files[n]))
		if err != nil {
			return nil, fmt.Errorf("chart %s: %s: %w", c.Name(), n, err)
		}
		for _, o := range objs {
			if o.GetNamespace() == "" {
				o.SetNamespace(namespace)
			}
		}
		out = append(out, objs...)
	}
	return out, nil
}

// Parse splits a multi-document YAML stream into objects, skipping empty
// documents. Numbers become int64 where they are integral, as the API
// machinery expects.
func Parse(data []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parse manifest: %w", err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("parse manifest: %w", err)
		}
		if t := bytes.TrimSpace(js); len(t) == 0 || bytes.Equal(t, []byte("null")) || bytes.Equal(t, []byte("{}")) {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("parse manifest: %w", err)
		}
		out = append(out, u)
	}
}

// Hash returns a short stable hash of s (hex, 10 characters).
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:10]
}
