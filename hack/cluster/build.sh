#!/usr/bin/env bash
# Builds every binary the local cluster runs, from the Go module proxy, and
# keeps them: a warm run builds nothing.
#   - etcd, kube-apiserver, kubectl, kubelet, kube-controller-manager,
#     kube-scheduler, kube-proxy at KUBERNETES_VERSION (hack/install-k8s.sh node)
#   - CoreDNS at COREDNS_VERSION with the plugins the cluster's Corefile uses
#     (a wrapper module with its own main, like install-k8s.sh's)
#   - pause (hack/cluster/pause), the pods' sandbox
# Output: .cache/k8s/<version>/ and .cache/cluster/bin/
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/hack/cluster/lib.sh"
: "${COREDNS_VERSION:?COREDNS_VERSION missing from hack/versions.env}"

"$ROOT/hack/install-k8s.sh" node >&2

mkdir -p "$CL_BIN"
export GOWORK=off CGO_ENABLED=0

coredns="$CL_BIN/coredns-$COREDNS_VERSION"
if [ ! -x "$coredns" ]; then
  dir="$CACHE/k8s-build/coredns-$COREDNS_VERSION"
  mkdir -p "$dir"
  if [ ! -f "$dir/.ready" ]; then
    log "preparing wrapper module for github.com/coredns/coredns v$COREDNS_VERSION in $dir"
    cat >"$dir/go.mod" <<MOD
module bookstore.local/coredns-build

go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')

require github.com/coredns/coredns v$COREDNS_VERSION
MOD
    # Only the plugins of the Corefile in hack/cluster/addons.sh: fewer
    # dependencies than CoreDNS's full plugin list (cloud DNS SDKs among them).
    cat >"$dir/main.go" <<'GO'
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
	_ "github.com/coredns/coredns/plugin/template"
)

func main() { coremain.Run() }
GO
    (cd "$dir" && go mod tidy) || die "resolving github.com/coredns/coredns v$COREDNS_VERSION failed (see above)"
    touch "$dir/.ready"
  fi
  log "building coredns v$COREDNS_VERSION"
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$coredns.tmp" .) || die "building coredns failed (see above)"
  mv "$coredns.tmp" "$coredns"
fi

# pause is tiny: rebuilt only when its source changes (keyed by its hash)
pause_key="$(sha256sum "$ROOT/hack/cluster/pause/main.go" | cut -c1-12)"
if [ ! -x "$CL_BIN/pause-$pause_key" ]; then
  log "building pause"
  (cd "$ROOT" && go build -trimpath -ldflags "-s -w" -o "$CL_BIN/pause-$pause_key" ./hack/cluster/pause)
fi
ln -sfn "pause-$pause_key" "$CL_BIN/pause"
ln -sfn "coredns-$COREDNS_VERSION" "$CL_BIN/coredns"
# metrics-server (for the HPA; CLUSTER_METRICS_SERVER=0: none), cached under .cache/metrics-server
[ "${CLUSTER_METRICS_SERVER:-1}" = 0 ] || bash "$ROOT/hack/cluster/metrics-server.sh" build
log "binaries ready in $KUBE_ASSETS and $CL_BIN"
