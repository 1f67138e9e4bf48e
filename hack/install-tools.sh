#!/usr/bin/env bash
# Installs the pinned Go tools the project needs into ./bin:
#   helm (helm.sh/helm/v4), controller-gen (sigs.k8s.io/controller-tools), gotestsum and golangci-lint.
# Idempotent: a tool already present at the pinned version is not rebuilt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "$ROOT/hack/versions.env"

die() { echo "install-tools: $*" >&2; exit 1; }

: "${HELM_VERSION:?HELM_VERSION missing from hack/versions.env}"
: "${CONTROLLER_TOOLS_VERSION:?CONTROLLER_TOOLS_VERSION missing from hack/versions.env}"
command -v go >/dev/null 2>&1 || die "the go toolchain is not on PATH (needed to install helm and controller-gen)"

BIN="$ROOT/bin"
mkdir -p "$BIN"
export GOBIN="$BIN" GOWORK=off

# installed_version <binary> <module path>: the module version the binary was built from
installed_version() {
  [ -x "$1" ] || return 0
  go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m {print $3}'
}

install() { # name module package version
  local name=$1 mod=$2 pkg=$3 ver=$4
  if [ "$(installed_version "$BIN/$name" "$mod")" = "$ver" ]; then
    echo "install-tools: $name $ver already in $BIN"
    return
  fi
  echo "install-tools: installing $name $ver"
  # outside the project directory so that the project's go.mod does not interfere
  (cd "${TMPDIR:-/tmp}" && go install "$pkg@$ver") || die "go install $pkg@$ver failed (Go module proxy: $(go env GOPROXY))"
  [ -x "$BIN/$name" ] || die "$BIN/$name missing after go install $pkg@$ver"
}

install helm helm.sh/helm/v4 helm.sh/helm/v4/cmd/helm "v$HELM_VERSION"
install controller-gen sigs.k8s.io/controller-tools sigs.k8s.io/controller-tools/cmd/controller-gen "v$CONTROLLER_TOOLS_VERSION"
install gotestsum gotest.tools/gotestsum gotest.tools/gotestsum "v$GOTESTSUM_VERSION"
install golangci-lint github.com/golangci/golangci-lint/v2 github.com/golangci/golangci-lint/v2/cmd/golangci-lint "v$GOLANGCI_LINT_VERSION"
echo "install-tools: tools in $BIN"
