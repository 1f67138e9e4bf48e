# Shared helpers for hack/*.sh. Source it; it sets ROOT, CACHE and the pinned versions.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)" # physical: mountinfo and the kubelet name resolved paths
CACHE="$ROOT/.cache"
# shellcheck source=versions.env
source "$ROOT/hack/versions.env"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/$POSTGRES_MAJOR/bin}"
KAFKA_HOME="$CACHE/kafka/$KAFKA_VERSION"
KUBE_ASSETS="$CACHE/k8s/$KUBERNETES_VERSION"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "missing command '$1' ($2)"; }

# apt_install PKG...: installs Debian packages that are not installed yet (root only).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "packages missing: ${missing[*]} (install them with: sudo apt-get install ${missing[*]})"
  log "apt-get install ${missing[*]}"
  apt-get update -qq >/dev/null || die "apt-get update failed: Debian's package mirror is not reachable"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

# wait_port HOST PORT SECONDS: waits until a TCP port accepts connections.
wait_port() {
  local host=$1 port=$2 deadline=$((SECONDS + $3))
  until (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}
