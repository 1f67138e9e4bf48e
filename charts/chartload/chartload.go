// Package chartload loads the embedded Helm charts of Bookstore (charts.FS)
// as Helm's Go engine wants them, so that the operator renders exactly the
// charts a Helm user installs.
package chartload

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/bookstore-platform/bookstore/charts"
)

// Load returns the named chart from charts.FS with its dependencies attached, the
// way `helm dependency build` would vendor them: the service charts get the
// library chart, the umbrella gets the library and the four service charts.
// Files under a chart's own charts/ directory (a local `helm dependency
// build` leaves archives there) are ignored.
func Load(name string) (*chart.Chart, error) {
	c, err := loadDir(name)
	if err != nil {
		return nil, err
	}
	for _, dep := range c.Metadata.Dependencies {
		sub, err := Load(dep.Name)
		if err != nil {
			return nil, fmt.Errorf("chart %s: dependency %s: %w", name, dep.Name, err)
		}
		c.AddDependency(sub)
	}
	return c, nil
}

func loadDir(name string) (*chart.Chart, error) {
	var files []*archive.BufferedFile
	err := fs.WalkDir(charts.FS, name, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, name+"/")
		if d.IsDir() {
			if rel == "charts" {
				return fs.SkipDir
			}
			return nil
		}
		if rel == "Chart.lock" {
			return nil
		}
		data, err := charts.FS.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, &archive.BufferedFile{Name: path.Clean(rel), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", name, err)
	}
	c, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", name, err)
	}
	return c, nil
}
