#!/usr/bin/env bash
# The images of the local cluster, built without Docker or a registry, and
# their import into the cluster's containerd.
#   hack/cluster/images.sh build    docker-archives in .cache/cluster/images (cached by input key)
#   hack/cluster/images.sh import   ctr -n k8s.io images import of each (the cluster must run)
# Images (tags = what the manifests, the sample and the operator's defaults name,
# so IfNotPresent pods use them; docs/e2e.md):
#   bookstore:<version>           the service binaries of hack/build.sh on Debian $SUITE
#                                 (/usr/local/bin, user 65532, as the Dockerfile)
#   bookstore-operator:<version>  the static operator binary (user 65532)
#   Postgres, Redis, Kafka        Debian's postgresql-15, redis-server, openjdk-17 + the
#                                 project's Kafka jars, under the operator's default image
#                                 references, honouring the contract of docs/operator.md
#   pause, CoreDNS                static Go binaries (hack/cluster/build.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/hack/cluster/lib.sh"
source "$ROOT/hack/cluster/image-lib.sh"
cd "$ROOT"

version="${BOOKSTORE_VERSION:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' charts/bookstore/Chart.yaml)}"

# default_image NAME: the operator's default image of NAME (Postgres, Redis,
# Kafka): hack/versions.env's NAME_IMAGE, else the operator's Go constant.
default_image() {
  local var v
  var="$(echo "$1" | tr '[:lower:]' '[:upper:]')_IMAGE"
  v="${!var:-}"
  [ -n "$v" ] || v="$(grep -rhoE "[dD]efault${1}Image *= *\"[^\"]+\"" operator --include='*.go' | head -1 | sed 's/.*"\(.*\)"/\1/')"
  [ -n "$v" ] || die "no default $1 image found in hack/versions.env or operator/"
  echo "$v"
}

