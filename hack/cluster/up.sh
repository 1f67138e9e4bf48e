#!/usr/bin/env bash
# `make cluster-up`: a real single-node Kubernetes on this machine with
# Bookstore on it, the way a user runs it on kind:
#   1. binaries (hack/cluster/build.sh) and images (hack/cluster/images.sh build), cached
#   2. the node (hack/cluster/node-up.sh): containerd, etcd, API server, kubelet,
#      controller manager, scheduler, kube-proxy, CoreDNS, storage
#   3. Bookstore (hack/cluster/deploy.sh): kubectl apply -k manifests/, the entry
#      point, the sample, kubectl wait --for=condition=Ready bookstore/demo
# Writes .cache/cluster/env (KUBECONFIG, BOOKSTORE_URL). CLUSTER_NODE_ONLY=1
# stops after step 2. Undo with `make cluster-down`. Root only. docs/e2e.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/hack/cluster/lib.sh"
version="${BOOKSTORE_VERSION:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$ROOT/charts/bookstore/Chart.yaml")}"
t0=$SECONDS
phase() { log "[$((SECONDS - t0))s] $* (disk: $(free_gb)G free)"; }
# free_gb: GiB free for unprivileged writers (what PostgreSQL, Redis and Kafka
# in the pods get) on the filesystem of .cache/cluster.
free_gb() { mkdir -p "$CL"; df -P -BG "$CL" | awk 'NR == 2 {sub("G", "", $4); print $4}'; }

# A cluster stopped without cluster-down (killed with its session, say) leaves
# mounts, interfaces, iptables chains, network namespaces and cgroups behind,
# and the next cluster's pods inherit them; a cluster still running (from this
# clone or another) owns the node's addresses, so a second one is refused.
if ! alive kube-apiserver && ! alive kubelet; then
  # (envtest's etcd and kube-apiserver of make test are not: they bind 127.0.0.1)
  if others="$(pgrep -af "/\.cache/k8s/[^ ]+/(kubelet|kube-proxy) |containerd --config /[^ ]*/\.cache/cluster/run/|/\.cache/k8s/[^ ]+/etcd .*http://${NODE_IP//./\\.}:2379")"; then
    die "another local cluster is running (make cluster-down in its clone first): $(echo "$others" | head -2 | cut -c1-160)"
  fi
  if ip link show "$NODE_IF" >/dev/null 2>&1 || ip link show "$CNI_BRIDGE" >/dev/null 2>&1 || ls /run/netns/cni-* >/dev/null 2>&1 ||
    grep -qE ' /[^ ]*/\.cache/cluster/run/| /var/lib/kubelet/' /proc/self/mountinfo || ls -d /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods >/dev/null 2>&1 || [ -d "$CL_RUN" ]; then
    log "a cluster stopped without cluster-down left state behind: cleaning it up first"
    CLUSTER_STALE=1 bash "$ROOT/hack/cluster/down.sh" >&2 || log "WARNING: some of it could not be removed (see above); starting anyway"
  fi
fi
phase "binaries"
bash "$ROOT/hack/cluster/build.sh"
phase "images"
bash "$ROOT/hack/cluster/images.sh" build
# The node needs room for the images in containerd (content and unpacked
# snapshots, about 3 GiB) and the pods' data; a full disk shows up much later,
# as PostgreSQL and Redis crashing on writes, so say it here.
if [ "$(free_gb)" -lt "${CLUSTER_MIN_FREE_GB:-5}" ]; then
  du -sh "$CACHE"/* "$(go env GOCACHE)" 2>/dev/null | sort -h | tail -8 >&2
  die "only $(free_gb) GiB free on $(df -P "$CL" | awk 'NR == 2 {print $6}') (the node needs ${CLUSTER_MIN_FREE_GB:-5}; CLUSTER_MIN_FREE_GB overrides)"
fi
phase "node"
bash "$ROOT/hack/cluster/node-up.sh"
{
  echo "KUBECONFIG=$ADMIN_KUBECONFIG"
  echo "KUBECTL=$KUBECTL_BIN"
  echo "BOOKSTORE_IMAGE=bookstore:$version"
  echo "BOOKSTORE_NEXT_VERSION=$version-next" # the same image, tagged by images.sh import
} >"$CL_ENV"
if [ "${CLUSTER_NODE_ONLY:-}" != 1 ]; then
  phase "Bookstore"
  bash "$ROOT/hack/cluster/deploy.sh"
fi
phase "cluster up: source $CL_ENV"
cat "$CL_ENV"
