#!/usr/bin/env bash
# Builds the Kubernetes control-plane binaries envtest needs (kube-apiserver, etcd)
# plus kubectl from their Go modules through the module proxy (setup-envtest's
# download cannot work on our machines). Idempotent: existing binaries are kept.
#
#   hack/install-k8s.sh          kube-apiserver, etcd, kubectl (envtest, make test)
#   hack/install-k8s.sh node     also kubelet, kube-controller-manager, kube-scheduler,
#                                kube-proxy (the real node of make cluster-up, hack/cluster/)
#
# Output: .cache/k8s/<KUBERNETES_VERSION>/{kube-apiserver,etcd,kubectl,...}
# That directory is what KUBEBUILDER_ASSETS must point to; it is printed last.
#
# Each build happens in a throwaway wrapper module under .cache/k8s-build/, never
# in the project's go.mod.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "$ROOT/hack/versions.env"

die() { echo "install-k8s: $*" >&2; exit 1; }

: "${KUBERNETES_VERSION:?KUBERNETES_VERSION missing from hack/versions.env}"
: "${K8S_LIB_VERSION:?K8S_LIB_VERSION missing from hack/versions.env}"
: "${ETCD_VERSION:?ETCD_VERSION missing from hack/versions.env}"

command -v go >/dev/null 2>&1 || die "the go toolchain is not on PATH (needed to build kube-apiserver, etcd, kubectl)"

ASSETS="$ROOT/.cache/k8s/$KUBERNETES_VERSION"
BUILD="$ROOT/.cache/k8s-build"
mkdir -p "$ASSETS" "$BUILD"

K8S_MINOR="$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
K8S_MAJOR="$(echo "$KUBERNETES_VERSION" | cut -d. -f1)"
LDFLAGS="-X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION -X k8s.io/component-base/version.gitMajor=$K8S_MAJOR -X k8s.io/component-base/version.gitMinor=$K8S_MINOR"

K8S_BINARIES=(kube-apiserver kubectl)
case "${1:-}" in
"") ;;
node) K8S_BINARIES+=(kubelet kube-controller-manager kube-scheduler kube-proxy) ;;
*) die "unknown argument $1 (usage: hack/install-k8s.sh [node])" ;;
esac

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GOWORK=off

build_kubernetes() {
  local need=() b
  for b in "${K8S_BINARIES[@]}"; do [ -x "$ASSETS/$b" ] || need+=("$b"); done
  if [ "${#need[@]}" -eq 0 ]; then
    echo "install-k8s: ${K8S_BINARIES[*]} v$KUBERNETES_VERSION already in $ASSETS"
    return
  fi
  local dir="$BUILD/kubernetes-$KUBERNETES_VERSION"
  mkdir -p "$dir"
  if [ ! -f "$dir/.ready" ]; then
    echo "install-k8s: preparing wrapper module for k8s.io/kubernetes v$KUBERNETES_VERSION in $dir"
    local gomod
    gomod="$(go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')" \
      || die "cannot download k8s.io/kubernetes@v$KUBERNETES_VERSION through the Go module proxy ($(go env GOPROXY))"
    [ -f "$gomod" ] || die "go mod download did not report the go.mod of k8s.io/kubernetes@v$KUBERNETES_VERSION"
    {
      echo "module bookstore.local/k8s-build"
      echo
      echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')"
      echo
      echo "require k8s.io/kubernetes v$KUBERNETES_VERSION"
      echo
      # every staging module kubernetes requires as v0.0.0 is published as v0.<minor>.<patch>
      # (exactly v0.0.0: pseudo-versions such as k8s.io/utils v0.0.0-2026... are real versions)
      grep -E '^[[:space:]]*k8s\.io/[A-Za-z0-9._/-]+ v0\.0\.0[[:space:]]*(//.*)?$' "$gomod" | awk '{print $1}' | sort -u |
        while read -r m; do echo "replace $m => $m v$K8S_LIB_VERSION"; done
    } >"$dir/go.mod"
    cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
    (cd "$dir" && go mod tidy) \
      || die "resolving the dependencies of k8s.io/kubernetes v$KUBERNETES_VERSION failed (see above)"
    touch "$dir/.ready"
  fi
  for b in "${need[@]}"; do
    echo "install-k8s: building $b v$KUBERNETES_VERSION (cold: several minutes, ~2.3 GB RAM)"
    (cd "$dir" && go build -trimpath -ldflags "$LDFLAGS" -o "$ASSETS/$b.tmp" "k8s.io/kubernetes/cmd/$b") \
      || die "building $b from k8s.io/kubernetes v$KUBERNETES_VERSION failed (see above)"
    mv "$ASSETS/$b.tmp" "$ASSETS/$b"
  done
}

build_etcd() {
  if [ -x "$ASSETS/etcd" ]; then
    echo "install-k8s: etcd v$ETCD_VERSION already in $ASSETS"
    return
  fi
  local dir="$BUILD/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  if [ ! -f "$dir/.ready" ]; then
    echo "install-k8s: preparing wrapper module for go.etcd.io/etcd/server/v3 v$ETCD_VERSION in $dir"
    cat >"$dir/go.mod" <<MOD
module bookstore.local/etcd-build

go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')

require go.etcd.io/etcd/server/v3 v$ETCD_VERSION
MOD
    (cd "$dir" && go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION") \
      || die "cannot fetch go.etcd.io/etcd/server/v3@v$ETCD_VERSION through the Go module proxy ($(go env GOPROXY))"
    touch "$dir/.ready"
  fi
  echo "install-k8s: building etcd v$ETCD_VERSION"
  (cd "$dir" && go build -trimpath -o "$ASSETS/etcd.tmp" "go.etcd.io/etcd/server/v3") \
    || die "building etcd v$ETCD_VERSION failed (see above)"
  mv "$ASSETS/etcd.tmp" "$ASSETS/etcd"
}

build_etcd
build_kubernetes

for b in etcd "${K8S_BINARIES[@]}"; do
  [ -x "$ASSETS/$b" ] || die "$ASSETS/$b missing after the build"
done
echo "install-k8s: KUBEBUILDER_ASSETS=$ASSETS"
echo "$ASSETS"
