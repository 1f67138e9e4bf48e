# Shared settings of the real single-node cluster (make cluster-up / cluster-down).
# Source it after hack/lib.sh. Everything the cluster keeps lives under .cache/cluster:
#   bin/     CoreDNS and pause binaries (cache, kept by cluster-down)
#   images/  image archives keyed by their inputs (cache, kept by cluster-down)
#   run/     the running cluster: PKI, configs, etcd data, containerd root, logs (removed by cluster-down)
#   env      KUBECONFIG and BOOKSTORE_URL of the running cluster (removed by cluster-down)
# Addresses: the node IP and the API server live on a dummy interface this script
# creates (never eth0's address); pods on a bridge of their own; the entry point is
# reached from the host on 127.0.0.1.
CL="$CACHE/cluster"
CL_RUN="$CL/run"
CL_PKI="$CL_RUN/pki"
CL_LOGS="$CL_RUN/logs"
CL_ENV="$CL/env"
CL_BIN="$CL/bin"
CL_IMAGES="$CL/images"

NODE_NAME="${BOOKSTORE_NODE_NAME:-bookstore-node}"
NODE_IF=bkst-node0        # dummy interface carrying NODE_IP
NODE_IP=10.99.0.1         # node InternalIP, API server, etcd, kubelet (never eth0's address)
CNI_BRIDGE=bkst-cni0      # bridge of the pods
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/24
KUBERNETES_SVC_IP=10.96.0.1
DNS_IP=10.96.0.10
API_PORT=6443
PAUSE_IMAGE=registry.k8s.io/pause:3.10                          # containerd's sandbox_image
COREDNS_IMAGE="registry.k8s.io/coredns/coredns:v$COREDNS_VERSION" # local builds (hack/cluster/images.sh)
CONTAINERD_SOCK="$CL_RUN/containerd/containerd.sock"
# the entry point on the host (BOOKSTORE_URL); the port follows BOOKSTORE_PORT_OFFSET
ENTRY_PORT=$((9080 + ${BOOKSTORE_PORT_OFFSET:-0}))

KUBECTL_BIN="$KUBE_ASSETS/kubectl"
ADMIN_KUBECONFIG="$CL_PKI/admin.kubeconfig"
kubectl_() { "$KUBECTL_BIN" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }
ctr_() { ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# Processes the cluster runs, in start order; cluster-down stops them in reverse.
CL_PROCS=(containerd etcd kube-apiserver kubelet kube-controller-manager kube-scheduler kube-proxy metrics-server)
# metrics-server (hack/cluster/metrics-server.sh) beside the node, on the node IP
METRICS_SERVER_PORT=4443

pidfile() { echo "$CL_RUN/$1.pid"; }
alive() { [ -f "$(pidfile "$1")" ] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }

# start NAME CMD...: runs CMD in the background with its log in CL_LOGS, records its pid.
start() {
  local name=$1; shift
  if alive "$name"; then log "$name already running"; return; fi
  mkdir -p "$CL_LOGS"
  nohup "$@" >"$CL_LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
}

# stop NAME: TERM, then KILL after 10 s, of the recorded pid only.
stop() {
  local f p i
  f="$(pidfile "$1")"
  [ -f "$f" ] || return 0
  p="$(cat "$f")"
  if kill -0 "$p" 2>/dev/null; then
    kill "$p" 2>/dev/null || true
    for i in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$p" 2>/dev/null || true
  fi
  rm -f "$f"
}

# until_ok SECONDS WHAT CMD...: retries CMD every second until it succeeds.
until_ok() {
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "timed out waiting for $what"
    sleep 1
  done
}

# diagnose: what a failed run needs to be explained without the cluster (CI keeps
# only the output): every pod that is not Ready or has restarted, with its last
# state, its events and the tail of its current and previous logs; the host's
# disk, memory and kernel OOM lines; the kubelet's last errors.
diagnose() {
  local ns name
  log "diagnose: pods that are not Ready or have restarted"
  kubectl_ get pods -A -o wide >&2 || true
  kubectl_ get pods -A --no-headers -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,READY:.status.containerStatuses[*].ready,RESTARTS:.status.containerStatuses[*].restartCount,PHASE:.status.phase 2>/dev/null |
    awk '$5 != "Succeeded" && ($3 ~ /false/ || $4 !~ /^0(,0)*$/) {print $1, $2}' |
    while read -r ns name; do
      printf '\n===== %s/%s\n' "$ns" "$name" >&2
      kubectl_ -n "$ns" describe pod "$name" 2>&1 | sed -n '/^Containers:/,/^Conditions:/p;/^Events:/,$p' | grep -vE '^\s+(Mounts|Environment):' | head -80 >&2 || true
      printf -- '----- logs --previous (tail 40)\n' >&2
      kubectl_ -n "$ns" logs "$name" --all-containers --previous --tail=40 >&2 2>&1 || true
      printf -- '----- logs (tail 40)\n' >&2
      kubectl_ -n "$ns" logs "$name" --all-containers --tail=40 >&2 2>&1 || true
    done
  # a service that stays Ready can still be the one that stalled: its warnings
  # and errors (relay, consumers, deadlines) from every pod, the previous ones too
  kubectl_ get pods -A -l app.kubernetes.io/component=api --no-headers -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name 2>/dev/null |
    while read -r ns name; do
      printf '\n===== %s/%s: warnings and errors (last 30)\n' "$ns" "$name" >&2
      { kubectl_ -n "$ns" logs "$name" --previous 2>/dev/null; kubectl_ -n "$ns" logs "$name" 2>/dev/null; } |
        grep -E '"level":"(WARN|ERROR)"' | tail -30 | cut -c1-400 >&2 || true
    done
  printf '\n===== events (last 40)\n' >&2
  kubectl_ get events -A --sort-by=.lastTimestamp 2>/dev/null | tail -40 >&2 || true
  printf '\n===== host\n' >&2
  df -h "$ROOT" /tmp /var/lib 2>/dev/null | sort -u >&2 || true
  free -m >&2 || true
  uptime >&2 || true
  dmesg 2>/dev/null | grep -iE 'oom|killed process' | tail -20 >&2 || true
  printf '\n===== kubelet errors (last 30)\n' >&2
  grep -E '^E[0-9]{4}' "$CL_LOGS/kubelet.log" 2>/dev/null | tail -30 >&2 || true
  # last, because CI shows the tail: one line per restarted or unready container
  printf '\n===== summary: container restarts=N ready last-termination(reason exit) [last log line]\n' >&2
  kubectl_ get pods -A -o go-template='{{range .items}}{{$p := .}}{{if ne .status.phase "Succeeded"}}{{range .status.containerStatuses}}{{if or (not .ready) .restartCount}}{{$p.metadata.namespace}}/{{$p.metadata.name}} {{.name}} restarts={{.restartCount}} ready={{.ready}}{{with .lastState.terminated}} last=({{.reason}} {{.exitCode}}){{end}}{{with .state.waiting}} waiting={{.reason}}{{end}}{{"\n"}}{{end}}{{end}}{{end}}{{end}}' 2>/dev/null |
    while read -r line; do
      set -- $line
      printf '%s [%s]\n' "$line" "$(kubectl_ -n "${1%%/*}" logs "${1#*/}" -c "$2" --previous --tail=1 2>/dev/null | cut -c1-200)" >&2
    done
  df -h "$ROOT" | tail -1 >&2 || true
}
