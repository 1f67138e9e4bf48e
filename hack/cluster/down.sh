#!/usr/bin/env bash
# `make cluster-down`: stops the local cluster and undoes every change it made
# to the host; keeps the caches (binaries, root filesystems, images). Safe to
# run twice or after a failed cluster-up. Only processes whose pids the cluster
# recorded (and the containerd shims of the cluster's own socket) are stopped.
# Ends with a check: exits 1 naming anything left behind.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/hack/cluster/lib.sh"
B="$KUBE_ASSETS"

# 0. the entry point beside the cluster
if [ -f "$CL_RUN/ingress-controller.started" ] && [ -x "$ROOT/hack/ingress-controller.sh" ]; then
  KUBECTL="$KUBECTL_BIN" bash "$ROOT/hack/ingress-controller.sh" stop "$ADMIN_KUBECONFIG" "$ENTRY_PORT" >/dev/null 2>&1
fi

# 1. pods away through the kubelet, so the CNI frees addresses, rules and namespaces
if alive kube-apiserver && alive kubelet; then
  stop kube-controller-manager # no new pods from controllers
  stop kube-scheduler
  log "deleting every pod (CNI teardown through the kubelet)"
  kubectl_ delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1
  for _ in $(seq 60); do
    [ -z "$(kubectl_ get pods -A -o name 2>/dev/null)" ] && break
    sleep 1
  done
  sleep 2
fi

# 2. processes, in reverse start order; kube-proxy flushes its rules after
for ((i = ${#CL_PROCS[@]} - 1; i >= 0; i--)); do
  p="${CL_PROCS[$i]}"
  if [ "$p" = containerd ] && alive containerd; then
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
    sleep 1
  fi
  stop "$p"
  if [ "$p" = kube-proxy ] && [ -x "$B/kube-proxy" ]; then
    "$B/kube-proxy" --cleanup >/dev/null 2>&1
  fi
done
for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
sleep 0.5

# 3. mounts (overlay snapshots, volumes, network namespaces), deepest first
# CLUSTER_STALE=1 (hack/cluster/up.sh, when no cluster process is alive): also
# the mounts of a cluster of another clone that was killed without cluster-down.
mine="$CL/"
[ "${CLUSTER_STALE:-}" = 1 ] && mine="/.*/\.cache/cluster/run/"
cluster_mounts() {
  awk '{print $5}' /proc/self/mountinfo | grep -E "^($mine|/run/containerd/|/run/netns/cni-|/var/run/netns/cni-|/var/lib/kubelet/)" | sort -ru
}
for _ in 1 2 3; do # a lazy unmount of a parent can reveal mounts propagated below it
  [ -z "$(cluster_mounts)" ] && break
  cluster_mounts | while read -r m; do umount -l "$m" 2>/dev/null; done
  sleep 0.5
done
for n in /run/netns/cni-*; do [ -e "$n" ] && { ip netns delete "$(basename "$n")" 2>/dev/null || rm -f "$n"; }; done

# 4. cgroups the kubelet (kubepods) and containerd (k8s.io) created
for c in /sys/fs/cgroup/*/ /sys/fs/cgroup/unified/; do
  for g in kubepods k8s.io; do
    [ -d "$c$g" ] && find "$c$g" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
done

# 5. network: the bridge, the dummy interface, KUBE-*/CNI-* chains, sysctls
ip link del "$CNI_BRIDGE" 2>/dev/null
ip link del "$NODE_IF" 2>/dev/null
for x in iptables ip6tables; do
  if command -v "$x-save" >/dev/null && "$x-save" 2>/dev/null | grep -qE 'KUBE-|CNI-'; then
    "$x-save" | grep -vE 'KUBE-|CNI-' | "$x-restore"
  fi
done
if [ -f "$CL_RUN/sysctl.saved" ]; then
  while IFS= read -r kv; do sysctl -qw "$kv" 2>/dev/null; done <"$CL_RUN/sysctl.saved"
fi

# 6. files the kubelet, containerd, libcni and the controller manager write outside .cache
rm -rf /run/containerd /var/lib/cni /var/lib/kubelet /var/log/pods /var/log/containers /usr/libexec/kubernetes
rm -rf "$CL_RUN" "$CL_ENV"

# 7. the check
left=()
for p in "${CL_PROCS[@]}"; do pgrep -f "$B/$p " >/dev/null 2>&1 && left+=("process $p"); done
pgrep -f "containerd --config $CL_RUN" >/dev/null && left+=("containerd")
pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" >/dev/null && left+=("containerd shims")
ip link show "$CNI_BRIDGE" >/dev/null 2>&1 && left+=("interface $CNI_BRIDGE")
ip link show "$NODE_IF" >/dev/null 2>&1 && left+=("interface $NODE_IF")
iptables-save 2>/dev/null | grep -qE 'KUBE-|CNI-' && left+=("iptables chains KUBE-*/CNI-*")
m="$(cluster_mounts)"
[ -n "$m" ] && left+=("$(echo "$m" | wc -l) mounts (first: $(echo "$m" | head -1))")
ls /run/netns/cni-* >/dev/null 2>&1 && left+=("network namespaces /run/netns/cni-*")
for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/k8s.io; do [ -d "$c" ] && left+=("cgroup $c"); done
for d in /var/lib/kubelet /var/log/containers /var/lib/cni /run/containerd "$CL_RUN"; do [ -e "$d" ] && left+=("$d"); done
if [ ${#left[@]} -gt 0 ]; then
  log "left behind: ${left[*]}"
  exit 1
fi
log "cluster down; nothing left behind"