build_all() {
  need umoci "apt-get install umoci"
  need skopeo "apt-get install skopeo"
  need debootstrap "apt-get install debootstrap"
  local base bkey
  base="$(base_rootfs)"
  bkey="$(echo "$SUITE-minbase-1" | key)"
  pop_base() { cp -a "$base/." "$1/"; }
  build_image base - "$bkey" scratch pop_base
  local btag # the base's tag in the layout, as build_image names it (ref "-")
  btag="base-$(echo "$bkey -" | key)"

  # --- services and operator from hack/build.sh
  local out="$CL/build"
  "$ROOT/hack/build.sh" "$out" all >&2
  pop_services() {
    add_user "$1" nonroot 65532 /home/nonroot
    install -m 0755 "$out"/{user,token,inventory,order,gateway} "$1/usr/local/bin/"
  }
  build_image bookstore "bookstore:$version" "$(cat "$out"/{user,token,inventory,order,gateway} | key)" "$btag" pop_services \
    --config.user 65532:65532 --config.env BOOKSTORE_HTTP_ADDR=:8080 --config.exposedports 8080/tcp \
    --config.cmd /usr/local/bin/gateway
  pop_operator() {
    mkdir -p "$1/usr/local/bin" "$1/etc" "$1/tmp" && chmod 1777 "$1/tmp"
    echo "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin" >"$1/etc/passwd"
    echo "nonroot:x:65532:" >"$1/etc/group"
    install -m 0755 "$out/bookstore-operator" "$1/usr/local/bin/"
  }
  build_image bookstore-operator "bookstore-operator:$version" "$(key <"$out/bookstore-operator")" scratch pop_operator \
    --config.user 65532:65532 --config.entrypoint /usr/local/bin/bookstore-operator

  # --- infrastructure from Debian's packages
  local pgbin="/usr/lib/postgresql/$POSTGRES_MAJOR/bin"
  pop_postgres() {
    add_user "$1" postgres 999 /var/lib/postgresql
    add_packages "$1" "postgresql-$POSTGRES_MAJOR"
    mkdir -p "$1/var/run/postgresql" "$1/var/lib/postgresql/data"
    chown 999:999 "$1/var/run/postgresql" "$1/var/lib/postgresql/data"
    chmod 3777 "$1/var/run/postgresql"
  }
  # STOPSIGNAL SIGINT as in the upstream image: a fast shutdown. On SIGTERM (a smart
  # shutdown) PostgreSQL waits for the services' pooled connections to close, i.e.
  # for the kubelet's kill at the end of the grace period, then starts with crash recovery.
  # (The 2 in its key is the revision of this configuration: bump it when the flags change.)
  build_image postgres "$(default_image Postgres)" "$(echo "$bkey postgresql-$POSTGRES_MAJOR 2" | key)" "$btag" pop_postgres \
    --config.user 999:999 --config.env "PATH=$pgbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --config.env PGDATA=/var/lib/postgresql/data --config.exposedports 5432/tcp --config.cmd postgres \
    --config.stopsignal SIGINT
  pop_redis() {
    add_user "$1" redis 999 /data
    add_packages "$1" redis-server
  }
  build_image redis "$(default_image Redis)" "$(echo "$bkey redis-server 1" | key)" "$btag" pop_redis \
    --config.user 999:999 --config.workingdir /data --config.exposedports 6379/tcp --config.entrypoint redis-server
  local kdir="$ROOT/hack/cluster/images/kafka" jre=/usr/lib/jvm/java-17-openjdk-amd64
  pop_kafka() {
    add_user "$1" appuser 1000 /home/appuser
    add_packages "$1" openjdk-17-jre-headless
    ln -sf "$jre/bin/java" "$1/usr/bin/java"
    mkdir -p "$1/opt/kafka/libs" "$1/var/lib/kafka/data"
    cp -a "$KAFKA_HOME/libs/." "$1/opt/kafka/libs/"
    cp -a "$kdir/bin" "$kdir/config" "$1/opt/kafka/"
    chown 1000:1000 "$1/var/lib/kafka/data"
  }
  [ -d "$KAFKA_HOME/libs" ] || "$ROOT/hack/install-servers.sh" >&2
  build_image kafka "$(default_image Kafka)" \
    "$( (echo "$bkey openjdk-17-jre-headless 1"; ls "$KAFKA_HOME/libs"; cat "$kdir"/bin/* "$kdir"/config/*) | key)" "$btag" pop_kafka \
    --config.user 1000:1000 --config.workingdir /opt/kafka \
    --config.env "PATH=/opt/kafka/bin:$jre/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --config.exposedports 9092/tcp --config.cmd /opt/kafka/bin/kafka-server-start.sh \
    --config.cmd /opt/kafka/config/server.properties

  # --- cluster images from static Go binaries
  pop_pause() { install -m 0755 "$CL_BIN/pause" "$1/pause"; }
  build_image pause "$PAUSE_IMAGE" "$(key <"$CL_BIN/pause")" scratch pop_pause \
    --config.user 65535:65535 --config.entrypoint /pause
  pop_coredns() { install -m 0755 "$CL_BIN/coredns" "$1/coredns"; }
  build_image coredns "$COREDNS_IMAGE" "$(key <"$CL_BIN/coredns")" scratch pop_coredns \
    --config.user 65532:65532 --config.entrypoint /coredns
  umoci gc --layout "$OCI"
}

import_all() {
  local t
  for t in "$CL_IMAGES"/*.tar; do
    ctr_ images import "$t" >/dev/null || die "ctr images import $t failed"
  done
  # the same service image under a second version, for the version bump of the e2e
  ctr_ images tag --force "docker.io/library/bookstore:$version" "docker.io/library/bookstore:$version-next" >/dev/null
  log "images in the cluster: $(ctr_ images ls -q | grep -v '^sha256:' | tr '\n' ' ')"
}

case "${1:-}" in
build) build_all ;;
import) import_all ;;
*) die "usage: hack/cluster/images.sh build|import" ;;
esac
