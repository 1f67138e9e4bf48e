#!/usr/bin/env bash
# Vendors the chart dependencies (charts/<chart>/charts/*.tgz, git-ignored):
# the library into each service chart, then the service charts (with their
# library) and the library into the umbrella. Needed before `helm lint`,
# `helm template` or `helm install` of a chart directory.
#   hack/helm-deps.sh [charts-dir]   (default: charts/ of this repository)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
charts="${1:-$root/charts}"
helm="${HELM:-$root/bin/helm}"
command -v "$helm" >/dev/null 2>&1 || helm=helm
for c in user token inventory order bookstore; do
	rm -rf "$charts/$c/charts" "$charts/$c/Chart.lock"
	"$helm" dependency update --skip-refresh "$charts/$c" >/dev/null
done
