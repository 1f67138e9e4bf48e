#!/usr/bin/env bash
# Builds haproxy-ingress (github.com/jcmoraisjr/haproxy-ingress, HAPROXY_INGRESS_VERSION in
# hack/versions.env) from its Go module through the module proxy: its release images cannot be
# pulled here. hack/ingress-controller.sh runs the result beside a cluster.
#
# Needs: the go toolchain and the Go module proxy. At run time (not for this build) the controller
# needs Debian's `haproxy` (2.6) and `lua-json`: without lua-json haproxy rejects the generated
# configuration with "module 'json' not found". Both are apt-installed here when missing (as root).
#
# Output (kept between runs; nothing is rebuilt when it exists):
#   .cache/haproxy-ingress/<version>/haproxy-ingress-controller   the controller (CGO_ENABLED=0, ~55 MB)
#   .cache/haproxy-ingress/<version>/rootfs/                     the module's rootfs/ (templates, lua)
# The build happens in a throwaway wrapper module under .cache/haproxy-ingress-build/ (the
# module's main.go is package main in pkg/, so the wrapper re-declares it), never in go.mod.
# Cold build: about 2.5 minutes on 2 cores.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${HAPROXY_INGRESS_VERSION:?HAPROXY_INGRESS_VERSION missing from hack/versions.env}"
need go "the Go toolchain builds haproxy-ingress"

OUT="$CACHE/haproxy-ingress/$HAPROXY_INGRESS_VERSION"
BUILD="$CACHE/haproxy-ingress-build/$HAPROXY_INGRESS_VERSION"
MOD="github.com/jcmoraisjr/haproxy-ingress"

apt_install haproxy lua-json

if [ -x "$OUT/haproxy-ingress-controller" ] && [ -f "$OUT/rootfs/etc/templates/haproxy/haproxy.tmpl" ]; then
  log "haproxy-ingress v$HAPROXY_INGRESS_VERSION already in $OUT"
  echo "$OUT"
  exit 0
fi

export GOWORK=off GOFLAGS="${GOFLAGS:-} -mod=mod" CGO_ENABLED=0
mkdir -p "$OUT" "$BUILD"
if [ ! -f "$BUILD/.ready" ]; then
  log "preparing the wrapper module for $MOD v$HAPROXY_INGRESS_VERSION in $BUILD"
  cat >"$BUILD/go.mod" <<MODFILE
module bookstore.local/haproxy-ingress-build

go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/')
MODFILE
  # The same program as the module's pkg/main.go (package main cannot be imported).
  cat >"$BUILD/main.go" <<'GO'
package main

import (
	"flag"
	"log"
	"os"

	"github.com/jcmoraisjr/haproxy-ingress/pkg/controller/config"
	"github.com/jcmoraisjr/haproxy-ingress/pkg/controller/launch"
)

func main() {
	fs := flag.NewFlagSet("HAProxy Ingress", flag.ExitOnError)
	opt := config.NewOptions()
	opt.AddFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		log.Fatalf("unable to parse command-line arguments: %s\n", err)
	}
	cfg, err := config.Create(opt)
	if err != nil {
		log.Fatalf("unable to parse static config: %s\n", err)
	}
	if err := launch.Run(cfg); err != nil {
		log.Fatal(err.Error())
	}
}
GO
  (cd "$BUILD" && go get "$MOD@v$HAPROXY_INGRESS_VERSION" && go mod tidy) \
    || die "cannot resolve $MOD@v$HAPROXY_INGRESS_VERSION through the Go module proxy ($(go env GOPROXY))"
  touch "$BUILD/.ready"
fi

log "building haproxy-ingress v$HAPROXY_INGRESS_VERSION (cold: ~2.5 minutes)"
VPKG="$MOD/pkg/version"
(cd "$BUILD" && go build -trimpath \
  -ldflags "-s -w -X $VPKG.RELEASE=v$HAPROXY_INGRESS_VERSION -X $VPKG.REPO=https://$MOD" \
  -o "$OUT/haproxy-ingress-controller.tmp" .) || die "building haproxy-ingress failed (see above)"

src="$(cd "$BUILD" && go list -m -f '{{.Dir}}' "$MOD")"
[ -d "$src/rootfs/etc/templates" ] || die "$src/rootfs/etc/templates missing from the module"
rm -rf "$OUT/rootfs" && cp -R "$src/rootfs" "$OUT/rootfs" && chmod -R u+w "$OUT/rootfs"
mv "$OUT/haproxy-ingress-controller.tmp" "$OUT/haproxy-ingress-controller"
log "haproxy-ingress v$HAPROXY_INGRESS_VERSION in $OUT"
echo "$OUT"
