#!/usr/bin/env bash
# Runs haproxy-ingress (the entry-point controller, HAPROXY_INGRESS_VERSION) beside a cluster as
# host processes: the controller and the haproxy it starts (master-worker), bound to 127.0.0.1.
#
#   hack/ingress-controller.sh start KUBECONFIG PORT   # HTTP on 127.0.0.1:PORT
#   hack/ingress-controller.sh stop  KUBECONFIG PORT   # stops both, removes what start created
#
# It serves Ingresses of IngressClass haproxy and, when the Gateway API CRDs are installed,
# HTTPRoutes attached to Gateways of GatewayClass haproxy (--watch-gateway=true); start creates
# that IngressClass, GatewayClass and its ConfigMap (haproxy-ingress/host-PORT: ports and bind
# addresses) through KUBECONFIG. Ports: PORT http, PORT+1 https, PORT+2 haproxy's /healthz,
# PORT+3 stats, PORT+4 the controller's own healthz/metrics; all on 127.0.0.1.
#
# Needs: kubectl (PATH or .cache/k8s/<version>), the controller from hack/install-haproxy-ingress.sh
# (run here when missing: Go module proxy, ~2.5 min cold), Debian's haproxy (2.6) and lua-json on
# PATH (apt-installed by that script as root), and a kube-apiserver whose Services' EndpointSlices
# hold addresses this host reaches (pod IPs of a local node, or an address on an interface the
# caller created; the API server refuses loopback addresses in EndpointSlices).
# Limits of haproxy-ingress v0.16.1: HTTPRoute filters are not implemented (no rewrite), it writes
# no GatewayClass/Gateway status (nothing may wait on Programmed), and Gateway listener ports are
# ignored (PORT serves every Gateway). Pid and log: .cache/ingress-controller/PORT/; haproxy's
# files: /tmp/bookstore-haproxy-ingress-PORT (removed by stop).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { die "usage: $0 start|stop KUBECONFIG PORT"; }
[ $# -eq 3 ] || usage
cmd=$1 KCFG=$2 PORT=$3
[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1024 ] && [ "$PORT" -le 65530 ] || die "PORT must be a number in 1024..65530, not '$PORT'"
[ -r "$KCFG" ] || die "kubeconfig $KCFG not readable"
KCFG="$(cd "$(dirname "$KCFG")" && pwd)/$(basename "$KCFG")"
STATE="$CACHE/ingress-controller/$PORT"
# haproxy-ingress's files (config, maps, sockets). No dot may occur in this path: v0.16.1 names the
# map of Exact paths by inserting "__exact" before the first "." of the map's whole path.
FS="${BOOKSTORE_INGRESS_FS:-/tmp/bookstore-haproxy-ingress-$PORT}"
[[ "$FS" != *.* ]] || die "BOOKSTORE_INGRESS_FS=$FS must not contain a dot (haproxy-ingress v0.16.1 map naming)"
NS=haproxy-ingress
CM="host-$PORT"
KUBECTL="${KUBECTL:-$(command -v kubectl || echo "$KUBE_ASSETS/kubectl")}"
[ -x "$KUBECTL" ] || die "kubectl not found (PATH or $KUBE_ASSETS; hack/install-k8s.sh builds it)"
k() { "$KUBECTL" --kubeconfig "$KCFG" "$@"; }

stop() {
  local pid hap
  if [ -f "$STATE/controller.pid" ]; then
    pid=$(cat "$STATE/controller.pid")
    if kill -0 "$pid" 2>/dev/null; then
      # haproxy runs as the controller's child in its own process group (master-worker).
      hap=$(ps -o pid= --ppid "$pid" | tr -d ' ' || true)
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
      for h in $hap; do kill -TERM -- "-$h" 2>/dev/null || kill -TERM "$h" 2>/dev/null || true; done
    fi
    rm -f "$STATE/controller.pid"
  fi
  k delete configmap -n "$NS" "$CM" --ignore-not-found >/dev/null 2>&1 || true
  rm -rf "$FS"
  log "haproxy-ingress on 127.0.0.1:$PORT stopped (logs kept in $STATE)"
}

start() {
  if [ -f "$STATE/controller.pid" ] && kill -0 "$(cat "$STATE/controller.pid")" 2>/dev/null; then
    die "haproxy-ingress already runs for port $PORT (pid $(cat "$STATE/controller.pid")); stop it first"
  fi
  for p in "$PORT" $((PORT + 1)) $((PORT + 2)) $((PORT + 3)) $((PORT + 4)); do
    ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || die "port $p on 127.0.0.1 is already in use"
  done
  local out
  out="$(bash "$ROOT/hack/install-haproxy-ingress.sh" | tail -n 1)"
  need haproxy "Debian package haproxy"
  [ -f /usr/share/lua/5.3/json.lua ] || [ -n "$(dpkg -L lua-json 2>/dev/null | grep -m1 'json.lua')" ] \
    || die "lua-json missing: haproxy would reject the generated configuration (module 'json' not found)"

  mkdir -p "$FS/etc/haproxy"
  cp -R "$out/rootfs/etc/lua" "$FS/etc/haproxy/"
  k create namespace "$NS" --dry-run=client -o yaml | k apply -f - >/dev/null
  k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: $CM, namespace: $NS}
data:
  http-port: "$PORT"
  https-port: "$((PORT + 1))"
  healthz-port: "$((PORT + 2))"
  stats-port: "$((PORT + 3))"
  bind-ip-addr-http: 127.0.0.1
  bind-ip-addr-tcp: 127.0.0.1
  bind-ip-addr-healthz: 127.0.0.1
  bind-ip-addr-stats: 127.0.0.1
  bind-ip-addr-prometheus: 127.0.0.1
  ssl-redirect: "false"
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: haproxy}
spec: {controller: haproxy-ingress.github.io/controller}
YAML
  if k get crd gatewayclasses.gateway.networking.k8s.io >/dev/null 2>&1; then
    k apply -f - >/dev/null <<YAML
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: haproxy}
spec: {controllerName: haproxy-ingress.github.io/controller}
YAML
  else
    log "no Gateway API CRDs in the cluster: serving Ingresses only"
  fi

  # The controller reads its templates from ./rootfs (with --local-filesystem-prefix).
  (cd "$out" && POD_NAMESPACE=$NS exec ./haproxy-ingress-controller \
    --kubeconfig="$KCFG" --local-filesystem-prefix="$FS" \
    --configmap="$NS/$CM" --ingress-class=haproxy --watch-gateway=true \
    --update-status=false --election-id="host-$PORT.haproxy-ingress.github.io" \
    --healthz-addr="127.0.0.1:$((PORT + 4))" \
    >"$STATE/controller.log" 2>&1 </dev/null) &
  echo $! >"$STATE/controller.pid"
  local pid deadline=$((SECONDS + 90))
  pid=$(cat "$STATE/controller.pid")
  until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      tail -n 30 "$STATE/controller.log" >&2 || true
      stop
      die "haproxy-ingress did not serve 127.0.0.1:$PORT (see $STATE/controller.log)"
    fi
    sleep 0.3
  done
  log "haproxy-ingress v$HAPROXY_INGRESS_VERSION routes on http://127.0.0.1:$PORT (log: $STATE/controller.log)"
}

mkdir -p "$STATE"
case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
